//! An audited image is not trusted: a FIFO or a device where a config file
//! should be must give a clear error naming it, not a hang or an endless
//! read (sshd-lint runs as root on images it did not make).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn run_with_deadline(root: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sshd-lint"))
        .arg("--root")
        .arg(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("sshd-lint hung (or read without end) on the tree's special file");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_fifo_config_is_refused_by_name() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("etc/ssh")).unwrap();
    let status = Command::new("mkfifo")
        .arg(t.path().join("etc/ssh/sshd_config"))
        .status()
        .unwrap();
    assert!(status.success());
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
