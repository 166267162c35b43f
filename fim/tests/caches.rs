//! What the built-in rules used to skip as caches runs as root: a poisoned
//! Python bytecode file or dynamic loader cache, even at the same size and
//! with its old mtime put back, is a change.

mod common;

use std::fs;

use common::*;

#[test]
fn poisoned_bytecode_and_loader_cache_are_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("R");
    let pycache = root.join("usr/lib/python3/dist-packages/tool/__pycache__");
    fs::create_dir_all(&pycache).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    let pyc = pycache.join("main.cpython-311.pyc");
    let flat_pyc = root.join("usr/lib/python3/dist-packages/legacy.pyc");
    let cache = root.join("etc/ld.so.cache");
    for f in [&pyc, &flat_pyc, &cache] {
        fs::write(f, b"genuine bytes 0123456789").unwrap();
        set_mtime(f, 1_700_000_000);
    }
    let key = key_file(tmp.path(), "k");
    let init = run([
        "init".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ]);
    assert_eq!(init.code, 0, "{}{}", init.stdout, init.stderr);

    // A rerun of py3compile: same bytes, new inode and times (in its
    // __pycache__, whose times are not compared either).
    {
        let f = &pyc;
        let tmpf = f.with_extension("new");
        fs::write(&tmpf, b"genuine bytes 0123456789").unwrap();
        fs::rename(&tmpf, f).unwrap();
    }
    let check = |what: &str| {
        let r = run([
            "check".as_ref(),
            "--json".as_ref(),
            "--root".as_ref(),
            root.as_os_str(),
            "--key".as_ref(),
            key.as_os_str(),
        ]);
        assert!(
            r.code == 0 || r.code == 1,
            "{what}: {}{}",
            r.stdout,
            r.stderr
        );
        (r.code, records(&r.stdout).changes)
    };
    let (code, changes) = check("regenerated");
    assert_eq!(
        code, 0,
        "a regeneration with equal bytes is quiet: {changes:?}"
    );

    // The attack: other bytes, same size, old mtime put back.
    for f in [&pyc, &flat_pyc, &cache] {
        fs::write(f, b"evil!! bytes 0123456789X").unwrap();
        set_mtime(f, 1_700_000_000);
    }
    let (code, changes) = check("poisoned");
    assert_eq!(code, 1);
    for f in [&pyc, &flat_pyc, &cache] {
        let system = f.strip_prefix(&root).unwrap();
        let c = changes
            .iter()
            .find(|c| c.path.as_path() == std::path::Path::new("/").join(system))
            .unwrap_or_else(|| panic!("{} not reported: {changes:?}", f.display()));
        assert_eq!(c.attrs, ["blake3"], "{}", f.display());
    }
}
