//! The baseline is written through core's writer: its directory is opened
//! without following a link another user controls, and one another user can
//! write is refused; in a tree, the path is the tree's.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};

use common::*;

const OTHER: u32 = 4242;

fn is_root() -> bool {
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        hardkit_core::oracle::not_run("fim writer attacks", "needs root (chown to another uid)");
    }
    root
}

#[test]
fn a_baseline_is_never_written_through_another_users_link_or_directory() {
    if !is_root() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let root = tmp.path().join("R");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    let public = tmp.path().join("pub");
    fs::create_dir(&public).unwrap();
    fs::set_permissions(&public, fs::Permissions::from_mode(0o1777)).unwrap();
    let victim = tmp.path().join("victim");
    fs::create_dir(&victim).unwrap();
    // The user's link where root keeps the baseline, and the user's own
    // directory.
    let link = public.join("db");
    symlink(&victim, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(OTHER), Some(OTHER)).unwrap();
    let theirs = public.join("mine");
    fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::lchown(&theirs, Some(OTHER), Some(OTHER)).unwrap();
    for db in [link.join("fim.db"), theirs.join("fim.db")] {
        let r = run([
            "init".as_ref(),
            "--db".as_ref(),
            db.as_os_str(),
            "-q".as_ref(),
            root.join("etc").as_os_str(),
        ]);
        assert_eq!(r.code, 2, "{}: {}{}", db.display(), r.stdout, r.stderr);
        assert!(r.stderr.contains(&format!("uid {OTHER}")), "{}", r.stderr);
    }
    assert_eq!(fs::read_dir(&victim).unwrap().count(), 0);
    assert_eq!(fs::read_dir(&theirs).unwrap().count(), 0);
}

#[test]
fn in_a_tree_the_baseline_stays_in_the_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let machine = tmp.path().join("machine");
    fs::create_dir(&machine).unwrap();
    let root = tmp.path().join("R");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::create_dir_all(root.join("var/lib")).unwrap();
    fs::write(root.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    // The image's /var/lib/hardkit is an absolute link to a directory of
    // this machine.
    symlink(&machine, root.join("var/lib/hardkit")).unwrap();
    let r = run([
        "init".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        "-q".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(fs::read_dir(&machine).unwrap().count(), 0);
    let inside = root.join(machine.strip_prefix("/").unwrap()).join("fim.db");
    assert!(inside.is_file(), "the baseline is the tree's");
}
