//! `fwplan audit --root TREE`: the firewall is the one the tree would load
//! at boot, loaded by the real nft (and iptables-nft-restore) in a network
//! namespace of fwplan's own. Trees are temporary directories; the host's
//! ruleset is compared before and after.

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;

use common::fwplan;
use hardkit_core::oracle::{oracle, require_root};
use hardkit_core::record::{decode_strict, envelope};
use hardkit_core::{Finding, Severity};

const DROP_INPUT: &str = "table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\ttcp dport 22 accept
\t}
}
";

/// Root and nft, or the test is recorded as not run.
fn can_run(test: &str) -> bool {
    require_root(test) && oracle(test, "nft").is_some()
}

/// A tree with /etc/nftables.conf (when given), enabled at boot or not.
fn tree(conf: Option<&str>, enabled: bool) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let etc = d.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    if let Some(conf) = conf {
        std::fs::write(etc.join("nftables.conf"), conf).unwrap();
    }
    if enabled {
        enable(d.path(), "sysinit.target", "nftables.service");
    }
    d
}

/// What `systemctl --root DIR enable UNIT` makes.
fn enable(root: &Path, target: &str, unit: &str) {
    let wants = root.join(format!("etc/systemd/system/{target}.wants"));
    std::fs::create_dir_all(&wants).unwrap();
    symlink(format!("/lib/systemd/system/{unit}"), wants.join(unit)).unwrap();
}

fn write(root: &Path, system: &str, text: &str) {
    let p = root.join(system.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// The findings of `fwplan audit --json --root ROOT`, every line checked.
fn audit(root: &Path, extra: &[&str]) -> Vec<Finding> {
    let out = fwplan()
        .args(["audit", "--json", "--root"])
        .arg(root)
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?} {}\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut findings = Vec::new();
    for line in text.lines() {
        match envelope(line).unwrap().0.as_str() {
            "finding" => findings.push(decode_strict::<Finding>(line).unwrap().body),
            "socket" | "summary" => {}
            other => panic!("unexpected {other} record: {line}"),
        }
    }
    findings
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

/// A copy of fwplan that any user can run (the build directory may be under
/// a home only root can enter), in a directory that lives as long as the
/// returned guard.
fn fwplan_for_anyone() -> (tempfile::TempDir, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("fwplan");
    std::fs::copy(env!("CARGO_BIN_EXE_fwplan"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A child another test thread forked while the copy was open for
    // writing holds it until its exec: ETXTBSY. Once one exec of ours
    // works, no such writer is left.
    for _ in 0..50 {
        match Command::new(&bin).arg("--version").output() {
            Err(e) if e.raw_os_error() == Some(nix::errno::Errno::ETXTBSY as i32) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            _ => break,
        }
    }
    (dir, bin)
}

/// The host's ruleset without counters (they move with traffic).
fn host_ruleset() -> String {
    let out = Command::new("nft")
        .args(["-s", "-j", "list", "ruleset"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn an_enabled_conf_that_drops_input_is_a_firewall() {
    if !can_run("fwplan boot firewall: enabled drop conf") {
        return;
    }
    let t = tree(Some(DROP_INPUT), true);
    let f = audit(t.path(), &[]);
    assert!(f.is_empty(), "{:?}", ids(&f));
}

#[test]
fn an_enabled_accept_all_conf_is_no_firewall() {
    if !can_run("fwplan boot firewall: accept-all conf") {
        return;
    }
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/compromised-agent-host/etc/nftables.conf");
    let t = tree(Some(&std::fs::read_to_string(example).unwrap()), true);
    let f = audit(t.path(), &[]);
    assert_eq!(ids(&f), ["fwplan/no-firewall"]);
}

#[test]
fn includes_resolve_inside_the_tree() {
    if !can_run("fwplan boot firewall: includes") {
        return;
    }
    // The drop policy comes only from the included files; one of them is an
    // absolute symlink that must be followed inside the tree, and
    // /etc/hostname, which this machine has too, is the tree's.
    let conf = "#!/usr/sbin/nft -f\ninclude \"/etc/nftables.d/*.nft\"\n";
    let t = tree(Some(conf), true);
    let r = t.path();
    write(
        r,
        "/etc/nftables.d/10-table.nft",
        "table inet filter {\n\tinclude \"/etc/hostname\"\n}\n",
    );
    write(r, "/etc/nftables.d/README", "not nft\n");
    write(
        r,
        "/etc/hostname",
        "chain input { type filter hook input priority 0; policy drop; }\n",
    );
    write(
        r,
        "/srv/fw/ssh.nft",
        "table inet filter {\n\tchain input {\n\t\ttcp dport 22 accept\n\t}\n}\n",
    );
    symlink("/srv/fw/ssh.nft", r.join("etc/nftables.d/20-ssh.nft")).unwrap();
    let f = audit(r, &[]);
    assert!(f.is_empty(), "{f:?}");

    // A missing plain include fails the load at the include's line.
    write(
        r,
        "/etc/nftables.d/30-more.nft",
        "\n\ninclude \"/etc/nftables.extra\"\n",
    );
    let f = audit(r, &[]);
    let fail = find(&f, "fwplan/boot-ruleset-fails");
    let loc = fail.location.as_ref().unwrap();
    assert_eq!(
        (loc.path.as_path(), loc.line),
        (Path::new("/etc/nftables.d/30-more.nft"), Some(3))
    );
    assert!(ids(&f).contains(&"fwplan/no-firewall"), "{:?}", ids(&f));
}

#[test]
fn a_conf_nft_refuses_is_a_finding_at_its_line() {
    if !can_run("fwplan boot firewall: broken conf") {
        return;
    }
    let broken = DROP_INPUT.replace("tcp dport 22 accept", "tcp dport 22 acept");
    let t = tree(Some(&broken), true);
    let f = audit(t.path(), &[]);
    let fail = find(&f, "fwplan/boot-ruleset-fails");
    assert_eq!(fail.severity, Severity::High);
    let loc = fail.location.as_ref().unwrap();
    assert_eq!(
        (loc.path.as_path(), loc.line),
        (Path::new("/etc/nftables.conf"), Some(5))
    );
    // nft's own words, with the tree's path, not the temporary copy's.
    assert!(
        fail.detail.contains("/etc/nftables.conf:5:"),
        "{}",
        fail.detail
    );
    assert!(fail.detail.contains("acept"), "{}", fail.detail);
    // nft loads a file as one transaction: nothing of it is in place.
    assert!(ids(&f).contains(&"fwplan/no-firewall"), "{:?}", ids(&f));
}

#[test]
fn a_conf_that_is_not_enabled_does_not_load() {
    if !can_run("fwplan boot firewall: not enabled") {
        return;
    }
    let t = tree(Some(DROP_INPUT), false);
    let f = audit(t.path(), &[]);
    assert_eq!(
        ids(&f),
        ["fwplan/boot-ruleset-not-enabled", "fwplan/no-firewall"]
    );
    let n = find(&f, "fwplan/boot-ruleset-not-enabled");
    assert_eq!(n.severity, Severity::Medium, "it would have filtered");
    assert!(n.fix.as_deref().unwrap().contains("enable nftables"));

    // Masked wins over enabled.
    let t = tree(Some(DROP_INPUT), true);
    symlink(
        "/dev/null",
        t.path().join("etc/systemd/system/nftables.service"),
    )
    .unwrap();
    assert!(ids(&audit(t.path(), &[])).contains(&"fwplan/no-firewall"));

    // The example server: the distribution's accept-all file, never enabled.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/compromised-agent-host");
    let f = audit(&example, &[]);
    assert_eq!(
        ids(&f),
        ["fwplan/boot-ruleset-not-enabled", "fwplan/no-firewall"]
    );
    assert_eq!(
        find(&f, "fwplan/boot-ruleset-not-enabled").severity,
        Severity::Info
    );
}

#[test]
fn iif_names_are_created_so_the_rest_is_judged() {
    if !can_run("fwplan boot firewall: iif") || oracle("fwplan boot firewall: iif", "ip").is_none()
    {
        return;
    }
    let conf = DROP_INPUT.replace("tcp dport 22 accept", "iif \"lan0\" accept");
    let t = tree(Some(&conf), true);
    let f = audit(t.path(), &[]);
    assert_eq!(ids(&f), ["fwplan/boot-ruleset-needs-interfaces"]);
}

#[test]
fn iptables_persistent_rules_load_when_netfilter_persistent_is_enabled() {
    let test = "fwplan boot firewall: iptables-persistent";
    if !can_run(test) || oracle(test, "iptables-nft-restore").is_none() {
        return;
    }
    let rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n";
    let t = tree(None, false);
    let r = t.path();
    write(r, "/etc/iptables/rules.v4", rules);
    assert_eq!(
        ids(&audit(r, &[])),
        ["fwplan/boot-ruleset-not-enabled", "fwplan/no-firewall"]
    );
    enable(r, "multi-user.target", "netfilter-persistent.service");
    // IPv4 only: IPv6 stays open.
    assert_eq!(ids(&audit(r, &[])), ["fwplan/ipv6-open"]);
    write(r, "/etc/iptables/rules.v6", rules);
    assert!(audit(r, &[]).is_empty());
    write(
        r,
        "/etc/iptables/rules.v6",
        &rules.replace("-j ACCEPT\nCOMMIT", "-j NOWHERE\nCOMMIT"),
    );
    let f = audit(r, &[]);
    let fail = find(&f, "fwplan/boot-ruleset-fails");
    let loc = fail.location.as_ref().unwrap();
    assert_eq!(
        (loc.path.as_path(), loc.line),
        (Path::new("/etc/iptables/rules.v6"), Some(7))
    );
    assert!(ids(&f).contains(&"fwplan/ipv6-open"), "{:?}", ids(&f));
}

#[test]
fn ruleset_json_wins_over_the_tree() {
    if !can_run("fwplan boot firewall: --ruleset-json wins") {
        return;
    }
    let t = tree(Some(DROP_INPUT), true);
    let saved = t.path().join("saved.json");
    std::fs::write(&saved, r#"{"nftables":[{"metainfo":{"version":"1.0.6"}}]}"#).unwrap();
    let f = audit(t.path(), &["--ruleset-json", saved.to_str().unwrap()]);
    assert_eq!(ids(&f), ["fwplan/no-firewall"]);
}

#[test]
fn without_a_namespace_the_audit_says_it_could_not_check() {
    let test = "fwplan boot firewall: no namespace";
    if !can_run(test) || oracle(test, "unshare").is_none() {
        return;
    }
    // In a user namespace without a uid map fwplan is nobody, and nobody
    // cannot map itself into a nested one: no private network namespace.
    let t = tree(Some(DROP_INPUT), true);
    let perm = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(t.path(), perm).unwrap();
    let (_bin_dir, bin) = fwplan_for_anyone();
    let out = Command::new("unshare")
        .arg("--user")
        .arg(&bin)
        .args(["audit", "--json", "--root"])
        .arg(t.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"summary\""), "{:?}", out.stderr);
    let f: Vec<Finding> = text
        .lines()
        .filter(|l| envelope(l).unwrap().0 == "finding")
        .map(|l| decode_strict::<Finding>(l).unwrap().body)
        .collect();
    let u = find(&f, "fwplan/boot-ruleset-unchecked");
    assert_eq!(u.severity, Severity::Info);
    assert!(u.detail.contains("namespace"), "{}", u.detail);
}

#[test]
fn the_hosts_ruleset_is_untouched() {
    if !can_run("fwplan boot firewall: host untouched") {
        return;
    }
    // Harmless even if it reached the host: a table of its own, accepting.
    let table = format!("hkprobe{}", std::process::id());
    let conf = format!(
        "table inet {table} {{\n\tchain input {{\n\t\ttype filter hook input priority 100; policy accept;\n\t}}\n}}\n"
    );
    let before = host_ruleset();
    let t = tree(Some(&conf), true);
    let f = audit(t.path(), &[]);
    assert_eq!(ids(&f), ["fwplan/no-firewall"]);
    let after = host_ruleset();
    assert!(!after.contains(&table));
    assert_eq!(before, after);
}

#[test]
fn not_root_the_tree_is_loaded_in_a_user_namespace() {
    let test = "fwplan boot firewall: as nobody";
    if !can_run(test) || oracle(test, "setpriv").is_none() || oracle(test, "unshare").is_none() {
        return;
    }
    let nobody = ["--reuid=65534", "--regid=65534", "--clear-groups"];
    let userns_ok = Command::new("setpriv")
        .args(nobody)
        .args(["unshare", "--user", "--map-root-user", "--net", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !userns_ok {
        hardkit_core::oracle::not_run(test, "unprivileged user namespaces are not allowed here");
        return;
    }
    let t = tree(Some(DROP_INPUT), true);
    let perm = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(t.path(), perm).unwrap();
    let (_bin_dir, bin) = fwplan_for_anyone();
    let audit_as_nobody = |root: &Path| {
        let out = Command::new("setpriv")
            .args(nobody)
            .arg(&bin)
            .args(["audit", "--json", "--root"])
            .arg(root)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("\"summary\""), "{:?}", out.stderr);
        text
    };
    let text = audit_as_nobody(t.path());
    assert!(!text.contains("\"finding\""), "{text}");
    std::fs::write(
        t.path().join("etc/nftables.conf"),
        "table inet x { junk }\n",
    )
    .unwrap();
    let text = audit_as_nobody(t.path());
    assert!(text.contains("fwplan/boot-ruleset-fails"), "{text}");
}
