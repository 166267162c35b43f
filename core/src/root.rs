//! `--root DIR`: see the system under DIR as its own programs would.
//!
//! Every absolute path a tool reads or writes (`/etc/ssh/sshd_config`) is a
//! *system path*. [`Root::resolve`] turns it into the *host path* under DIR
//! the way the kernel would resolve it after `chroot DIR`: `..` stops at DIR,
//! and symlinks are followed inside DIR, an absolute target starting again at
//! DIR. A symlink in an image pointing at `/etc/passwd` therefore reaches
//! `DIR/etc/passwd`, never the host's. With `--root /` this is plain path
//! resolution. (The check and the later open are separate steps; a tool run
//! on a tree that a hostile user is changing at the same moment should run
//! as that user, or on a snapshot.)

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// How many symlinks one resolution may follow, as Linux's MAXSYMLINKS.
const MAX_SYMLINK_HOPS: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error("--root {}: {source}", .dir.display())]
    Open { dir: PathBuf, source: io::Error },
    #[error("--root {}: not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("{}: too many levels of symbolic links", .0.display())]
    SymlinkLoop(PathBuf),
    #[error("{}: {source}", .path.display())]
    ReadLink { path: PathBuf, source: io::Error },
}

/// The directory the system being examined lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    dir: PathBuf,
}

impl Root {
    /// The root of the running system, `/`.
    pub fn host() -> Root {
        Root {
            dir: PathBuf::from("/"),
        }
    }

    /// A root at `dir`, which must exist and be a directory.
    pub fn new(dir: &Path) -> Result<Root, RootError> {
        let canonical = fs::canonicalize(dir).map_err(|source| RootError::Open {
            dir: dir.to_path_buf(),
            source,
        })?;
        if !canonical.is_dir() {
            return Err(RootError::NotADirectory(dir.to_path_buf()));
        }
        Ok(Root { dir: canonical })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn is_host(&self) -> bool {
        self.dir == Path::new("/")
    }

    /// Host path of a system path, following every symlink inside the root.
    pub fn resolve(&self, system_path: impl AsRef<Path>) -> Result<PathBuf, RootError> {
        self.walk(system_path.as_ref(), true)
    }

    /// Host path of a system path, following symlinks in the directories but
    /// not in the last component: what you want before replacing a file
    /// (rename replaces a symlink itself, it does not write through it).
    pub fn resolve_parent(&self, system_path: impl AsRef<Path>) -> Result<PathBuf, RootError> {
        self.walk(system_path.as_ref(), false)
    }

    /// The system path a host path under this root stands for (`DIR/etc/x`
    /// gives `/etc/x`); a path outside the root is returned unchanged.
    pub fn system_path(&self, host_path: &Path) -> PathBuf {
        match host_path.strip_prefix(&self.dir) {
            Ok(rest) => Path::new("/").join(rest),
            Err(_) => host_path.to_path_buf(),
        }
    }

    fn walk(&self, system_path: &Path, follow_last: bool) -> Result<PathBuf, RootError> {
        // Components still to resolve, next one last (a stack).
        let mut pending: Vec<OsString> = components_reversed(system_path);
        // Components resolved so far, below the root.
        let mut inside: Vec<OsString> = Vec::new();
        let mut hops = 0usize;

        while let Some(name) = pending.pop() {
            if name == ".." {
                inside.pop();
                continue;
            }
            let is_last = pending.is_empty();
            let host = self.host_of(&inside).join(&name);
            let follow = !is_last || follow_last;
            let is_link = follow
                && fs::symlink_metadata(&host)
                    .map(|m| m.file_type().is_symlink())
                    .unwrap_or(false);
            if !is_link {
                inside.push(name);
                continue;
            }
            hops += 1;
            if hops > MAX_SYMLINK_HOPS {
                return Err(RootError::SymlinkLoop(system_path.to_path_buf()));
            }
            let target = fs::read_link(&host).map_err(|source| RootError::ReadLink {
                path: host.clone(),
                source,
            })?;
            if target.is_absolute() {
                inside.clear();
            }
            pending.extend(components_reversed(&target));
        }
        Ok(self.host_of(&inside))
    }

    fn host_of(&self, inside: &[OsString]) -> PathBuf {
        let mut path = self.dir.clone();
        path.extend(inside);
        path
    }
}

/// Normal components and `..` of a path, in reverse order; `.` and the root
/// are dropped (a relative system path is taken relative to `/`).
fn components_reversed(path: &Path) -> Vec<OsString> {
    let mut parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    parts.reverse();
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, Root) {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("etc/ssh")).unwrap();
        fs::write(tmp.path().join("etc/passwd"), "inside\n").unwrap();
        let root = Root::new(tmp.path()).unwrap();
        (tmp, root)
    }

    #[test]
    fn absolute_paths_land_under_the_root() {
        let (_tmp, root) = tree();
        assert_eq!(
            root.resolve("/etc/ssh/sshd_config").unwrap(),
            root.dir().join("etc/ssh/sshd_config")
        );
    }

    #[test]
    fn dot_dot_cannot_climb_out() {
        let (_tmp, root) = tree();
        assert_eq!(
            root.resolve("/../../../etc/passwd").unwrap(),
            root.dir().join("etc/passwd")
        );
        assert_eq!(
            root.resolve("/etc/ssh/../../../../passwd").unwrap(),
            root.dir().join("passwd")
        );
    }

    #[test]
    fn absolute_symlinks_are_re_rooted() {
        let (tmp, root) = tree();
        symlink("/etc/passwd", tmp.path().join("etc/ssh/evil")).unwrap();
        let resolved = root.resolve("/etc/ssh/evil").unwrap();
        assert_eq!(resolved, root.dir().join("etc/passwd"));
        assert_eq!(fs::read_to_string(resolved).unwrap(), "inside\n");
    }

    #[test]
    fn relative_symlinks_cannot_escape_with_dot_dot() {
        let (tmp, root) = tree();
        symlink(
            "../../../../../../etc/passwd",
            tmp.path().join("etc/ssh/up"),
        )
        .unwrap();
        assert_eq!(
            root.resolve("/etc/ssh/up").unwrap(),
            root.dir().join("etc/passwd")
        );
    }

    #[test]
    fn symlinked_directories_are_followed_inside() {
        let (tmp, root) = tree();
        symlink("/etc/ssh", tmp.path().join("sshdir")).unwrap();
        assert_eq!(
            root.resolve("/sshdir/sshd_config").unwrap(),
            root.dir().join("etc/ssh/sshd_config")
        );
    }

    #[test]
    fn resolve_parent_keeps_the_last_symlink() {
        let (tmp, root) = tree();
        symlink("/etc/passwd", tmp.path().join("etc/link")).unwrap();
        assert_eq!(
            root.resolve_parent("/etc/link").unwrap(),
            root.dir().join("etc/link")
        );
    }

    #[test]
    fn symlink_loops_are_an_error() {
        let (tmp, root) = tree();
        symlink("/b", tmp.path().join("a")).unwrap();
        symlink("/a", tmp.path().join("b")).unwrap();
        assert!(matches!(
            root.resolve("/a/x"),
            Err(RootError::SymlinkLoop(_))
        ));
    }

    #[test]
    fn system_path_strips_the_root() {
        let (_tmp, root) = tree();
        let host = root.dir().join("etc/ssh/sshd_config");
        assert_eq!(
            root.system_path(&host),
            PathBuf::from("/etc/ssh/sshd_config")
        );
    }

    #[test]
    fn missing_or_non_directory_root_is_an_error() {
        let (tmp, _root) = tree();
        assert!(Root::new(&tmp.path().join("nope")).is_err());
        assert!(matches!(
            Root::new(&tmp.path().join("etc/passwd")),
            Err(RootError::NotADirectory(_))
        ));
    }
}
