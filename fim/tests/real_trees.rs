//! Correctness on real trees: hashes equal b3sum's, special files are never
//! opened, non-UTF-8 names go end to end, the walk order agrees with the
//! baseline order, a file written during init is reported `changed during
//! scan`, and -x / pseudo-filesystems are respected.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use fim::entry::{ChangeKind, FileKind};
use hardkit_core::oracle::{oracle, require_root};

fn init_json(root: &Path, extra: &[&str]) -> Run {
    let mut args: Vec<std::ffi::OsString> = vec![
        "init".into(),
        "--json".into(),
        "--root".into(),
        root.as_os_str().into(),
    ];
    args.extend(extra.iter().map(|s| s.into()));
    run(args)
}

fn show_entries(root: &Path) -> Vec<fim::entry::Entry> {
    let r = run([
        "show".as_ref(),
        "--json".as_ref(),
        "--root".as_ref(),
        root.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    records(&r.stdout).entries
}

#[test]
fn hashes_equal_b3sum_on_empty_small_sparse_and_odd_named_files() {
    let Some(b3sum) = oracle("fim hashes against b3sum", "b3sum") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    fs::create_dir(&d).unwrap();
    let names: Vec<Vec<u8>> = vec![
        b"empty".to_vec(),
        b"small".to_vec(),
        b"sparse-1g".to_vec(),
        b"sparse with data".to_vec(),
        b"two mib".to_vec(),
        b"-dash".to_vec(),
        b"new\nline".to_vec(),
        b"caf\xe9".to_vec(),
        b"\xff\xfe".to_vec(),
        "\u{fc}n\u{ef}c\u{f6}d\u{e9} \u{202e}txt"
            .as_bytes()
            .to_vec(),
        b"back\\slash".to_vec(),
    ];
    for name in &names {
        let path = d.join(path_of(name));
        match name.as_slice() {
            b"empty" => fs::write(&path, b"").unwrap(),
            b"sparse-1g" => {
                let f = fs::File::create(&path).unwrap();
                f.set_len(1 << 30).unwrap();
            }
            b"sparse with data" => {
                // Holes (hashed without being read) between data extents
                // at block, odd and last-byte offsets.
                use std::os::unix::fs::FileExt;
                let f = fs::File::create(&path).unwrap();
                let size = 300u64 << 20;
                f.set_len(size).unwrap();
                for (at, bytes) in [
                    (0u64, &b"head"[..]),
                    (1 << 20, b"one mib in"),
                    ((77 << 20) + 4097, b"odd offset"),
                    (size - 1, b"z"),
                ] {
                    f.write_all_at(bytes, at).unwrap();
                }
            }
            b"two mib" => {
                let data: Vec<u8> = (0..(2u32 << 20) + 17)
                    .map(|i| (i * 7 % 253) as u8)
                    .collect();
                fs::write(&path, data).unwrap();
            }
            _ => fs::write(&path, [name.as_slice(), b"\n"].concat()).unwrap(),
        }
    }
    let r = init_json(tmp.path(), &["/data"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let entries = show_entries(tmp.path());
    let hashes: BTreeMap<Vec<u8>, String> = entries
        .iter()
        .filter(|e| e.ftype == FileKind::File)
        .map(|e| (e.path.as_bytes().to_vec(), e.blake3.clone().unwrap()))
        .collect();
    assert_eq!(hashes.len(), names.len());
    for name in &names {
        let host = d.join(path_of(name));
        let out = Command::new(&b3sum)
            .arg("--no-names")
            .arg("--")
            .arg(&host)
            .output()
            .unwrap();
        assert!(out.status.success());
        let want = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let system = [b"/data/".as_slice(), name].concat();
        assert_eq!(hashes[&system], want, "{}", String::from_utf8_lossy(name));
    }
    let sparse = entries
        .iter()
        .find(|e| e.path.as_bytes() == b"/data/sparse-1g")
        .unwrap();
    assert_eq!(sparse.size, 1 << 30);
}

#[test]
fn fifos_sockets_and_devices_are_recorded_never_opened() {
    if !require_root("fim special files (mknod)") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    fs::create_dir(&d).unwrap();
    // A fifo with no writer: opening it for reading would block forever.
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: valid paths; mkfifo/mknod only create nodes in our temp dir.
    unsafe {
        assert_eq!(libc::mkfifo(c(&d.join("fifo")).as_ptr(), 0o644), 0);
        assert_eq!(
            libc::mknod(
                c(&d.join("zero")).as_ptr(),
                libc::S_IFCHR | 0o600,
                libc::makedev(1, 5)
            ),
            0
        );
    }
    let _socket = std::os::unix::net::UnixListener::bind(d.join("sock")).unwrap();
    let out = Command::new("timeout")
        .arg("60")
        .arg(env!("CARGO_BIN_EXE_fim"))
        .args(["init", "--json", "--root"])
        .arg(tmp.path())
        .arg("/data")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kinds: BTreeMap<Vec<u8>, (FileKind, Option<String>)> = show_entries(tmp.path())
        .into_iter()
        .map(|e| (e.path.as_bytes().to_vec(), (e.ftype, e.blake3)))
        .collect();
    assert_eq!(kinds[&b"/data/fifo".to_vec()], (FileKind::Fifo, None));
    assert_eq!(kinds[&b"/data/zero".to_vec()], (FileKind::Char, None));
    assert_eq!(kinds[&b"/data/sock".to_vec()], (FileKind::Socket, None));
}

#[test]
fn walk_order_agrees_with_baseline_order_and_non_utf8_names_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    // Names whose byte order differs from a depth-first walk's order.
    for dir in ["a", "a/b", "a-b", "\u{e9}", "b"] {
        fs::create_dir_all(d.join(dir)).unwrap();
    }
    for file in ["a.b", "a/b/c", "a/b.c", "a0", "a-b/x", "b/\u{e9}"] {
        fs::write(d.join(file), file).unwrap();
    }
    let odd = d.join(path_of(b"caf\xe9 \x1b[31m"));
    fs::write(&odd, b"x").unwrap();
    let r = init_json(tmp.path(), &["/data"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let entries = show_entries(tmp.path());
    let paths: Vec<Vec<u8>> = entries.iter().map(|e| e.path.as_bytes().to_vec()).collect();
    let mut sorted = paths.clone();
    sorted.sort_by(|a, b| fim::entry::path_order(a, b));
    assert_eq!(paths, sorted);
    let a = paths.iter().position(|p| p == b"/data/a").unwrap();
    let ab = paths.iter().position(|p| p == b"/data/a/b").unwrap();
    let a_dot_b = paths.iter().position(|p| p == b"/data/a.b").unwrap();
    assert!(a < ab && ab < a_dot_b, "{paths:?}");
    assert!(paths.contains(&b"/data/caf\xe9 \x1b[31m".to_vec()));

    // A clean check: the merge lines every entry up with the walk.
    let clean = run([
        "check".as_ref(),
        "--json".as_ref(),
        "--root".as_ref(),
        tmp.path().as_os_str(),
    ]);
    assert_eq!(clean.code, 0, "{}", clean.stdout);

    // The non-UTF-8 file changes: reported with its exact bytes, in JSON
    // as {"bytes": base64}, and escaped for humans.
    fs::write(&odd, b"yy").unwrap();
    fs::remove_file(d.join("a.b")).unwrap();
    let r = run([
        "check".as_ref(),
        "--json".as_ref(),
        "--root".as_ref(),
        tmp.path().as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("{\"bytes\":"), "{}", r.stdout);
    let changes: BTreeMap<Vec<u8>, ChangeKind> = records(&r.stdout)
        .changes
        .into_iter()
        .map(|c| (c.path.as_bytes().to_vec(), c.change))
        .collect();
    assert_eq!(
        changes[&b"/data/caf\xe9 \x1b[31m".to_vec()],
        ChangeKind::Changed
    );
    assert_eq!(changes[&b"/data/a.b".to_vec()], ChangeKind::Removed);
    assert_eq!(changes.len(), 3, "{changes:?}"); // and /data itself
    let human = run(["check".as_ref(), "--root".as_ref(), tmp.path().as_os_str()]);
    assert!(
        human.stdout.contains("/data/caf\\xe9 \\x1b[31m"),
        "{}",
        human.stdout
    );
}

#[test]
fn a_file_written_during_init_is_changed_during_scan_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    fs::create_dir(&d).unwrap();
    let busy = d.join("busy.log");
    fs::write(&busy, vec![7u8; 64 << 20]).unwrap();
    for i in 0..200 {
        fs::write(d.join(format!("f{i:03}")), format!("{i}")).unwrap();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let busy = busy.clone();
        std::thread::spawn(move || {
            use std::os::unix::fs::FileExt;
            let f = fs::OpenOptions::new().write(true).open(&busy).unwrap();
            let mut offset = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                f.write_at(b"rewritten", offset % (64 << 20)).unwrap();
                offset += 1 << 20;
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        })
    };
    let mut seen = None;
    for _ in 0..5 {
        let r = init_json(tmp.path(), &["/data"]);
        assert!(r.code == 0 || r.code == 2, "{}{}", r.stdout, r.stderr);
        let recs = records(&r.stdout);
        if let Some(e) = recs
            .errors
            .iter()
            .find(|e| e.path.as_ref().map(|p| p.as_bytes()) == Some(b"/data/busy.log"))
        {
            assert!(
                e.message.starts_with("changed during scan"),
                "{}",
                e.message
            );
            assert_eq!(r.code, 2);
            seen = Some(e.message.clone());
            break;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert!(seen.is_some(), "the busy file was never caught changing");
    // The baseline was still written, with the file's entry but no hash.
    let entries = show_entries(tmp.path());
    let busy = entries
        .iter()
        .find(|e| e.path.as_bytes() == b"/data/busy.log")
        .unwrap();
    assert_eq!(busy.blake3, None);
    assert_eq!(entries.len(), 202);
}

#[test]
fn hard_links_share_one_hash_and_vanished_roots_are_not_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    fs::create_dir(&d).unwrap();
    fs::write(d.join("a"), b"linked").unwrap();
    for name in ["b", "c", "d"] {
        fs::hard_link(d.join("a"), d.join(name)).unwrap();
    }
    let r = init_json(tmp.path(), &["/data", "/missing"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let hashes: Vec<Option<String>> = show_entries(tmp.path())
        .into_iter()
        .filter(|e| e.ftype == FileKind::File)
        .map(|e| e.blake3)
        .collect();
    let want = Some(blake3::hash(b"linked").to_hex().to_string());
    assert_eq!(hashes, vec![want.clone(), want.clone(), want.clone(), want]);
}

#[test]
fn rules_exclude_prune_and_choose_attributes() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    for dir in ["etc/ssh", "etc/cache/deep", "var/log", "usr/bin"] {
        fs::create_dir_all(r.join(dir)).unwrap();
    }
    for f in [
        "etc/passwd",
        "etc/mtab",
        "etc/cache/x",
        "etc/cache/deep/keep",
        "etc/x.swp",
        "var/log/auth.log",
    ] {
        fs::write(r.join(f), "1\n").unwrap();
    }
    fs::write(
        r.join("fim.conf"),
        "/etc all\n!/etc/cache\n/etc/cache/deep all\n!~.*\\.swp\n/var/log/auth.log log\n",
    )
    .unwrap();
    let init = run([
        "init".as_ref(),
        "--root".as_ref(),
        r.as_os_str(),
        "--config".as_ref(),
        r.join("fim.conf").as_os_str(),
        "--exclude".as_ref(),
        "/etc/mtab".as_ref(),
    ]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let paths: Vec<String> = show_entries(r)
        .iter()
        .map(|e| String::from_utf8(e.path.as_bytes().to_vec()).unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/etc",
            "/etc/cache/deep",
            "/etc/cache/deep/keep",
            "/etc/passwd",
            "/etc/ssh",
            "/var/log/auth.log"
        ]
    );
    // The log grows: fine. The config file is not needed any more: check
    // uses the rules stored (and protected) in the baseline.
    fs::remove_file(r.join("fim.conf")).unwrap();
    fs::write(r.join("var/log/auth.log"), "1\n2\n").unwrap();
    fs::write(r.join("etc/mtab"), "changed\n").unwrap();
    let check = run(["check".as_ref(), "--root".as_ref(), r.as_os_str()]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    // --config and --attrs on check replace the stored rules.
    fs::write(r.join("etc/passwd"), "2\n").unwrap();
    let conf2 = tmp.path().join("other.conf");
    fs::write(
        &conf2,
        "/etc all\n!/etc/cache\n/etc/cache/deep all\n!~.*\\.swp\n!/etc/mtab\n/var/log/auth.log log\n",
    )
    .unwrap();
    let perms_only = run([
        "check".as_ref(),
        "--root".as_ref(),
        r.as_os_str(),
        "--config".as_ref(),
        conf2.as_os_str(),
        "--attrs".as_ref(),
        "perms".as_ref(),
    ]);
    assert_eq!(
        perms_only.code, 0,
        "{}{}",
        perms_only.stdout, perms_only.stderr
    );
    // --exclude on check adds to the stored rules (the cache stays excluded).
    let excluded = run([
        "check".as_ref(),
        "--root".as_ref(),
        r.as_os_str(),
        "--exclude".as_ref(),
        "/etc/passwd".as_ref(),
    ]);
    assert_eq!(excluded.code, 0, "{}{}", excluded.stdout, excluded.stderr);
    let full = run(["check".as_ref(), "--root".as_ref(), r.as_os_str()]);
    assert_eq!(full.code, 1);
    assert!(
        full.stdout.contains("/etc/passwd  mtime ctime blake3"),
        "{}",
        full.stdout
    );
}

#[test]
fn one_filesystem_and_pseudo_filesystems_on_the_real_dev() {
    // /dev is devtmpfs with tmpfs (/dev/shm) and devpts (/dev/pts) mounted
    // inside it on Linux; nothing here opens or changes anything there.
    let shm = Path::new("/dev/shm");
    let pts = Path::new("/dev/pts");
    if !shm.is_dir() || !pts.is_dir() {
        hardkit_core::oracle::not_run("fim -x on /dev", "no /dev/shm or /dev/pts here");
        return;
    }
    let marker = tempfile::Builder::new()
        .prefix("fim-test")
        .tempfile_in(shm)
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("fim.db");
    let entries = |extra: &[&str]| -> Vec<PathBuf> {
        let mut args: Vec<std::ffi::OsString> =
            vec!["init".into(), "--db".into(), db.clone().into_os_string()];
        args.extend(extra.iter().map(|s| s.into()));
        args.push("/dev".into());
        let r = run(&args);
        assert!(r.code == 0 || r.code == 2, "{}", r.stderr);
        let show = run([
            "show".as_ref(),
            "--json".as_ref(),
            "--db".as_ref(),
            db.as_os_str(),
        ]);
        records(&show.stdout)
            .entries
            .into_iter()
            .map(|e| e.path.into_path_buf())
            .collect()
    };
    let all = entries(&[]);
    assert!(
        all.contains(&marker.path().to_path_buf()),
        "tmpfs is walked without -x"
    );
    assert!(
        all.contains(&pts.to_path_buf()),
        "the mount point is recorded"
    );
    assert!(
        !all.iter().any(|p| p.starts_with(pts) && p != pts),
        "devpts is a pseudo-filesystem and is never entered"
    );
    let one = entries(&["-x"]);
    assert!(one.contains(&shm.to_path_buf()));
    assert!(
        !one.iter().any(|p| p.starts_with(shm) && p != shm),
        "-x stays on devtmpfs"
    );
}

#[test]
fn unreadable_files_and_directories_are_errors_and_the_run_goes_on() {
    // Run fim as nobody on a tree root owns, so permission errors are real.
    if !require_root("fim permission errors (setpriv to nobody)") {
        return;
    }
    let Some(setpriv) = oracle("fim permission errors", "setpriv") else {
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    fs::set_permissions(r, fs::Permissions::from_mode(0o755)).unwrap();
    let d = r.join("data");
    fs::create_dir_all(d.join("closed")).unwrap();
    fs::create_dir_all(d.join("open")).unwrap();
    fs::write(d.join("open/readable"), b"ok").unwrap();
    fs::write(d.join("secret"), b"s").unwrap();
    fs::write(d.join("closed/inside"), b"i").unwrap();
    fs::set_permissions(d.join("secret"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(d.join("closed"), fs::Permissions::from_mode(0o700)).unwrap();
    let db_dir = r.join("db");
    fs::create_dir(&db_dir).unwrap();
    std::os::unix::fs::chown(&db_dir, Some(65534), Some(65534)).unwrap();

    let as_nobody = |args: &[&std::ffi::OsStr]| -> Run {
        let out = Command::new(&setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_fim"))
            .args(args)
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    };
    let common = [
        "--json".as_ref(),
        "--root".as_ref(),
        r.as_os_str(),
        "--db".as_ref(),
        "/db/fim.db".as_ref(),
    ];
    let init = as_nobody(
        &[
            &[std::ffi::OsStr::new("init")],
            &common[..],
            &["/data".as_ref()],
        ]
        .concat(),
    );
    assert_eq!(init.code, 2, "{}{}", init.stdout, init.stderr);
    let recs = records(&init.stdout);
    let errors: BTreeMap<Vec<u8>, String> = recs
        .errors
        .iter()
        .map(|e| {
            (
                e.path.as_ref().unwrap().as_bytes().to_vec(),
                e.message.clone(),
            )
        })
        .collect();
    assert!(
        errors[&b"/data/secret".to_vec()].contains("Permission denied"),
        "{errors:?}"
    );
    assert!(
        errors[&b"/data/closed".to_vec()].contains("Permission denied"),
        "{errors:?}"
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(recs.summary.unwrap().exit, 2);

    // The baseline holds everything that could be examined; check reports
    // the same errors again and no change: the unreadable directory's
    // children are unknown, not removed.
    let check = as_nobody(&[&[std::ffi::OsStr::new("check")], &common[..]].concat());
    assert_eq!(check.code, 2, "{}{}", check.stdout, check.stderr);
    let recs = records(&check.stdout);
    assert!(recs.changes.is_empty(), "{:?}", recs.changes);
    assert_eq!(recs.errors.len(), 2);
}

#[test]
fn protocol_examples_parse_with_unknown_fields_denied() {
    let doc = include_str!("../../docs/protocol.md");
    let section = doc
        .split("### entry, change (fim)")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .expect("fim's section in docs/protocol.md");
    let mut seen = (0, 0);
    for line in section.lines().filter(|l| l.starts_with("{\"type\":")) {
        match hardkit_core::record::envelope(line).unwrap().0.as_str() {
            "entry" => {
                hardkit_core::record::decode_strict::<fim::entry::Entry>(line).expect(line);
                seen.0 += 1;
            }
            "change" => {
                hardkit_core::record::decode_strict::<fim::entry::Change>(line).expect(line);
                seen.1 += 1;
            }
            other => panic!("unexpected example type {other}"),
        }
    }
    assert!(seen.0 >= 1 && seen.1 >= 1, "{seen:?}");
}

#[test]
fn the_baseline_inside_the_watched_tree_does_not_report_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    fs::create_dir_all(r.join("var/lib/hardkit")).unwrap();
    fs::write(r.join("var/lib/hardkit/other"), b"x").unwrap();
    let init = run([
        "init".as_ref(),
        "--root".as_ref(),
        r.as_os_str(),
        "/".as_ref(),
    ]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    for _ in 0..2 {
        let check = run(["check".as_ref(), "--root".as_ref(), r.as_os_str()]);
        assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
        let update = run(["update".as_ref(), "--root".as_ref(), r.as_os_str()]);
        assert_eq!(update.code, 0, "{}{}", update.stdout, update.stderr);
    }
    let paths: Vec<PathBuf> = show_entries(r)
        .into_iter()
        .map(|e| e.path.into_path_buf())
        .collect();
    assert!(paths.contains(&PathBuf::from("/var/lib/hardkit/other")));
    assert!(!paths.contains(&PathBuf::from("/var/lib/hardkit/fim.db")));
}

#[test]
fn symlinked_roots_and_links_out_of_the_tree_are_recorded_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let r = tmp.path();
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::write(r.join("etc/passwd"), b"root\n").unwrap();
    // A walk root that is a symlink, and links pointing out of the tree.
    std::os::unix::fs::symlink("/etc", r.join("opt")).unwrap();
    std::os::unix::fs::symlink("/", r.join("etc/escape")).unwrap();
    std::os::unix::fs::symlink("../../../../../../usr", r.join("etc/up")).unwrap();
    let init = run(["init".as_ref(), "--root".as_ref(), r.as_os_str()]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let entries = show_entries(r);
    let listed: Vec<(String, FileKind, Option<PathBuf>)> = entries
        .into_iter()
        .map(|e| {
            (
                e.path.as_path().display().to_string(),
                e.ftype,
                e.target.map(|t| t.into_path_buf()),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            ("/etc".to_string(), FileKind::Dir, None),
            (
                "/etc/escape".to_string(),
                FileKind::Symlink,
                Some(PathBuf::from("/"))
            ),
            ("/etc/passwd".to_string(), FileKind::File, None),
            (
                "/etc/up".to_string(),
                FileKind::Symlink,
                Some(PathBuf::from("../../../../../../usr"))
            ),
            (
                "/opt".to_string(),
                FileKind::Symlink,
                Some(PathBuf::from("/etc"))
            ),
        ]
    );
}

#[test]
fn many_large_files_on_many_threads_hash_correctly() {
    // Large buffers are hashed with update_rayon, whose work stealing can
    // start another file's hash on the same thread: each needs its own
    // buffer (this once panicked with "RefCell already borrowed").
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("data");
    fs::create_dir(&d).unwrap();
    let mut want = BTreeMap::new();
    for i in 0..400u32 {
        // Mostly small files with large ones among them, so pending small
        // jobs are there to be stolen while a large buffer is hashed.
        let len = if i % 8 == 0 { 3u32 << 20 } else { 2000 + i };
        let data: Vec<u8> = (0..len)
            .map(|j| (j.wrapping_mul(i + 3) >> 3) as u8)
            .collect();
        fs::write(d.join(format!("f{i:03}")), &data).unwrap();
        want.insert(
            format!("/data/f{i:03}"),
            blake3::hash(&data).to_hex().to_string(),
        );
    }
    let out = fim()
        .env("RAYON_NUM_THREADS", "8")
        .args(["init", "--json", "--root"])
        .arg(tmp.path())
        .arg("/data")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: BTreeMap<String, String> = show_entries(tmp.path())
        .into_iter()
        .filter(|e| e.ftype == FileKind::File)
        .map(|e| (e.path.as_path().display().to_string(), e.blake3.unwrap()))
        .collect();
    assert_eq!(got, want);
}
