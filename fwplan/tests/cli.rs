//! The command line as users and pipes see it: JSON records that parse back
//! with unknown fields denied, sshd-lint and logscan streams on stdin, and
//! bad input that names the flag or policy field, exits 2 and writes nothing.

mod common;

use std::io::Write;
use std::process::{Output, Stdio};

use common::*;
use fwplan::audit::Socket;
use fwplan::plan::PlanAction;
use hardkit_core::record::{decode_strict, envelope};
use hardkit_core::{Finding, Summary};

fn run_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = fwplan()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that has no use for stdin (audit without a policy ignores
    // --sshd) may exit before reading it: a closed pipe here is not an
    // error, the assertions on the output decide.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

#[test]
fn render_json_is_the_plan_as_action_records() {
    let out = fwplan()
        .args([
            "render",
            "--json",
            "--allow",
            "80,443/tcp",
            "--allow",
            "8000/tcp@10.0.0.0/8,fd00::/8#ai-api",
            "--limit",
            "22/tcp",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (last, actions) = lines.split_last().unwrap();
    let summary = decode_strict::<Summary>(last).unwrap();
    assert_eq!(summary.tool, "fwplan");
    assert_eq!(summary.body.exit, 0);
    let actions: Vec<PlanAction> = actions
        .iter()
        .map(|l| decode_strict::<PlanAction>(l).unwrap().body)
        .collect();
    assert_eq!(
        summary.body.counts.get("action"),
        Some(&(actions.len() as u64))
    );
    assert_eq!(actions[0].op, "default");
    assert_eq!(actions[0].verdict.as_deref(), Some("drop"));
    let api = actions
        .iter()
        .find(|a| a.comment.as_deref() == Some("ai-api"))
        .unwrap();
    assert_eq!(api.from, ["10.0.0.0/8", "fd00::/8"]);
    assert_eq!(api.family.as_deref(), Some("any"));
    let limit = actions.iter().find(|a| a.op == "limit").unwrap();
    assert_eq!(
        (limit.ports.as_deref(), limit.rate.as_deref()),
        (Some("22"), Some("6/minute"))
    );
    // The limit on 22 admits SSH: no extra rule was added.
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.ports.as_deref() == Some("22"))
            .count(),
        1
    );
}

#[test]
fn sshd_lint_ports_and_logscan_offenders_come_from_pipes() {
    let sshd = concat!(
        r#"{"type":"setting","tool":"sshd-lint","key":"port","value":"2222","origin":{"path":"/etc/ssh/sshd_config","line":14},"shadowed":[]}"#,
        "\n",
        r#"{"type":"finding","tool":"sshd-lint","id":"sshd/x","severity":"low","title":"t","detail":"d","refs":[]}"#,
        "\n",
        r#"{"type":"summary","tool":"sshd-lint","counts":{"setting":1},"severity":{},"exit":0}"#,
        "\n"
    );
    let out = run_with_stdin(&["render", "--sshd", "-", "--allow", "80/tcp"], sshd);
    assert!(out.status.success(), "{out:?}");
    let nft = String::from_utf8(out.stdout).unwrap();
    assert!(
        nft.contains("tcp dport 2222 accept comment \"ssh\""),
        "{nft}"
    );
    assert!(!nft.contains("dport 22 "), "{nft}");

    let logscan = concat!(
        r#"{"type":"event","tool":"logscan","ip":"192.0.2.10"}"#,
        "\n",
        r#"{"type":"offender","tool":"logscan","ip":"203.0.113.50","failures":12}"#,
        "\n",
        r#"{"type":"offender","tool":"logscan","ip":"2001:db8::bad"}"#,
        "\n"
    );
    let out = run_with_stdin(
        &["render", "--block-from", "-", "--allow", "80/tcp"],
        logscan,
    );
    assert!(out.status.success(), "{out:?}");
    let nft = String::from_utf8(out.stdout).unwrap();
    assert!(
        nft.contains("203.0.113.50/32") && nft.contains("2001:db8::bad/128"),
        "{nft}"
    );
    assert!(
        !nft.contains("192.0.2.10"),
        "events are not offenders: {nft}"
    );
}

/// A reader ignores fields it does not know (docs/protocol.md): a field
/// sshd-lint or logscan adds later must not break the pipes into fwplan.
#[test]
fn readers_ignore_fields_they_do_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let offenders = dir.path().join("offenders.jsonl");
    std::fs::write(
        &offenders,
        concat!(
            r#"{"type":"offender","tool":"logscan","ip":"203.0.113.50","failures":9,"first":"2026-11-20T10:00:00Z","country":"ZZ","jail":{"name":"sshd"}}"#,
            "\n"
        ),
    )
    .unwrap();
    let settings = concat!(
        r#"{"type":"setting","tool":"sshd-lint","key":"port","value":"2222","origin":{"path":"/etc/ssh/sshd_config","line":3,"column":1},"shadowed":[],"scope":"global"}"#,
        "\n"
    );
    let out = run_with_stdin(
        &[
            "render",
            "--sshd",
            "-",
            "--block-from",
            offenders.to_str().unwrap(),
            "--allow",
            "80/tcp",
        ],
        settings,
    );
    assert!(out.status.success(), "{out:?}");
    let nft = String::from_utf8(out.stdout).unwrap();
    assert!(
        nft.contains("203.0.113.50/32") && nft.contains("2222"),
        "{nft}"
    );
}

/// `logscan --json` writes events, not offenders: piping it into
/// --block-from used to block nothing without a word. It is refused, and the
/// message names the pipe that works.
#[test]
fn logscan_events_without_offenders_are_refused() {
    let events = concat!(
        r#"{"type":"event","tool":"logscan","time":"2026-11-20T10:00:00Z","ip":"203.0.113.50","failure":true}"#,
        "\n",
        r#"{"type":"event","tool":"logscan","time":"2026-11-20T10:00:01Z","ip":"203.0.113.50","failure":true}"#,
        "\n",
        r#"{"type":"summary","tool":"logscan","counts":{"event":2},"severity":{},"exit":0}"#,
        "\n"
    );
    let out = run_with_stdin(
        &["render", "--block-from", "-", "--allow", "80/tcp"],
        events,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--block-from <stdin>") && err.contains("logscan offenders --json"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "printed a ruleset: {out:?}");
}

#[test]
fn bad_input_names_the_flag_or_field_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let empty = p("empty.json", "{}");
    let badport = p(
        "badport.json",
        r#"{"rules":[{"action":"allow","ports":80},{"action":"deny","ports":"99999"}]}"#,
    );
    let typo = p(
        "typo.json",
        "{\"rules\":[\n  {\"action\":\"allow\",\"port\":80}\n]}",
    );
    let badblock = p("block.txt", "203.0.113.9\n203.0.113.300\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--allow", "70000/tcp"],
            "--allow '70000/tcp': port 70000 is above 65535",
        ),
        (
            vec!["--allow", "80/tcp@10.0.0.300/8"],
            "--allow '80/tcp@10.0.0.300/8': '10.0.0.300/8' is not an IPv4/IPv6 address or CIDR",
        ),
        (vec!["--deny", "22/tcp"], "would deny SSH: --deny '22/tcp'"),
        (
            vec!["--allow", "80/tcp", "--allow", "80/tcp"],
            "duplicate rule",
        ),
        (
            vec!["--allow", "80/tcp@10.0.0.0/8", "--deny", "80/tcp"],
            "contradictory rules: --deny '80/tcp' denies what --allow '80/tcp@10.0.0.0/8'",
        ),
        (vec![], "empty policy"),
        (vec!["--policy", &empty], "empty policy"),
        (
            vec!["--policy", &badport],
            "badport.json: rules[1].ports: port 99999 is above 65535",
        ),
        (vec!["--policy", &typo], "unknown field `port`"),
        (
            vec!["--allow", "80/tcp", "--limit-rate", "0/minute"],
            "--limit-rate '0/minute'",
        ),
        (
            vec!["--allow", "80/tcp", "--ssh-port", "0"],
            "--ssh-port '0'",
        ),
        (
            vec!["--default-in", "drop", "--allow", "80/tcp"],
            "--default-in",
        ),
    ];
    for (args, want) in cases {
        let out = fwplan().arg("render").args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: want {want:?} in {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed a ruleset");
    }
    // A bad block-list entry is named and skipped; the rest is still
    // blocked (one host name in logscan's output must not unblock every
    // attacker beside it, issue 15 item 5).
    let out = fwplan()
        .args(["render", "--allow", "80/tcp", "--block-from", &badblock])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("block.txt:2: '203.0.113.300'"), "{err}");
    let nft = String::from_utf8_lossy(&out.stdout);
    assert!(nft.contains("203.0.113.9/32"), "{nft}");
    let out = run_with_stdin(
        &["render", "--block-from", "-", "--allow", "80/tcp"],
        concat!(
            r#"{"type":"offender","tool":"logscan","ip":"mail.example.org","failures":5}"#,
            "\n",
            r#"{"type":"offender","tool":"logscan","ip":"203.0.113.45","failures":5}"#,
            "\n"
        ),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("<stdin>:1") && err.contains("mail.example.org"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("203.0.113.45/32"));
    let out = run_with_stdin(&["render", "--sshd", "-", "--allow", "80/tcp"], "Port 22\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--sshd <stdin>:1"),
        "{out:?}"
    );
}

#[test]
fn the_example_policy_renders() {
    let policy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/fwplan/policy.json"
    );
    let out = fwplan()
        .args(["render", "--policy", policy])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let nft = String::from_utf8(out.stdout).unwrap();
    assert!(
        nft.contains("ip saddr 10.0.0.0/8 tcp dport 8000 accept comment \"ai-api\""),
        "{nft}"
    );
    assert!(nft.contains("203.0.113.0/24"), "{nft}");
    assert!(nft.contains("update @limit0_v4"), "{nft}");
}

#[test]
fn help_has_examples_and_version_works() {
    let help = fwplan().arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("fwplan apply --policy"));
    let v = fwplan().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("fwplan "));
}

/// A saved system: /proc/net tables, one sshd and one python process with
/// their socket links, and an empty nftables ruleset.
fn fixture_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let hdr = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    std::fs::create_dir_all(r.join("proc/net")).unwrap();
    std::fs::write(
        r.join("proc/net/tcp"),
        format!("{hdr}   0: 00000000:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n   1: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 113 1 0 100 0 0 10 0\n"),
    )
    .unwrap();
    std::fs::write(
        r.join("proc/net/tcp6"),
        format!("{hdr}   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 112 1 0 100 0 0 10 0\n"),
    )
    .unwrap();
    std::fs::write(r.join("proc/net/udp"), hdr).unwrap();
    for (pid, comm, inode) in [
        (123, "sshd", 111),
        (456, "python3", 112),
        (789, "mysqld", 113),
    ] {
        let d = r.join(format!("proc/{pid}"));
        std::fs::create_dir_all(d.join("fd")).unwrap();
        std::fs::write(d.join("comm"), format!("{comm}\n")).unwrap();
        std::os::unix::fs::symlink(format!("socket:[{inode}]"), d.join("fd/3")).unwrap();
    }
    std::fs::create_dir_all(r.join("etc/ufw")).unwrap();
    std::fs::write(r.join("etc/ufw/ufw.conf"), "ENABLED=no\n").unwrap();
    std::fs::write(
        r.join("ruleset.json"),
        r#"{"nftables":[{"metainfo":{"version":"1.0.6"}}]}"#,
    )
    .unwrap();
    root
}

#[test]
fn audit_reports_sockets_owners_and_gaps_on_a_saved_system() {
    let root = fixture_root();
    let out = fwplan()
        .args([
            "audit",
            "--json",
            "--ssh-port",
            "22",
            "--allow",
            "80/tcp",
            "--root",
        ])
        .arg(root.path())
        .arg("--ruleset-json")
        .arg(root.path().join("ruleset.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut sockets = Vec::new();
    let mut findings = Vec::new();
    for line in text.lines() {
        match envelope(line).unwrap().0.as_str() {
            "socket" => sockets.push(decode_strict::<Socket>(line).unwrap().body),
            "finding" => findings.push(decode_strict::<Finding>(line).unwrap().body),
            "summary" => assert_eq!(decode_strict::<Summary>(line).unwrap().body.exit, 1),
            other => panic!("unexpected record {other}: {line}"),
        }
    }
    let sshd = sockets.iter().find(|s| s.port == 2222).unwrap();
    assert_eq!(
        (sshd.process.as_deref(), sshd.pid, sshd.exposure.as_str()),
        (Some("sshd"), Some(123), "all")
    );
    let mysql = sockets.iter().find(|s| s.port == 3306).unwrap();
    assert_eq!(mysql.exposure, "loopback");
    let py = sockets.iter().find(|s| s.port == 8080).unwrap();
    assert_eq!(
        (py.address.as_str(), py.process.as_deref()),
        ("::", Some("python3"))
    );
    let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    for want in [
        "fwplan/no-firewall",
        "fwplan/ssh-not-admitted",
        "fwplan/listener-without-rule",
        "fwplan/rule-without-listener",
    ] {
        assert!(ids.contains(&want), "{want} missing from {ids:?}");
    }
    let crit = findings
        .iter()
        .find(|f| f.id == "fwplan/ssh-not-admitted")
        .unwrap();
    assert!(crit.title.contains("2222"));
}

#[test]
fn audit_with_only_sshd_settings_judges_the_firewall_as_a_whole() {
    // first-five passes sshd-lint's settings to every audit; ports alone are
    // no policy and must not turn the audit into an "empty policy" error.
    let root = fixture_root();
    let sshd = r#"{"type":"setting","tool":"sshd-lint","key":"port","value":"2222","origin":"default","shadowed":[]}"#;
    let root_arg = root.path().to_str().unwrap().to_string();
    let rules = root.path().join("ruleset.json");
    let rules_arg = rules.to_str().unwrap().to_string();
    let out = run_with_stdin(
        &[
            "audit",
            "--json",
            "--sshd",
            "-",
            "--root",
            &root_arg,
            "--ruleset-json",
            &rules_arg,
        ],
        sshd,
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"fwplan/no-firewall\""), "{text}");
}

#[test]
fn apply_for_another_systems_root_is_refused_in_the_hosts_namespace() {
    // Only meaningful where this test shares PID 1's network namespace (the
    // normal case); the refusal happens before nft is ever run.
    let same_ns =
        std::fs::read_link("/proc/self/ns/net").ok() == std::fs::read_link("/proc/1/ns/net").ok();
    if !same_ns {
        return;
    }
    let root = fixture_root();
    for args in [
        vec!["apply", "--allow", "80/tcp", "--ssh-port", "22", "--force"],
        vec!["rollback"],
        vec!["confirm"],
    ] {
        let out = fwplan()
            .args(&args)
            .arg("--root")
            .arg(root.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("this machine's kernel"), "{args:?}: {err}");
    }
}

#[test]
fn audit_in_a_namespace_finds_our_own_listener_and_its_process() {
    let test = "fwplan audit: live /proc in a namespace";
    if !hardkit_core::oracle::require_root(test)
        || hardkit_core::oracle::oracle(test, "nft").is_none()
    {
        return;
    }
    let ns = Netns::new(format!("{}-au", unique_tag()));
    let listener = ns.run(|| std::net::TcpListener::bind(("0.0.0.0", 8088)).unwrap());
    let out = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            env!("CARGO_BIN_EXE_fwplan"),
            "audit",
            "--json",
        ])
        .output()
        .unwrap();
    drop(listener);
    let text = String::from_utf8(out.stdout).unwrap();
    let sock = text
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"socket\""))
        .map(|l| decode_strict::<Socket>(l).unwrap().body)
        .find(|s| s.port == 8088)
        .unwrap_or_else(|| panic!("no socket record for 8088: {text}"));
    assert_eq!(sock.pid, Some(std::process::id()));
    assert_eq!(sock.exposure, "all");
    // No table in the fresh namespace: no firewall.
    assert!(text.contains("fwplan/no-firewall"), "{text}");
}

/// Under sudo, env_reset drops `SSH_CONNECTION`; the login shell sshd started
/// still has it in its environment, and fwplan apply must still refuse a
/// ruleset that would drop that connection. Here a shell holds it and runs
/// fwplan with it removed from fwplan's own environment.
#[test]
fn the_ssh_connection_of_an_ancestor_guards_apply_as_under_sudo() {
    let root = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("env -u SSH_CONNECTION \"$0\" apply --check --allow 22/tcp@10.9.0.0/16 --ssh-port 22 --root \"$1\"; echo \"rc=$?\"")
        .arg(env!("CARGO_BIN_EXE_fwplan"))
        .arg(root.path())
        .env("SSH_CONNECTION", "192.0.2.10 51234 10.0.0.1 22")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("rc=2"), "{stdout} {stderr}");
    assert!(
        stderr.contains(
            "your SSH connection ($SSH_CONNECTION: 192.0.2.10 to port 22) would be dropped"
        ),
        "{stderr}"
    );
    // (No test of "no SSH_CONNECTION anywhere above": whoever runs the tests
    // over SSH has one.)
    assert_eq!(
        fwplan::apply::parse_ssh_connection("::ffff:192.0.2.10 51234 ::ffff:10.0.0.1 2222"),
        Some(("192.0.2.10".parse().unwrap(), 2222))
    );
    assert_eq!(fwplan::apply::parse_ssh_connection("garbage"), None);
}
