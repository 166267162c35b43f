//! The differential suite: every config under tests/configs is read by
//! sshd-lint and by the real `sshd -T` (Debian 12's OpenSSH 9.2p1) for
//! several connection contexts, and every printed line must agree; a config
//! sshd refuses must be refused by sshd-lint too.
//!
//! sshd -T needs a host key, /run/sshd and an `sshd` account, and reads
//! /etc/ssh. The oracle runs in a private mount namespace (`unshare -m`)
//! where the test tree's etc/ssh, passwd and group are bind-mounted over the
//! host's, so both programs see the same files and the host is untouched.

use std::path::{Path, PathBuf};
use std::process::Command;

const CONTEXTS: &[&str] = &[
    "",
    "user=root,host=host.example.com,addr=10.1.2.3,laddr=192.0.2.10,lport=22,rdomain=rd0",
    "user=alice,host=Office.Example.COM,addr=192.168.1.50,laddr=192.168.1.1,lport=2222",
    "user=deploy,host=ci.internal,addr=2001:db8::5,laddr=2001:db8::1,lport=22",
    "user=bob,host=bad.example.com,addr=10.9.1.1,laddr=10.0.0.1,lport=2200,rdomain=vrf",
    "user=carol,addr=10.0.0.5",
    "user=ALICE,host=WWW.Example.com,addr=192.168.7.7,laddr=::1,lport=2201",
    "user=bob,host=bad.EXAMPLE.com,addr=2001:db8::9,laddr=127.0.0.1,lport=22,rdomain=rd1",
];

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Run the real sshd -T for every context; returns (exit ok, stdout) each.
fn oracle(sshd: &Path, tree: &Path) -> Vec<(bool, String)> {
    let mut script = String::from(
        "set -e; mount -t tmpfs tmpfs /run; mkdir -m 755 /run/sshd; \
         mount --bind \"$1/etc/ssh\" /etc/ssh; mount --bind \"$1/etc/passwd\" /etc/passwd; \
         mount --bind \"$1/etc/group\" /etc/group; cd /; set +e\n",
    );
    for ctx in CONTEXTS {
        let c = if ctx.is_empty() {
            String::new()
        } else {
            format!("-C '{ctx}'")
        };
        script.push_str(&format!(
            "\"$2\" -T -f /etc/ssh/sshd_config {c} 2>/dev/null; echo \"=== rc=$?\"\n"
        ));
    }
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script, "sh"])
        .arg(tree)
        .arg(sshd)
        .output()
        .expect("unshare");
    assert!(
        out.status.success(),
        "oracle namespace failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut results = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rc) = line.strip_prefix("=== rc=") {
            results.push((rc == "0", std::mem::take(&mut current)));
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    assert_eq!(results.len(), CONTEXTS.len(), "oracle output: {text}");
    results
}

/// `unshare -m` with mounts (a container without CAP_SYS_ADMIN refuses).
fn namespaces_work() -> bool {
    Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt"])
        .status()
        .is_ok_and(|s| s.success())
}

fn ours(tree: &Path, ctx: &str) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sshd-lint"));
    cmd.args(["--effective", "--openssh", "9.2", "--root"])
        .arg(tree);
    if !ctx.is_empty() {
        cmd.args(["--context", ctx]);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    if !out.status.success() {
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.starts_with("sshd-lint: "), "{stderr}");
    }
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn effective_config_agrees_with_sshd_dash_capital_t() {
    let Some(sshd) = hardkit_core::oracle::oracle("sshd-lint differential suite", "sshd") else {
        return;
    };
    if !hardkit_core::oracle::require_root("sshd-lint differential suite") {
        return;
    }
    if !namespaces_work() {
        hardkit_core::oracle::not_run(
            "sshd-lint differential suite",
            "needs mount namespaces (unshare -m) to give sshd a private /etc/ssh",
        );
        return;
    }
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(keys.join("ssh_host_ed25519_key"))
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    let mut names: Vec<String> = std::fs::read_dir(here.join("configs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut agreed, mut total, mut runs, mut failures) = (0usize, 0usize, 0usize, Vec::new());
    for name in &names {
        let tree = tmp.path().join(name);
        copy_tree(&here.join("configs").join(name), &tree);
        for f in ["passwd", "group"] {
            std::fs::copy(
                here.join("fixtures/accounts").join(f),
                tree.join("etc").join(f),
            )
            .unwrap();
        }
        for f in ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"] {
            std::fs::copy(keys.join(f), tree.join("etc/ssh").join(f)).unwrap();
        }
        let expected = oracle(&sshd, &tree);
        for (ctx, (ok, want)) in CONTEXTS.iter().zip(expected) {
            runs += 1;
            let (got_ok, got) = ours(&tree, ctx);
            if !ok || !got_ok {
                total += 1;
                if ok == got_ok {
                    agreed += 1;
                } else {
                    failures.push(format!(
                        "{name} [{ctx}]: sshd {} but sshd-lint {}",
                        if ok { "accepts" } else { "refuses" },
                        if got_ok { "accepts" } else { "refuses" }
                    ));
                }
                continue;
            }
            let want_lines: Vec<&str> = want.lines().collect();
            let got_lines: Vec<&str> = got.lines().collect();
            total += want_lines.len().max(got_lines.len());
            for i in 0..want_lines.len().max(got_lines.len()) {
                let (w, g) = (want_lines.get(i), got_lines.get(i));
                if w == g {
                    agreed += 1;
                } else {
                    failures.push(format!(
                        "{name} [{ctx}] line {}: sshd {:?} vs sshd-lint {:?}",
                        i + 1,
                        w,
                        g
                    ));
                }
            }
        }
    }
    eprintln!(
        "differential: {agreed}/{total} lines agree ({} configs x {} contexts = {runs} runs)",
        names.len(),
        CONTEXTS.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures
            .iter()
            .take(60)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
