//! Replace a file so that, whatever happens, readers see the old contents or
//! the new, never a mix, and the old version is kept as a backup.
//!
//! The steps, in order: write a temporary file in the same directory
//! (`O_EXCL`, never following a symlink), set owner then mode (chown clears
//! set-id bits, so chmod comes last), fsync it, let the caller validate it
//! with the real program (`sshd -t -f`, `visudo -cf`, ...), keep a hard link
//! to the old file as the backup, rename over the target, fsync the
//! directory. A crash before the rename leaves the target untouched; a
//! crash after it leaves the new file complete.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Suffix of the backup kept next to a replaced file. It ends in `~`, the
/// editor-backup mark that every include mechanism we write into skips:
/// logrotate ignores `*~` in logrotate.d (it reads any other name), sudo's
/// includedir skips names ending in `~` or containing a dot, sshd and
/// fail2ban drop-ins need `.conf`/`.local`, systemd needs a unit suffix.
pub const BACKUP_SUFFIX: &str = ".hardkit-bak~";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Permission bits of the new file, e.g. 0o644.
    pub mode: u32,
    /// Owner and group ids; None keeps the process's own (root when run as root).
    pub owner: Option<(u32, u32)>,
    /// Keep the previous file as `NAME.hardkit-bak~`.
    pub backup: bool,
}

impl WriteOptions {
    pub fn mode(mode: u32) -> Self {
        WriteOptions {
            mode,
            owner: None,
            backup: true,
        }
    }
}

/// What a replacement did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    /// False when the file already had these bytes, mode and owner.
    pub changed: bool,
    /// Where the previous version was kept, if there was one.
    pub backup: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum AtomicError {
    #[error("{}: {what}: {source}", .path.display())]
    Io {
        path: PathBuf,
        what: &'static str,
        source: io::Error,
    },
    #[error("{}: rejected by validation, not installed: {message}", .path.display())]
    Rejected { path: PathBuf, message: String },
}

fn io_err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(io::Error) -> AtomicError + 'a {
    move |source| AtomicError::Io {
        path: path.to_path_buf(),
        what,
        source,
    }
}

/// Does `path` already hold exactly these bytes with this mode and owner?
pub fn is_current(path: &Path, contents: &[u8], opts: &WriteOptions) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.is_file() || meta.mode() & 0o7777 != opts.mode {
        return false;
    }
    if let Some((uid, gid)) = opts.owner {
        if meta.uid() != uid || meta.gid() != gid {
            return false;
        }
    }
    meta.len() == contents.len() as u64 && fs::read(path).is_ok_and(|old| old == contents)
}

/// Replace `path` atomically with `contents`.
pub fn replace_file(
    path: &Path,
    contents: &[u8],
    opts: &WriteOptions,
) -> Result<WriteOutcome, AtomicError> {
    replace_file_validated(path, contents, opts, |_| Ok(()))
}

/// Replace `path` atomically, after `validate` accepted the complete
/// temporary file (given its path). A rejection leaves `path` untouched.
pub fn replace_file_validated(
    path: &Path,
    contents: &[u8],
    opts: &WriteOptions,
    validate: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<WriteOutcome, AtomicError> {
    replace_with_hook(path, contents, opts, validate, &|| Ok(()))
}

/// Put a backup made by [`replace_file`] back in place (atomically).
pub fn restore_backup(path: &Path, backup: &Path) -> Result<(), AtomicError> {
    fs::rename(backup, path).map_err(io_err(path, "restoring backup"))?;
    sync_parent(path)
}

/// Remove a file installed earlier, keeping it as the backup.
pub fn remove_with_backup(path: &Path) -> Result<Option<PathBuf>, AtomicError> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let backup = backup_path(path);
    fs::rename(path, &backup).map_err(io_err(path, "moving to backup"))?;
    sync_parent(path)?;
    Ok(Some(backup))
}

pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(OsString::from).unwrap_or_default();
    name.push(BACKUP_SUFFIX);
    path.with_file_name(name)
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.as_bytes()).unwrap_or(b"file");
    let mut temp = OsString::from(".");
    temp.push(std::ffi::OsStr::from_bytes(name));
    temp.push(format!(
        ".hardkit-tmp.{}.{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    path.with_file_name(temp)
}

/// Removes the temporary file unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    installed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.installed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The implementation, with a hook run just before the rename so tests can
/// simulate a crash or a failure at the most delicate moment.
pub(crate) fn replace_with_hook(
    path: &Path,
    contents: &[u8],
    opts: &WriteOptions,
    validate: impl FnOnce(&Path) -> Result<(), String>,
    before_rename: &dyn Fn() -> io::Result<()>,
) -> Result<WriteOutcome, AtomicError> {
    if is_current(path, contents, opts) {
        return Ok(WriteOutcome {
            changed: false,
            backup: None,
        });
    }
    if path.file_name().is_none() {
        return Err(AtomicError::Io {
            path: path.to_path_buf(),
            what: "not a file path",
            source: io::Error::from(io::ErrorKind::InvalidInput),
        });
    }
    let temp = TempFile {
        path: temp_path(path),
        installed: false,
    };
    let _interrupt_guard = crate::signals::register_temp_file(&temp.path);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&temp.path)
        .map_err(io_err(path, "creating temporary file"))?;
    file.write_all(contents)
        .map_err(io_err(path, "writing temporary file"))?;
    if let Some((uid, gid)) = opts.owner {
        std::os::unix::fs::fchown(&file, Some(uid), Some(gid))
            .map_err(io_err(path, "setting owner"))?;
    }
    file.set_permissions(fs::Permissions::from_mode(opts.mode))
        .map_err(io_err(path, "setting mode"))?;
    file.sync_all()
        .map_err(io_err(path, "syncing temporary file"))?;
    drop(file);

    validate(&temp.path).map_err(|message| AtomicError::Rejected {
        path: path.to_path_buf(),
        message,
    })?;

    let backup = if opts.backup && fs::symlink_metadata(path).is_ok() {
        let backup = backup_path(path);
        keep_backup(path, &backup)?;
        Some(backup)
    } else {
        None
    };

    before_rename().map_err(io_err(path, "before rename"))?;
    let mut temp = temp;
    fs::rename(&temp.path, path).map_err(io_err(path, "renaming into place"))?;
    temp.installed = true;
    sync_parent(path)?;
    Ok(WriteOutcome {
        changed: true,
        backup,
    })
}

/// Keep the current file as the backup: a hard link when the file system
/// allows it (exact copy of data, mode, owner, times), else a copy.
fn keep_backup(path: &Path, backup: &Path) -> Result<(), AtomicError> {
    let staging = temp_path(backup);
    let _ = fs::remove_file(&staging);
    if fs::hard_link(path, &staging).is_err() {
        fs::copy(path, &staging).map_err(io_err(path, "copying backup"))?;
        if let Ok(meta) = fs::metadata(path) {
            let _ = std::os::unix::fs::chown(&staging, Some(meta.uid()), Some(meta.gid()));
            let _ = fs::set_permissions(&staging, meta.permissions());
        }
    }
    fs::rename(&staging, backup).map_err(io_err(path, "keeping backup"))
}

fn sync_parent(path: &Path) -> Result<(), AtomicError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(io_err(parent, "syncing directory"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("sshd_config");
        fs::write(&path, "old\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        (tmp, path)
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("hardkit-tmp"))
            .collect()
    }

    #[test]
    fn replaces_with_mode_and_keeps_backup() {
        let (tmp, path) = setup();
        let out = replace_file(&path, b"new\n", &WriteOptions::mode(0o600)).unwrap();
        assert!(out.changed);
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o600);
        let backup = out.backup.unwrap();
        assert_eq!(fs::read_to_string(&backup).unwrap(), "old\n");
        assert!(leftovers(tmp.path()).is_empty());
    }

    #[test]
    fn same_bytes_mode_and_owner_is_unchanged() {
        let (_tmp, path) = setup();
        let opts = WriteOptions::mode(0o644);
        assert!(replace_file(&path, b"x", &opts).unwrap().changed);
        let again = replace_file(&path, b"x", &opts).unwrap();
        assert!(!again.changed && again.backup.is_none());
        // A mode change alone is a change.
        assert!(
            replace_file(&path, b"x", &WriteOptions::mode(0o640))
                .unwrap()
                .changed
        );
    }

    #[test]
    fn rejected_content_leaves_the_old_file_and_no_temp() {
        let (tmp, path) = setup();
        let err = replace_file_validated(&path, b"bad\n", &WriteOptions::mode(0o644), |tmp_path| {
            assert_eq!(fs::read_to_string(tmp_path).unwrap(), "bad\n");
            Err("line 1: Bad configuration option".into())
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("Bad configuration option"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
        assert!(leftovers(tmp.path()).is_empty());
    }

    #[test]
    fn failure_just_before_rename_leaves_old_file_intact() {
        let (tmp, path) = setup();
        let result = replace_with_hook(
            &path,
            b"new\n",
            &WriteOptions::mode(0o644),
            |_| Ok(()),
            &|| Err(io::Error::other("simulated")),
        );
        assert!(result.is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
        assert!(leftovers(tmp.path()).is_empty());
    }

    #[test]
    fn crash_before_rename_leaves_old_file_intact() {
        let (tmp, path) = setup();
        // A real crash: a child process dies (no unwinding, no cleanup) at
        // the moment before rename. The target must still be the old file.
        // SAFETY: the child only runs our code and then _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let _ = replace_with_hook(
                &path,
                b"new\n",
                &WriteOptions::mode(0o644),
                |_| Ok(()),
                &|| {
                    // SAFETY: terminate the child immediately, as a crash would.
                    unsafe { libc::_exit(9) }
                },
            );
            unsafe { libc::_exit(0) }
        }
        let mut status = 0;
        // SAFETY: waiting for the child we just forked.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 9,
            "child status {status}"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
        // The crash leaves the complete temporary file behind, never a torn target.
        let temps = leftovers(tmp.path());
        assert_eq!(temps.len(), 1, "{temps:?}");
        assert_eq!(
            fs::read_to_string(tmp.path().join(&temps[0])).unwrap(),
            "new\n"
        );
    }

    #[test]
    fn restore_backup_puts_the_old_file_back() {
        let (_tmp, path) = setup();
        let out = replace_file(&path, b"new\n", &WriteOptions::mode(0o644)).unwrap();
        restore_backup(&path, &out.backup.unwrap()).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
    }

    #[test]
    fn sets_owner_when_root() {
        if !crate::oracle::require_root("core::atomic::sets_owner_when_root") {
            return;
        }
        let (_tmp, path) = setup();
        let opts = WriteOptions {
            mode: 0o440,
            owner: Some((1, 2)),
            backup: false,
        };
        replace_file(&path, b"x\n", &opts).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (1, 2, 0o440)
        );
    }
}
