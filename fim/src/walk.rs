//! The traversal: from the rules' walk roots, depth first, each directory's
//! children sorted by name bytes, so paths come out in baseline order
//! ([`crate::entry::path_order`]) and the comparison can be a streaming
//! merge. Symlinks are never followed, excluded directories are pruned,
//! pseudo-filesystems (proc, sysfs, ...) are not entered, and with `-x` no
//! other filesystem is.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

use hardkit_core::Root;
use walkdir::WalkDir;

use crate::rules::{Decision, Rules};
use crate::scan::{Item, WalkItem};

/// Items per chunk handed to the parallel scanner: enough to keep every
/// core busy, few enough that memory stays flat.
pub const CHUNK: usize = 1024;

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

fn is_pseudo_filesystem(path: &Path) -> bool {
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statfs writes into the zeroed struct we own.
    let mut buf: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: c_path is NUL-terminated, buf is valid for writes.
    if unsafe { libc::statfs(c_path.as_ptr(), &mut buf) } != 0 {
        return false;
    }
    is_pseudo_magic(buf.f_type as i64)
}

/// Walk every root of the plan, sending chunks of items in order.
/// Returns when done or when the receiver hung up.
pub fn walk(plan: &WalkPlan, roots: &[PathBuf], out: SyncSender<Vec<WalkItem>>) {
    let mut chunk = Vec::with_capacity(CHUNK);
    for system_root in roots {
        if !walk_one(plan, system_root, &mut chunk, &out) {
            return;
        }
    }
    if !chunk.is_empty() {
        let _ = out.send(chunk);
    }
}

fn push(chunk: &mut Vec<WalkItem>, item: WalkItem, out: &SyncSender<Vec<WalkItem>>) -> bool {
    chunk.push(item);
    if chunk.len() >= CHUNK {
        let full = std::mem::replace(chunk, Vec::with_capacity(CHUNK));
        return out.send(full).is_ok();
    }
    true
}

fn walk_one(
    plan: &WalkPlan,
    system_root: &Path,
    chunk: &mut Vec<WalkItem>,
    out: &SyncSender<Vec<WalkItem>>,
) -> bool {
    let system_root_bytes: Vec<u8> = system_root.as_os_str().as_bytes().to_vec();
    let host_root = match plan.root.resolve_parent(system_root) {
        Ok(p) => p,
        Err(e) => {
            let item = WalkItem::Failed {
                system: system_root_bytes,
                message: e.to_string(),
                itself: true,
                subtree: true,
            };
            return push(chunk, item, out);
        }
    };
    if std::fs::symlink_metadata(&host_root).is_err() {
        // A selected tree that does not exist (no /opt here): nothing to
        // record; a baseline that had it will show its entries removed.
        return true;
    }
    // Device of each directory on the current path, by depth.
    let mut devices: Vec<u64> = Vec::new();
    // walkdir follows a root that is a symlink unless told not to; under
    // --root that would even resolve an absolute target on the host.
    let mut iter = WalkDir::new(&host_root)
        .follow_links(false)
        .follow_root_links(false)
        .sort_by(|a, b| a.file_name().as_bytes().cmp(b.file_name().as_bytes()))
        .into_iter();
    while let Some(next) = iter.next() {
        let dent = match next {
            Ok(dent) => dent,
            Err(err) => {
                let depth = err.depth();
                let system = match err.path() {
                    Some(p) => system_path(&system_root_bytes, &host_root, p),
                    None => system_root_bytes.clone(),
                };
                let message = match err.io_error() {
                    Some(io) => io.to_string(),
                    None => err.to_string(),
                };
                // An error at a directory we already listed means its
                // children are unknown; at depth 0 the root itself is.
                let item = WalkItem::Failed {
                    system,
                    message,
                    itself: depth == 0,
                    subtree: true,
                };
                if !push(chunk, item, out) {
                    return false;
                }
                continue;
            }
        };
        let system = system_path(&system_root_bytes, &host_root, dent.path());
        let is_dir = dent.file_type().is_dir();
        if plan.is_own(&system) {
            continue;
        }
        let decision = plan.rules.decide(&system);
        if is_dir {
            let prune = decision == Decision::Excluded && !plan.rules.selects_below(&system);
            if prune {
                iter.skip_current_dir();
                continue;
            }
            let depth = dent.depth();
            devices.truncate(depth);
            if let Ok(meta) = dent.metadata() {
                let dev = meta.dev();
                devices.push(dev);
                let crossed = depth > 0 && devices.get(depth - 1).is_some_and(|d| *d != dev);
                if crossed && ((plan.one_filesystem) || is_pseudo_filesystem(dent.path())) {
                    // Record the mount point itself (as find -xdev prints
                    // it), not what is mounted there.
                    iter.skip_current_dir();
                }
            } else {
                devices.push(u64::MAX);
            }
        }
        if let Decision::Selected(attrs) = decision {
            let item = WalkItem::Path(Item {
                host: dent.path().to_path_buf(),
                system,
                attrs,
            });
            if !push(chunk, item, out) {
                return false;
            }
        }
    }
    true
}

/// The system path of a host path found under `host_root`.
fn system_path(system_root: &[u8], host_root: &Path, host: &Path) -> Vec<u8> {
    let rest = host.strip_prefix(host_root).unwrap_or(host);
    let rest = rest.as_os_str().as_bytes();
    let mut out = system_root.to_vec();
    if rest.is_empty() {
        return out;
    }
    if out.last() != Some(&b'/') {
        out.push(b'/');
    }
    out.extend_from_slice(rest);
    out
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
        assert!(is_pseudo_filesystem(Path::new("/proc")));
        assert!(!is_pseudo_filesystem(Path::new("/")));
    }
}
