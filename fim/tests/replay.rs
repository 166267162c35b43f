//! Replay: an old baseline, validly signed with the same key, put back
//! after the operator updated it, is refused; so is one the key's record
//! does not name. The latest one is accepted.

mod common;

use std::fs;
use std::path::Path;

use common::*;

fn fim_with_key(cmd: &str, root: &Path, key: &Path) -> Run {
    run([
        cmd.as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ])
}

#[test]
fn an_older_signed_baseline_put_back_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("R");
    fs::create_dir_all(root.join("etc/ssh")).unwrap();
    let config = root.join("etc/ssh/sshd_config");
    fs::write(&config, "PermitRootLogin yes\n").unwrap();
    set_mtime(&config, 1_700_000_000);
    let key = key_file(tmp.path(), "fim.key");
    let db = root.join("var/lib/hardkit/fim.db");

    let r = fim_with_key("init", &root, &key);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let old_baseline = fs::read(&db).unwrap();

    // The operator hardens sshd and records it.
    fs::write(&config, "PermitRootLogin no\n").unwrap();
    let r = fim_with_key("update", &root, &key);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert_eq!(fim_with_key("check", &root, &key).code, 0);
    let current = fs::read(&db).unwrap();

    // The intruder restores the old config (mtime too) and the old,
    // validly signed baseline that matches it.
    fs::write(&config, "PermitRootLogin yes\n").unwrap();
    set_mtime(&config, 1_700_000_000);
    fs::write(&db, &old_baseline).unwrap();
    for cmd in ["check", "update", "show"] {
        let r = fim_with_key(cmd, &root, &key);
        assert_eq!(r.code, 2, "{cmd}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("older baseline was put back"),
            "{cmd}: {}",
            r.stderr
        );
    }

    // The latest baseline is still accepted, and sees the change.
    fs::write(&db, &current).unwrap();
    let r = fim_with_key("check", &root, &key);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("/etc/ssh/sshd_config"), "{}", r.stdout);

    // A second init with the same key supersedes the first line of
    // baselines: the one before it is refused too.
    let r = fim_with_key("init", &root, &key);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    fs::write(&db, &current).unwrap();
    let r = fim_with_key("check", &root, &key);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
}
