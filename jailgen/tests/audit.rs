//! `jailgen audit` on fixture trees: each silent failure from the issue is
//! reproduced and must be reported; jailgen's own output must audit clean;
//! and the configuration reader must agree with `fail2ban-client -d`.

mod common;

use common::*;
use hardkit_core::record::decode_strict;
use hardkit_core::Finding;

fn audit(tree: &Tree, sshd_ports: Option<&[u16]>) -> (i32, Vec<Finding>) {
    let input = sshd_ports.map(sshd_lint_ports);
    let mut args = vec!["audit", "--json"];
    if input.is_some() {
        args.extend(["--sshd", "-"]);
    }
    let out = jailgen(tree.path(), &args, input.as_deref());
    let text = stdout(&out);
    check_json_lines(&text);
    let findings = text
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"finding\""))
        .map(|l| decode_strict::<Finding>(l).unwrap().body)
        .collect();
    (out.status.code().unwrap(), findings)
}

fn ids(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.id.as_str()).collect()
}

fn find<'a>(findings: &'a [Finding], id: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no {id} in {:?}", ids(findings)))
}

/// A Debian 12 host whose sshd jail is otherwise right (journal, Debian's
/// unit, nftables), so each test adds exactly one mistake.
fn good_debian() -> Tree {
    let tree = Tree::new();
    tree.debian12().nftables_host().file(
        "/etc/fail2ban/jail.d/site.local",
        "[DEFAULT]\nbanaction = nftables-multiport\nbantime = 1h\n\n[sshd]\nbackend = systemd\njournalmatch = _SYSTEMD_UNIT=ssh.service + _COMM=sshd _UID=0\nmaxretry = 3\n",
    );
    tree
}

#[test]
fn good_configuration_has_no_findings() {
    if !stock_ready("jailgen::good_configuration_has_no_findings") {
        return;
    }
    let tree = good_debian();
    let (code, findings) = audit(&tree, Some(&[22]));
    assert_eq!(findings, vec![]);
    assert_eq!(code, 0);
}

#[test]
fn ssh_moved_to_2222_but_jail_bans_22() {
    if !stock_ready("jailgen::ssh_moved_to_2222_but_jail_bans_22") {
        return;
    }
    let tree = good_debian();
    let (code, findings) = audit(&tree, Some(&[2222]));
    assert_eq!(ids(&findings), ["jailgen/sshd-port-mismatch"]);
    let f = &findings[0];
    assert_eq!(f.severity, hardkit_core::Severity::High);
    assert_eq!(f.fix.as_deref(), Some("port = 2222"));
    // The port came from jail.conf's [sshd] `port = ssh`.
    let loc = f.location.as_ref().unwrap();
    assert_eq!(
        loc.path.as_path(),
        std::path::Path::new("/etc/fail2ban/jail.conf")
    );
    assert_eq!(code, 1);
}

#[test]
fn stock_debian12_file_backend_without_auth_log() {
    if !stock_ready("jailgen::stock_debian12_file_backend_without_auth_log") {
        return;
    }
    let tree = Tree::new();
    tree.debian12().nftables_host().file(
        "/etc/fail2ban/jail.d/site.local",
        "[DEFAULT]\nbanaction = nftables-multiport\n",
    );
    let (_, findings) = audit(&tree, None);
    let f = find(&findings, "jailgen/logpath-missing");
    assert!(f.title.contains("/var/log/auth.log"), "{}", f.title);
    assert!(f.fix.as_deref().unwrap().contains("backend = systemd"));
}

#[test]
fn journal_match_names_sshd_service_on_debian() {
    if !stock_ready("jailgen::journal_match_names_sshd_service_on_debian") {
        return;
    }
    let tree = good_debian();
    // Drop the journalmatch line: the stock filter's sshd.service applies.
    tree.file(
        "/etc/fail2ban/jail.d/site.local",
        "[DEFAULT]\nbanaction = nftables-multiport\n[sshd]\nbackend = systemd\n",
    );
    let (_, findings) = audit(&tree, None);
    // (the stock match also admits any process named sshd: forgeable)
    assert_eq!(
        ids(&findings),
        [
            "jailgen/journalmatch-forgeable",
            "jailgen/journalmatch-unit"
        ]
    );
    let f = find(&findings, "jailgen/journalmatch-unit");
    let loc = f.location.as_ref().unwrap();
    assert_eq!(
        loc.path.as_path(),
        std::path::Path::new("/etc/fail2ban/filter.d/sshd.conf")
    );
    assert!(f.fix.as_deref().unwrap().contains("ssh.service"));
}

/// A local user can run a program named sshd (a copy of logger) and log
/// "Failed password ... from" an innocent address: a journal match on
/// `_COMM` alone counts it. The stock match of fail2ban's sshd filter is
/// reported; jailgen's own (`_COMM=sshd _UID=0`) is not.
#[test]
fn a_journal_match_a_local_user_can_forge_is_reported() {
    if !stock_ready("jailgen::a_journal_match_a_local_user_can_forge_is_reported") {
        return;
    }
    let tree = good_debian();
    tree.file(
        "/etc/fail2ban/jail.d/site.local",
        "[DEFAULT]\nbanaction = nftables-multiport\n[sshd]\nbackend = systemd\njournalmatch = _SYSTEMD_UNIT=ssh.service + _COMM=sshd\n",
    );
    let (code, findings) = audit(&tree, Some(&[22]));
    let f = find(&findings, "jailgen/journalmatch-forgeable");
    assert_eq!(f.severity, hardkit_core::Severity::Medium);
    assert!(f.title.contains("_COMM=sshd"), "{}", f.title);
    assert_eq!(
        f.fix.as_deref(),
        Some("journalmatch = _SYSTEMD_UNIT=ssh.service + _COMM=sshd _UID=0")
    );
    assert_eq!(code, 0, "medium: below the default --fail-on high");
    // jailgen's own sshd jail audits clean of it.
    let out = jailgen(tree.path(), &["--json", "--ssh-port", "22"], None);
    assert!(
        stdout(&out).contains(r#""journalmatch":"_SYSTEMD_UNIT=ssh.service + _COMM=sshd _UID=0""#),
        "{}",
        stdout(&out)
    );
}

/// A ban action is judged by whether its commands can work here, not by
/// whether its name matches the firewall in use: jail.conf's default
/// iptables-multiport on an nftables or ufw host is a finding only when
/// iptables is not installed (Debian's iptables is the nft variant; its DROP
/// holds whatever the nft table or ufw accepts).
#[test]
fn iptables_action_on_nftables_and_ufw_hosts() {
    if !stock_ready("jailgen::iptables_action_on_nftables_and_ufw_hosts") {
        return;
    }
    for host in ["nftables", "ufw"] {
        for iptables in [false, true] {
            let tree = Tree::new();
            tree.debian12().file(
                "/etc/fail2ban/jail.d/site.local",
                "[sshd]\nbackend = systemd\njournalmatch = _SYSTEMD_UNIT=ssh.service + _COMM=sshd _UID=0\n",
            );
            if host == "ufw" {
                tree.ufw_host();
            } else {
                tree.nftables_host();
            }
            if iptables {
                tree.file("/usr/sbin/iptables", "");
            }
            let (_, findings) = audit(&tree, None);
            if iptables {
                assert_eq!(
                    ids(&findings),
                    Vec::<&str>::new(),
                    "{host}, iptables installed"
                );
            } else {
                assert_eq!(ids(&findings), ["jailgen/banaction-firewall"], "{host}");
                assert!(
                    findings[0].title.contains("iptables is not installed"),
                    "{}",
                    findings[0].title
                );
                assert!(
                    findings[0]
                        .fix
                        .as_deref()
                        .unwrap()
                        .contains("nftables-multiport")
                        || host == "ufw",
                    "{:?}",
                    findings[0].fix
                );
            }
        }
    }
}

#[test]
fn values_fail2ban_silently_misreads() {
    if !stock_ready("jailgen::values_fail2ban_silently_misreads") {
        return;
    }
    // Ten references per level, ten levels: 10^9 copies if expanded (a
    // hang before jailgen bounded interpolation; found while fuzzing).
    let mut fan_out = String::from("port = %(f9)s\nf0 = 22");
    for level in 1..10 {
        let refs = format!("%(f{})s", level - 1).repeat(10);
        fan_out.push_str(&format!("\nf{level} = {refs}"));
    }
    let cases: &[(&str, &str)] = &[
        (fan_out.as_str(), "jailgen/interpolation"),
        ("bantime = 1x", "jailgen/duration-invalid"),
        (
            "ignoreip = 127.0.0.1 10.0.0.0/33",
            "jailgen/ignoreip-invalid",
        ),
        (
            "bantime = 5m\nfindtime = 1h",
            "jailgen/bantime-shorter-than-findtime",
        ),
        ("maxretry = 20", "jailgen/maxretry-high"),
        ("ignoreip = 0.0.0.0/0", "jailgen/ignoreip-too-wide"),
        ("ignoreip = 8.0.0.0/8", "jailgen/ignoreip-too-wide"),
        ("enabled = ture", "jailgen/enabled-invalid"),
        ("port = %(nonexistent)s", "jailgen/interpolation"),
        ("port = 22,70000", "jailgen/port-invalid"),
        ("not an option line", "jailgen/syntax"),
    ];
    for (line, id) in cases {
        let tree = good_debian();
        tree.file(
            "/etc/fail2ban/jail.d/zz-mistake.local",
            &format!("[sshd]\n{line}\n"),
        );
        let (code, findings) = audit(&tree, Some(&[22]));
        let mut got = ids(&findings);
        if *id == "jailgen/enabled-invalid" {
            // fail2ban then runs no sshd jail at all.
            assert!(got.contains(&"jailgen/no-sshd-jail"), "{got:?}");
            got.retain(|i| *i != "jailgen/no-sshd-jail");
        }
        assert_eq!(got, [*id], "{line}");
        let loc = findings[0].location.as_ref().unwrap();
        assert_eq!(
            loc.path.as_path(),
            std::path::Path::new("/etc/fail2ban/jail.d/zz-mistake.local"),
            "{line}"
        );
        assert_eq!(loc.line, Some(2), "{line}");
        let high = findings[0].severity >= hardkit_core::Severity::High;
        assert_eq!(code, i32::from(high), "{line}");
    }
}

#[test]
fn debian_default_ignoreip_with_host_bits_is_valid() {
    if !stock_ready("jailgen::debian_default_ignoreip_with_host_bits_is_valid") {
        return;
    }
    // jail.conf's commented default, `127.0.0.1/8 ::1`, masked by fail2ban.
    let tree = good_debian();
    tree.file(
        "/etc/fail2ban/jail.d/zz-ignore.local",
        "[DEFAULT]\nignoreip = 127.0.0.1/8 ::1\n",
    );
    let (code, findings) = audit(&tree, Some(&[22]));
    assert!(ids(&findings).is_empty(), "{:?}", ids(&findings));
    assert_eq!(code, 0);
}

#[test]
fn fail2ban_missing_and_no_sshd_jail() {
    if !stock_ready("jailgen::fail2ban_missing_and_no_sshd_jail") {
        return;
    }
    let tree = Tree::new();
    tree.file("/etc/nftables.conf", "");
    let (code, findings) = audit(&tree, None);
    assert_eq!(ids(&findings), ["jailgen/fail2ban-missing"]);
    assert_eq!(code, 1);

    let tree = good_debian();
    tree.file("/etc/fail2ban/jail.d/zz.local", "[sshd]\nenabled = false\n");
    let (_, findings) = audit(&tree, None);
    assert_eq!(ids(&findings), ["jailgen/no-sshd-jail"]);
}

#[test]
fn generated_jails_audit_clean() {
    if !oracle_ready("jailgen::generated_jails_audit_clean") {
        return;
    }
    let tree = Tree::new();
    tree.debian12().nftables_host().nginx_logs();
    let out = jailgen(
        tree.path(),
        &[
            "--sshd",
            "-",
            "--jail",
            "sshd",
            "--jail",
            "recidive",
            "--jail",
            "api-abuse",
            "--write",
        ],
        Some(&sshd_lint_ports(&[2222])),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (code, findings) = audit(&tree, Some(&[2222]));
    assert_eq!(findings, vec![]);
    assert_eq!(code, 0);
}

/// The reader's view of enabled jails, compared with what fail2ban runs.
#[test]
fn reader_agrees_with_fail2ban_client_dump() {
    if !oracle_ready("jailgen::reader_agrees_with_fail2ban_client_dump") {
        return;
    }
    let tree = Tree::new();
    tree.debian12()
        .nftables_host()
        .file("/var/log/nginx/custom-error.log", "")
        .file(
            "/etc/fail2ban/jail.local",
            "[DEFAULT]\nbantime = 2h ; inline comment\nbanaction = nftables-multiport\nfindtime: 20m\n\n[sshd]\nbackend = systemd\n",
        )
        .file("/etc/fail2ban/jail.d/00-a.conf", "[sshd]\nmaxretry = 7\n")
        .file(
            "/etc/fail2ban/jail.d/10-b.local",
            "[sshd]\nmaxretry = %(known/maxretry)s1\nport = %(known/port)s,2222\n\n[recidive]\nenabled = true\nfindtime = %(sshd/findtime)s\nbantime = 3d\n",
        )
        .file(
            "/etc/fail2ban/jail.d/05-c.conf",
            "[nginx-http-auth]\nenabled = yes\n# a comment\nmaxretry = 4\n\n[nginx-limit-req]\nenabled = on\n",
        )
        .file("/etc/fail2ban/jail.d/20-d.local", "[nginx-limit-req]\nenabled = 0\n")
        .file(
            "/etc/fail2ban/paths-overrides.local",
            "[DEFAULT]\nnginx_error_log = /var/log/nginx/custom-error.log\n",
        );
    let dumped = jails_of(&dump(&tree));
    let root = hardkit_core::Root::new(tree.path()).unwrap();
    let config = jailgen::fail2ban_config::load(&root, "jail");
    let enabled: Vec<String> = config
        .sections()
        .filter(|s| {
            config
                .get(s, "enabled")
                .ok()
                .flatten()
                .and_then(|v| jailgen::fail2ban_config::parse_bool(&v))
                == Some(true)
        })
        .map(str::to_string)
        .collect();
    let mut dumped_names: Vec<String> = dumped.keys().cloned().collect();
    let mut ours = enabled.clone();
    dumped_names.sort();
    ours.sort();
    assert_eq!(ours, dumped_names);
    assert_eq!(ours, ["nginx-http-auth", "recidive", "sshd"]);
    let mut compared = 0;
    for name in &enabled {
        let d = &dumped[name];
        let get = |k: &str| config.get(name, k).unwrap().unwrap();
        assert_eq!(d.options["maxretry"].to_string(), get("maxretry"), "{name}");
        assert_eq!(
            d.options["findtime"].as_str().unwrap(),
            get("findtime"),
            "{name}"
        );
        assert_eq!(
            d.options["bantime"].as_str().unwrap(),
            get("bantime"),
            "{name}"
        );
        assert_eq!(d.backend, get("backend"), "{name}");
        if d.backend == "auto" {
            assert_eq!(d.logpaths.join("\n"), get("logpath"), "{name}");
        }
        let actions: Vec<String> = get("action")
            .lines()
            .map(|a| a.split('[').next().unwrap().trim().to_string())
            .collect();
        assert_eq!(d.actions, actions, "{name}");
        let port = &d.action_params[&actions[0]]["port"];
        assert_eq!(*port, get("port"), "{name}");
        compared += 1;
    }
    assert_eq!(compared, 3);
    // Spot checks of the rules exercised above.
    assert_eq!(dumped["sshd"].options["maxretry"], serde_json::json!(71));
    assert_eq!(
        dumped["sshd"].action_params["nftables-multiport"]["port"],
        "ssh,2222"
    );
    assert_eq!(
        dumped["recidive"].options["findtime"],
        serde_json::json!("20m")
    );
    assert_eq!(
        dumped["nginx-http-auth"].logpaths,
        ["/var/log/nginx/custom-error.log"]
    );
}

#[test]
fn a_later_local_file_overriding_the_generated_jail_is_reported() {
    if !stock_ready("jailgen::a_later_local_file_overriding_the_generated_jail_is_reported") {
        return;
    }
    let tree = Tree::new();
    tree.debian12().nftables_host().file(
        "/etc/fail2ban/jail.d/zz-site.local",
        "[DEFAULT]\nbantime = 5m\n\n[sshd]\nport = 22\nmaxretry = 8\n",
    );
    let out = jailgen(tree.path(), &["--ssh-port", "2222", "--json"], None);
    let text = stdout(&out);
    check_json_lines(&text);
    let findings: Vec<Finding> = text
        .lines()
        .filter(|l| l.starts_with("{\"type\":\"finding\""))
        .map(|l| decode_strict::<Finding>(l).unwrap().body)
        .collect();
    // The section's own bantime still wins over a later [DEFAULT]; port and
    // maxretry do not.
    let titles: Vec<&str> = findings.iter().map(|f| f.title.as_str()).collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(
        titles[0].starts_with("[sshd] port = 22 from /etc/fail2ban/jail.d/zz-site.local"),
        "{titles:?}"
    );
    assert!(titles[1].starts_with("[sshd] maxretry = 8"), "{titles:?}");
    assert_eq!(findings[0].location.as_ref().unwrap().line, Some(5));
    assert_eq!(out.status.code(), Some(1));

    // fail2ban agrees: written as 2222/3/1h, it runs 22/8/1h.
    if !oracle_ready("jailgen::a_later_local_file_overriding_the_generated_jail_is_reported") {
        return;
    }
    let written = jailgen(tree.path(), &["--ssh-port", "2222", "--write"], None);
    assert_eq!(written.status.code(), Some(1), "{}", stderr(&written));
    assert!(tree
        .read("/etc/fail2ban/jail.d/hardkit.local")
        .unwrap()
        .contains("port = 2222"));
    let sshd = jails_of(&dump(&tree))["sshd"].clone();
    assert_eq!(sshd.action_params["nftables-multiport"]["port"], "22");
    assert_eq!(sshd.options["maxretry"], serde_json::json!(8));
    assert_eq!(sshd.options["bantime"], serde_json::json!("1h"));
}

#[test]
fn preview_keeps_stdout_for_the_file_and_findings_on_stderr() {
    if !stock_ready("jailgen::preview_keeps_stdout_for_the_file_and_findings_on_stderr") {
        return;
    }
    let tree = Tree::new();
    tree.debian12().nftables_host();
    let out = jailgen(
        tree.path(),
        &["--ssh-port", "2222", "--ignoreip", "0.0.0.0/0"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.starts_with("# Written by jailgen") && text.ends_with("ignoreip = 0.0.0.0/0\n"),
        "{text}"
    );
    assert!(
        stderr(&out).contains("jailgen/ignoreip-too-wide"),
        "{}",
        stderr(&out)
    );
    // --fail-on medium turns the warning into exit 1.
    let strict = jailgen(
        tree.path(),
        &["--ignoreip", "0.0.0.0/0", "--fail-on", "medium"],
        None,
    );
    assert_eq!(strict.status.code(), Some(1));
}

/// A journal match naming an instance of a templated unit
/// (`postfix@-.service`, what Debian's postfix runs and fail2ban 1.1.0's
/// postfix filter matches) is right when the template is installed; when no
/// unit of the service exists, the fix is about that service, never sshd's
/// match.
#[test]
fn templated_units_count_and_fixes_are_per_service() {
    if !stock_ready("jailgen::templated_units_count_and_fixes_are_per_service") {
        return;
    }
    let jail = "[DEFAULT]\nbanaction = nftables-multiport\n\n[sshd]\nbackend = systemd\njournalmatch = _SYSTEMD_UNIT=ssh.service + _COMM=sshd _UID=0\n\n[postfix]\nenabled = true\nbackend = systemd\njournalmatch = _SYSTEMD_UNIT=postfix@-.service\n";
    let tree = good_debian();
    tree.file("/etc/fail2ban/jail.d/site.local", jail);
    tree.file(
        "/lib/systemd/system/postfix@.service",
        "[Service]\nExecStart=/usr/sbin/postfix start\n",
    );
    let (_, findings) = audit(&tree, Some(&[22]));
    assert!(
        !ids(&findings).contains(&"jailgen/journalmatch-unit"),
        "{:?}",
        ids(&findings)
    );
    // No postfix unit at all: the fix says so, for postfix.
    let tree = good_debian();
    tree.file("/etc/fail2ban/jail.d/site.local", jail);
    let (_, findings) = audit(&tree, Some(&[22]));
    let f = find(&findings, "jailgen/journalmatch-unit");
    let fix = f.fix.as_deref().unwrap();
    assert!(fix.contains("no unit of postfix is installed"), "{fix}");
    assert!(!fix.contains("sshd"), "{fix}");
    // Only postfix.service installed: the fix names it.
    let tree = good_debian();
    tree.file("/etc/fail2ban/jail.d/site.local", jail);
    tree.file(
        "/usr/lib/systemd/system/postfix.service",
        "[Service]\nExecStart=/bin/true\n",
    );
    let (_, findings) = audit(&tree, Some(&[22]));
    let f = find(&findings, "jailgen/journalmatch-unit");
    assert_eq!(
        f.fix.as_deref(),
        Some("journalmatch = _SYSTEMD_UNIT=postfix.service")
    );
}

/// What `fail2ban-client -t` refuses stops every jail: an enabled jail
/// naming a filter or action file that does not exist, or a line the
/// reader rejects (an option set twice in one section). jailgen says so,
/// critical, at the line, and judges nothing else; fail2ban itself agrees
/// that the configuration is refused.
#[test]
fn what_fail2ban_refuses_stops_every_jail() {
    if !oracle_ready("jailgen::what_fail2ban_refuses_stops_every_jail") {
        return;
    }
    let cases: &[(&str, &str, &str)] = &[
        (
            "[mail]\nenabled = true\nfilter = no-such-filter\nlogpath = /var/log/auth.log\n",
            "jailgen/jail-file-missing",
            "filter.d/no-such-filter",
        ),
        (
            "[mail]\nenabled = true\nfilter = sshd\nbanaction = no-such-action\nlogpath = /var/log/auth.log\n",
            "jailgen/jail-file-missing",
            "action.d/no-such-action",
        ),
        (
            "[sshd]\nmaxretry = 3\nmaxretry = 4\n",
            "jailgen/syntax",
            "set twice",
        ),
        (
            "[sshd]\nport = %(nonexistent)s\n",
            "jailgen/interpolation",
            "not defined",
        ),
    ];
    for (text, id, says) in cases {
        let tree = good_debian();
        tree.file("/var/log/auth.log", "");
        tree.file("/etc/fail2ban/jail.d/zz-site.local", text);
        let (code, findings) = audit(&tree, Some(&[22]));
        assert_eq!(ids(&findings), [*id], "{text}");
        let f = &findings[0];
        assert_eq!(f.severity, hardkit_core::Severity::Critical, "{text}");
        assert!(
            f.title.contains(says) || f.detail.contains(says),
            "{text}: {} / {}",
            f.title,
            f.detail
        );
        assert!(f.title.contains("every jail"), "{}", f.title);
        assert_eq!(
            f.location.as_ref().unwrap().path.as_path(),
            std::path::Path::new("/etc/fail2ban/jail.d/zz-site.local")
        );
        assert_eq!(code, 1);
        let t = fail2ban_client(&tree, &["-t"]);
        assert!(
            !t.status.success(),
            "fail2ban-client -t accepted what jailgen says it refuses: {text}"
        );
    }
    // The same files, the jail disabled: nothing refused.
    let tree = good_debian();
    tree.file(
        "/etc/fail2ban/jail.d/zz-site.local",
        "[mail]\nenabled = false\nfilter = no-such-filter\n",
    );
    let (_, findings) = audit(&tree, Some(&[22]));
    assert_eq!(ids(&findings), Vec::<&str>::new());
    assert!(fail2ban_client(&tree, &["-t"]).status.success());
}

/// A misspelt option is ignored by fail2ban without a word: the ban time
/// the operator set is not in force. jailgen names the nearest option; the
/// operator's own variables (read through %(name)s) and names far from any
/// option are left alone. fail2ban itself shows the misspelling has no
/// effect (its dump carries the default bantime, not the one written).
#[test]
fn misspelt_options_are_named_with_the_nearest_one() {
    if !oracle_ready("jailgen::misspelt_options_are_named_with_the_nearest_one") {
        return;
    }
    let tree = good_debian();
    tree.file(
        "/etc/fail2ban/jail.d/zz-site.local",
        "[DEFAULT]\nmynet = 192.0.2.0/24\nignoreip = 127.0.0.1/8 %(mynet)s\ncolour = blue\n\n[sshd]\nbandtime = 1w\nbantime.max = 4w\nmaxretr = 2\n",
    );
    let (code, findings) = audit(&tree, Some(&[22]));
    let mut got: Vec<(String, String)> = findings
        .iter()
        .filter(|f| f.id == "jailgen/option-unknown")
        .map(|f| {
            let e = f.evidence.as_ref().unwrap();
            (
                e["option"].as_str().unwrap().to_string(),
                e["nearest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("bandtime".to_string(), "bantime".to_string()),
            ("bantime.max".into(), "bantime.maxtime".into()),
            ("maxretr".into(), "maxretry".into()),
        ],
        "{:?}",
        ids(&findings)
    );
    assert_eq!(code, 0, "medium findings");
    let f = find(&findings, "jailgen/option-unknown");
    assert_eq!(f.location.as_ref().unwrap().line, Some(7));
    // fail2ban agrees the misspelling is not in force: the sshd jail gets
    // the bantime of the good configuration (1h), not a week.
    let dump = fail2ban_client(&tree, &["-d"]);
    let text = String::from_utf8_lossy(&dump.stdout);
    assert!(text.contains("['set', 'sshd', 'bantime', '1h']"), "{text}");
    assert!(!text.contains("'1w'") && !text.contains("'4w'"), "{text}");
}
