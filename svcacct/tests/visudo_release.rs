//! Under `--root`, the sudoers rule svcacct writes is judged by the tree's
//! own visudo (its sudo release), in the sandbox, never as root: accepted
//! by Debian 12's, 13's and testing's sudo; refused (nothing written) when
//! the tree's visudo refuses, and a planted visudo leaves no mark.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hardkit_core::oracle;

fn copy_of(suite: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    oracle::debian_root_copy("svcacct apply --root: the tree's own visudo", suite)
}

fn apply(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_svcacct"))
        .arg("apply")
        .arg("--root")
        .arg(dir)
        .args(["agent", "--exec", "/usr/bin/sleep", "--allow-restart"])
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
fn each_releases_visudo_accepts_the_rule() {
    for suite in ["bookworm", "trixie", "forky"] {
        let Some((_t, dir)) = copy_of(suite) else {
            continue;
        };
        let out = apply(&dir);
        assert_eq!(out.status.code(), Some(0), "{suite}: {}", text(&out));
        let rule = fs::read_to_string(dir.join("etc/sudoers.d/agent")).unwrap();
        assert!(
            rule.contains("systemctl restart agent.service"),
            "{suite}: {rule}"
        );
    }
}

#[test]
fn the_trees_visudo_judges_in_the_sandbox() {
    let Some((_t, dir)) = copy_of("trixie") else {
        return;
    };
    fs::write(
        dir.join("usr/sbin/visudo"),
        "#!/bin/sh\necho ran >/pwned\necho 'this visudo refuses' >&2\nexit 1\n",
    )
    .unwrap();
    let out = apply(&dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("this visudo refuses"), "{}", text(&out));
    assert!(
        !dir.join("etc/sudoers.d/agent").exists(),
        "written despite the refusal"
    );
    assert!(
        !dir.join("pwned").exists(),
        "the tree's visudo ran with write access"
    );
}
