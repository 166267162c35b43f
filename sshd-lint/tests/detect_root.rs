//! Release detection in a tree with no package database: the tree's own
//! sshd binary, read as data (never run), names the release and whose build
//! it is (issue 20: "dpkg status means Debian's; otherwise upstream unless
//! told").

use std::path::Path;
use std::process::Command;

/// A tree holding only a real sshd and a config: no dpkg status.
fn tree_with_sshd(sshd: &Path, dir: &Path) {
    std::fs::create_dir_all(dir.join("etc/ssh")).unwrap();
    std::fs::create_dir_all(dir.join("usr/sbin")).unwrap();
    std::fs::copy(sshd, dir.join("usr/sbin/sshd")).unwrap();
    std::fs::write(
        dir.join("etc/ssh/sshd_config"),
        "PasswordAuthentication no\n",
    )
    .unwrap();
}

fn release_record(tree: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sshd-lint"))
        .args(["--json", "--root"])
        .arg(tree)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let first = stdout.lines().next().unwrap_or("");
    serde_json::from_str(first).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn a_tree_without_dpkg_is_read_with_the_release_its_own_sshd_names() {
    const TEST: &str = "sshd-lint: release from a tree's own sshd -V";
    if !hardkit_core::oracle::require_root(TEST) {
        return;
    }
    let build = hardkit_core::oracle::test_cache().join("openssh-upstream-10.3p1");
    if !build.join("usr/sbin/sshd").is_file() {
        hardkit_core::oracle::not_run(
            TEST,
            &format!(
                "no upstream build at {} (scripts/test builds it, as root)",
                build.display()
            ),
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    tree_with_sshd(&build.join("usr/sbin/sshd"), &tree);
    let r = release_record(&tree);
    assert_eq!(r["type"], "release", "{r}");
    assert_eq!(r["model"], "10.3-upstream", "{r}");
    assert_eq!(r["source"], "program", "{r}");
    assert!(
        r["version"]
            .as_str()
            .unwrap_or("")
            .starts_with("OpenSSH_10.3p1"),
        "{r}"
    );
    // Debian's build says so in its version: the cached Debian 12 root's
    // sshd, in a tree of its own, is read as Debian's 9.2.
    if let Some(debian) = hardkit_core::oracle::debian_root(TEST, "bookworm") {
        let d = tmp.path().join("debian");
        tree_with_sshd(&debian.join("usr/sbin/sshd"), &d);
        let r = release_record(&d);
        assert_eq!(r["model"], "9.2-debian", "{r}");
        assert_eq!(r["source"], "program", "{r}");
    }
    // A hostile image whose sshd is a link to this machine's: resolved in
    // the image, it names nothing there, and this machine's sshd (Debian's
    // 9.2 when it has one) is never read for the image.
    let linked = tmp.path().join("linked");
    std::fs::create_dir_all(linked.join("usr/sbin")).unwrap();
    std::fs::create_dir_all(linked.join("etc/ssh")).unwrap();
    std::fs::write(linked.join("etc/ssh/sshd_config"), "Port 22\n").unwrap();
    std::os::unix::fs::symlink("/usr/sbin/sshd", linked.join("usr/sbin/sshd")).unwrap();
    let r = release_record(&linked);
    assert_eq!(r["source"], "default", "{r}");
    // Nothing to say which: the newest modelled upstream release, said.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(empty.join("etc/ssh")).unwrap();
    std::fs::write(empty.join("etc/ssh/sshd_config"), "Port 22\n").unwrap();
    let r = release_record(&empty);
    assert_eq!(r["source"], "default", "{r}");
    assert!(
        r["model"].as_str().unwrap_or("").ends_with("-upstream"),
        "{r}"
    );
}
