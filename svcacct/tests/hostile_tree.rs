//! svcacct against a tree that attacks it: a hostile image under --root (an
//! NSS module, links to host files, FIFOs) and a service account that swaps
//! its own directories for links between two applies. Each test performs
//! the attack and checks that root did not do the attacker's bidding.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::process::Command;

use common::{svcacct, tree};
use hardkit_core::oracle::{oracle, require_root};

const EXEC: &str = "/opt/agent/bin/agent --serve";

/// An NSS module that, if anything loads it, leaves a marker at the root
/// of the file system it sees (the tree, after a chroot).
const EVIL_NSS: &str = r#"
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void hijack(void) {
    int fd = open("/nss-module-ran-as-root", O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) close(fd);
}
"#;

#[test]
fn apply_under_root_never_loads_the_trees_nss_modules() {
    let test = "svcacct::apply_under_root_never_loads_the_trees_nss_modules";
    if !require_root(test) {
        return;
    }
    let Some(gcc) = oracle(test, "gcc") else {
        return;
    };
    let t = tree();
    let multiarch = Command::new(&gcc).arg("-print-multiarch").output().unwrap();
    let multiarch = String::from_utf8_lossy(&multiarch.stdout)
        .trim()
        .to_string();
    let src = t.path().join("evil.c");
    fs::write(&src, EVIL_NSS).unwrap();
    for lib in ["lib", "usr/lib", "lib64"] {
        let dir = t.path().join(lib).join(&multiarch);
        fs::create_dir_all(&dir).unwrap();
        let out = Command::new(&gcc)
            .args(["-shared", "-fPIC", "-o"])
            .arg(dir.join("libnss_evil.so.2"))
            .arg(&src)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        fs::copy(
            dir.join("libnss_evil.so.2"),
            t.path().join(lib).join("libnss_evil.so.2"),
        )
        .unwrap();
    }
    fs::write(
        t.path().join("etc/nsswitch.conf"),
        "passwd: evil files\ngroup: evil files\nshadow: evil files\ngshadow: evil files\n",
    )
    .unwrap();
    let out = svcacct(t.path(), &["apply", "agent", "--exec", EXEC, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !t.path().join("nss-module-ran-as-root").exists(),
        "the tree's libnss_evil.so.2 ran as root"
    );
    // The account exists as useradd --system would have made it.
    let passwd = fs::read_to_string(t.path().join("etc/passwd")).unwrap();
    let line = passwd.lines().find(|l| l.starts_with("agent:")).unwrap();
    let f: Vec<&str> = line.split(':').collect();
    let uid: u32 = f[2].parse().unwrap();
    assert!((100..1000).contains(&uid), "{line}");
    assert_eq!(f[6], "/usr/sbin/nologin");
    let shadow = fs::read_to_string(t.path().join("etc/shadow")).unwrap();
    assert!(
        shadow.lines().any(|l| l.starts_with("agent:!:")),
        "{shadow}"
    );
    let group = fs::read_to_string(t.path().join("etc/group")).unwrap();
    assert!(group
        .lines()
        .any(|l| l.starts_with(&format!("agent:x:{}:", f[3]))));
}

#[test]
fn a_service_account_cannot_swap_its_directory_for_a_link_to_etc() {
    let test = "svcacct::a_service_account_cannot_swap_its_directory_for_a_link_to_etc";
    if !require_root(test) {
        return;
    }
    let t = tree();
    let args = [
        "apply",
        "agent",
        "--exec",
        EXEC,
        "--writable",
        "/srv/agent",
        "--writable",
        "/srv/agent/cache",
        "--json",
    ];
    let out = svcacct(t.path(), &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outer = t.path().join("srv/agent");
    let uid = fs::metadata(&outer).unwrap().uid();
    assert_ne!(uid, 0);
    // The service account (it owns /srv/agent) swaps the inner directory
    // for a link to the tree's /etc (relative: the tree's /etc however the
    // link is followed).
    let etc = t.path().join("etc");
    let status = Command::new("setpriv")
        .args([
            format!("--reuid={uid}"),
            format!("--regid={uid}"),
            "--clear-groups".into(),
            "sh".into(),
            "-c".into(),
            "rmdir \"$1/cache\" && ln -s \"$2\" \"$1/cache\"".into(),
            "sh".into(),
        ])
        .arg(&outer)
        .arg("../../etc")
        .status()
        .unwrap();
    assert!(status.success());
    let out = svcacct(t.path(), &args);
    let m = fs::metadata(&etc).unwrap();
    assert_eq!(
        (m.uid(), m.mode() & 0o7777),
        (0, 0o755),
        "root gave /etc away"
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("srv/agent/cache"), "{err}");
}

#[test]
fn an_env_file_that_is_a_link_is_not_chowned_through() {
    let test = "svcacct::an_env_file_that_is_a_link_is_not_chowned_through";
    if !require_root(test) {
        return;
    }
    let t = tree();
    // A host file outside the tree, and the image's env file pointing at it.
    let outside = tempfile::tempdir().unwrap();
    let host_file = outside.path().join("host-secret");
    fs::write(&host_file, "x").unwrap();
    fs::set_permissions(&host_file, fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::chown(&host_file, Some(1234), Some(1234)).unwrap();
    fs::create_dir_all(t.path().join("etc/agent")).unwrap();
    symlink(&host_file, t.path().join("etc/agent/env")).unwrap();
    let out = svcacct(
        t.path(),
        &[
            "apply",
            "agent",
            "--exec",
            EXEC,
            "--env-file",
            "/etc/agent/env",
            "--json",
        ],
    );
    let m = fs::metadata(&host_file).unwrap();
    assert_eq!(
        (m.uid(), m.mode() & 0o7777),
        (1234, 0o644),
        "a host file was chowned through the tree's link: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("etc/agent/env"), "{err}");
}

/// Run svcacct with a deadline: a read that blocks (a FIFO) is a failure,
/// not a hung test.
fn svcacct_with_deadline(root: &std::path::Path, args: &[&str]) -> std::process::Output {
    hardkit_testkit::output_within(
        Command::new(common::BIN).args(args).arg("--root").arg(root),
        std::time::Duration::from_secs(20),
        &format!("svcacct {args:?} hung on the tree's FIFO"),
    )
}

#[test]
fn diff_never_prints_a_host_file_through_the_trees_link() {
    let t = tree();
    let outside = tempfile::tempdir().unwrap();
    let host_file = outside.path().join("host-only");
    fs::write(&host_file, "HOST-SECRET-LINE\n").unwrap();
    fs::create_dir_all(t.path().join("etc/systemd/system")).unwrap();
    symlink(
        &host_file,
        t.path().join("etc/systemd/system/agent.service"),
    )
    .unwrap();
    let out = svcacct(
        t.path(),
        &[
            "apply", "agent", "--exec", EXEC, "--check", "--diff", "--force", "--json",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("HOST-SECRET"), "{stdout}");
    assert!(stdout.contains("agent.service"), "{stdout}");
}

#[test]
fn audit_refuses_a_fifo_unit_file_instead_of_hanging() {
    let t = tree();
    let dir = t.path().join("etc/systemd/system");
    fs::create_dir_all(dir.join("agent.service.d")).unwrap();
    fs::write(
        dir.join("agent.service"),
        "[Service]\nExecStart=/usr/bin/agent\n",
    )
    .unwrap();
    hardkit_testkit::mkfifo(&dir.join("agent.service.d/override.conf"));
    let out = svcacct_with_deadline(t.path(), &["audit", "agent"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("override.conf") && err.contains("not a regular file"),
        "{err}"
    );
}

/// Issue 14: apply over an existing unit dropped its Environment= secret
/// (left only in a world-readable backup, so audit then saw nothing) and
/// its ExecStart arguments. Now the arguments stay, the secret moves to a
/// 0600 env file the unit reads, and no copy of it is readable by others.
#[test]
fn an_existing_units_secret_and_arguments_survive_apply() {
    if !require_root("svcacct::an_existing_units_secret_and_arguments_survive_apply") {
        return;
    }
    let t = tree();
    let dir = t.path().join("etc/systemd/system");
    fs::create_dir_all(&dir).unwrap();
    let unit = dir.join("agent.service");
    fs::write(
        &unit,
        "[Service]\nExecStart=/opt/agent/bin/agent --serve --port 9090\nEnvironment=\"API_TOKEN=s3cr3t value\" MODE=prod\n",
    )
    .unwrap();
    fs::set_permissions(&unit, fs::Permissions::from_mode(0o644)).unwrap();
    let out = svcacct(
        t.path(),
        &[
            "apply",
            "agent",
            "--exec",
            "/opt/agent/bin/agent",
            "--force",
            "--json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&unit).unwrap();
    assert!(
        text.contains("ExecStart=/opt/agent/bin/agent --serve --port 9090"),
        "{text}"
    );
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(
        text.contains("EnvironmentFile=/etc/default/agent"),
        "{text}"
    );
    let env = t.path().join("etc/default/agent");
    let env_text = fs::read_to_string(&env).unwrap();
    assert!(
        env_text.contains("API_TOKEN=\"s3cr3t value\"") && env_text.contains("MODE=\"prod\""),
        "{env_text}"
    );
    let m = fs::metadata(&env).unwrap();
    assert_eq!((m.mode() & 0o7777, m.uid()), (0o600, 0));
    // Every file in the tree that still holds the secret is root's alone.
    for (path, (bytes, mode, _, _)) in common::snapshot(t.path()) {
        if String::from_utf8_lossy(&bytes).contains("s3cr3t") {
            assert_eq!(mode & 0o077, 0, "{} is readable by others", path.display());
        }
    }
    // Idempotent: the next apply keeps reading the env file.
    let again = svcacct(
        t.path(),
        &["apply", "agent", "--exec", "/opt/agent/bin/agent", "--json"],
    );
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let text = fs::read_to_string(&unit).unwrap();
    assert!(
        text.contains("EnvironmentFile=/etc/default/agent"),
        "{text}"
    );
    assert!(text.contains("--port 9090"), "{text}");
}
