//! Test support: the real programs hardkit is judged by (sshd, fail2ban,
//! nft, systemd-analyze, visudo, aide, b3sum, ...) and root privileges.
//!
//! A test that needs one asks here first. When it is missing:
//! - under `CI=true` the test fails: CI installs every oracle, so a missing
//!   one means the comparison silently did not happen;
//! - elsewhere the test is recorded as NOT RUN, with the reason, in the file
//!   named by `HARDKIT_NOT_RUN_LOG` (scripts/test prints that list loudly at
//!   the end) and on stderr, and the test returns early.

use std::io::Write;
use std::path::PathBuf;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Record (or, in CI, fail) a test that could not run.
pub fn not_run(test: &str, why: &str) {
    if in_ci() {
        panic!("{test}: required in CI but could not run: {why}");
    }
    eprintln!("NOT RUN: {test}: {why}");
    if let Some(log) = std::env::var_os("HARDKIT_NOT_RUN_LOG") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
        {
            let _ = writeln!(f, "{test}: {why}");
        }
    }
}

pub use crate::program::find_program;

/// The oracle program for `test`, or None after recording why not.
pub fn oracle(test: &str, program: &str) -> Option<PathBuf> {
    let found = find_program(program);
    if found.is_none() {
        not_run(
            test,
            &format!(
                "oracle program '{program}' is not installed (scripts/test --install-oracles)"
            ),
        );
    }
    found
}

/// True when running as root; otherwise records the test as not run.
pub fn require_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        not_run(test, "needs root");
    }
    root
}

/// Where scripts/test keeps the Debian roots it builds with debootstrap
/// (machine-wide, so that CI's fresh clones share them): `HARDKIT_TEST_CACHE`,
/// default `/var/cache/hardkit-tests`.
pub fn test_cache() -> PathBuf {
    std::env::var_os("HARDKIT_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/hardkit-tests"))
}

/// The cached Debian root of `suite` (bookworm, trixie, forky: built by
/// scripts/test with the real programs installed), or None after recording
/// why not. Read it only through [`crate::sandbox`]: it is shared by every
/// suite and must stay as built.
pub fn debian_root(test: &str, suite: &str) -> Option<PathBuf> {
    let dir = test_cache().join(format!("{suite}-base"));
    let stamp = test_cache().join(format!("{suite}-base.stamp"));
    if dir.join("var/lib/dpkg/status").is_file() && stamp.is_file() {
        return Some(dir);
    }
    not_run(
        test,
        &format!(
            "no Debian {suite} root at {} (scripts/test builds it, as root, with debootstrap)",
            dir.display()
        ),
    );
    None
}

/// A writable copy of the cached Debian root of `suite` (`cp -a`, as root:
/// owners and modes kept), for a test that changes it; None after
/// recording why not. The copy lives as long as the returned directory.
pub fn debian_root_copy(test: &str, suite: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    if !require_root(test) {
        return None;
    }
    let base = debian_root(test, suite)?;
    let t = tempfile::tempdir().ok()?;
    let dir = t.path().join("root");
    let copied = std::process::Command::new("cp")
        .args(["-a", "--"])
        .arg(&base)
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(copied, "{test}: cp -a {} failed", base.display());
    // (the sandbox walks to the tree as a stranger: its parent must let it)
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755));
    Some((t, dir))
}
