//! Directories opened so that no other user can redirect what root does in
//! them.
//!
//! A root process that writes `/etc/x/y` by path trusts every component of
//! it at the moment of each system call: if another user can swap `x` for a
//! symlink (because `/etc` were writable by them, or because `x` lies in
//! their home, their service's state directory, a plan directory they made
//! in /tmp), root writes wherever the link points. Here a directory is
//! opened once, one component at a time from `/` with `O_NOFOLLOW`, and every
//! later operation is relative to that descriptor (`openat`, `renameat`,
//! `linkat`, `fchownat`, `mkdirat`, all without following a final link).
//!
//! Who may control a component: root and the calling user (the *trusted*
//! uids). A symlink component is followed only when it is owned by a trusted
//! uid and lies in a directory only trusted uids can write (as `/lib ->
//! usr/lib` does); any other link refuses the walk. The directory finally
//! reached must itself be writable by trusted uids alone, or sticky (in a
//! sticky directory nobody else can rename or remove our files), so that
//! nobody can swap the temporary file between its validation and its
//! rename.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Symlinks followed in one walk before giving up (the kernel's own bound).
const MAX_LINKS: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: is a symbolic link that uid {owner} controls: refusing to follow it as root", .path.display())]
    UntrustedLink { path: PathBuf, owner: u32 },
    #[error("{}: writable by uid {owner} (or its group or everyone): refusing to write in it, it could swap the file", .path.display())]
    UntrustedDir { path: PathBuf, owner: u32 },
    #[error("{}: more than {MAX_LINKS} symbolic links", .0.display())]
    TooManyLinks(PathBuf),
    #[error("{}: not an absolute path", .0.display())]
    NotAbsolute(PathBuf),
}

impl DirError {
    fn io(path: &Path) -> impl FnOnce(io::Error) -> DirError + '_ {
        move |source| DirError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn trusted(uid: u32) -> bool {
    // SAFETY: geteuid has no preconditions.
    uid == 0 || uid == unsafe { libc::geteuid() }
}

/// Writable by someone other than a trusted uid?
fn writable_by_others(st: &libc::stat) -> bool {
    let mode = st.st_mode;
    let sticky = mode & libc::S_ISVTX != 0;
    let owner_untrusted = !trusted(st.st_uid) && mode & 0o200 != 0;
    // A group other than root's may hold members we do not know of.
    let group_w = mode & 0o020 != 0 && st.st_gid != 0;
    let other_w = mode & 0o002 != 0;
    owner_untrusted || ((group_w || other_w) && !sticky)
}

fn cstring(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn fstatat(dir: libc::c_int, name: &CString, flags: libc::c_int) -> io::Result<libc::stat> {
    // SAFETY: zeroed stat is a valid out-parameter; name is a C string.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstatat(dir, name.as_ptr(), &mut st, flags) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(st)
    }
}

fn fstat(fd: libc::c_int) -> io::Result<libc::stat> {
    // SAFETY: as above.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(st)
    }
}

fn openat(dir: libc::c_int, name: &CString, flags: libc::c_int, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: name is a C string; the fd returned is owned by the caller.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), flags | libc::O_CLOEXEC, mode) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and belongs to nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A directory opened without following any link another user controls.
#[derive(Debug)]
pub struct TrustedDir {
    fd: OwnedFd,
    path: PathBuf,
}

impl TrustedDir {
    /// Open the directory at the absolute `path` (see the module comment
    /// for what is refused).
    pub fn open(path: &Path) -> Result<TrustedDir, DirError> {
        if !path.is_absolute() {
            return Err(DirError::NotAbsolute(path.to_path_buf()));
        }
        let root = CString::new("/").expect("no NUL");
        let flags = libc::O_PATH | libc::O_DIRECTORY;
        let mut fd = openat(libc::AT_FDCWD, &root, flags, 0).map_err(DirError::io(path))?;
        let mut here = PathBuf::from("/");
        // Components still to walk, first at the end.
        let mut todo: Vec<OsString> = Vec::new();
        push_components(&mut todo, path);
        let mut links = 0;
        while let Some(name) = todo.pop() {
            if name == ".." {
                let parent = here
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| here.clone());
                let c = cstring(OsStr::new("..")).map_err(DirError::io(&here))?;
                fd = openat(fd.as_raw_fd(), &c, flags, 0).map_err(DirError::io(&here))?;
                here = parent;
                continue;
            }
            let c = cstring(&name).map_err(DirError::io(&here))?;
            let next = here.join(&name);
            let st = fstatat(fd.as_raw_fd(), &c, libc::AT_SYMLINK_NOFOLLOW)
                .map_err(DirError::io(&next))?;
            if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
                let dir_st = fstat(fd.as_raw_fd()).map_err(DirError::io(&here))?;
                if !trusted(st.st_uid) || writable_by_others(&dir_st) {
                    let owner = if trusted(st.st_uid) {
                        dir_st.st_uid
                    } else {
                        st.st_uid
                    };
                    return Err(DirError::UntrustedLink { path: next, owner });
                }
                links += 1;
                if links > MAX_LINKS {
                    return Err(DirError::TooManyLinks(path.to_path_buf()));
                }
                let target = readlinkat(fd.as_raw_fd(), &c).map_err(DirError::io(&next))?;
                if target.is_absolute() {
                    fd = openat(libc::AT_FDCWD, &root, flags, 0).map_err(DirError::io(path))?;
                    here = PathBuf::from("/");
                }
                push_components(&mut todo, &target);
                continue;
            }
            fd = openat(fd.as_raw_fd(), &c, flags | libc::O_NOFOLLOW, 0)
                .map_err(DirError::io(&next))?;
            here = next;
        }
        // A real directory descriptor (O_PATH cannot be fsynced or read).
        let dot = CString::new(".").expect("no NUL");
        let fd = openat(fd.as_raw_fd(), &dot, libc::O_RDONLY | libc::O_DIRECTORY, 0)
            .map_err(DirError::io(&here))?;
        Ok(TrustedDir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// Open the directory and require that only trusted uids can write in
    /// it (or that it is sticky): the place to create and rename files.
    pub fn open_for_writing(path: &Path) -> Result<TrustedDir, DirError> {
        let dir = TrustedDir::open(path)?;
        let st = fstat(dir.fd.as_raw_fd()).map_err(DirError::io(path))?;
        if writable_by_others(&st) {
            return Err(DirError::UntrustedDir {
                path: path.to_path_buf(),
                owner: st.st_uid,
            });
        }
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn raw(&self) -> libc::c_int {
        self.fd.as_raw_fd()
    }

    /// `lstat` of an entry.
    pub fn stat(&self, name: &OsStr) -> io::Result<libc::stat> {
        fstatat(self.raw(), &cstring(name)?, libc::AT_SYMLINK_NOFOLLOW)
    }

    /// Open an entry for reading, refusing a link (and never waiting on a
    /// FIFO: opened non-blocking).
    pub fn open_read(&self, name: &OsStr) -> io::Result<File> {
        let fd = openat(
            self.raw(),
            &cstring(name)?,
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY,
            0,
        )?;
        Ok(File::from(fd))
    }

    /// Create a new file (never an existing one, never through a link).
    pub fn create_new(&self, name: &OsStr, mode: u32) -> io::Result<File> {
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
        let fd = openat(self.raw(), &cstring(name)?, flags, mode)?;
        Ok(File::from(fd))
    }

    /// Rename `from` to `to`, both in this directory.
    pub fn rename(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        let (f, t) = (cstring(from)?, cstring(to)?);
        // SAFETY: C strings and a directory descriptor we own.
        if unsafe { libc::renameat(self.raw(), f.as_ptr(), self.raw(), t.as_ptr()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Hard-link `from` as `to` (a link itself, never its target).
    pub fn link(&self, from: &OsStr, to: &OsStr) -> io::Result<()> {
        let (f, t) = (cstring(from)?, cstring(to)?);
        // SAFETY: as above; flags 0 does not follow a final link.
        if unsafe { libc::linkat(self.raw(), f.as_ptr(), self.raw(), t.as_ptr(), 0) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub fn unlink(&self, name: &OsStr) -> io::Result<()> {
        let n = cstring(name)?;
        // SAFETY: as above.
        if unsafe { libc::unlinkat(self.raw(), n.as_ptr(), 0) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Create a subdirectory (an existing one is left as it is).
    pub fn mkdir(&self, name: &OsStr, mode: u32) -> io::Result<bool> {
        let n = cstring(name)?;
        // SAFETY: as above.
        if unsafe { libc::mkdirat(self.raw(), n.as_ptr(), mode) } < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EEXIST) {
                return Ok(false);
            }
            return Err(e);
        }
        Ok(true)
    }

    /// Set the owner, group and mode of an entry that is a file or a
    /// directory, never through a link: the entry is opened with
    /// `O_NOFOLLOW` and changed through that descriptor.
    pub fn set_owner_mode(
        &self,
        name: &OsStr,
        owner: Option<(u32, u32)>,
        mode: Option<u32>,
    ) -> io::Result<()> {
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY;
        let fd = openat(self.raw(), &cstring(name)?, flags, 0)?;
        let st = fstat(fd.as_raw_fd())?;
        let kind = st.st_mode & libc::S_IFMT;
        if kind != libc::S_IFREG && kind != libc::S_IFDIR {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file or directory",
            ));
        }
        // SAFETY: fd is an open descriptor we own.
        unsafe {
            if let Some((uid, gid)) = owner {
                if libc::fchown(fd.as_raw_fd(), uid, gid) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            if let Some(mode) = mode {
                if libc::fchmod(fd.as_raw_fd(), mode) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
        }
        Ok(())
    }

    pub fn sync(&self) -> io::Result<()> {
        // SAFETY: as above.
        if unsafe { libc::fsync(self.raw()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

fn push_components(todo: &mut Vec<OsString>, path: &Path) {
    let mut parts: Vec<OsString> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => parts.push(n.to_os_string()),
            Component::ParentDir => parts.push(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    todo.extend(parts.into_iter().rev());
}

fn readlinkat(dir: libc::c_int, name: &CString) -> io::Result<PathBuf> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: buf is writable for its length.
    let n = unsafe { libc::readlinkat(dir, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(PathBuf::from(OsStr::from_bytes(&buf)))
}

/// Split an absolute file path into its directory (opened for writing) and
/// its last component.
pub fn parent_for_writing(path: &Path) -> Result<(TrustedDir, OsString), DirError> {
    let name = path
        .file_name()
        .ok_or_else(|| DirError::Io {
            path: path.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
        })?
        .to_os_string();
    let parent = path.parent().unwrap_or(Path::new("/"));
    let parent = if parent.as_os_str().is_empty() {
        std::env::current_dir().map_err(DirError::io(path))?
    } else if parent.is_relative() {
        std::env::current_dir()
            .map_err(DirError::io(path))?
            .join(parent)
    } else {
        parent.to_path_buf()
    };
    Ok((TrustedDir::open_for_writing(&parent)?, name))
}

/// `mkdir -p` for root: each missing directory of the absolute `path` is
/// made with `mode` through its parent opened as [`TrustedDir::open`] does
/// (no link another user controls is followed), and the last is returned
/// opened for writing (refused if another user can write in it).
pub fn create_dirs(path: &Path, mode: u32) -> Result<TrustedDir, DirError> {
    if !path.is_absolute() {
        return Err(DirError::NotAbsolute(path.to_path_buf()));
    }
    let missing: Vec<&Path> = path
        .ancestors()
        .take_while(|a| std::fs::symlink_metadata(a).is_err())
        .collect();
    for dir in missing.into_iter().rev() {
        let (Some(parent), Some(name)) = (dir.parent(), dir.file_name()) else {
            continue;
        };
        TrustedDir::open(parent)?
            .mkdir(name, mode)
            .map_err(DirError::io(dir))?;
    }
    TrustedDir::open_for_writing(path)
}
