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

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::dirfd::{self, DirError, TrustedDir};

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
    #[error("{0}")]
    Dir(#[from] DirError),
}

fn io_err<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(io::Error) -> AtomicError + 'a {
    move |source| AtomicError::Io {
        path: path.to_path_buf(),
        what,
        source,
    }
}

/// Does `name` in `dir` already hold exactly these bytes with this mode and
/// owner? (A link there is never current: it will be replaced.)
fn is_current_in(dir: &TrustedDir, name: &OsStr, contents: &[u8], opts: &WriteOptions) -> bool {
    let Ok(st) = dir.stat(name) else {
        return false;
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_mode & 0o7777 != opts.mode {
        return false;
    }
    if let Some((uid, gid)) = opts.owner {
        if st.st_uid != uid || st.st_gid != gid {
            return false;
        }
    }
    if st.st_size as u64 != contents.len() as u64 {
        return false;
    }
    let mut old = Vec::with_capacity(contents.len());
    dir.open_read(name)
        .and_then(|f| f.take(contents.len() as u64 + 1).read_to_end(&mut old))
        .is_ok()
        && old == contents
}

/// Does `path` already hold exactly these bytes with this mode and owner?
pub fn is_current(path: &Path, contents: &[u8], opts: &WriteOptions) -> bool {
    match dirfd::parent_for_writing(path) {
        Ok((dir, name)) => is_current_in(&dir, &name, contents, opts),
        Err(_) => false,
    }
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
    let (dir, name) = dirfd::parent_for_writing(path)?;
    let backup_name = backup.file_name().unwrap_or_default();
    if backup.parent() != path.parent() {
        return Err(AtomicError::Io {
            path: backup.to_path_buf(),
            what: "restoring backup",
            source: io::Error::new(io::ErrorKind::InvalidInput, "backup is not beside the file"),
        });
    }
    dir.rename(backup_name, &name)
        .map_err(io_err(path, "restoring backup"))?;
    dir.sync().map_err(io_err(path, "syncing directory"))
}

/// Remove a file installed earlier, keeping it as the backup.
pub fn remove_with_backup(path: &Path) -> Result<Option<PathBuf>, AtomicError> {
    let (dir, name) = dirfd::parent_for_writing(path)?;
    if dir.stat(&name).is_err() {
        return Ok(None);
    }
    let backup = backup_path(path);
    dir.rename(&name, &backup_name(&name))
        .map_err(io_err(path, "moving to backup"))?;
    dir.sync().map_err(io_err(path, "syncing directory"))?;
    Ok(Some(backup))
}

pub fn backup_path(path: &Path) -> PathBuf {
    path.with_file_name(backup_name(path.file_name().unwrap_or_default()))
}

fn backup_name(name: &OsStr) -> OsString {
    let mut b = name.to_os_string();
    b.push(BACKUP_SUFFIX);
    b
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn temp_name(name: &OsStr) -> OsString {
    let mut temp = OsString::from(".");
    temp.push(name);
    temp.push(format!(
        ".hardkit-tmp.{}.{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    temp
}

/// Removes the temporary file unless it was renamed into place.
struct TempFile<'a> {
    dir: &'a TrustedDir,
    name: OsString,
    installed: bool,
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if !self.installed {
            let _ = self.dir.unlink(&self.name);
        }
    }
}

/// The implementation, with a hook run just before the rename so tests can
/// simulate a crash or a failure at the most delicate moment.
///
/// Every step is relative to the parent directory, opened once without
/// following a link that anyone but root (or the caller) controls and
/// refused when anyone else can write in it (see [`crate::dirfd`]): the
/// temporary file is created there with `O_EXCL|O_NOFOLLOW`, owner and mode
/// are set on its descriptor, and the backup link and the rename name
/// entries of that directory, so nothing can be redirected elsewhere.
pub(crate) fn replace_with_hook(
    path: &Path,
    contents: &[u8],
    opts: &WriteOptions,
    validate: impl FnOnce(&Path) -> Result<(), String>,
    before_rename: &dyn Fn() -> io::Result<()>,
) -> Result<WriteOutcome, AtomicError> {
    let (dir, name) = dirfd::parent_for_writing(path)?;
    if is_current_in(&dir, &name, contents, opts) {
        return Ok(WriteOutcome {
            changed: false,
            backup: None,
        });
    }
    let mut temp = TempFile {
        dir: &dir,
        name: temp_name(&name),
        installed: false,
    };
    let temp_path = dir.path().join(&temp.name);
    let _interrupt_guard = crate::signals::register_temp_file(&temp_path);
    let mut file = dir
        .create_new(&temp.name, 0o600)
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

    validate(&temp_path).map_err(|message| AtomicError::Rejected {
        path: path.to_path_buf(),
        message,
    })?;

    let backup = if opts.backup && dir.stat(&name).is_ok() {
        keep_backup(&dir, &name, path)?;
        Some(backup_path(path))
    } else {
        None
    };

    before_rename().map_err(io_err(path, "before rename"))?;
    dir.rename(&temp.name, &name)
        .map_err(io_err(path, "renaming into place"))?;
    temp.installed = true;
    dir.sync().map_err(io_err(path, "syncing directory"))?;
    Ok(WriteOutcome {
        changed: true,
        backup,
    })
}

/// Keep the current file as the backup: a hard link when the file system
/// allows it (exact copy of data, mode, owner, times), else a copy. A link
/// at the name is kept as a link, never followed.
fn keep_backup(dir: &TrustedDir, name: &OsStr, path: &Path) -> Result<(), AtomicError> {
    let backup = backup_name(name);
    let staging = temp_name(&backup);
    let _ = dir.unlink(&staging);
    if dir.link(name, &staging).is_err() {
        let mut from = dir
            .open_read(name)
            .map_err(io_err(path, "copying backup"))?;
        let st = dir.stat(name).map_err(io_err(path, "copying backup"))?;
        let mut to = dir
            .create_new(&staging, 0o600)
            .map_err(io_err(path, "copying backup"))?;
        io::copy(&mut from, &mut to).map_err(io_err(path, "copying backup"))?;
        let _ = std::os::unix::fs::fchown(&to, Some(st.st_uid), Some(st.st_gid));
        let _ = to.set_permissions(fs::Permissions::from_mode(st.st_mode & 0o7777));
    }
    dir.rename(&staging, &backup)
        .map_err(io_err(path, "keeping backup"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

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

    /// A directory owned by an unprivileged user (uid 4242), as /tmp/plan
    /// or a service account's state directory would be.
    fn user_dir(parent: &Path, name: &str) -> PathBuf {
        let d = parent.join(name);
        fs::create_dir(&d).unwrap();
        std::os::unix::fs::chown(&d, Some(4242), Some(4242)).unwrap();
        d
    }

    #[test]
    fn a_link_planted_by_another_user_is_not_followed() {
        if !crate::oracle::require_root(
            "core::atomic::a_link_planted_by_another_user_is_not_followed",
        ) {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let victim_dir = tmp.path().join("etc");
        fs::create_dir(&victim_dir).unwrap();
        fs::write(victim_dir.join("passwd"), "root:x:0:0\n").unwrap();
        // The user's directory, in which they planted `sub -> /…/etc`.
        let plan = user_dir(tmp.path(), "plan");
        std::os::unix::fs::symlink(&victim_dir, plan.join("sub")).unwrap();
        std::os::unix::fs::lchown(plan.join("sub"), Some(4242), Some(4242)).unwrap();
        let err = replace_file(
            &plan.join("sub/passwd"),
            b"owned\n",
            &WriteOptions::mode(0o644),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("symbolic link that uid 4242 controls"),
            "{err}"
        );
        assert_eq!(
            fs::read_to_string(victim_dir.join("passwd")).unwrap(),
            "root:x:0:0\n"
        );
    }

    #[test]
    fn a_directory_another_user_can_write_is_refused() {
        if !crate::oracle::require_root(
            "core::atomic::a_directory_another_user_can_write_is_refused",
        ) {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let plan = user_dir(tmp.path(), "plan");
        // They could swap the validated temporary file before the rename.
        let err = replace_file(
            &plan.join("sshd_config"),
            b"x\n",
            &WriteOptions::mode(0o644),
        )
        .unwrap_err();
        assert!(err.to_string().contains("writable by uid 4242"), "{err}");
        // World-writable without the sticky bit: the same.
        let open = tmp.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(replace_file(&open.join("f"), b"x", &WriteOptions::mode(0o644)).is_err());
        // Sticky (as /tmp): nobody else can rename our file; allowed.
        fs::set_permissions(&open, fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(replace_file(&open.join("f"), b"x", &WriteOptions::mode(0o644)).is_ok());
    }

    #[test]
    fn a_final_link_is_replaced_never_written_through() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("elsewhere");
        fs::write(&target, "keep\n").unwrap();
        let path = tmp.path().join("sshd_config");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let out = replace_file(&path, b"new\n", &WriteOptions::mode(0o644)).unwrap();
        assert!(out.changed);
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep\n");
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
        // The backup is the link itself, not a copy of what it pointed at.
        assert!(fs::symlink_metadata(out.backup.unwrap())
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn roots_own_links_are_followed() {
        // A link owned by the caller in a directory only the caller writes
        // (as /lib -> usr/lib on a merged-/usr system).
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("usr-lib");
        fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink("usr-lib", tmp.path().join("lib")).unwrap();
        replace_file(
            &tmp.path().join("lib/unit"),
            b"x\n",
            &WriteOptions::mode(0o644),
        )
        .unwrap();
        assert_eq!(fs::read_to_string(real.join("unit")).unwrap(), "x\n");
    }
}
