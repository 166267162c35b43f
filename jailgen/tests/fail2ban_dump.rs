//! The heart of jailgen's proof: for a matrix of generated configurations,
//! Debian's real fail2ban (`fail2ban-client -d`) must run exactly the
//! intended jails, and `fail2ban-client -t` must accept them.

mod common;

use common::*;
use serde_json::json;

/// Compare every `jail` record with what fail2ban will run.
fn assert_dump_matches_records(
    tree: &Tree,
    records: &[jailgen::jails::Jail],
) -> std::collections::BTreeMap<String, DumpedJail> {
    let jails = jails_of(&dump(tree));
    for r in records {
        let d = jails
            .get(&r.name)
            .unwrap_or_else(|| panic!("fail2ban does not run jail {}: {:?}", r.name, jails.keys()));
        assert!(d.started, "{} not started", r.name);
        assert_eq!(d.backend, r.backend, "{} backend", r.name);
        assert_eq!(
            d.options["maxretry"],
            json!(r.maxretry),
            "{} maxretry",
            r.name
        );
        assert_eq!(
            d.options["findtime"],
            json!(r.findtime),
            "{} findtime",
            r.name
        );
        assert_eq!(d.options["bantime"], json!(r.bantime), "{} bantime", r.name);
        if r.backend == "systemd" {
            let expected: Vec<String> = r
                .journalmatch
                .as_deref()
                .unwrap_or_default()
                .split(' ')
                .map(str::to_string)
                .collect();
            assert_eq!(d.journalmatch, expected, "{} journalmatch", r.name);
            assert!(
                d.logpaths.is_empty(),
                "{} reads files too: {:?}",
                r.name,
                d.logpaths
            );
        } else {
            assert_eq!(d.logpaths, r.logpath, "{} logpath", r.name);
        }
        assert_eq!(d.actions, vec![r.banaction.clone()], "{} actions", r.name);
        let params = &d.action_params[&r.banaction];
        assert_eq!(params.get("port"), Some(&r.port), "{} action port", r.name);
        assert_eq!(d.ignoreip, r.ignoreip, "{} ignoreip", r.name);
        assert_eq!(
            d.options
                .get("bantime.increment")
                .cloned()
                .unwrap_or(json!(false)),
            json!(r.bantime_increment),
            "{} bantime.increment",
            r.name
        );
        if let Some(f) = &r.bantime_factor {
            assert_eq!(d.options["bantime.factor"], json!(f), "{}", r.name);
        }
        if let Some(m) = &r.bantime_maxtime {
            assert_eq!(d.options["bantime.maxtime"], json!(m), "{}", r.name);
        }
    }
    let t = fail2ban_client(tree, &["-t"]);
    assert!(
        t.status.success(),
        "fail2ban-client -t: {}{}",
        stdout(&t),
        stderr(&t)
    );
    jails
}

fn write_json(tree: &Tree, args: &[&str], stdin: Option<&str>) -> Vec<jailgen::jails::Jail> {
    let mut all = args.to_vec();
    all.extend(["--write", "--json"]);
    let out = jailgen(tree.path(), &all, stdin);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    check_json_lines(&stdout(&out));
    jail_records(&stdout(&out))
}

#[test]
fn custom_ssh_port_from_sshd_lint_journal_and_nftables() {
    if !oracle_ready("jailgen::custom_ssh_port_from_sshd_lint_journal_and_nftables") {
        return;
    }
    let tree = Tree::new();
    tree.debian12().nftables_host();
    let records = write_json(&tree, &["--sshd", "-"], Some(&sshd_lint_ports(&[2222])));
    assert_eq!(records.len(), 1);
    let jails = assert_dump_matches_records(&tree, &records);
    let sshd = &jails["sshd"];
    // The intended settings, stated independently of jailgen's records.
    assert_eq!(sshd.backend, "systemd");
    assert_eq!(
        sshd.journalmatch,
        ["_SYSTEMD_UNIT=ssh.service", "+", "_COMM=sshd", "_UID=0"]
    );
    assert_eq!(sshd.actions, ["nftables-multiport"]);
    assert_eq!(sshd.action_params["nftables-multiport"]["port"], "2222");
    assert_eq!(sshd.options["maxretry"], json!(3));
    assert_eq!(sshd.options["findtime"], json!("10m"));
    assert_eq!(sshd.options["bantime"], json!("1h"));
    assert_eq!(jails.len(), 1, "only sshd runs: {:?}", jails.keys());
}

#[test]
fn auth_log_file_backend_ufw_increment_and_ignoreip() {
    if !oracle_ready("jailgen::auth_log_file_backend_ufw_increment_and_ignoreip") {
        return;
    }
    let tree = Tree::new();
    tree.debian12()
        .ufw_host()
        .nftables_host()
        .file("/etc/rsyslog.conf", "")
        .file("/var/log/auth.log", "");
    let records = write_json(
        &tree,
        &[
            "--ssh-port",
            "22,2222",
            "--maxretry",
            "4",
            "--findtime",
            "15m",
            "--bantime",
            "2h",
            "--bantime-increment",
            "--bantime-factor",
            "1.5",
            "--bantime-maxtime",
            "2w",
            "--ignoreip",
            "192.0.2.0/24, 2001:db8::1",
        ],
        None,
    );
    let jails = assert_dump_matches_records(&tree, &records);
    let sshd = &jails["sshd"];
    assert_eq!(sshd.backend, "auto");
    assert_eq!(sshd.logpaths, ["/var/log/auth.log"]);
    assert_eq!(
        sshd.actions,
        ["ufw"],
        "ufw is enabled, it wins over nftables"
    );
    assert_eq!(sshd.action_params["ufw"]["port"], "22,2222");
    assert_eq!(sshd.options["maxretry"], json!(4));
    assert_eq!(sshd.options["findtime"], json!("15m"));
    assert_eq!(sshd.options["bantime"], json!("2h"));
    assert_eq!(sshd.options["bantime.increment"], json!(true));
    assert_eq!(sshd.options["bantime.factor"], json!("1.5"));
    assert_eq!(sshd.options["bantime.maxtime"], json!("2w"));
    assert_eq!(sshd.ignoreip, ["192.0.2.0/24", "2001:db8::1"]);
}

#[test]
fn every_jail_on_an_iptables_host_with_sshd_service() {
    if !oracle_ready("jailgen::every_jail_on_an_iptables_host_with_sshd_service") {
        return;
    }
    let tree = Tree::new();
    tree.stock_fail2ban()
        .file("/usr/lib/systemd/system/sshd.service", "[Unit]\n")
        .file("/var/log/fail2ban.log", "")
        .iptables_host()
        .nginx_logs();
    let mut args = vec!["--sshd", "-"];
    for j in [
        "api-abuse",
        "nginx-http-auth",
        "nginx-botsearch",
        "nginx-limit-req",
        "recidive",
        "sshd",
    ] {
        args.extend(["--jail", j]);
    }
    args.extend(["--api-path", "/api/v2/", "--api-status", "401,429"]);
    let records = write_json(&tree, &args, Some(&sshd_lint_ports(&[22, 2200])));
    let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "sshd",
            "recidive",
            "nginx-limit-req",
            "nginx-botsearch",
            "nginx-http-auth",
            "api-abuse"
        ]
    );
    let jails = assert_dump_matches_records(&tree, &records);
    assert_eq!(jails.len(), 6);
    assert_eq!(
        jails["sshd"].journalmatch,
        ["_SYSTEMD_UNIT=sshd.service", "+", "_COMM=sshd", "_UID=0"]
    );
    assert_eq!(
        jails["sshd"].action_params["iptables-multiport"]["port"],
        "22,2200"
    );
    let recidive = &jails["recidive"];
    assert_eq!(recidive.actions, ["iptables-allports"]);
    assert_eq!(recidive.options["bantime"], json!("1w"));
    assert_eq!(recidive.options["findtime"], json!("1d"));
    assert_eq!(recidive.options["maxretry"], json!(5));
    assert_eq!(recidive.logpaths, ["/var/log/fail2ban.log"]);
    for nginx in ["nginx-limit-req", "nginx-botsearch", "nginx-http-auth"] {
        assert_eq!(
            jails[nginx].logpaths,
            ["/var/log/nginx/error.log"],
            "{nginx}"
        );
        assert_eq!(
            jails[nginx].action_params["iptables-multiport"]["port"],
            "http,https"
        );
    }
    let api = &jails["api-abuse"];
    assert_eq!(api.logpaths, ["/var/log/nginx/access.log"]);
    assert_eq!(api.options["datepattern"], json!("^[^\\[]*\\[({DATE})"));
    let filter = tree
        .read("/etc/fail2ban/filter.d/hardkit-api-abuse.conf")
        .unwrap();
    assert!(
        filter.contains(" /api/v2/[^\"\\s]* HTTP/\\d(?:\\.\\d)?\" (?:401|429) "),
        "{filter}"
    );
}

#[test]
fn overrides_banaction_and_forced_journal() {
    if !oracle_ready("jailgen::overrides_banaction_and_forced_journal") {
        return;
    }
    let tree = Tree::new();
    tree.debian12().ufw_host().file("/var/log/auth.log", "");
    let records = write_json(
        &tree,
        &[
            "--banaction",
            "nftables-multiport",
            "--ssh-backend",
            "systemd",
            "--jail",
            "sshd",
            "--jail",
            "recidive",
            "--set",
            "sshd.maxretry=2",
            "--set",
            "recidive.bantime=2w",
            "--set",
            "sshd.findtime=1h",
        ],
        None,
    );
    let jails = assert_dump_matches_records(&tree, &records);
    assert_eq!(jails["sshd"].backend, "systemd");
    assert_eq!(jails["sshd"].options["maxretry"], json!(2));
    assert_eq!(jails["sshd"].options["findtime"], json!("1h"));
    assert_eq!(jails["sshd"].actions, ["nftables-multiport"]);
    assert_eq!(
        jails["sshd"].action_params["nftables-multiport"]["port"],
        "22"
    );
    assert_eq!(jails["recidive"].actions, ["nftables-allports"]);
    assert_eq!(jails["recidive"].options["bantime"], json!("2w"));
}

#[test]
fn rejected_configuration_is_never_written() {
    if !oracle_ready("jailgen::rejected_configuration_is_never_written") {
        return;
    }
    // Stock Debian 12: the packaged [sshd] jail reads /var/log/auth.log,
    // which does not exist, so fail2ban refuses the whole configuration.
    // Adding only recidive leaves that in place: jailgen must refuse.
    let tree = Tree::new();
    tree.debian12().nftables_host();
    let out = jailgen(tree.path(), &["--jail", "recidive", "--write"], None);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("fail2ban rejected") && err.contains("sshd"),
        "{err}"
    );
    assert!(
        err.contains("hint: ") && err.contains("--jail sshd"),
        "{err}"
    );
    assert!(tree.read("/etc/fail2ban/jail.d/hardkit.local").is_none());
    // The same with sshd on the journal is accepted.
    let ok = jailgen(
        tree.path(),
        &["--jail", "recidive", "--jail", "sshd", "--write"],
        None,
    );
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
}

#[test]
fn write_stays_unchanged_when_only_the_firewall_evidence_changes() {
    if !oracle_ready("jailgen::write_stays_unchanged_when_only_the_firewall_evidence_changes") {
        return;
    }
    // nftables installed, then its service enabled: same firewall, same
    // jails, so the second write must not touch the file.
    let tree = Tree::new();
    tree.debian12()
        .file("/etc/nftables.conf", "flush ruleset\n");
    let args = ["--ssh-port", "2222", "--json", "--write"];
    let first = stdout(&jailgen(tree.path(), &args, None));
    assert!(first.contains("\"changed\":true"), "{first}");
    let bytes = tree.read("/etc/fail2ban/jail.d/hardkit.local").unwrap();
    tree.symlink(
        "/lib/systemd/system/nftables.service",
        "/etc/systemd/system/sysinit.target.wants/nftables.service",
    );
    let second = stdout(&jailgen(tree.path(), &args, None));
    assert!(second.contains("\"changed\":false"), "{second}");
    assert_eq!(
        tree.read("/etc/fail2ban/jail.d/hardkit.local").unwrap(),
        bytes
    );
}

#[test]
fn write_is_idempotent_and_check_writes_nothing() {
    if !oracle_ready("jailgen::write_is_idempotent_and_check_writes_nothing") {
        return;
    }
    let tree = Tree::new();
    tree.debian12().nftables_host().nginx_logs();
    let args = [
        "--jail",
        "sshd",
        "--jail",
        "api-abuse",
        "--ssh-port",
        "2222",
        "--json",
    ];
    let mut check = args.to_vec();
    check.push("--check");
    let out = jailgen(tree.path(), &check, None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("\"changed\":true"));
    assert!(tree.read("/etc/fail2ban/jail.d/hardkit.local").is_none());
    assert!(tree
        .read("/etc/fail2ban/filter.d/hardkit-api-abuse.conf")
        .is_none());

    let mut write = args.to_vec();
    write.push("--write");
    let first = stdout(&jailgen(tree.path(), &write, None));
    assert_eq!(first.matches("\"changed\":true").count(), 2, "{first}");
    let bytes = tree.read("/etc/fail2ban/jail.d/hardkit.local").unwrap();
    let second = stdout(&jailgen(tree.path(), &write, None));
    assert_eq!(second.matches("\"changed\":false").count(), 2, "{second}");
    assert_eq!(
        tree.read("/etc/fail2ban/jail.d/hardkit.local").unwrap(),
        bytes
    );
    let recheck = stdout(&jailgen(tree.path(), &check, None));
    assert_eq!(recheck.matches("\"changed\":false").count(), 2, "{recheck}");
    // --diff shows exactly what a new port would change, and writes nothing.
    let diff = jailgen(
        tree.path(),
        &[
            "--jail",
            "sshd",
            "--jail",
            "api-abuse",
            "--ssh-port",
            "2200",
            "--check",
            "--diff",
            "--json",
        ],
        None,
    );
    let actions: Vec<hardkit_core::Action> = stdout(&diff)
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"action\""))
        .map(|l| hardkit_core::record::decode_strict(l).unwrap().body)
        .collect();
    assert_eq!(actions.len(), 2);
    assert!(
        !actions[0].changed && actions[0].diff.is_none(),
        "{actions:?}"
    );
    let d = actions[1].diff.as_deref().unwrap();
    assert!(
        d.starts_with(
            "--- /etc/fail2ban/jail.d/hardkit.local\n+++ /etc/fail2ban/jail.d/hardkit.local\n@@ "
        ),
        "{d}"
    );
    let changes: Vec<&str> = d
        .lines()
        .filter(|l| l.starts_with(['+', '-']) && !l.starts_with("---") && !l.starts_with("+++"))
        .collect();
    assert_eq!(
        changes,
        [
            "-# SSH port(s) 2222 (--ssh-port); SSH unit ssh.service",
            "+# SSH port(s) 2200 (--ssh-port); SSH unit ssh.service",
            "-port = 2222",
            "+port = 2200"
        ]
    );
    assert_eq!(
        tree.read("/etc/fail2ban/jail.d/hardkit.local").unwrap(),
        bytes
    );
    // The preview prints the same bytes that were written.
    let preview = jailgen(
        tree.path(),
        &[
            "--jail",
            "sshd",
            "--jail",
            "api-abuse",
            "--ssh-port",
            "2222",
        ],
        None,
    );
    assert_eq!(stdout(&preview), bytes);
}

#[test]
fn recidive_follows_fail2bans_logtarget_to_the_journal() {
    if !oracle_ready("jailgen::recidive_follows_fail2bans_logtarget_to_the_journal") {
        return;
    }
    let tree = Tree::new();
    tree.stock_fail2ban()
        .file("/lib/systemd/system/ssh.service", "[Unit]\n")
        .nftables_host()
        .file(
            "/etc/fail2ban/fail2ban.local",
            "[Definition]\nlogtarget = SYSTEMD-JOURNAL\n",
        );
    let records = write_json(&tree, &["--jail", "sshd", "--jail", "recidive"], None);
    let jails = assert_dump_matches_records(&tree, &records);
    let recidive = &jails["recidive"];
    assert_eq!(recidive.backend, "systemd");
    assert_eq!(
        recidive.journalmatch,
        ["_SYSTEMD_UNIT=fail2ban.service", "PRIORITY=5"]
    );
    assert!(recidive.logpaths.is_empty());
    assert_eq!(recidive.actions, ["nftables-allports"]);
}
