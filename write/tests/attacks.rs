//! hardkit-write against the people it must not obey: another local user
//! (links and directories they own), and an image audited with `--root`
//! (absolute links to this machine's files).

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

const OTHER: u32 = 4242;

fn hkw(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hardkit-write"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("running hardkit-write");
    // (a run that refuses its arguments exits before reading)
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn is_root() -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        hardkit_core::oracle::not_run("hardkit-write attacks", "needs root (chown to another uid)");
    }
    root
}

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
}

/// A sticky, world-writable directory like /tmp, in a private temporary one.
fn public_dir(t: &Path) -> std::path::PathBuf {
    fs::set_permissions(t, fs::Permissions::from_mode(0o755)).unwrap();
    let public = t.join("pub");
    fs::create_dir(&public).unwrap();
    fs::set_permissions(&public, fs::Permissions::from_mode(0o1777)).unwrap();
    public
}

#[test]
fn a_link_another_user_planted_is_never_followed() {
    if !is_root() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let public = public_dir(t.path());
    let victim = t.path().join("victim");
    fs::create_dir(&victim).unwrap();
    fs::write(victim.join("passwd"), "root:x:0:0\n").unwrap();
    // The user's link, where root was told to write a plan or a state.
    let link = public.join("plan");
    symlink(&victim, &link).unwrap();
    chown(&link, OTHER);
    let target = format!("{}/passwd", link.display());
    let out = hkw(&["put", &target, "--mode", "0644"], b"evil\n");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("uid {OTHER} controls")),
        "{}",
        text(&out)
    );
    assert_eq!(fs::read(victim.join("passwd")).unwrap(), b"root:x:0:0\n");
    // mkdir --new on the planted name fails too, and so does a plain mkdir
    // that would chmod the victim through the link.
    let out = hkw(
        &["mkdir", "--new", "--mode", "0700", link.to_str().unwrap()],
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = hkw(&["mkdir", "--mode", "0700", link.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(fs::metadata(&victim).unwrap().mode() & 0o7777, 0o755);
}

#[test]
fn a_directory_another_user_can_write_is_refused() {
    if !is_root() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let public = public_dir(t.path());
    let theirs = public.join("state");
    fs::create_dir(&theirs).unwrap();
    chown(&theirs, OTHER);
    let out = hkw(
        &[
            "put",
            theirs.join("banned").to_str().unwrap(),
            "--mode",
            "0600",
        ],
        b"x\n",
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("uid {OTHER}")),
        "{}",
        text(&out)
    );
    assert_eq!(fs::read_dir(&theirs).unwrap().count(), 0);
}

#[test]
fn an_images_absolute_links_stay_in_the_image() {
    let t = tempfile::tempdir().unwrap();
    let machine = t.path().join("machine");
    fs::create_dir(&machine).unwrap();
    fs::write(machine.join("secret"), "TOP-SECRET\n").unwrap();
    let tree = t.path().join("tree");
    fs::create_dir_all(tree.join("etc/ssh")).unwrap();
    // The image's sshd_config.d is a link to a directory of this machine;
    // one of its files links to this machine's secret.
    symlink(&machine, tree.join("etc/ssh/sshd_config.d")).unwrap();
    symlink(machine.join("secret"), tree.join("etc/ssh/sshd_config")).unwrap();
    let root = tree.to_str().unwrap();
    let out = hkw(
        &[
            "--root",
            root,
            "put",
            "/etc/ssh/sshd_config.d/00-hardkit.conf",
            "--mode",
            "0644",
        ],
        b"PermitRootLogin no\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        fs::read_dir(&machine).unwrap().count(),
        1,
        "only the secret"
    );
    let inside = tree
        .join(machine.strip_prefix("/").unwrap())
        .join("00-hardkit.conf");
    assert_eq!(fs::read(inside).unwrap(), b"PermitRootLogin no\n");
    // Reading follows the image's link inside the image: no such file there.
    let out = hkw(&["--root", root, "read", "/etc/ssh/sshd_config"], b"");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains("TOP-SECRET"));
    // A FIFO in the image is refused, not waited on.
    let fifo = tree.join("etc/fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let out = hkw(&["--root", root, "read", "/etc/fifo"], b"");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("/etc/fifo"), "{}", text(&out));
    // remove: the image's link itself goes, never what it points at.
    let out = hkw(&["--root", root, "remove", "/etc/ssh/sshd_config"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(machine.join("secret").exists());
}

#[test]
fn keep_original_keeps_the_first_version_and_unchanged_is_not_rewritten() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("etc/x.conf");
    let path = file.to_str().unwrap();
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, "original\n").unwrap();
    for content in ["one\n", "two\n", "two\n"] {
        let out = hkw(
            &["put", path, "--mode", "0640", "--keep-original"],
            content.as_bytes(),
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let out = hkw(&["--json", "put", path, "--mode", "0640"], b"two\n");
    assert!(String::from_utf8_lossy(&out.stdout).contains(r#""changed":false"#));
    assert_eq!(fs::read(&file).unwrap(), b"two\n");
    assert_eq!(fs::metadata(&file).unwrap().mode() & 0o7777, 0o640);
    let kept = t.path().join("etc/x.conf.hardkit-bak~");
    assert_eq!(fs::read(kept).unwrap(), b"original\n");
}

#[test]
fn bad_input_is_exit_2_naming_it_and_writes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("f");
    let path = file.to_str().unwrap();
    for (args, names) in [
        (
            vec!["put", "relative/path", "--mode", "0644"],
            "relative/path",
        ),
        (vec!["put", path, "--mode", "0888"], "--mode 0888"),
        (
            vec!["put", path, "--mode", "0644", "--from", "/nonexistent"],
            "/nonexistent",
        ),
        (vec!["mkdir", path, "--mode", "rwx"], "--mode rwx"),
        (
            vec!["--root", "/nonexistent-root", "read", "/etc/x"],
            "--root",
        ),
    ] {
        let out = hkw(&args, b"data\n");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("hardkit-write: "), "{err}");
        assert!(err.contains(names), "{args:?}: {err}");
    }
    assert_eq!(
        fs::read_dir(t.path()).unwrap().count(),
        0,
        "nothing half-written"
    );
}

#[test]
fn reading_on_the_host_follows_roots_links_only() {
    if !is_root() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let public = public_dir(t.path());
    fs::write(t.path().join("real.conf"), "mine\n").unwrap();
    // root's link in root's directory (as /etc/alternatives): followed.
    symlink(t.path().join("real.conf"), t.path().join("alt.conf")).unwrap();
    let out = hkw(&["read", t.path().join("alt.conf").to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(out.stdout, b"mine\n");
    // A user's link in /tmp to root's file: refused, nothing printed.
    let theirs = public.join("state");
    symlink(t.path().join("real.conf"), &theirs).unwrap();
    chown(&theirs, OTHER);
    let out = hkw(&["read", theirs.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!text(&out).contains("mine"));
}
