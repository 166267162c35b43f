//! `fwplan check`: a candidate nftables.conf judged by the target's own nft,
//! of the target's release, in the sandbox; never a tree's program as root.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use hardkit_core::oracle;

fn fwplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fwplan"))
        .args(args)
        .output()
        .expect("running fwplan")
}

fn nft_here() -> bool {
    let here = hardkit_core::program::find_program("nft").is_some();
    if !here {
        oracle::not_run("fwplan check", "no nft on this machine");
    }
    here
}

/// `destroy` arrived in nftables 1.0.8: Debian 12's nft 1.0.6 refuses it,
/// Debian 13's and testing's accept it. The verdict must be the tree's.
#[test]
fn each_release_is_judged_by_its_own_nft() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("candidate.nft");
    fs::write(&file, "destroy table inet nothere\n").unwrap();
    let mut ran = 0;
    for (suite, accepted) in [("bookworm", false), ("trixie", true), ("forky", true)] {
        let Some(dir) = oracle::debian_root("fwplan check per release", suite) else {
            continue;
        };
        let root = hardkit_core::Root::new(&dir).unwrap();
        let version = hardkit_core::release::dpkg_version(&root, "nftables").unwrap();
        let out = fwplan(&[
            "--root",
            dir.to_str().unwrap(),
            "--json",
            "check",
            file.to_str().unwrap(),
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!(r#""version":"{version}""#)),
            "{suite}: the release record names the tree's nftables {version}:\n{stdout}"
        );
        assert!(stdout.contains("own nft"), "{suite}: {stdout}");
        assert_eq!(
            out.status.code(),
            Some(if accepted { 0 } else { 1 }),
            "{suite} (nftables {version}): {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if !accepted {
            assert!(
                stdout.contains(r#""location":{"path":"/etc/nftables.conf","line":1}"#),
                "{stdout}"
            );
        }
        ran += 1;
    }
    if ran == 0 {
        eprintln!("NOT RUN: fwplan check against Debian's own nft: no cached Debian roots");
    }
}

/// A tree with an `nft` of its own that is hostile: it runs (it is the
/// judge), but as a stranger on a read-only tree, so its mark is not left
/// in the tree, and nothing of this machine is in its reach.
#[test]
fn a_planted_nft_runs_only_in_the_sandbox() {
    if !Path::new("/bin/dash").is_file() {
        eprintln!("NOT RUN: a_planted_nft_runs_only_in_the_sandbox: no /bin/dash to plant");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let tree = t.path().join("tree");
    for d in [
        "bin",
        "usr/sbin",
        "lib/x86_64-linux-gnu",
        "lib64",
        "etc",
        "tmp",
    ] {
        fs::create_dir_all(tree.join(d)).unwrap();
    }
    fs::set_permissions(
        t.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let copy = |from: &str, to: &str| fs::copy(from, tree.join(to)).unwrap();
    copy("/bin/dash", "bin/sh");
    copy(
        "/lib/x86_64-linux-gnu/libc.so.6",
        "lib/x86_64-linux-gnu/libc.so.6",
    );
    copy("/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2");
    let nft = tree.join("usr/sbin/nft");
    fs::write(
        &nft,
        "#!/bin/sh\necho ran >/pwned\necho ran >/etc/pwned\necho 'planted nft ran' >&2\nexit 0\n",
    )
    .unwrap();
    fs::set_permissions(&nft, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let file = t.path().join("c.nft");
    fs::write(&file, "table inet t {\n}\n").unwrap();
    let out = fwplan(&[
        "--root",
        tree.to_str().unwrap(),
        "check",
        file.to_str().unwrap(),
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("own nft"), "{text}");
    for mark in ["pwned", "etc/pwned"] {
        assert!(
            !tree.join(mark).exists(),
            "the planted nft wrote {mark}: {text}"
        );
    }
}

/// Without nft in the tree, this machine's nft judges, on copies whose
/// includes were resolved in the tree (never this machine's /etc), and the
/// messages name the tree's paths.
#[test]
fn a_tree_without_nft_gets_this_machines_nft_on_the_trees_includes() {
    if !nft_here() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let tree = t.path();
    fs::create_dir_all(tree.join("etc/nftables.d")).unwrap();
    fs::write(
        tree.join("etc/nftables.d/10-bad.nft"),
        "table inet x {\n chain c {\n  bogus\n }\n}\n",
    )
    .unwrap();
    // A link in the image to this machine's file stays in the image.
    std::os::unix::fs::symlink("/etc/passwd", tree.join("etc/nftables.d/20-link.nft")).unwrap();
    let file = tree.join("candidate");
    fs::write(
        &file,
        "flush ruleset\ninclude \"/etc/nftables.d/10-bad.nft\"\n",
    )
    .unwrap();
    let out = fwplan(&[
        "--root",
        tree.to_str().unwrap(),
        "--json",
        "check",
        file.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("this machine's nft"), "{stdout}");
    assert!(
        stdout.contains(r#""location":{"path":"/etc/nftables.d/10-bad.nft","line":3}"#),
        "{stdout}"
    );
    // The link: resolved in the tree, where /etc/passwd does not exist.
    fs::write(&file, "include \"/etc/nftables.d/20-link.nft\"\n").unwrap();
    let out = fwplan(&[
        "--root",
        tree.to_str().unwrap(),
        "check",
        file.to_str().unwrap(),
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(!text.contains("root:x:0:0"), "{text}");
}

#[test]
fn bad_input_is_exit_2_naming_it() {
    let out = fwplan(&["check", "/nonexistent/nftables.conf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/nftables.conf"));
    let out = fwplan(&["check", "--as", "relative.conf", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--as"));
}

/// Every kind of rule fwplan renders is accepted by each release's own nft
/// (1.0.6, 1.1.3, testing's), checked in the sandbox as the boot would load
/// it: the rendered file is the same for every release, the judges differ.
#[test]
fn every_render_is_accepted_by_each_releases_nft() {
    let t = tempfile::tempdir().unwrap();
    let blocks = t.path().join("block.txt");
    fs::write(
        &blocks,
        "203.0.113.0/24\n198.51.100.7\n2001:db8:bad::/48\n2001:db8::1\n",
    )
    .unwrap();
    let b = blocks.to_str().unwrap();
    let policies: Vec<Vec<&str>> = vec![
        vec!["--allow", "80,443/tcp", "--limit", "22/tcp"],
        vec![
            "--default-in",
            "reject",
            "--allow",
            "8000/tcp@10.0.0.0/8,fd00::/8#ai-api",
            "--deny",
            "25/tcp",
            "--ssh-port",
            "2222",
        ],
        vec![
            "--block-from",
            b,
            "--allow",
            "51820/udp",
            "--limit-rate",
            "10/minute",
            "--limit",
            "2222/tcp",
        ],
        vec![
            "--default-forward",
            "allow",
            "--default-out",
            "allow",
            "--allow",
            "53/any",
        ],
    ];
    let mut rendered = Vec::new();
    for (i, policy) in policies.iter().enumerate() {
        let mut args = vec!["render"];
        args.extend(policy);
        let out = fwplan(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{policy:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let file = t.path().join(format!("r{i}.nft"));
        fs::write(&file, &out.stdout).unwrap();
        rendered.push(file);
    }
    for suite in ["bookworm", "trixie", "forky"] {
        let Some(dir) = oracle::debian_root("fwplan renders per release", suite) else {
            continue;
        };
        for (file, policy) in rendered.iter().zip(&policies) {
            let out = fwplan(&[
                "--root",
                dir.to_str().unwrap(),
                "check",
                file.to_str().unwrap(),
            ]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{suite} {policy:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
