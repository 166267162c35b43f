//! `jailgen audit` and generation on stock Debian 12 and 13 (the cached
//! roots, seen through an overlay so that nothing is written to them), with
//! and without ufw; ufw is not installed in the roots, so its files are
//! added in the overlay's upper layer.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use hardkit_core::record::decode;
use hardkit_core::Finding;

/// Run jailgen with `--root` an overlay of `suite_root` under `upper`
/// (files the test adds), in a private mount namespace.
fn jailgen_on_overlay(suite_root: &Path, upper: &Tree, args: &[&str]) -> Output {
    let scratch = tempfile::tempdir().unwrap();
    let (work, merged) = (scratch.path().join("work"), scratch.path().join("merged"));
    fs::create_dir(&work).unwrap();
    fs::create_dir(&merged).unwrap();
    // The sandbox needs the tree searchable by its stranger uid.
    fs::set_permissions(
        upper.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
        .arg("mount -t overlay overlay -o \"lowerdir=$0,upperdir=$1,workdir=$2\" \"$3\" && d=$3 && b=$4 && shift 4 && exec \"$b\" --root \"$d\" \"$@\"")
        .arg(suite_root)
        .arg(upper.path())
        .arg(&work)
        .arg(&merged)
        .arg(BIN)
        .args(args)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap()
}

fn ufw_enabled(upper: &Tree) {
    upper
        .file(
            "/etc/ufw/ufw.conf",
            "# /etc/ufw/ufw.conf\nENABLED=yes\nLOGLEVEL=low\n",
        )
        .file("/usr/sbin/ufw", "#!/bin/sh\n")
        .file(
            "/usr/lib/systemd/system/ufw.service",
            "[Unit]\nDescription=Uncomplicated firewall\n",
        )
        .symlink(
            "/usr/lib/systemd/system/ufw.service",
            "/etc/systemd/system/multi-user.target.wants/ufw.service",
        );
}

fn finding_ids(out: &Output) -> Vec<String> {
    let text = stdout(out);
    check_json_lines(&text);
    text.lines()
        .filter(|l| l.starts_with("{\"type\":\"finding\""))
        .map(|l| decode::<Finding>(l).unwrap().body.id)
        .collect()
}

fn ready(test: &str) -> bool {
    hardkit_core::oracle::require_root(test)
        && hardkit_core::oracle::oracle(test, "unshare").is_some()
}

#[test]
fn audit_is_right_on_stock_debian_12_and_13_with_and_without_ufw() {
    let test = "jailgen::audit_is_right_on_stock_debian_12_and_13_with_and_without_ufw";
    if !ready(test) {
        return;
    }
    for suite in ["bookworm", "trixie"] {
        let Some(suite_root) =
            hardkit_core::oracle::debian_root(&format!("{test}::{suite}"), suite)
        else {
            continue;
        };
        // What the expectations rest on, checked on the root itself: no
        // rsyslog (sshd logs to the journal only), nft installed, iptables not.
        assert!(!suite_root.join("var/log/auth.log").exists());
        assert!(suite_root.join("usr/sbin/nft").exists());
        assert!(!suite_root.join("usr/sbin/iptables").exists());
        for ufw in [false, true] {
            let upper = Tree::new();
            if ufw {
                ufw_enabled(&upper);
            }
            let out = jailgen_on_overlay(&suite_root, &upper, &["audit", "--json"]);
            let mut ids = finding_ids(&out);
            ids.sort();
            let expected: &[&str] = match suite {
                // Debian 12's stock sshd jail reads /var/log/auth.log, which
                // does not exist (fail2ban -t refuses it: see
                // release_differential), and bans with iptables-multiport,
                // which is not installed: with or without ufw.
                "bookworm" => &["jailgen/banaction-firewall", "jailgen/logpath-missing"],
                // Debian 13's reads the journal and bans with nftables, whose
                // own table runs before ufw's chains: right either way, but
                // its journal match admits any process named sshd or
                // sshd-session, which a local user can start (medium).
                _ => &["jailgen/journalmatch-forgeable"],
            };
            assert_eq!(
                ids,
                expected,
                "{suite} ufw={ufw}: {}{}",
                stdout(&out),
                stderr(&out)
            );
            assert_eq!(
                out.status.code(),
                Some(if suite == "bookworm" { 1 } else { 0 }),
                "{suite} ufw={ufw}"
            );
        }
    }
}

/// The rule the ufw judgement rests on, read from Debian 13's own
/// fail2ban: its nftables action hooks its own chain on input at priority
/// -1, before the iptables chains ufw fills (priority 0).
#[test]
fn debian_13s_nftables_action_runs_before_ufw() {
    let test = "jailgen::debian_13s_nftables_action_runs_before_ufw";
    if !hardkit_core::oracle::require_root(test) {
        return;
    }
    let Some(suite_root) = hardkit_core::oracle::debian_root(test, "trixie") else {
        return;
    };
    let tree = tree_from_release(&suite_root);
    let d = release_client(&suite_root, &tree, &["-d"]);
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
    let jails = jails_of(&parse_dump(&d.stdout));
    let sshd = &jails["sshd"];
    assert_eq!(sshd.actions, ["nftables"]);
    let params = &sshd.action_params["nftables"];
    assert_eq!(params["chain_hook"], "input");
    assert_eq!(params["chain_priority"], "-1");
    assert_eq!(params["table"], "f2b-table");
}

/// OpenSSH 10 (Debian 13) logs authentication from `sshd-session`: the
/// generated sshd jail matches it as fail2ban 1.1.0's own sshd filter
/// does, and the tree's own fail2ban-client (run in the sandbox on the
/// overlay) accepts it; Debian 12's OpenSSH 9.2 has no sshd-session.
#[test]
fn the_generated_sshd_jail_matches_sshd_session_on_debian_13() {
    let test = "jailgen::the_generated_sshd_jail_matches_sshd_session_on_debian_13";
    if !ready(test) {
        return;
    }
    for suite in ["bookworm", "trixie"] {
        let Some(suite_root) =
            hardkit_core::oracle::debian_root(&format!("{test}::{suite}"), suite)
        else {
            continue;
        };
        let upper = Tree::new();
        let out = jailgen_on_overlay(
            &suite_root,
            &upper,
            &["--jail", "sshd", "--check", "--json"],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{suite}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        let records = jail_records(&stdout(&out));
        let matchline = records[0].journalmatch.clone().unwrap();
        let filter =
            fs::read_to_string(suite_root.join("etc/fail2ban/filter.d/sshd.conf")).unwrap();
        let stock = filter
            .lines()
            .find_map(|l| l.strip_prefix("journalmatch = "))
            .unwrap();
        if suite == "trixie" {
            assert!(suite_root.join("usr/lib/openssh/sshd-session").exists());
            assert_eq!(
                matchline,
                "_SYSTEMD_UNIT=ssh.service + _COMM=sshd _UID=0 + _COMM=sshd-session _UID=0"
            );
            // fail2ban 1.1.0's own sshd filter's programs, each only as
            // root (its _COMM terms alone are forgeable by any local user).
            assert_eq!(matchline.replace(" _UID=0", ""), stock);
        } else {
            assert_eq!(matchline, "_SYSTEMD_UNIT=ssh.service + _COMM=sshd _UID=0");
            assert!(!stock.contains("sshd-session"));
        }
        // --check wrote nothing, into the overlay or anywhere.
        assert!(
            all_files(upper.path()).is_empty(),
            "{:?}",
            all_files(upper.path())
        );
    }
}

/// The whole-configuration outcome and the misspelling findings, judged
/// with each release's own fail2ban (Debian 12's 1.0.2, 13's 1.1.0,
/// testing's): what jailgen calls a refusal, that release's -t refuses, and
/// a misspelt option is not in force in that release's -d.
#[test]
fn refusals_and_misspellings_hold_on_each_release() {
    let test = "jailgen::refusals_and_misspellings_hold_on_each_release";
    if !ready(test) {
        return;
    }
    let refusals: &[(&str, &str)] = &[
        (
            "[sshd]\nenabled = true\nfilter = no-such-filter\n",
            "jailgen/jail-file-missing",
        ),
        (
            "[sshd]\nenabled = true\nbanaction = no-such-action\n",
            "jailgen/jail-file-missing",
        ),
        ("[sshd]\nmaxretry = 3\nmaxretry = 4\n", "jailgen/syntax"),
        (
            "[sshd]\nenabled = true\nport = %(nonexistent)s\n",
            "jailgen/interpolation",
        ),
    ];
    let mut ran = 0;
    for suite in ["bookworm", "trixie", "forky"] {
        let Some(suite_root) =
            hardkit_core::oracle::debian_root(&format!("{test}::{suite}"), suite)
        else {
            continue;
        };
        ran += 1;
        for (text, id) in refusals {
            let tree = tree_from_release(&suite_root);
            tree.file("/etc/fail2ban/jail.d/zz-site.local", text);
            let out = jailgen(tree.path(), &["audit", "--json"], None);
            let ids = finding_ids(&out);
            assert_eq!(ids, [*id], "{suite}: {text}");
            let t = release_client(&suite_root, &tree, &["-t"]);
            assert!(
                !t.status.success(),
                "{suite}'s fail2ban-client -t accepted what jailgen calls a refusal: {text}"
            );
        }
        let tree = tree_from_release(&suite_root);
        tree.file(
            "/etc/fail2ban/jail.d/zz-site.local",
            "[sshd]\nenabled = true\nbandtime = 1w\nmaxretr = 2\n",
        );
        let out = jailgen(tree.path(), &["audit", "--json"], None);
        let unknown = finding_ids(&out)
            .into_iter()
            .filter(|i| i == "jailgen/option-unknown")
            .count();
        assert_eq!(unknown, 2, "{suite}: {}", stdout(&out));
        let d = release_client(&suite_root, &tree, &["-d"]);
        let dump = String::from_utf8_lossy(&d.stdout);
        assert!(
            d.status.success(),
            "{suite}: {}",
            String::from_utf8_lossy(&d.stderr)
        );
        assert!(
            !dump.contains("'1w'"),
            "{suite}: the misspelt bantime is in force:\n{dump}"
        );
        assert!(
            !dump.contains("'maxretry', '2'") && !dump.contains("'maxretry', 2"),
            "{suite}"
        );
    }
    if ran == 0 {
        eprintln!("NOT RUN: {test}: no cached Debian roots");
    }
}

/// An action's start and ban commands for `jail`, as the release's own
/// `fail2ban-client -d` sends them, with their tags resolved as fail2ban's
/// server does (`<tag>` from the action's own properties, repeatedly),
/// banning `ip`. None when the jail has no action.
fn ban_commands(
    dump: &[serde_json::Value],
    jail: &str,
    ip: &str,
) -> Option<(String, String, String)> {
    let rec = dump.iter().find(|r| {
        r.get(0).and_then(|v| v.as_str()) == Some("multi-set")
            && r.get(1).and_then(|v| v.as_str()) == Some(jail)
            && r.get(2).and_then(|v| v.as_str()) == Some("action")
    })?;
    let action = rec.get(3)?.as_str()?.to_string();
    let mut props = std::collections::BTreeMap::new();
    for pair in rec.get(4)?.as_array()? {
        let (Some(k), Some(v)) = (pair.get(0).and_then(|v| v.as_str()), pair.get(1)) else {
            continue;
        };
        if k.contains('?') {
            continue;
        }
        let v = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        props.insert(k.to_string(), v);
    }
    props.insert("ip".into(), ip.into());
    props.insert("family".into(), "inet4".into());
    // fail2ban's special tags (server/action.py, ADD_REPL_TAGS).
    props.entry("br".into()).or_insert_with(|| "\n".into());
    props.entry("sp".into()).or_insert_with(|| " ".into());
    let resolve = |s: &str| -> String {
        let mut cur = s.to_string();
        for _ in 0..10 {
            let mut out = String::new();
            let mut rest = cur.as_str();
            while let Some(open) = rest.find('<') {
                out.push_str(&rest[..open]);
                let after = &rest[open + 1..];
                match after.find('>') {
                    Some(close)
                        if !after[..close].is_empty() && !after[..close].contains(['<', ' ']) =>
                    {
                        let tag = &after[..close];
                        match props.get(tag) {
                            Some(v) => out.push_str(v),
                            None => out.push_str(&rest[open..open + close + 2]),
                        }
                        rest = &after[close + 1..];
                    }
                    _ => {
                        out.push('<');
                        rest = after;
                    }
                }
            }
            out.push_str(rest);
            if out == cur {
                break;
            }
            cur = out;
        }
        cur
    };
    Some((
        action,
        resolve(props.get("actionstart")?),
        resolve(props.get("actionban")?),
    ))
}

/// Does the ban work? In a network namespace of its own: a listener on
/// 2222, then the action's start and ban commands, run with only the
/// programs the root has (its own nft, iptables, ip6tables, ipset, each
/// through the root's dynamic loader; the root's absence of one is an
/// absence here); a connect from 127.0.0.2 (banned) and from 127.0.0.1.
/// Returns "before=... banned=... other=..." and the commands' errors.
fn ban_works_with_the_roots_programs(
    suite_root: &Path,
    start: &str,
    ban: &str,
) -> (String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    fs::create_dir(&bin).unwrap();
    let root = hardkit_core::Root::new(suite_root).unwrap();
    let ldso = root.resolve("/lib64/ld-linux-x86-64.so.2").unwrap();
    let libs = root.resolve("/usr/lib/x86_64-linux-gnu").unwrap();
    for program in ["nft", "iptables", "ip6tables", "ipset"] {
        // Resolved inside the root: Debian's iptables is an alternatives
        // link, followed there.
        let Ok(real) = root.resolve(format!("/usr/sbin/{program}")) else {
            continue;
        };
        if !real.is_file() {
            continue;
        }
        let wrapper = format!(
            "#!/bin/bash\nexec -a {program} '{}' --library-path '{}' '{}' \"$@\"\n",
            ldso.display(),
            libs.display(),
            real.display()
        );
        let w = bin.join(program);
        fs::write(&w, wrapper).unwrap();
        fs::set_permissions(&w, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    fs::write(tmp.path().join("start.sh"), start).unwrap();
    fs::write(tmp.path().join("ban.sh"), ban).unwrap();
    // The probe the shell suite uses too: scripts/tests/ban-probe.sh.
    let probe = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/tests/ban-probe.sh");
    let out = Command::new("unshare")
        .args(["--net", "bash"])
        .arg(&probe)
        .arg(tmp.path().join("start.sh"))
        .arg(tmp.path().join("ban.sh"))
        .env("PROBE_PATH", &bin)
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

/// Each release's own default ban action, judged by jailgen on that
/// release's stock host (nftables installed and enabled, iptables not), and
/// proven with packets: the commands its own `fail2ban-client -d` sends,
/// run with the root's own programs in a network namespace. A
/// banaction-firewall finding exactly when the ban does not work: Debian
/// 12's iptables-multiport (no iptables), not Debian 13's or testing's
/// nftables.
#[test]
fn each_releases_default_ban_action_is_judged_by_whether_it_bans() {
    let test = "jailgen::each_releases_default_ban_action_is_judged_by_whether_it_bans";
    if !ready(test) || hardkit_core::oracle::oracle(test, "python3").is_none() {
        return;
    }
    for suite in SUITES {
        let Some(suite_root) =
            hardkit_core::oracle::debian_root(&format!("{test}::{suite}"), suite)
        else {
            continue;
        };
        let tree = tree_from_release(&suite_root);
        tree.file(
            "/etc/fail2ban/jail.d/zz-test.local",
            "[sshd]\nenabled = true\nport = 2222\nbackend = systemd\n",
        )
        .nftables_host();
        let out = jailgen(tree.path(), &["audit", "--json"], None);
        let flagged = finding_ids(&out)
            .iter()
            .any(|i| i == "jailgen/banaction-firewall");
        let d = release_client(&suite_root, &tree, &["-d"]);
        assert!(
            d.status.success(),
            "{suite}: {}",
            String::from_utf8_lossy(&d.stderr)
        );
        let (action, start, ban) = ban_commands(&parse_dump(&d.stdout), "sshd", "127.0.0.2")
            .unwrap_or_else(|| panic!("{suite}: no action in -d"));
        let (got, errors) = ban_works_with_the_roots_programs(&suite_root, &start, &ban);
        let works = got == "before=open banned=blocked other=open";
        eprintln!(
            "{suite}: default action {action}: ban {} ({got}); jailgen {}",
            if works { "works" } else { "fails" },
            if flagged { "flags it" } else { "is silent" }
        );
        assert_eq!(
            flagged,
            !works,
            "{suite}: {action}: jailgen {} but the ban {} ({got}; {errors})\n{}",
            if flagged { "flags it" } else { "is silent" },
            if works { "works" } else { "fails" },
            stdout(&out)
        );
    }
}
