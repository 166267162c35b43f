//! An audited image is not trusted: a FIFO or a device where a config file
//! should be must give a clear error naming it, not a hang or an endless
//! read (sshd-lint runs as root on images it did not make).

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn run_with_deadline(root: &Path) -> Output {
    hardkit_testkit::output_within(
        Command::new(env!("CARGO_BIN_EXE_sshd-lint"))
            .arg("--root")
            .arg(root),
        Duration::from_secs(20),
        "sshd-lint hung (or read without end) on the tree's special file",
    )
}

#[test]
fn a_fifo_config_is_refused_by_name() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("etc/ssh")).unwrap();
    hardkit_testkit::mkfifo(&t.path().join("etc/ssh/sshd_config"));
    let out = run_with_deadline(t.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/etc/ssh/sshd_config") && err.contains("not a regular file"),
        "{err}"
    );
}

/// An Include that names the tree's own /dev/zero (a device node a hostile
/// image can carry; made here with mknod, so root only).
#[test]
fn an_included_device_is_refused_by_name() {
    let test = "sshd-lint::an_included_device_is_refused_by_name";
    if !hardkit_core::oracle::require_root(test) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("etc/ssh")).unwrap();
    std::fs::create_dir_all(t.path().join("dev")).unwrap();
    std::fs::write(
        t.path().join("etc/ssh/sshd_config"),
        "Include /dev/zero\nPort 22\n",
    )
    .unwrap();
    let status = Command::new("mknod")
        .arg(t.path().join("dev/zero"))
        .args(["c", "1", "5"])
        .status()
        .unwrap();
    assert!(status.success());
    let out = run_with_deadline(t.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/dev/zero") && err.contains("not a regular file"),
        "{err}"
    );
}
