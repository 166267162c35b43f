//! The walk cannot be redirected (issue 18): while fim walks, another
//! thread keeps exchanging a watched directory with a symlink to a tree
//! outside the selection (renameat2 RENAME_EXCHANGE: at every instant the
//! name is one or the other). fim must never record a file of the outside
//! tree, under any name, and `fim check` must report the swap.

mod common;

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use common::*;
use fim::entry::FileKind;

fn exchange(a: &Path, b: &Path) -> bool {
    let (ca, cb) = (
        CString::new(a.as_os_str().as_bytes()).unwrap(),
        CString::new(b.as_os_str().as_bytes()).unwrap(),
    );
    // SAFETY: both paths are NUL-terminated; renameat2 has no other
    // preconditions.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    rc == 0
}

fn show(root: &Path, db: &str) -> Vec<fim::entry::Entry> {
    let r = run([
        "show".as_ref(),
        "--json".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        "--db".as_ref(),
        db.as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    records(&r.stdout).entries
}

#[test]
fn a_directory_swapped_for_a_symlink_mid_walk_never_leads_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("R");
    let watch = root.join("watch");
    let sub = watch.join("sub");
    let outside = root.join("outside");
    fs::create_dir_all(root.join("db")).unwrap();
    let mut inside_hashes = Vec::new();
    let mut outside_hashes = Vec::new();
    // Many files in each, so that a walk spends time inside `sub`.
    for (dir, tag, hashes) in [
        (&sub, "inside", &mut inside_hashes),
        (&outside, "OUTSIDE SECRET", &mut outside_hashes),
    ] {
        for d in ["", "deep/", "deep/er/"] {
            fs::create_dir_all(dir.join(d)).unwrap();
            for i in 0..60 {
                let text = format!("{tag} {d}{i}\n");
                fs::write(dir.join(format!("{d}f{i:02}")), &text).unwrap();
                hashes.push(blake3::hash(text.as_bytes()).to_hex().to_string());
            }
        }
    }
    std::os::unix::fs::symlink("../outside", watch.join("sub.link")).unwrap();
    let config = tmp.path().join("fim.conf");
    fs::write(&config, "/watch all\n").unwrap();
    let init = |db: &str| {
        run([
            "init".as_ref(),
            "-q".as_ref(),
            "--root".as_ref(),
            root.as_os_str(),
            "--db".as_ref(),
            db.as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
        ])
    };
    // The baseline before any swap.
    let clean = init("/db/clean.db");
    assert_eq!(clean.code, 0, "{}", clean.stderr);

    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, swaps) = (stop.clone(), swaps.clone());
        let (a, b) = (sub.clone(), watch.join("sub.link"));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) && exchange(&a, &b) {
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut saw = (0, 0); // runs that found `sub` a directory, a symlink
    for i in 0..40 {
        let db = format!("/db/race-{i}.db");
        let r = init(&db);
        // Exit 2 is fim saying an entry it could not pin down: the two names
        // being exchanged, "changed during scan" (what it reports instead of
        // recording a wrong entry); anything else is a failure.
        let only_the_swapped_names_changed = r.code == 2
            && !r.stderr.trim().is_empty()
            && r.stderr.lines().all(|l| {
                l.contains("changed during scan")
                    && (l.contains("/watch/sub:") || l.contains("/watch/sub.link:"))
            });
        assert!(
            r.code == 0 || r.code == 1 || only_the_swapped_names_changed,
            "{}",
            r.stderr
        );
        for e in show(&root, &db) {
            let path = e.path.as_bytes().to_vec();
            assert!(
                path.starts_with(b"/watch"),
                "recorded outside the selection: {}",
                String::from_utf8_lossy(&path)
            );
            if let Some(h) = &e.blake3 {
                assert!(
                    !outside_hashes.contains(h),
                    "run {i}: {} holds a file of the outside tree",
                    String::from_utf8_lossy(&path)
                );
                if path.starts_with(b"/watch/sub") {
                    assert!(inside_hashes.contains(h), "run {i}: unknown content");
                }
            }
            if path == b"/watch/sub" {
                match e.ftype {
                    FileKind::Dir => saw.0 += 1,
                    FileKind::Symlink => saw.1 += 1,
                    other => panic!("/watch/sub recorded as {other:?}"),
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    assert!(
        swaps.load(Ordering::Relaxed) > 100,
        "the swapper hardly ran"
    );
    assert!(
        saw.0 > 0 && saw.1 > 0,
        "the race was not exercised: sub seen as a directory {} times, as a symlink {} times",
        saw.0,
        saw.1
    );

    // Leave the symlink under the watched name: check reports the swap.
    if fs::symlink_metadata(&sub).unwrap().file_type().is_dir() {
        assert!(exchange(&sub, &watch.join("sub.link")));
    }
    let r = run([
        "check".as_ref(),
        "--json".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        "--db".as_ref(),
        "/db/clean.db".as_ref(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let changes = records(&r.stdout).changes;
    let sub_change = changes
        .iter()
        .find(|c| c.path.as_bytes() == b"/watch/sub")
        .unwrap_or_else(|| panic!("no change for /watch/sub: {}", r.stdout));
    let text = serde_json::to_string(sub_change).unwrap();
    assert!(text.contains("ftype"), "{text}");
}
