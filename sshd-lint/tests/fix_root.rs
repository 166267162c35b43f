//! `--fix --write --root TREE`: the tree's own sshd judges the candidate
//! before anything is written, in the sandbox (never as root), for each
//! Debian release; a change it refuses writes nothing; a tree whose sshd
//! refuses the configuration as it is already (no host keys yet) is judged
//! by sshd-lint's reading alone, and says so.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hardkit_core::oracle;

const CONFIG: &str = "PermitRootLogin yes\nPasswordAuthentication yes\n";

/// A writable copy of the cached Debian root of `suite`, with an admin in
/// group sudo who has a key (so the lockout guard lets the fix through).
fn tree(suite: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    let (t, dir) = oracle::debian_root_copy(
        "sshd-lint --fix --write --root (the tree's own sshd -t)",
        suite,
    )?;
    let append = |file: &str, line: &str| {
        let mut text = fs::read_to_string(dir.join(file)).unwrap();
        text.push_str(line);
        fs::write(dir.join(file), text).unwrap();
    };
    append("etc/passwd", "admin:x:1000:1000::/home/admin:/bin/bash\n");
    append("etc/group", "admin:x:1000:\n");
    append("etc/shadow", "admin:*:19000:0:99999:7:::\n");
    let group = fs::read_to_string(dir.join("etc/group")).unwrap();
    let group: String = group
        .lines()
        .map(|l| {
            if l.starts_with("sudo:") {
                format!("{}admin\n", l.trim_end_matches(|c: char| c != ':'))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    fs::write(dir.join("etc/group"), group).unwrap();
    fs::create_dir_all(dir.join("home/admin/.ssh")).unwrap();
    fs::write(
        dir.join("home/admin/.ssh/authorized_keys"),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKw4lsDnYcHzBP8t5zq2aD3V3gQvS5p5J6g3a8rJ8X9d admin\n",
    )
    .unwrap();
    fs::write(dir.join("etc/ssh/sshd_config"), CONFIG).unwrap();
    Some((t, dir))
}

fn fix_write(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sshd-lint"))
        .arg("--root")
        .arg(dir)
        .args(["--fix", "--write"])
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn each_releases_own_sshd_judges_the_fix_before_it_is_written() {
    for suite in ["bookworm", "trixie", "forky"] {
        let Some((_t, dir)) = tree(suite) else {
            continue;
        };
        let out = fix_write(&dir);
        assert_eq!(out.status.code(), Some(0), "{suite}: {}", text(&out));
        assert!(
            text(&out).contains("checked before writing: the tree's own sshd -t, in the sandbox"),
            "{suite}: {}",
            text(&out)
        );
        let written = fs::read_to_string(dir.join("etc/ssh/sshd_config")).unwrap();
        assert!(written.contains("PermitRootLogin no"), "{suite}: {written}");
    }
}

#[test]
fn a_change_the_trees_sshd_refuses_writes_nothing_and_its_sshd_is_not_root() {
    let Some((_t, dir)) = tree("trixie") else {
        return;
    };
    // The tree's sshd (here a script) accepts the configuration as it is
    // and refuses the candidate; it also tries to leave a mark.
    fs::write(
        dir.join("usr/sbin/sshd"),
        "#!/bin/sh\necho ran >/pwned\nif grep -q 'PermitRootLogin no' /etc/ssh/sshd_config; then\n  echo 'this sshd refuses the candidate' >&2; exit 255\nfi\nexit 0\n",
    )
    .unwrap();
    let out = fix_write(&dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("sshd -t rejected the change, nothing written")
            && text(&out).contains("this sshd refuses the candidate"),
        "{}",
        text(&out)
    );
    assert_eq!(
        fs::read_to_string(dir.join("etc/ssh/sshd_config")).unwrap(),
        CONFIG
    );
    assert!(
        !dir.join("pwned").exists(),
        "the tree's sshd ran with write access"
    );
}

#[test]
fn a_tree_without_host_keys_is_fixed_and_says_sshd_did_not_judge() {
    let Some((_t, dir)) = tree("trixie") else {
        return;
    };
    for entry in fs::read_dir(dir.join("etc/ssh")).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("ssh_host_") {
            fs::remove_file(entry.path()).unwrap();
        }
    }
    let out = fix_write(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("refuses the configuration as it is already")
            && text(&out).contains("no hostkeys available"),
        "{}",
        text(&out)
    );
    let written = fs::read_to_string(dir.join("etc/ssh/sshd_config")).unwrap();
    assert!(written.contains("PermitRootLogin no"), "{written}");
}
