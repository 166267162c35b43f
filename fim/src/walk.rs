//! The traversal: from the rules' walk roots, depth first, each directory's
//! children sorted by name bytes, so paths come out in baseline order
//! ([`crate::entry::path_order`]) and the comparison can be a streaming
//! merge. Symlinks are never followed, excluded directories are pruned,
//! pseudo-filesystems (proc, sysfs, ...) are not entered, and with `-x` no
//! other filesystem is.
//!
//! The walk holds a descriptor for every directory it is in and names each
//! entry relative to it (`openat` with `O_NOFOLLOW`, `fstatat` with
//! `AT_SYMLINK_NOFOLLOW`): once a directory is open, swapping it (or any
//! directory above it) for a symlink cannot lead the walk anywhere else;
//! a directory swapped before it is opened is found to be a symlink and
//! recorded as one. The items handed to the scanner carry their parent's
//! descriptor, so the scanner names files the same way.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use hardkit_core::Root;

use crate::rules::{Decision, Rules};
use crate::scan::{Item, WalkItem};

/// Items per chunk handed to the parallel scanner: enough to keep every
/// core busy, few enough that memory stays flat.
pub const CHUNK: usize = 1024;
/// Directories whose items one chunk may hold: each item keeps its
/// directory open until scanned, so this bounds the descriptors in flight.
const DIRS_PER_CHUNK: usize = 128;

/// What to walk and how.
#[derive(Debug, Clone)]
pub struct WalkPlan {
    pub root: Root,
    pub rules: Rules,
    /// Stay on the filesystem each walk root is on (`-x`).
    pub one_filesystem: bool,
    /// System paths of fim's own files (the baseline and its directory),
    /// never recorded (a directory is still walked).
    pub own_files: Vec<Vec<u8>>,
    /// Prefixes of fim's temporary file names.
    pub own_prefixes: Vec<Vec<u8>>,
}

impl WalkPlan {
    fn is_own(&self, system: &[u8]) -> bool {
        self.own_files.iter().any(|own| own == system)
            || self.own_prefixes.iter().any(|p| system.starts_with(p))
    }
}

/// An open directory of the walk, and where it is on this machine (for
/// messages, and to reach entries through when /proc is missing).
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    host: PathBuf,
}

impl Dir {
    /// Open the directory at `path` (a test's or the operator's own path).
    pub fn open_path(path: &Path) -> io::Result<Dir> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        Ok(Dir {
            fd: open_dir_at(libc::AT_FDCWD, &c)?,
            host: path.to_path_buf(),
        })
    }

    pub fn raw(&self) -> libc::c_int {
        self.fd.as_raw_fd()
    }

    pub fn host(&self) -> &Path {
        &self.host
    }

    /// A path that reaches `name` in this very directory without resolving
    /// the directory's path again: `/proc/self/fd/N/NAME` (the kernel's
    /// link to the open directory), or, without /proc, the directory's
    /// host path.
    pub fn entry_path(&self, name: &CStr) -> PathBuf {
        static PROC: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let proc = *PROC.get_or_init(|| Path::new("/proc/self/fd").is_dir());
        let name = OsStr::from_bytes(name.to_bytes());
        if proc {
            PathBuf::from(format!("/proc/self/fd/{}", self.raw())).join(name)
        } else {
            self.host.join(name)
        }
    }
}

/// `openat(dir, name)` of a directory, never through a symlink, without
/// touching its access time where the kernel allows that.
fn open_dir_at(dir: libc::c_int, name: &CStr) -> io::Result<OwnedFd> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: name is NUL-terminated; dir is an open descriptor or AT_FDCWD.
    let mut fd = unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_NOATIME) };
    if fd < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) {
        // O_NOATIME needs ownership or CAP_FOWNER.
        // SAFETY: as above.
        fd = unsafe { libc::openat(dir, name.as_ptr(), flags) };
    }
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`.
pub fn stat_at(dir: libc::c_int, name: &CStr) -> io::Result<libc::stat> {
    // SAFETY: an all-zero stat is a valid value to be overwritten.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: name is NUL-terminated and st is writable.
    let rc = unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

/// `fstat(fd)`.
pub fn stat_fd(fd: libc::c_int) -> io::Result<libc::stat> {
    // SAFETY: as in stat_at.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is writable.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

fn is_dir_mode(mode: libc::mode_t) -> bool {
    mode & libc::S_IFMT == libc::S_IFDIR
}

/// Open `host` (a path the root resolved, every component a directory)
/// one component at a time from the root's own directory, never through a
/// symlink: a component swapped since it was resolved is an error, not a
/// detour.
fn open_dir_path(root: &Root, host: &Path) -> io::Result<Dir> {
    let top = CString::new(root.dir().as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // The root's own directory is the operator's choice: opened as given.
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: top is NUL-terminated.
    let fd = unsafe { libc::open(top.as_ptr(), flags) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor.
    let mut current = unsafe { OwnedFd::from_raw_fd(fd) };
    let rest = host.strip_prefix(root.dir()).unwrap_or(host);
    for component in rest.components() {
        let Component::Normal(name) = component else {
            continue;
        };
        let c = CString::new(name.as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        current = open_dir_at(current.as_raw_fd(), &c)?;
    }
    Ok(Dir {
        fd: current,
        host: host.to_path_buf(),
    })
}

/// The entries of an open directory, `.` and `..` left out, sorted by name
/// bytes once: (name, d_type).
fn read_dir_sorted(dir: &Dir) -> io::Result<Vec<(CString, u8)>> {
    // fdopendir takes the descriptor over; give it a duplicate (with the
    // offset at the start) so the walk's own stays open.
    // SAFETY: dir's descriptor is open.
    let dup = unsafe { libc::fcntl(dir.raw(), libc::F_DUPFD_CLOEXEC, 0) };
    if dup < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: dup is ours; on failure it must be closed here.
    let stream = unsafe { libc::fdopendir(dup) };
    if stream.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so dup is still ours.
        unsafe { libc::close(dup) };
        return Err(e);
    }
    // SAFETY: stream is a valid DIR*.
    unsafe { libc::rewinddir(stream) };
    let mut out = Vec::new();
    let result = loop {
        // readdir signals errors through errno only.
        // SAFETY: __errno_location is always valid for this thread.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: stream is valid until closedir below.
        let ent = unsafe { libc::readdir(stream) };
        if ent.is_null() {
            let errno = io::Error::last_os_error();
            break if errno.raw_os_error() == Some(0) {
                Ok(())
            } else {
                Err(errno)
            };
        }
        // SAFETY: readdir returned a valid dirent whose d_name is
        // NUL-terminated.
        let (name, d_type) = unsafe { (CStr::from_ptr((*ent).d_name.as_ptr()), (*ent).d_type) };
        let bytes = name.to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        out.push((name.to_owned(), d_type));
    };
    // SAFETY: stream is valid and closed once (closing dup with it).
    unsafe { libc::closedir(stream) };
    result?;
    out.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok(out)
}

/// Filesystems that hold kernel state, not files; never entered. Values
/// from linux/magic.h (fusectl's and configfs's from their fs/ sources).
/// Only filesystems nobody can put a regular file in belong here: FUSE
/// (0x65735546), tmpfs, overlayfs, hugetlbfs, autofs targets and every
/// disk filesystem can hold an intruder's files over a watched directory,
/// so they are walked like any other mount.
const PSEUDO_FILESYSTEMS: [(i64, &str); 16] = [
    (0x9fa0, "proc"),
    (0x6265_6572, "sysfs"),
    (0x1cd1, "devpts"),
    (0x0027_e0eb, "cgroup"),
    (0x6367_7270, "cgroup2"),
    (0x7363_6673, "securityfs"),
    (0x6462_6720, "debugfs"),
    (0x7472_6163, "tracefs"),
    (0x6165_676C, "pstore"),
    (0xcafe_4a11, "bpf"),
    (0x6265_6570, "configfs"),
    (0x6573_5543, "fusectl"),
    (0x4249_4e4d, "binfmt_misc"),
    (0xf97c_ff8c, "selinuxfs"),
    (0x4341_5d53, "smackfs"),
    (0x6e73_6673, "nsfs"),
];

/// Whether a filesystem with this statfs `f_type` is skipped.
fn is_pseudo_magic(magic: i64) -> bool {
    PSEUDO_FILESYSTEMS.iter().any(|(m, _)| *m == magic)
}

/// Is the open directory on a pseudo-filesystem?
fn is_pseudo_filesystem(fd: libc::c_int) -> bool {
    // SAFETY: fstatfs writes into the zeroed struct we own.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open, buf is valid for writes.
    if unsafe { libc::fstatfs(fd, &mut buf) } != 0 {
        return false;
    }
    is_pseudo_magic(buf.f_type as i64)
}

/// Let the walk hold a descriptor per directory level and per directory
/// in flight: raise the soft limit on open files to the hard one (at most
/// 65536), once.
fn raise_fd_limit() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        // SAFETY: getrlimit/setrlimit on our own process with a valid struct.
        unsafe {
            let mut lim: libc::rlimit = std::mem::zeroed();
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                let want = lim.rlim_max.min(65536);
                if lim.rlim_cur < want {
                    lim.rlim_cur = want;
                    libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
                }
            }
        }
    });
}

/// Where the walk's items go: chunks of at most [`CHUNK`] items from at
/// most [`DIRS_PER_CHUNK`] directories.
struct Sink<'a> {
    chunk: Vec<WalkItem>,
    dirs: usize,
    last_dir: *const Dir,
    out: &'a SyncSender<Vec<WalkItem>>,
}

impl Sink<'_> {
    fn push(&mut self, item: WalkItem) -> bool {
        if let WalkItem::Path(p) = &item {
            let d = Arc::as_ptr(&p.dir);
            if d != self.last_dir {
                self.last_dir = d;
                self.dirs += 1;
            }
        }
        self.chunk.push(item);
        if self.chunk.len() >= CHUNK || self.dirs >= DIRS_PER_CHUNK {
            return self.flush();
        }
        true
    }

    fn flush(&mut self) -> bool {
        self.dirs = 0;
        self.last_dir = std::ptr::null();
        if self.chunk.is_empty() {
            return true;
        }
        let full = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
        self.out.send(full).is_ok()
    }
}

/// Walk every root of the plan, sending chunks of items in order.
/// Returns when done or when the receiver hung up.
pub fn walk(plan: &WalkPlan, roots: &[PathBuf], out: SyncSender<Vec<WalkItem>>) {
    raise_fd_limit();
    let mut sink = Sink {
        chunk: Vec::with_capacity(CHUNK),
        dirs: 0,
        last_dir: std::ptr::null(),
        out: &out,
    };
    for system_root in roots {
        if !walk_one(plan, system_root, &mut sink) {
            return;
        }
    }
    sink.flush();
}

fn walk_one(plan: &WalkPlan, system_root: &Path, sink: &mut Sink<'_>) -> bool {
    let system_root_bytes: Vec<u8> = system_root.as_os_str().as_bytes().to_vec();
    let failed = |message: String| WalkItem::Failed {
        system: system_root_bytes.clone(),
        message,
        itself: true,
        subtree: true,
    };
    let host_root = match plan.root.resolve_parent(system_root) {
        Ok(p) => p,
        Err(e) => return sink.push(failed(e.to_string())),
    };
    let parent_and_name = match (host_root.parent(), host_root.file_name()) {
        (Some(p), Some(n)) if host_root != plan.root.dir() => Some((p, n)),
        _ => None,
    };
    let Some((parent, name)) = parent_and_name else {
        // The root of the tree itself: walked from its own directory.
        return match open_dir_path(&plan.root, &host_root) {
            Ok(dir) => {
                let dir = Arc::new(dir);
                let dot = CString::new(".").unwrap();
                visit(
                    plan,
                    &dir,
                    &dot,
                    system_root_bytes.clone(),
                    libc::DT_DIR,
                    None,
                    sink,
                )
            }
            Err(e) => sink.push(failed(e.to_string())),
        };
    };
    let parent = match open_dir_path(&plan.root, parent) {
        Ok(dir) => Arc::new(dir),
        // A selected tree that does not exist (no /opt here): nothing to
        // record; a baseline that had it will show its entries removed.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return true,
        Err(e) => return sink.push(failed(e.to_string())),
    };
    let Ok(name) = CString::new(name.as_bytes()) else {
        return sink.push(failed("a NUL byte in the path".into()));
    };
    match stat_at(parent.raw(), &name) {
        Ok(_) => {}
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return true,
        Err(e) => return sink.push(failed(e.to_string())),
    }
    visit(
        plan,
        &parent,
        &name,
        system_root_bytes.clone(),
        libc::DT_UNKNOWN,
        None,
        sink,
    )
}

/// One entry `name` of the open directory `parent`, and below it when it
/// is a directory. `parent_dev`: the device of `parent` (None at a walk
/// root). False when the receiver hung up.
fn visit(
    plan: &WalkPlan,
    parent: &Arc<Dir>,
    name: &CStr,
    system: Vec<u8>,
    d_type: u8,
    parent_dev: Option<u64>,
    sink: &mut Sink<'_>,
) -> bool {
    let own = plan.is_own(&system);
    let decision = plan.rules.decide(&system);
    let selected = match decision {
        Decision::Selected(attrs) if !own => Some(attrs),
        _ => None,
    };
    let is_dir = match d_type {
        libc::DT_DIR => true,
        libc::DT_UNKNOWN => stat_at(parent.raw(), name).is_ok_and(|st| is_dir_mode(st.st_mode)),
        _ => false,
    };
    let item = |dir: Option<Arc<Dir>>| {
        selected.map(|attrs| {
            WalkItem::Path(Item {
                dir: parent.clone(),
                name: name.to_owned(),
                own: dir,
                d_type,
                system: system.clone(),
                attrs,
            })
        })
    };
    if !is_dir {
        return item(None).is_none_or(|i| sink.push(i));
    }
    if decision == Decision::Excluded && !plan.rules.selects_below(&system) {
        return true;
    }
    let fd = match open_dir_at(parent.raw(), name) {
        Ok(fd) => fd,
        // No longer a directory (swapped for a symlink, replaced, gone):
        // recorded as whatever it is now, never entered.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ELOOP | libc::ENOTDIR | libc::ENOENT)
            ) =>
        {
            return item(None).is_none_or(|i| sink.push(i));
        }
        Err(e) => {
            // Unreadable: the directory itself is recorded, its children
            // are unknown.
            if let Some(i) = item(None) {
                if !sink.push(i) {
                    return false;
                }
            }
            return sink.push(WalkItem::Failed {
                system,
                message: e.to_string(),
                itself: false,
                subtree: true,
            });
        }
    };
    let dir = Arc::new(Dir {
        fd,
        host: parent.host.join(OsStr::from_bytes(name.to_bytes())),
    });
    if let Some(i) = item(Some(dir.clone())) {
        if !sink.push(i) {
            return false;
        }
    }
    let dev = stat_fd(dir.raw()).map(|st| st.st_dev).unwrap_or(u64::MAX);
    let crossed = parent_dev.is_some_and(|d| d != dev);
    if crossed && (plan.one_filesystem || is_pseudo_filesystem(dir.raw())) {
        // Record the mount point itself (as find -xdev prints it), not
        // what is mounted there.
        return true;
    }
    let entries = match read_dir_sorted(&dir) {
        Ok(entries) => entries,
        Err(e) => {
            return sink.push(WalkItem::Failed {
                system,
                message: e.to_string(),
                itself: false,
                subtree: true,
            })
        }
    };
    for (child, child_type) in entries {
        let mut child_system = system.clone();
        if child_system.last() != Some(&b'/') {
            child_system.push(b'/');
        }
        child_system.extend_from_slice(child.as_bytes());
        if !visit(
            plan,
            &dir,
            &child,
            child_system,
            child_type,
            Some(dev),
            sink,
        ) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A FUSE mount over a watched directory is where a root intruder
    /// hides files: it must be walked; only fusectl (its control files) is
    /// skipped. The magic numbers are linux/magic.h's.
    #[test]
    fn fuse_and_file_holding_filesystems_are_walked() {
        for (magic, name) in [
            (0x6573_5546, "fuse"),
            (0x0102_1994, "tmpfs"),
            (0x794c_7630, "overlayfs"),
            (0xef53, "ext4"),
            (0x5846_5342, "xfs"),
            (0x9123_683e, "btrfs"),
            (0x9584_58f6, "hugetlbfs"),
            (0x0187, "autofs"),
            (0x6969, "nfs"),
        ] {
            assert!(!is_pseudo_magic(magic), "{name} must be walked");
        }
        for (magic, name) in [
            (0x6573_5543, "fusectl"),
            (0x9fa0, "proc"),
            (0x6265_6572, "sysfs"),
            (0x0027_e0eb, "cgroup"),
            (0x6367_7270, "cgroup2"),
        ] {
            assert!(is_pseudo_magic(magic), "{name} is skipped");
        }
    }

    /// The statfs answer for this machine's /proc agrees with the table.
    #[test]
    fn proc_is_recognised_by_statfs() {
        let open = |p: &str| {
            let c = CString::new(p).unwrap();
            open_dir_at(libc::AT_FDCWD, &c).unwrap()
        };
        assert!(is_pseudo_filesystem(open("/proc").as_raw_fd()));
        assert!(!is_pseudo_filesystem(open("/").as_raw_fd()));
    }

    #[test]
    fn entries_come_sorted_by_name_bytes_without_dot_entries() {
        let tmp = tempfile::tempdir().unwrap();
        for n in ["b", "a", "B", "é", "a.b"] {
            std::fs::write(tmp.path().join(n), "").unwrap();
        }
        std::fs::create_dir(tmp.path().join("dir")).unwrap();
        let c = CString::new(tmp.path().as_os_str().as_bytes()).unwrap();
        let dir = Dir {
            fd: open_dir_at(libc::AT_FDCWD, &c).unwrap(),
            host: tmp.path().to_path_buf(),
        };
        let names: Vec<(String, u8)> = read_dir_sorted(&dir)
            .unwrap()
            .into_iter()
            .map(|(n, t)| (n.to_string_lossy().into_owned(), t))
            .collect();
        let just: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(just, ["B", "a", "a.b", "b", "dir", "é"]);
        // Read twice from the same descriptor: the duplicate starts over.
        assert_eq!(read_dir_sorted(&dir).unwrap().len(), 6);
    }
}
