//! The sparse-file attack: whoever can write in a watched tree plants a
//! 16 TiB file that is all hole but a few bytes. b3sum's value of it costs
//! most of an hour of CPU (BLAKE3 hashes every zero chunk at its offset),
//! so before, `fim check` took that long every day. Now such a file gets
//! the bounded sparse digest: init and check take seconds, and a changed
//! byte deep inside it is still reported.

mod common;

use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;

/// The largest hole this filesystem allows, up to 16 TiB (ext4 stops
/// 4 KiB short of it).
fn huge_sparse_file(path: &Path) -> u64 {
    let f = File::create(path).unwrap();
    for size in [16u64 << 40, (16u64 << 40) - 4096, 8 << 40, 1 << 40] {
        if f.set_len(size).is_ok() {
            return size;
        }
    }
    panic!("no sparse file of 1 TiB or more on this filesystem");
}

/// Run fim, killed (and the test failed) if it takes over a minute: the
/// code before this fix would hash for most of an hour.
fn timed(args: &[&std::ffi::OsStr]) -> (Run, Duration) {
    let started = Instant::now();
    let out = hardkit_testkit::output_within(
        fim().args(args),
        Duration::from_secs(60),
        &format!("fim {args:?}"),
    );
    let took = started.elapsed();
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    (r, took)
}

#[test]
fn a_planted_huge_hole_costs_seconds_and_still_shows_a_change() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("R");
    fs::create_dir_all(root.join("srv/data")).unwrap();
    fs::write(tmp.path().join("fim.conf"), "/srv/data all\n").unwrap();
    let big = root.join("srv/data/planted");
    let size = huge_sparse_file(&big);
    let deep = size / 2 + 12_345;
    File::options()
        .write(true)
        .open(&big)
        .unwrap()
        .write_all_at(b"payload", deep)
        .unwrap();
    fs::write(root.join("srv/data/small"), b"hello\n").unwrap();

    let conf = tmp.path().join("fim.conf");
    let (r, took) = timed(&[
        "init".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        "--config".as_ref(),
        conf.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    eprintln!("init of a {size}-byte hole took {took:?}");

    let (r, took) = timed(&["check".as_ref(), "--root".as_ref(), root.as_os_str()]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    eprintln!("check took {took:?}");

    // The baseline holds the sparse digest, and the small file b3sum's.
    let show = run([
        "show".as_ref(),
        "--json".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
    ]);
    assert_eq!(show.code, 0, "{}", show.stderr);
    let recs = records(&show.stdout);
    let hash_of = |name: &str| {
        recs.entries
            .iter()
            .find(|e| e.path.as_bytes().ends_with(name.as_bytes()))
            .and_then(|e| e.blake3.clone())
            .unwrap()
    };
    assert!(
        hash_of("/planted").starts_with("sparse:"),
        "{}",
        hash_of("/planted")
    );
    assert_eq!(
        hash_of("/small"),
        blake3::hash(b"hello\n").to_hex().to_string()
    );

    // One byte changed 8 TiB in, its times put back: still reported.
    let meta = fs::metadata(&big).unwrap();
    File::options()
        .write(true)
        .open(&big)
        .unwrap()
        .write_all_at(b"P", deep)
        .unwrap();
    set_mtime(&big, meta_mtime(&meta));
    let (r, took) = timed(&[
        "check".as_ref(),
        "--json".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
    ]);
    eprintln!("check took {took:?}");
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let recs = records(&r.stdout);
    let change = recs
        .changes
        .iter()
        .find(|c| c.path.as_bytes().ends_with(b"/planted"))
        .expect("the planted file's change");
    assert!(
        change.attrs.iter().any(|a| a == "blake3"),
        "{:?}",
        change.attrs
    );
}

fn meta_mtime(meta: &fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    meta.mtime()
}
