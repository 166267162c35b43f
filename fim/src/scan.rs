//! Turning walked entries into baseline entries: their metadata (never
//! following a symlink), the symlink target, extended attributes, and the
//! content hash of regular files, hashed in parallel with each hard-linked
//! inode read only once. Every entry is named relative to its open parent
//! directory (see [`crate::walk`]); a regular file is opened once, and its
//! `fstat` before the read, the read and an `fstat` after are all made on
//! that one descriptor.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

use hardkit_core::bytes_path::path_from_bytes;
use hardkit_core::BytesPath;
use rayon::prelude::*;

use crate::entry::{format_time, Attr, Entry, FileKind, Xattrs};
use crate::hash::{hash_at, hash_open, open_at, Fingerprint, HashError};
use crate::rules::AttrSet;
use crate::walk::{stat_at, stat_fd, Dir};

/// One entry the walk selected.
#[derive(Debug, Clone)]
pub struct Item {
    /// Its parent directory, open.
    pub dir: Arc<Dir>,
    /// Its name in that directory.
    pub name: CString,
    /// The entry itself, open, when it is a directory the walk entered.
    pub own: Option<Arc<Dir>>,
    /// The type the directory listing gave (`DT_REG`, ..., or
    /// `DT_UNKNOWN`): a listed regular file is opened without a stat
    /// first, its `fstat` being the stat recorded.
    pub d_type: u8,
    /// The system path recorded in the baseline.
    pub system: Vec<u8>,
    pub attrs: AttrSet,
}

/// What the walk yields, in baseline order.
#[derive(Debug)]
pub enum WalkItem {
    Path(Item),
    /// The walk could not read something; `subtree` says the children of
    /// `system` are unknown (an unreadable directory), `itself` that the
    /// path itself is unknown (it vanished or could not be examined).
    Failed {
        system: Vec<u8>,
        message: String,
        itself: bool,
        subtree: bool,
    },
}

/// The result for one walked item, in the same order.
#[derive(Debug)]
pub enum Outcome {
    /// An entry; `error` is set when part of it (the hash) could not be
    /// established, in which case `blake3` is `None` and must not be
    /// compared.
    Entry { entry: Entry, error: Option<String> },
    Failed {
        system: Vec<u8>,
        message: String,
        itself: bool,
        subtree: bool,
    },
}

struct Stat {
    dir: Arc<Dir>,
    name: CString,
    entry: Entry,
    fingerprint: Fingerprint,
    wants_hash: bool,
    wants_xattrs: bool,
    /// Hashed already, on the descriptor the stat came from (a regular
    /// file with one link).
    hashed: Option<Hashed>,
}

/// Hashes of hard-linked inodes seen earlier, kept until every link has
/// been seen (so memory follows the number of open link groups, not files).
#[derive(Default)]
pub struct LinkCache {
    known: HashMap<(u64, u64), (Fingerprint, String, u64)>,
}

impl LinkCache {
    /// The hash of this inode if an earlier link of it was hashed in the
    /// same state; counts this link as seen.
    fn lookup(&mut self, fp: &Fingerprint, nlink: u64) -> Option<String> {
        let key = (fp.dev, fp.ino);
        let (cached_fp, hash, seen) = self.known.get_mut(&key)?;
        if cached_fp != fp {
            self.known.remove(&key);
            return None;
        }
        *seen += 1;
        let hash = hash.clone();
        if *seen >= nlink {
            self.known.remove(&key);
        }
        Some(hash)
    }

    fn remember(&mut self, fp: Fingerprint, hash: String, nlink: u64, seen: u64) {
        if nlink > seen {
            self.known.insert((fp.dev, fp.ino), (fp, hash, seen));
        }
    }

    /// Inode groups still waiting for links (for tests of the bound).
    pub fn len(&self) -> usize {
        self.known.len()
    }

    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

/// A hash, and fresh metadata (and extended attributes, when wanted) when
/// the file had to be looked at again.
type Hashed = Result<(String, Option<Fresh>), String>;

#[derive(Debug, Clone)]
struct Fresh {
    stat: libc::stat,
    xattrs: Option<Result<Xattrs, String>>,
}

/// Scan a chunk of walked items: metadata in parallel, then the hashes in
/// parallel, each inode once; results come back in input order.
pub fn scan_chunk(items: Vec<WalkItem>, links: &mut LinkCache) -> Vec<Outcome> {
    // Pass 1: lstat, readlink, xattrs.
    let stats: Vec<Result<Stat, Box<Outcome>>> = items.into_par_iter().map(stat_item).collect();

    // Pass 2 (sequential): where each regular file's hash comes from: an
    // earlier chunk, an earlier link in this chunk, or its own read.
    enum Source {
        None,
        /// Hashed in pass 1.
        Done,
        Known(String),
        Itself,
        SameAs(usize),
    }
    let mut first_in_chunk: HashMap<(u64, u64), usize> = HashMap::new();
    let mut sources: Vec<Source> = Vec::with_capacity(stats.len());
    for (i, stat) in stats.iter().enumerate() {
        let source = match stat {
            Ok(s) if s.hashed.is_some() => Source::Done,
            Ok(s) if s.wants_hash && s.entry.nlink > 1 => {
                let key = (s.fingerprint.dev, s.fingerprint.ino);
                if let Some(&first) = first_in_chunk.get(&key) {
                    Source::SameAs(first)
                } else if let Some(hash) = links.lookup(&s.fingerprint, s.entry.nlink) {
                    Source::Known(hash)
                } else {
                    first_in_chunk.insert(key, i);
                    Source::Itself
                }
            }
            Ok(s) if s.wants_hash => Source::Itself,
            _ => Source::None,
        };
        sources.push(source);
    }

    // Pass 3: read and hash, in parallel.
    let hashes: Vec<Option<Hashed>> = stats
        .par_iter()
        .zip(sources.par_iter())
        .map(|(stat, source)| match (stat, source) {
            (Ok(s), Source::Itself) => Some(hash_with_retry(s)),
            _ => None,
        })
        .collect();

    // Pass 4: assemble in order, and remember link groups that continue
    // in later chunks.
    let mut group_seen: HashMap<usize, u64> = HashMap::new();
    for source in &sources {
        if let Source::SameAs(first) = source {
            *group_seen.entry(*first).or_insert(1) += 1;
        }
    }
    let mut out = Vec::with_capacity(stats.len());
    for (i, stat) in stats.into_iter().enumerate() {
        let mut s = match stat {
            Ok(s) => s,
            Err(outcome) => {
                out.push(*outcome);
                continue;
            }
        };
        let result: Option<Hashed> = match &sources[i] {
            Source::None => None,
            Source::Done => s.hashed.take(),
            Source::Known(hash) => Some(Ok((hash.clone(), None))),
            Source::Itself => hashes[i].clone(),
            // A later link shares the first link's hash, but only if the
            // first link's read did not need a fresh look.
            Source::SameAs(first) => match &hashes[*first] {
                Some(Ok((hash, None))) => Some(Ok((hash.clone(), None))),
                _ => Some(hash_with_retry(&s)),
            },
        };
        let mut error = None;
        match result {
            Some(Ok((hash, fresh))) => {
                if let Some(fresh) = fresh {
                    // The file moved between the walk and the read: what
                    // was recorded from the first look is stale, xattrs too.
                    fill_from_stat(&mut s.entry, &fresh.stat);
                    s.fingerprint = Fingerprint::of_stat(&fresh.stat);
                    match fresh.xattrs {
                        Some(Ok(x)) => s.entry.xattrs = x,
                        Some(Err(e)) => error = Some(format!("reading extended attributes: {e}")),
                        None => {}
                    }
                } else if matches!(sources[i], Source::Itself) {
                    let seen = group_seen.get(&i).copied().unwrap_or(1);
                    links.remember(s.fingerprint, hash.clone(), s.entry.nlink, seen);
                }
                s.entry.blake3 = Some(hash);
            }
            Some(Err(message)) => error = Some(message),
            None => {}
        }
        out.push(Outcome::Entry {
            entry: s.entry,
            error,
        });
    }
    out
}

/// Hash, and if the file moved under us, look once more: a file that was
/// replaced between the walk and the read is then recorded as it is now,
/// and only a file that keeps changing is reported `changed during scan`.
fn hash_with_retry(stat: &Stat) -> Hashed {
    let first = match hash_at(stat.dir.raw(), &stat.name, &stat.fingerprint) {
        Ok(hash) => return Ok((hash, None)),
        Err(HashError::Changed(why)) => why,
        Err(HashError::Io(e)) => return Err(e.to_string()),
    };
    look_again(&stat.dir, &stat.name, stat.wants_xattrs, &first)
}

/// The second look after a change during the read: open the entry again
/// (in the same directory), and hash what is there now.
fn look_again(dir: &Dir, name: &CStr, wants_xattrs: bool, first: &str) -> Hashed {
    let changed = || format!("changed during scan: {first}");
    let file = open_at(dir.raw(), name).map_err(|_| changed())?;
    let again = crate::hash::fstat(&file).map_err(|_| changed())?;
    if again.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(changed());
    }
    let xattrs = wants_xattrs.then(|| {
        xattrs_on(again.st_dev, XattrSource::Fd(file.as_raw_fd())).map_err(|e| e.to_string())
    });
    match hash_open(file, &again) {
        Ok(hash) => Ok((
            hash,
            Some(Fresh {
                stat: again,
                xattrs,
            }),
        )),
        Err(HashError::Changed(_)) => Err(changed()),
        Err(HashError::Io(e)) => Err(e.to_string()),
    }
}

/// A regular file opened for hashing: hashed on the spot when it has one
/// link (no other name of it can come later), with its extended attributes
/// read from the same descriptor.
fn hash_opened(
    file: std::fs::File,
    st: &libc::stat,
    item: &Item,
    wants_xattrs: bool,
) -> (Option<Hashed>, Option<io::Result<Xattrs>>) {
    let xattrs = wants_xattrs.then(|| xattrs_on(st.st_dev, XattrSource::Fd(file.as_raw_fd())));
    if st.st_nlink > 1 {
        // Hard links: hashed once per inode, in pass 3.
        return (None, xattrs);
    }
    let hashed = match hash_open(file, st) {
        Ok(hash) => Ok((hash, None)),
        Err(HashError::Changed(why)) => look_again(&item.dir, &item.name, wants_xattrs, &why),
        Err(HashError::Io(e)) => Err(e.to_string()),
    };
    (Some(hashed), xattrs)
}

fn stat_item(item: WalkItem) -> Result<Stat, Box<Outcome>> {
    let item = match item {
        WalkItem::Path(item) => item,
        WalkItem::Failed {
            system,
            message,
            itself,
            subtree,
        } => {
            return Err(Box::new(Outcome::Failed {
                system,
                message,
                itself,
                subtree,
            }))
        }
    };
    let failed = |message: String| {
        Box::new(Outcome::Failed {
            system: item.system.clone(),
            message,
            itself: true,
            subtree: false,
        })
    };
    let wants_blake3 = item.attrs.contains(Attr::Blake3);
    let wants_xattrs = item.attrs.contains(Attr::Xattrs);
    let vanished = |e: io::Error| {
        if e.kind() == io::ErrorKind::NotFound {
            failed("vanished during scan".into())
        } else {
            failed(e.to_string())
        }
    };
    let mut hashed = None;
    let mut xattrs: Option<io::Result<Xattrs>> = None;
    let st = if let Some(own) = &item.own {
        // A directory the walk entered: the very inode it listed.
        let st = stat_fd(own.raw()).map_err(vanished)?;
        if wants_xattrs {
            xattrs = Some(xattrs_on(st.st_dev, XattrSource::Fd(own.raw())));
        }
        st
    } else {
        // A listed regular file to hash is opened straight away (its fstat
        // is the stat); anything else is looked at without opening it.
        let is_regular = |st: &libc::stat| st.st_mode & libc::S_IFMT == libc::S_IFREG;
        let looked = if wants_blake3 && item.d_type == libc::DT_REG {
            None
        } else {
            Some(stat_at(item.dir.raw(), &item.name).map_err(vanished)?)
        };
        match looked {
            Some(st) if !(wants_blake3 && is_regular(&st)) => st,
            _ => match open_at(item.dir.raw(), &item.name) {
                // The stat recorded is the open file's own, and a one-link
                // file is hashed on this descriptor; something else that
                // took its place is recorded, unhashed.
                Ok(file) => {
                    let fst = crate::hash::fstat(&file).map_err(|e| failed(e.to_string()))?;
                    if is_regular(&fst) {
                        (hashed, xattrs) = hash_opened(file, &fst, &item, wants_xattrs);
                    }
                    fst
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(failed("vanished during scan".into()))
                }
                // Not openable as a file: now a symlink (ELOOP), a socket
                // (ENXIO), recorded as what it is; or a regular file we may
                // not read (EACCES), recorded with the error.
                Err(e) => {
                    let now = match looked {
                        Some(st) => st,
                        None => stat_at(item.dir.raw(), &item.name).map_err(vanished)?,
                    };
                    if is_regular(&now) {
                        hashed = Some(Err(e.to_string()));
                    }
                    now
                }
            },
        }
    };
    // A symlink's target, read in the same directory. A symlink that
    // becomes something else between the stat and the read (EINVAL) is
    // looked at once more and recorded as it is then.
    let (st, target) = if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
        match read_link_at(item.dir.raw(), &item.name) {
            Ok(t) => (st, Some(t)),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                let now = stat_at(item.dir.raw(), &item.name).map_err(vanished)?;
                if now.st_mode & libc::S_IFMT == libc::S_IFLNK {
                    match read_link_at(item.dir.raw(), &item.name) {
                        Ok(t) => (now, Some(t)),
                        Err(_) => {
                            return Err(failed(
                                "changed during scan: a symlink that keeps changing".into(),
                            ))
                        }
                    }
                } else {
                    (now, None)
                }
            }
            Err(e) => return Err(failed(format!("reading symlink: {e}"))),
        }
    } else {
        (st, None)
    };
    let ftype = FileKind::from_mode(st.st_mode);
    let mut entry = Entry {
        path: BytesPath::new(path_from_bytes(&item.system)),
        ftype,
        mode: String::new(),
        uid: 0,
        gid: 0,
        size: 0,
        mtime: String::new(),
        ctime: String::new(),
        inode: 0,
        nlink: 0,
        target: None,
        blake3: None,
        xattrs: Xattrs::default(),
    };
    fill_from_stat(&mut entry, &st);
    if let Some(target) = target {
        let target: std::ffi::OsString = std::os::unix::ffi::OsStringExt::from_vec(target);
        entry.target = Some(BytesPath::new(std::path::PathBuf::from(target)));
    }
    if wants_xattrs {
        let got = match xattrs {
            Some(x) => x,
            // Not opened: the entry's own attributes, through the open
            // directory (l*xattr: a symlink's own, never its target's).
            None => {
                let path = item.dir.entry_path(&item.name);
                CString::new(path.as_os_str().as_bytes())
                    .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
                    .and_then(|c| xattrs_on(st.st_dev, XattrSource::Path(&c)))
            }
        };
        match got {
            Ok(x) => entry.xattrs = x,
            Err(e) => return Err(failed(format!("reading extended attributes: {e}"))),
        }
    }
    Ok(Stat {
        wants_hash: ftype == FileKind::File && wants_blake3,
        wants_xattrs,
        fingerprint: Fingerprint::of_stat(&st),
        dir: item.dir,
        name: item.name,
        entry,
        hashed,
    })
}

/// `readlinkat(dir, name)`.
fn read_link_at(dir: libc::c_int, name: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: buf has buf.len() writable bytes; name is NUL-terminated.
        let n = unsafe {
            libc::readlinkat(
                dir,
                name.as_ptr(),
                buf.as_mut_ptr() as *mut libc::c_char,
                buf.len(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        if buf.len() >= 1 << 20 {
            return Err(io::Error::other("symlink target too long"));
        }
        buf.resize(buf.len() * 2, 0);
    }
}

fn fill_from_stat(entry: &mut Entry, st: &libc::stat) {
    entry.ftype = FileKind::from_mode(st.st_mode);
    entry.mode = format!("{:04o}", st.st_mode & 0o7777);
    entry.uid = st.st_uid;
    entry.gid = st.st_gid;
    entry.size = st.st_size as u64;
    entry.mtime = format_time(st.st_mtime, st.st_mtime_nsec);
    entry.ctime = format_time(st.st_ctime, st.st_ctime_nsec);
    entry.inode = st.st_ino;
    entry.nlink = st.st_nlink;
}

/// Where extended attributes are read from: an open file or directory
/// (f*xattr), or a path whose last component is not followed (l*xattr: a
/// symlink's own, never its target's).
#[derive(Clone, Copy)]
enum XattrSource<'a> {
    Fd(libc::c_int),
    Path(&'a CStr),
}

impl XattrSource<'_> {
    fn list(self, buf: *mut u8, len: usize) -> isize {
        // SAFETY: buf points to len writable bytes (or is null with len 0);
        // the path is NUL-terminated.
        unsafe {
            match self {
                XattrSource::Fd(fd) => libc::flistxattr(fd, buf as *mut libc::c_char, len),
                XattrSource::Path(p) => libc::llistxattr(p.as_ptr(), buf as *mut libc::c_char, len),
            }
        }
    }

    fn get(self, name: &CStr, buf: *mut u8, len: usize) -> isize {
        // SAFETY: as in list; name is NUL-terminated.
        unsafe {
            match self {
                XattrSource::Fd(fd) => {
                    libc::fgetxattr(fd, name.as_ptr(), buf as *mut libc::c_void, len)
                }
                XattrSource::Path(p) => {
                    libc::lgetxattr(p.as_ptr(), name.as_ptr(), buf as *mut libc::c_void, len)
                }
            }
        }
    }
}

/// Every extended attribute, including `security.capability` and
/// `security.selinux`; None when the filesystem has no extended
/// attributes (ENOTSUP). A file without any costs one call.
fn read_all(src: XattrSource<'_>) -> io::Result<Option<Xattrs>> {
    let names = match read_sized(|buf, len| src.list(buf, len)) {
        Ok(names) => names,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut out = Xattrs::default();
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let Ok(c_name) = CString::new(name) else {
            continue;
        };
        match read_sized(|buf, len| src.get(&c_name, buf, len)) {
            Ok(value) => {
                out.0.insert(name.to_vec(), value);
            }
            // Removed between list and get: the list is already stale.
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(out))
}

/// Filesystems (by device) that answered ENOTSUP to an xattr call: their
/// files are not asked again. Most have xattrs, so the set is looked at
/// only once one exists.
static NO_XATTRS_SEEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static NO_XATTRS: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

/// The extended attributes of an entry on device `dev`, unless that
/// filesystem has none (learnt from its first ENOTSUP).
fn xattrs_on(dev: u64, src: XattrSource<'_>) -> io::Result<Xattrs> {
    if NO_XATTRS_SEEN.load(std::sync::atomic::Ordering::Relaxed)
        && NO_XATTRS.lock().is_ok_and(|v| v.contains(&dev))
    {
        return Ok(Xattrs::default());
    }
    match read_all(src)? {
        Some(x) => Ok(x),
        None => {
            if let Ok(mut v) = NO_XATTRS.lock() {
                if !v.contains(&dev) {
                    v.push(dev);
                }
            }
            NO_XATTRS_SEEN.store(true, std::sync::atomic::Ordering::Relaxed);
            Ok(Xattrs::default())
        }
    }
}

/// The size-then-read dance of the xattr calls, repeated if the value grew
/// in between (ERANGE).
fn read_sized(call: impl Fn(*mut u8, usize) -> isize) -> io::Result<Vec<u8>> {
    for _ in 0..8 {
        let size = call(std::ptr::null_mut(), 0);
        if size < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; size as usize];
        if size == 0 {
            return Ok(buf);
        }
        let got = call(buf.as_mut_ptr(), buf.len());
        if got >= 0 {
            buf.truncate(got as usize);
            return Ok(buf);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ERANGE) {
            return Err(err);
        }
    }
    Err(io::Error::other("extended attributes keep changing"))
}

/// Walk and scan as a pipeline of three stages: the walk lists paths on
/// its own thread, a scanner thread scans each chunk in parallel (rayon),
/// and `sink` receives every outcome in baseline order on the calling
/// thread while the next chunk is being scanned. A sink error stops it all.
pub fn scan_tree<E>(
    plan: &crate::walk::WalkPlan,
    roots: &[PathBuf],
    mut sink: impl FnMut(Outcome) -> Result<(), E>,
) -> Result<(), E> {
    let (paths_out, paths_in) = std::sync::mpsc::sync_channel::<Vec<WalkItem>>(2);
    let (outcomes_out, outcomes_in) = std::sync::mpsc::sync_channel::<Vec<Outcome>>(2);
    std::thread::scope(|scope| {
        scope.spawn(move || crate::walk::walk(plan, roots, paths_out));
        scope.spawn(move || {
            let mut links = LinkCache::default();
            for chunk in paths_in {
                if outcomes_out.send(scan_chunk(chunk, &mut links)).is_err() {
                    return;
                }
            }
        });
        for outcomes in outcomes_in {
            for outcome in outcomes {
                sink(outcome)?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(dir: &std::path::Path, name: &str) -> WalkItem {
        WalkItem::Path(Item {
            dir: Arc::new(Dir::open_path(dir).unwrap()),
            name: CString::new(name).unwrap(),
            own: None,
            d_type: libc::DT_UNKNOWN,
            system: format!("/{name}").into_bytes(),
            attrs: AttrSet::all(),
        })
    }

    #[test]
    fn a_hard_linked_inode_is_hashed_once_across_chunks() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("a"), b"shared").unwrap();
        for name in ["b", "c", "d"] {
            std::fs::hard_link(d.join("a"), d.join(name)).unwrap();
        }
        let want = blake3::hash(b"shared").to_hex().to_string();
        let mut links = LinkCache::default();
        let hashes = |outcomes: Vec<Outcome>| -> Vec<Option<String>> {
            outcomes
                .into_iter()
                .map(|o| match o {
                    Outcome::Entry { entry, error } => {
                        assert_eq!(error, None);
                        entry.blake3
                    }
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        // First chunk: two links, one read; the group waits for two more.
        let first = scan_chunk(vec![item(d, "a"), item(d, "b")], &mut links);
        assert_eq!(hashes(first), vec![Some(want.clone()), Some(want.clone())]);
        assert_eq!(links.len(), 1);
        // Second chunk: both links take the remembered hash, and the group
        // is forgotten once every link was seen (memory stays bounded).
        std::fs::write(d.join("unrelated"), b"x").unwrap();
        let second = scan_chunk(vec![item(d, "c"), item(d, "d")], &mut links);
        assert_eq!(hashes(second), vec![Some(want.clone()), Some(want)]);
        assert!(links.is_empty());
    }

    #[test]
    fn a_link_changed_since_it_was_hashed_is_read_again() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("a"), b"one").unwrap();
        std::fs::hard_link(d.join("a"), d.join("b")).unwrap();
        std::fs::hard_link(d.join("a"), d.join("c")).unwrap();
        let mut links = LinkCache::default();
        scan_chunk(vec![item(d, "a")], &mut links);
        std::fs::write(d.join("a"), b"two!").unwrap();
        let out = scan_chunk(vec![item(d, "b")], &mut links);
        match &out[0] {
            Outcome::Entry { entry, .. } => {
                assert_eq!(
                    entry.blake3,
                    Some(blake3::hash(b"two!").to_hex().to_string())
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
