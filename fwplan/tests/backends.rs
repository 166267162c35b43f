//! Every backend's output is judged by the real program: `nft -c -f`,
//! `iptables-restore --test` / `ip6tables-restore --test`, and
//! `ufw --dry-run`. All of them run inside a throwaway network namespace;
//! ufw also gets a private mount namespace with a copy of /etc/ufw and an
//! empty /run (see `common::ufw_isolated`).

mod common;

use std::path::Path;
use std::process::Output;

use common::*;

/// Policies that cover every renderer branch.
fn variants(dir: &Path) -> Vec<Vec<String>> {
    let block = dir.join("block.txt");
    std::fs::write(&block, "203.0.113.0/24\n2001:db8::/32\n198.51.100.7\n").unwrap();
    let policy = dir.join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default_in":"reject","default_out":"deny","default_forward":"allow",
            "rules":[{"action":"allow","ports":"60000-61000","proto":"udp","comment":"mosh"},
                     {"action":"limit","ports":22,"proto":"tcp","from":["192.0.2.0/24","fd00::/8"]}],
            "icmp":{"echo":"deny"},"log_drops":false,"limit_rate":"10/second"}"#,
    )
    .unwrap();
    let ranges: String = (1..=12)
        .map(|p| format!("{}-{}", p * 1000, p * 1000 + 10))
        .collect::<Vec<_>>()
        .join(",");
    let many: String = (1..=20)
        .map(|p| (p * 100).to_string())
        .collect::<Vec<_>>()
        .join(",");
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    vec![
        s(&[
            "--allow",
            "80,443/tcp",
            "--allow",
            "8000/tcp@10.0.0.0/8,fd00::/8#ai-api",
        ]),
        s(&["--limit", "22/tcp", "--deny", "23", "--allow", "53"]),
        s(&["--policy", policy.to_str().unwrap()]),
        s(&[
            "--allow",
            &format!("{many}/tcp"),
            "--block-from",
            block.to_str().unwrap(),
        ]),
        s(&[
            "--allow",
            &format!("{ranges}/udp"),
            "--deny",
            "1-999/tcp@203.0.113.0/24",
        ]),
        s(&[
            "--default-in",
            "allow",
            "--deny",
            "3306/tcp@198.51.100.0/24",
            "--allow",
            "8080/tcp@fd00:1::/64",
        ]),
        s(&[
            "--allow",
            "2222/tcp#ssh",
            "--ssh-port",
            "2222",
            "--default-out",
            "deny",
            "--limit",
            "443/tcp@2001:db8::/32",
        ]),
    ]
}

fn render_backend(backend: &str, args: &[String], out: &Path) {
    let status = fwplan()
        .args(["render", "--backend", backend, "--out"])
        .arg(out)
        .args(args)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

fn assert_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_nft_rendering_passes_nft_check() {
    let test = "fwplan backends: nft -c";
    if !hardkit_core::oracle::require_root(test)
        || hardkit_core::oracle::oracle(test, "nft").is_none()
    {
        return;
    }
    let ns = Netns::new(format!("{}-nc", unique_tag()));
    let dir = tempfile::tempdir().unwrap();
    for (i, args) in variants(dir.path()).iter().enumerate() {
        let out = dir.path().join(format!("nft{i}"));
        std::fs::create_dir(&out).unwrap();
        render_backend("nft", args, &out);
        let file = out.join("hardkit.nft");
        assert_ok(
            &format!("nft -c -f for {args:?}"),
            &ns.nft_file(&file, true),
        );
        // A check commits nothing.
        assert!(ns.table().is_none());
    }
    // The check can fail: a mangled ruleset is refused.
    let bad = dir.path().join("bad.nft");
    std::fs::write(
        &bad,
        "table inet hardkit {\n\tchain input {\n\t\ttcp dport 70000 accept\n\t}\n}\n",
    )
    .unwrap();
    assert!(!ns.nft_file(&bad, true).status.success());
}

#[test]
fn every_iptables_rendering_passes_restore_test() {
    let test = "fwplan backends: iptables-restore --test";
    if !hardkit_core::oracle::require_root(test)
        || hardkit_core::oracle::oracle(test, "iptables-restore").is_none()
        || hardkit_core::oracle::oracle(test, "ip6tables-restore").is_none()
    {
        return;
    }
    let ns = Netns::new(format!("{}-it", unique_tag()));
    let dir = tempfile::tempdir().unwrap();
    for (i, args) in variants(dir.path()).iter().enumerate() {
        let out = dir.path().join(format!("ipt{i}"));
        std::fs::create_dir(&out).unwrap();
        render_backend("iptables", args, &out);
        for (prog, file) in [
            ("iptables-restore", "rules.v4"),
            ("ip6tables-restore", "rules.v6"),
        ] {
            let path = out.join(file);
            let r = ns.exec(prog, &["--test", path.to_str().unwrap()]);
            assert_ok(&format!("{prog} --test {file} for {args:?}"), &r);
        }
    }
    let bad = dir.path().join("bad.v4");
    std::fs::write(
        &bad,
        "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 70000 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    assert!(!ns
        .exec("iptables-restore", &["--test", bad.to_str().unwrap()])
        .status
        .success());
}

#[test]
fn every_ufw_script_passes_ufw_dry_run() {
    let test = "fwplan backends: ufw --dry-run";
    if !hardkit_core::oracle::require_root(test)
        || hardkit_core::oracle::oracle(test, "ufw").is_none()
        || hardkit_core::oracle::oracle(test, "unshare").is_none()
    {
        return;
    }
    let host_conf = std::fs::read("/etc/ufw/ufw.conf").ok();
    let host_default = std::fs::read("/etc/default/ufw").ok();
    let ns = Netns::new(format!("{}-uf", unique_tag()));
    let dir = tempfile::tempdir().unwrap();
    for (i, args) in variants(dir.path()).iter().enumerate() {
        let out = dir.path().join(format!("ufw{i}"));
        std::fs::create_dir(&out).unwrap();
        render_backend("ufw", args, &out);
        let script = std::fs::read_to_string(out.join("ufw.sh")).unwrap();
        assert!(
            script.trim_end().ends_with("ufw --force enable"),
            "{script}"
        );
        let dry: String = script
            .lines()
            .map(|l| match l.strip_prefix("ufw ") {
                Some(rest) => format!("ufw --dry-run {rest}\n"),
                None => format!("{l}\n"),
            })
            .collect();
        // A fresh copy each time: reset's backups are named by the second.
        let r = ufw_isolated(&ns, &out, &dry);
        assert_ok(&format!("ufw --dry-run for {args:?}"), &r);
        assert!(
            !String::from_utf8_lossy(&r.stderr).contains("ERROR"),
            "{r:?}"
        );
    }
    let bad = ufw_isolated(
        &ns,
        dir.path(),
        "ufw --dry-run allow proto tcp from 10.0.0.300 to any port 80\n",
    );
    assert!(!bad.status.success(), "ufw accepted a bad address: {bad:?}");
    // The host's ufw was never touched.
    assert_eq!(std::fs::read("/etc/ufw/ufw.conf").ok(), host_conf);
    assert_eq!(std::fs::read("/etc/default/ufw").ok(), host_default);
}

#[test]
fn a_100k_blocklist_is_one_interval_set_that_nft_accepts() {
    let test = "fwplan backends: 100k block list";
    if !hardkit_core::oracle::require_root(test)
        || hardkit_core::oracle::oracle(test, "nft").is_none()
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("block.txt");
    // Every other address from 10.0.0.0 up: 100,000 entries nothing can merge.
    let mut text = String::with_capacity(1_600_000);
    for i in 0..100_000u32 {
        let a = std::net::Ipv4Addr::from(0x0A00_0000 + i * 2);
        text.push_str(&a.to_string());
        text.push('\n');
    }
    std::fs::write(&list, text).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    render_backend(
        "nft",
        &[
            "--allow".into(),
            "80/tcp".into(),
            "--block-from".into(),
            list.to_str().unwrap().into(),
        ],
        &out,
    );
    let file = out.join("hardkit.nft");
    let rendered = std::fs::read_to_string(&file).unwrap();
    assert_eq!(rendered.matches("\tset block_v4 {").count(), 1);
    assert_eq!(rendered.matches("ip saddr @block_v4").count(), 1);
    let elements = rendered
        .lines()
        .filter(|l| l.starts_with("\t\t\t10."))
        .count();
    assert_eq!(elements, 100_000);
    let ns = Netns::new(format!("{}-bk", unique_tag()));
    assert_ok("nft -f with 100k entries", &ns.nft_file(&file, false));
    let listed = ns.exec("nft", &["list", "set", "inet", "hardkit", "block_v4"]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("10.3.13.62"));
}
