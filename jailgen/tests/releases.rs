//! fail2ban's release: detected from the target, forced with `--fail2ban`,
//! said once; the option table's release differences reach the audit.

mod common;

use common::*;
use hardkit_core::record::decode;
use hardkit_core::release::{ReleaseRecord, ReleaseSource};
use hardkit_core::Finding;

const STATUS_1_1: &str = "Package: fail2ban\nStatus: install ok installed\nVersion: 1.1.0-8\n";

fn good_debian(status: &str) -> Tree {
    let tree = Tree::new();
    tree.debian12()
        .nftables_host()
        .file("/var/lib/dpkg/status", status)
        .file(
            "/etc/fail2ban/jail.d/site.local",
            "[DEFAULT]\nbanaction = nftables-multiport\nbantime = 1h\n\n[sshd]\nbackend = systemd\njournalmatch = _SYSTEMD_UNIT=ssh.service + _COMM=sshd _UID=0\nmaxretry = 3\n",
        );
    tree
}

fn audit_json(tree: &Tree, extra: &[&str]) -> (i32, Vec<ReleaseRecord>, Vec<Finding>) {
    let mut args = vec!["audit", "--json"];
    args.extend(extra);
    let out = jailgen(tree.path(), &args, None);
    let text = stdout(&out);
    check_json_lines(&text);
    let releases = text
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"release\""))
        .map(|l| decode::<ReleaseRecord>(l).unwrap().body)
        .collect();
    let findings = text
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"finding\""))
        .map(|l| decode::<Finding>(l).unwrap().body)
        .collect();
    (out.status.code().unwrap(), releases, findings)
}

#[test]
fn the_release_is_detected_said_once_and_forced_by_flag() {
    if !stock_ready("jailgen::the_release_is_detected_said_once_and_forced_by_flag") {
        return;
    }
    let tree = good_debian(STATUS_1_1);
    let (code, releases, findings) = audit_json(&tree, &[]);
    assert_eq!((code, findings.len()), (0, 0), "{findings:?}");
    assert_eq!(
        releases,
        vec![ReleaseRecord {
            program: "fail2ban".into(),
            version: "1.1.0-8".into(),
            model: "1.1.0".into(),
            source: ReleaseSource::Dpkg,
        }]
    );
    // The record comes before everything else.
    let out = stdout(&jailgen(tree.path(), &["audit", "--json"], None));
    assert!(out.starts_with("{\"type\":\"release\""), "{out}");
    let human = stdout(&jailgen(tree.path(), &["audit"], None));
    assert_eq!(
        human.lines().next(),
        Some("jailgen: rules of fail2ban 1.1.0 (1.1.0-8, from the package database)")
    );
    assert_eq!(human.matches("rules of fail2ban").count(), 1);
    // Generation says it too: on stderr in the preview, stdout is the file.
    let preview = jailgen(tree.path(), &["--fail2ban", "1.0.2"], None);
    assert!(stdout(&preview).starts_with("# Written by jailgen"));
    assert!(
        stderr(&preview).contains("rules of fail2ban 1.0.2 (from the command line)"),
        "{}",
        stderr(&preview)
    );

    let (_, releases, _) = audit_json(&tree, &["--fail2ban", "1.0"]);
    assert_eq!(releases[0].model, "1.0.2");
    assert_eq!(releases[0].source, ReleaseSource::Flag);

    let (code, releases, findings) = audit_json(&tree, &["--fail2ban", "1.3.0"]);
    assert_eq!(releases[0].model, "1.1.0");
    assert_eq!(code, 0, "a newer release is said, not refused");
    let f = findings
        .iter()
        .find(|f| f.id == "jailgen/fail2ban-release-unmodelled")
        .unwrap();
    assert!(
        f.title.contains("1.3.0") && f.title.contains("1.1.0"),
        "{}",
        f.title
    );

    let bad = jailgen(tree.path(), &["audit", "--fail2ban", "newest"], None);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).starts_with("jailgen: --fail2ban: \"newest\""),
        "{}",
        stderr(&bad)
    );
    assert!(stdout(&bad).is_empty());
}

/// 1.1.0 removed the gamin backend: its server refuses the jail ("Unknown
/// backend"), where 1.0.2 fell back to polling.
#[test]
fn gamin_is_a_backend_of_1_0_only_and_unreadable_values_are_reported() {
    if !stock_ready("jailgen::gamin_is_a_backend_of_1_0_only_and_unreadable_values_are_reported") {
        return;
    }
    let tree = good_debian(STATUS_1_1);
    tree.file("/var/log/auth.log", "").file(
        "/etc/fail2ban/jail.d/zz.local",
        "[sshd]\nbackend = gamin\nlogpath = /var/log/auth.log\nbantime.increment = sometimes\nmaxmatches = many\n",
    );
    let (code, _, findings) = audit_json(&tree, &[]);
    assert_eq!(code, 1);
    let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    assert!(ids.contains(&"jailgen/backend-invalid"), "{ids:?}");
    assert_eq!(
        ids.iter()
            .filter(|i| **i == "jailgen/option-invalid")
            .count(),
        2,
        "{ids:?}"
    );
    let loc = findings
        .iter()
        .find(|f| f.id == "jailgen/backend-invalid")
        .and_then(|f| f.location.clone())
        .unwrap();
    assert_eq!(loc.line, Some(2));
    let (_, _, findings) = audit_json(&tree, &["--fail2ban", "1.0.2"]);
    assert!(
        !findings.iter().any(|f| f.id == "jailgen/backend-invalid"),
        "{findings:?}"
    );
}
