//! The built binary on fixture files: JSON read back with unknown fields
//! denied, injection lines end to end, bad inputs, summary findings,
//! offenders, gzip, and the exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hardkit_core::record::{decode_strict, envelope};
use hardkit_core::{ErrorRecord, Finding, Summary};
use logscan::event::EventRecord;
use logscan::offenders::Offender;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_logscan"));
    c.env("TZ", "UTC");
    c
}

fn fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/logscan/auth.log"
    ))
}

fn run(args: &[&str], files: &[&Path]) -> Output {
    let mut c = bin();
    c.args(args);
    c.args(files);
    c.output().unwrap()
}

struct Parsed {
    events: Vec<EventRecord>,
    errors: Vec<ErrorRecord>,
    findings: Vec<Finding>,
    offenders: Vec<Offender>,
    sudo: Vec<logscan::summary::SudoUse>,
    summary: Summary,
}

/// Every line of a JSON run, decoded by type with unknown fields denied.
fn parse(out: &Output) -> Parsed {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let mut p = Parsed {
        events: vec![],
        errors: vec![],
        findings: vec![],
        offenders: vec![],
        sudo: vec![],
        summary: Summary::default(),
    };
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        !lines.is_empty(),
        "no output; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (i, line) in lines.iter().enumerate() {
        let (kind, tool) = envelope(line).unwrap();
        assert_eq!(tool, "logscan");
        match kind.as_str() {
            "event" => p
                .events
                .push(decode_strict::<EventRecord>(line).unwrap().body),
            "error" => p
                .errors
                .push(decode_strict::<ErrorRecord>(line).unwrap().body),
            "finding" => p
                .findings
                .push(decode_strict::<Finding>(line).unwrap().body),
            "offender" => p
                .offenders
                .push(decode_strict::<Offender>(line).unwrap().body),
            "address" => {
                decode_strict::<logscan::summary::AddressStats>(line).unwrap();
            }
            "login" => {
                decode_strict::<logscan::summary::Login>(line).unwrap();
            }
            "sudo" => p.sudo.push(
                decode_strict::<logscan::summary::SudoUse>(line)
                    .unwrap()
                    .body,
            ),
            "summary" => {
                assert_eq!(i, lines.len() - 1, "summary must be last");
                p.summary = decode_strict::<Summary>(line).unwrap().body;
            }
            other => panic!("undocumented record type {other}: {line}"),
        }
    }
    p
}

#[test]
fn events_read_back_and_attribution_resists_injection() {
    let out = run(&["--json", "--mode", "aggressive"], &[&fixture()]);
    assert_eq!(out.status.code(), Some(0));
    let p = parse(&out);
    assert_eq!(
        p.summary.counts.get("event"),
        Some(&(p.events.len() as u64))
    );
    assert_eq!(p.events.len(), 11, "{:#?}", p.events);
    let by_line = |n: u64| p.events.iter().find(|e| e.source.line == n).unwrap();
    let e = by_line(2);
    assert_eq!((e.kind.as_str(), e.failure), ("auth_failure", true));
    assert_eq!(e.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(e.time.as_deref().map(|t| &t[4..]), Some("-11-20T10:00:02Z"));
    assert_eq!(
        (e.port, e.pid, e.host.as_deref()),
        (Some(40001), Some(1001), Some("web1"))
    );
    assert_eq!(by_line(4).count, 3);
    // sshguard blames 10.10.1.4 here; the daemon wrote 192.0.2.11.
    let e = by_line(5);
    assert_eq!(e.ip.as_deref(), Some("192.0.2.11"));
    assert_eq!(e.user.as_deref(), Some("test 10.10.1.4"));
    let e = by_line(6);
    assert_eq!(e.ip.as_deref(), Some("198.51.100.23"));
    assert_eq!(e.user.as_deref(), Some("x from 10.9.9.9 port 1 ssh2"));
    assert_eq!(by_line(10).kind, "sudo_command");
    assert_eq!(
        by_line(10).detail.as_deref(),
        Some("/usr/bin/systemctl restart nginx")
    );
    assert_eq!(by_line(11).kind, "sudo_auth_failure");
    for e in &p.events {
        assert_ne!(e.ip.as_deref(), Some("10.10.1.4"));
        assert_ne!(e.ip.as_deref(), Some("10.9.9.9"));
    }
}

#[test]
fn summary_finds_the_brute_force_that_worked_and_exits_1() {
    let out = run(&["summary", "--json"], &[&fixture()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = parse(&out);
    let ids: Vec<&str> = p.findings.iter().map(|f| f.id.as_str()).collect();
    assert!(ids.contains(&"logscan/brute-force-success"), "{ids:?}");
    assert!(ids.contains(&"logscan/root-login"), "{ids:?}");
    assert!(ids.contains(&"logscan/password-login"), "{ids:?}");
    let bf = p
        .findings
        .iter()
        .find(|f| f.id == "logscan/brute-force-success")
        .unwrap();
    assert_eq!(bf.severity, hardkit_core::Severity::Critical);
    let ev = bf.evidence.as_ref().unwrap();
    assert_eq!(ev["ip"], "203.0.113.7");
    assert_eq!(ev["user"], "deploy");
    assert_eq!(ev["failures_before"], 6);
    assert_eq!(p.summary.exit, 1);
    let deploy = p.sudo.iter().find(|s| s.user == "deploy").unwrap();
    assert_eq!(deploy.commands, 1);
    assert_eq!(
        deploy.last_command.as_deref(),
        Some("/usr/bin/systemctl restart nginx")
    );
    assert_eq!(
        p.sudo
            .iter()
            .find(|s| s.user == "eve")
            .unwrap()
            .auth_failures,
        1
    );

    let human = run(&["summary"], &[&fixture()]);
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(
        text.contains("CRITICAL logscan/brute-force-success"),
        "{text}"
    );
    assert!(text.contains("203.0.113.7"), "{text}");
}

#[test]
fn new_source_is_a_login_from_an_address_the_user_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(
        &log,
        "Nov 20 09:00:00 h sshd[1]: Accepted publickey for ann from 192.0.2.1 port 1 ssh2: ED25519 SHA256:x\n\
         Nov 20 11:00:00 h sshd[2]: Accepted publickey for ann from 192.0.2.1 port 2 ssh2: ED25519 SHA256:x\n\
         Nov 20 12:00:00 h sshd[3]: Accepted publickey for ann from 198.51.100.9 port 3 ssh2: ED25519 SHA256:x\n",
    )
    .unwrap();
    let p = parse(&run(&["summary", "--json"], &[&log]));
    let new: Vec<&Finding> = p
        .findings
        .iter()
        .filter(|f| f.id == "logscan/new-source")
        .collect();
    assert_eq!(new.len(), 1, "{:#?}", p.findings);
    assert_eq!(new[0].evidence.as_ref().unwrap()["ip"], "198.51.100.9");
    assert_eq!(new[0].location.as_ref().unwrap().line, Some(3));
}

#[test]
fn offenders_count_like_fail2ban() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    let mut f = std::fs::File::create(&log).unwrap();
    // 192.0.2.1: 5 failures within 4 minutes -> banned at the 5th.
    for (i, m) in [0, 1, 2, 3, 4].iter().enumerate() {
        writeln!(
            f,
            "Nov 20 10:0{m}:00 h sshd[{i}]: Failed password for root from 192.0.2.1 port 1 ssh2"
        )
        .unwrap();
    }
    // 192.0.2.2: 5 failures 12 minutes apart -> never 5 within 10 minutes.
    for (i, m) in [0, 12, 24, 36, 48].iter().enumerate() {
        writeln!(
            f,
            "Nov 20 11:{m:02}:00 h sshd[9{i}]: Invalid user x from 192.0.2.2 port 1"
        )
        .unwrap();
    }
    drop(f);
    let out = run(
        &[
            "offenders",
            "--json",
            "--maxretry",
            "5",
            "--findtime",
            "10m",
        ],
        &[&log],
    );
    assert_eq!(out.status.code(), Some(0));
    let p = parse(&out);
    assert_eq!(p.offenders.len(), 1, "{:#?}", p.offenders);
    let o = &p.offenders[0];
    assert_eq!((o.ip.as_str(), o.failures, o.bans), ("192.0.2.1", 5, 1));
    assert!(o.banned_at.ends_with("-11-20T10:04:00Z"), "{}", o.banned_at);
    assert!(o.first_seen.ends_with("-11-20T10:00:00Z"));
    // A longer findtime catches the slow one too.
    let p = parse(&run(
        &["offenders", "--json", "--maxretry", "5", "--findtime", "1h"],
        &[&log],
    ));
    assert_eq!(p.offenders.len(), 2);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn rotated_gzip_files_are_read_directly() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("auth.log.2.gz");
    std::fs::write(&gz, gzip(&std::fs::read(fixture()).unwrap())).unwrap();
    let p = parse(&run(&["--json"], &[&gz]));
    assert_eq!(p.events.len(), 11);
    assert!(p.errors.is_empty());
}

#[test]
fn bad_inputs_are_named_the_rest_is_scanned_and_exit_is_2() {
    let dir = tempfile::tempdir().unwrap();
    let truncated = dir.path().join("auth.log.3.gz");
    let mut plain = Vec::new();
    for i in 0..20000u32 {
        let x = i.wrapping_mul(2654435761);
        writeln!(
            plain,
            "Nov 20 10:00:00 h sshd[{x}]: Invalid user u{x:x} from 10.{}.{}.{} port {}",
            x >> 24,
            (x >> 16) & 255,
            (x >> 8) & 255,
            x & 65535
        )
        .unwrap();
    }
    let full = gzip(&plain);
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    let binary = dir.path().join("wtmp");
    let garbage: Vec<u8> = (0..65536u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&binary, garbage).unwrap();
    let long = dir.path().join("long.log");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&long).unwrap());
        let chunk = vec![b'A'; 1 << 20];
        for _ in 0..100 {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"\nNov 20 10:00:00 h sshd[7]: Invalid user zed from 192.0.2.77 port 9\n")
            .unwrap();
    }
    let missing = dir.path().join("missing.log");
    let unreadable = Path::new("/proc/self/mem"); // opens, then read(2) fails with EIO
    let out = run(
        &["--json"],
        &[
            dir.path(),
            &truncated,
            &binary,
            &long,
            &missing,
            unreadable,
            &fixture(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = parse(&out);
    let msg = |path: &Path| {
        p.errors
            .iter()
            .filter(|e| e.path.as_ref().map(|x| x.as_path()) == Some(path))
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    };
    assert!(msg(dir.path()).contains("directory"), "{:#?}", p.errors);
    assert!(msg(&truncated).contains("truncated"), "{:#?}", p.errors);
    assert!(msg(&binary).contains("binary"), "{:#?}", p.errors);
    assert!(msg(&long).contains("longer than"), "{:#?}", p.errors);
    assert!(
        msg(&missing).starts_with("no such file; "),
        "{:#?}",
        p.errors
    );
    assert!(!msg(unreadable).is_empty(), "{:#?}", p.errors);
    // Lines before the cut of the truncated gzip, the line after the 100 MB
    // one, and the whole good file were still scanned.
    let from = |path: &Path| {
        p.events
            .iter()
            .filter(|e| e.source.path.as_path() == path)
            .count()
    };
    assert!(from(&truncated) > 0);
    assert_eq!(from(&long), 1);
    assert_eq!(from(&fixture()), 11);
    assert_eq!(p.summary.exit, 2);
}

/// `logscan summary /var/log/auth.log*` on a system without auth.log (Debian
/// 12 without rsyslog): the shell passes the pattern as it is, and the error
/// says so and where sshd's lines are.
#[test]
fn a_missing_log_says_why_and_where_to_look() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("auth.log*");
    let out = run(&["summary"], &[&pattern]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("auth.log*: no file matches this pattern (the shell passes a pattern that matched nothing as it is); without a syslog daemon (Debian 12's default) sshd logs only to the journal: journalctl -o json _UID=0 _COMM=sshd _COMM=sshd-session _COMM=sudo | logscan summary"),
        "{err}"
    );
}

#[test]
fn stdin_and_non_utf8_bytes() {
    let mut child = bin()
        .args(["--json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Nov 20 10:00:00 h sshd[7]: Invalid user caf\xe9 from 192.0.2.5 port 9")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let p = parse(&out);
    assert_eq!(p.events.len(), 1, "last line without newline is read");
    assert_eq!(p.events[0].user.as_deref(), Some("caf\u{fffd}"));
    assert_eq!(p.events[0].source.path.as_path(), Path::new("<stdin>"));
}

#[test]
fn since_and_until_select_by_time() {
    let p = parse(&run(
        &[
            "--json",
            "--since",
            "2000-11-20T10:01:00Z",
            "--until",
            "2100-01-01T00:00:00Z",
        ],
        &[&fixture()],
    ));
    // The fixture's year is inferred (this year or last), always after 2000.
    assert_eq!(p.events.len(), 11);
    let p = parse(&run(&["--json", "--since", "1h"], &[&fixture()]));
    assert!(p.events.len() <= 11);
    let bad = run(&["--since", "yesterday-ish"], &[&fixture()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since"));
}

#[test]
fn help_has_examples_and_version_works() {
    let out = run(&["--help"], &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Examples:") && text.contains("logscan summary"),
        "{text}"
    );
    assert!(run(&["--version"], &[]).status.success());
}

#[test]
fn journalctl_json_lines_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("journal.json");
    std::fs::write(
        &log,
        concat!(
            r#"{"__REALTIME_TIMESTAMP":"1732252643000000","_HOSTNAME":"srv","SYSLOG_IDENTIFIER":"sshd-session","_UID":"0","_PID":"4242","MESSAGE":"Connection closed by invalid user oracle 192.0.2.44 port 50514 [preauth]"}"#,
            "\n",
            r#"{"__REALTIME_TIMESTAMP":"1732252644000000","_HOSTNAME":"srv","SYSLOG_IDENTIFIER":"systemd","_UID":"0","_PID":"1","MESSAGE":"Started Session 3 of User root."}"#,
            "\n",
        ),
    )
    .unwrap();
    let p = parse(&run(&["--json", "--mode", "aggressive"], &[&log]));
    assert_eq!(p.events.len(), 1, "{:#?}", p.events);
    let e = &p.events[0];
    assert_eq!((e.kind.as_str(), e.failure), ("preauth_disconnect", true));
    assert_eq!(e.ip.as_deref(), Some("192.0.2.44"));
    assert_eq!(e.service, "sshd-session");
    assert_eq!((e.pid, e.host.as_deref()), (Some(4242), Some("srv")));
    assert_eq!(e.time.as_deref(), Some("2024-11-22T05:17:23Z"));
}

#[test]
fn root_maps_system_paths_into_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("var/log")).unwrap();
    std::fs::copy(fixture(), dir.path().join("var/log/auth.log")).unwrap();
    // A link to an absolute path stays inside the tree (chroot semantics).
    std::os::unix::fs::symlink("/var/log/auth.log", dir.path().join("var/log/link.log")).unwrap();
    let root = dir.path().to_str().unwrap();
    let p = parse(&run(
        &[
            "--json",
            "--root",
            root,
            "/var/log/auth.log",
            "/var/log/link.log",
        ],
        &[],
    ));
    assert_eq!(p.events.len(), 22);
    assert!(p.errors.is_empty(), "{:#?}", p.errors);
    assert_eq!(
        p.events[0].source.path.as_path(),
        Path::new("/var/log/auth.log")
    );
    assert_eq!(
        p.events[11].source.path.as_path(),
        Path::new("/var/log/link.log")
    );
}
