//! Tamper evidence: a keyed baseline that was edited, truncated, reordered
//! or made with another key is refused with exit 2 and a clear message;
//! keys others can read are refused; without a key damage is still caught.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;

struct Setup {
    tmp: tempfile::TempDir,
    root: PathBuf,
    db: PathBuf,
}

fn setup(key: Option<&str>) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("R");
    for dir in ["etc/ssh", "usr/bin"] {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
    for (i, name) in [
        "etc/passwd",
        "etc/group",
        "etc/ssh/sshd_config",
        "usr/bin/ls",
    ]
    .iter()
    .enumerate()
    {
        fs::write(root.join(name), format!("content {i}\n")).unwrap();
    }
    let s = Setup {
        db: root.join("var/lib/hardkit/fim.db"),
        root,
        tmp,
    };
    let mut args = vec![
        "init".to_string(),
        "--root".into(),
        s.root.display().to_string(),
    ];
    if let Some(name) = key {
        let k = key_file(s.tmp.path(), name);
        args.extend(["--key".into(), k.display().to_string()]);
    }
    let r = run(&args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    s
}

fn check(s: &Setup, key: Option<&Path>) -> Run {
    let mut args = vec![
        "check".to_string(),
        "--root".into(),
        s.root.display().to_string(),
    ];
    if let Some(k) = key {
        args.extend(["--key".into(), k.display().to_string()]);
    }
    run(&args)
}

fn lines(db: &Path) -> Vec<Vec<u8>> {
    fs::read(db)
        .unwrap()
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn refused(r: &Run, why: &str) {
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.starts_with("fim: baseline "), "{}", r.stderr);
    assert!(r.stderr.contains(why), "expected '{why}' in: {}", r.stderr);
}

#[test]
fn keyed_baseline_verifies_and_every_tampering_is_refused() {
    let s = setup(Some("k1"));
    let key = s.tmp.path().join("k1");
    let ok = check(&s, Some(&key));
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    let original = fs::read(&s.db).unwrap();
    let mac_mismatch = "the MAC does not match";

    // One byte flipped inside an entry (still valid JSON: a hash digit).
    let mut flipped = original.clone();
    let at = flipped
        .windows(9)
        .position(|w| w == b"\"blake3\":")
        .unwrap()
        + 10;
    flipped[at] = if flipped[at] == b'0' { b'1' } else { b'0' };
    fs::write(&s.db, &flipped).unwrap();
    refused(&check(&s, Some(&key)), mac_mismatch);

    // Truncated: at a line boundary, and in the middle of a line.
    let all = lines(&s.db);
    let half: Vec<u8> = original[..original.len() / 2].to_vec();
    fs::write(&s.db, &half).unwrap();
    refused(&check(&s, Some(&key)), "truncated");
    let cut: Vec<u8> = all[..all.len() - 1].concat();
    fs::write(&s.db, &cut).unwrap();
    refused(
        &check(&s, Some(&key)),
        "truncated: the end marker is missing",
    );

    // Two entries swapped.
    let mut swapped = lines(&{
        fs::write(&s.db, &original).unwrap();
        s.db.clone()
    });
    swapped.swap(2, 3);
    fs::write(&s.db, swapped.concat()).unwrap();
    refused(&check(&s, Some(&key)), mac_mismatch);

    // Another key's baseline for the same tree.
    let other = setup(Some("k2"));
    fs::copy(&other.db, &s.db).unwrap();
    refused(&check(&s, Some(&key)), mac_mismatch);

    // update and show verify too.
    for cmd in ["update", "show"] {
        let r = run([
            cmd.as_ref(),
            "--root".as_ref(),
            s.root.as_os_str(),
            "--key".as_ref(),
            key.as_os_str(),
        ]);
        refused(&r, mac_mismatch);
    }
    // The refused update left the (foreign) baseline as it was.
    assert_eq!(fs::read(&s.db).unwrap(), fs::read(&other.db).unwrap());

    // The genuine one still verifies.
    fs::write(&s.db, &original).unwrap();
    assert_eq!(check(&s, Some(&key)).code, 0);
}

#[test]
fn a_keyed_baseline_needs_its_key_and_a_key_refuses_an_unkeyed_baseline() {
    let s = setup(Some("k1"));
    refused(&check(&s, None), "protected by a key");

    // Someone without the key replaces the baseline with an unkeyed one.
    let forged = setup(None);
    fs::copy(&forged.db, &s.db).unwrap();
    refused(&check(&s, Some(&s.tmp.path().join("k1"))), "carries no MAC");
}

#[test]
fn key_files_others_can_read_or_of_the_wrong_size_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let key = key_file(tmp.path(), "k");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o640)).unwrap();
    let r = run([
        "init".as_ref(),
        "--root".as_ref(),
        tmp.path().as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("chmod 600"), "{}", r.stderr);
    assert!(!tmp.path().join("var/lib/hardkit/fim.db").exists());

    fs::write(&key, b"short").unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let r = run([
        "check".as_ref(),
        "--root".as_ref(),
        tmp.path().as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("32 random bytes or 64 hex digits"),
        "{}",
        r.stderr
    );

    // 64 hex digits and a newline is the same key as its 32 bytes.
    let raw = key_file(tmp.path(), "raw");
    let hex: String = fs::read(&raw)
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let hex_key = tmp.path().join("hex");
    fs::write(&hex_key, format!("{hex}\n")).unwrap();
    fs::set_permissions(&hex_key, fs::Permissions::from_mode(0o600)).unwrap();
    fs::create_dir_all(tmp.path().join("etc")).unwrap();
    let init = run([
        "init".as_ref(),
        "--root".as_ref(),
        tmp.path().as_os_str(),
        "--key".as_ref(),
        raw.as_os_str(),
    ]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let check = run([
        "check".as_ref(),
        "--root".as_ref(),
        tmp.path().as_os_str(),
        "--key".as_ref(),
        hex_key.as_os_str(),
    ]);
    assert_eq!(check.code, 0, "{}", check.stderr);
}

#[test]
fn without_a_key_damage_is_caught_and_the_report_says_unprotected() {
    let s = setup(None);
    let original = fs::read(&s.db).unwrap();
    let all = lines(&s.db);

    // Truncated at a line boundary: the end marker is gone.
    fs::write(&s.db, all[..all.len() - 2].concat()).unwrap();
    refused(&check(&s, None), "truncated: the end marker is missing");

    // A flipped byte: the plain checksum catches it.
    let mut flipped = original.clone();
    let at = flipped.windows(6).position(|w| w == b"\"uid\":").unwrap() + 6;
    flipped[at] = b'7';
    fs::write(&s.db, &flipped).unwrap();
    refused(&check(&s, None), "the checksum does not match");

    // Reordered by someone who also recomputed the checksum: the order
    // check still refuses it.
    let mut swapped = all.clone();
    swapped.swap(2, 3);
    let body: Vec<u8> = swapped[..swapped.len() - 1].concat();
    let end = format!(
        "{{\"end\":true,\"entries\":{},\"digest\":\"{}\"}}\n",
        swapped.len() - 2,
        blake3::hash(&body).to_hex()
    );
    fs::write(&s.db, [body, end.into_bytes()].concat()).unwrap();
    refused(&check(&s, None), "entries out of order");

    // The genuine baseline: a change is reported with the warning.
    fs::write(&s.db, &original).unwrap();
    fs::write(s.root.join("etc/passwd"), "evil\n").unwrap();
    let r = check(&s, None);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("not protected by a key"), "{}", r.stdout);
    let show = run(["show".as_ref(), "--root".as_ref(), s.root.as_os_str()]);
    assert!(show.stdout.contains("not protected"), "{}", show.stdout);
}

#[test]
fn interrupted_init_keeps_the_old_baseline_and_leaves_no_file() {
    let s = setup(None);
    let before = fs::read(&s.db).unwrap();
    // Enough work that the signal lands while the new baseline is written:
    // 16 files of one 1 GiB hole each (at the hole limit, so hashed the way
    // b3sum does, zeros and all: seconds of CPU; a larger hole would get
    // the bounded sparse digest at once).
    for i in 0..16 {
        let big = s.root.join(format!("usr/bin/big{i}"));
        fs::File::create(&big).unwrap().set_len(1 << 30).unwrap();
    }
    let mut child = fim()
        .args(["init", "--root"])
        .arg(&s.root)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    if status.code() == Some(0) {
        hardkit_core::oracle::not_run(
            "fim interrupted init",
            "init finished before the signal arrived",
        );
        return;
    }
    assert_eq!(status.code(), Some(130));
    assert_eq!(
        fs::read(&s.db).unwrap(),
        before,
        "the old baseline is intact"
    );
    let names: Vec<String> = fs::read_dir(s.db.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["fim.db"], "no temporary file left behind");
}

#[test]
fn a_crafted_unkeyed_baseline_cannot_crash_show_or_check() {
    let s = setup(None);
    let all = lines(&s.db);
    // Multibyte text where times and hashes are sliced for display, and
    // terminal escapes where text is printed; checksum recomputed.
    let entry = String::from_utf8(all[2].clone()).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&entry).unwrap();
    value["mtime"] = "2026-11-22T05:37:2\u{20ac}\u{20ac}\u{1b}[2J".into();
    value["mode"] = "\u{1b}]0;x\u{7}".into();
    value["blake3"] = "\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}\u{20ac}".into();
    let mut forged = all.clone();
    forged[2] = format!("{value}\n").into_bytes();
    let body: Vec<u8> = forged[..forged.len() - 1].concat();
    let end = format!(
        "{{\"end\":true,\"entries\":{},\"digest\":\"{}\"}}\n",
        forged.len() - 2,
        blake3::hash(&body).to_hex()
    );
    fs::write(&s.db, [body, end.into_bytes()].concat()).unwrap();
    let show = run(["show".as_ref(), "--root".as_ref(), s.root.as_os_str()]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert!(!show.stdout.contains('\u{1b}'), "{}", show.stdout);
    let check = run(["check".as_ref(), "--root".as_ref(), s.root.as_os_str()]);
    assert_eq!(check.code, 1, "{}{}", check.stdout, check.stderr);
    assert!(!check.stdout.contains('\u{1b}'), "{}", check.stdout);
}

#[test]
fn a_missing_baseline_is_an_error_that_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let r = run([
        "check".as_ref(),
        "--json".as_ref(),
        "--root".as_ref(),
        tmp.path().as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("not found: make one with fim init"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_baseline_that_is_a_symlink_is_not_followed() {
    let s = setup(None);
    let real = s.tmp.path().join("elsewhere.db");
    fs::rename(&s.db, &real).unwrap();
    std::os::unix::fs::symlink(&real, &s.db).unwrap();
    let r = check(&s, None);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("symbolic links"), "{}", r.stderr);
}
