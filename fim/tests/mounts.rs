//! A filesystem mounted over a watched directory is walked: a root
//! intruder who mounts something over an empty watched directory does not
//! hide what it holds. Runs fim inside a private mount namespace
//! (`unshare -m`), so the host's mounts are untouched.

mod common;

use std::fs;
use std::process::Command;

use common::*;

fn unshare_available() -> bool {
    Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_mount_over_a_watched_directory_is_seen() {
    if !unshare_available() {
        eprintln!("NOT RUN: unshare -m is not available (needs root)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("R");
    fs::create_dir_all(root.join("etc/empty")).unwrap();
    fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    let key = key_file(tmp.path(), "k");
    let r = run([
        "init".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    let empty = root.join("etc/empty");
    let script = r#"mount -t tmpfs hidden "$1" && echo evil > "$1/backdoor" && exec "$2" check --json --root "$3" --key "$4""#;
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", script, "sh"])
        .arg(&empty)
        .arg(env!("CARGO_BIN_EXE_fim"))
        .arg(&root)
        .arg(&key)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = records(&stdout);
    assert!(
        recs.changes
            .iter()
            .any(|c| c.path.as_bytes().ends_with(b"/etc/empty/backdoor")),
        "{stdout}"
    );
    // The mount is gone with the namespace: the host tree is unchanged.
    assert!(!empty.join("backdoor").exists());
}
