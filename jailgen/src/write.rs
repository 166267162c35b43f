//! Validating with the real fail2ban and writing atomically.
//!
//! fail2ban reads a whole directory, so a new drop-in can only be judged in
//! place: the configuration under `--root` is copied to a temporary
//! directory, the new files are put in the copy, and `fail2ban-client -c
//! COPY -t` parses it exactly as the server would at start (it starts no
//! server and opens no socket). Only when that passes is anything written,
//! each file atomically (hardkit_core::atomic), the filter before the jail
//! that uses it.
//!
//! The judge is the target's own fail2ban-client, run in a sandbox
//! ([`crate::fail2ban_program`]): under `--root`, the tree's release with
//! the tree's logs, never this machine's program chosen by `PATH` and never
//! as root.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use hardkit_core::atomic::{self, WriteOptions, WriteOutcome};
use hardkit_core::Root;

use crate::fail2ban_program::Judge;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{0}")]
    Root(#[from] hardkit_core::root::RootError),
    #[error("fail2ban rejected the new configuration, nothing written:\n{0}")]
    Rejected(String),
    #[error("{0}")]
    Atomic(#[from] atomic::AtomicError),
    #[error("cannot validate: {0}")]
    CannotValidate(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A file to install: its system path (under `/etc/fail2ban/`) and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    pub system_path: String,
    pub contents: String,
}

/// A copy of the configuration under `root` with `files` in place.
pub struct ConfigCopy {
    _dir: tempfile::TempDir,
    pub conf_dir: PathBuf,
}

pub fn copy_with(root: &Root, files: &[NewFile]) -> Result<ConfigCopy, WriteError> {
    let dir = tempfile::Builder::new()
        .prefix("jailgen-check.")
        .tempdir()
        .map_err(io_err(Path::new("temporary directory")))?;
    let conf_dir = dir.path().join("fail2ban");
    copy_tree(root, "/etc/fail2ban", &conf_dir, 0)?;
    for file in files {
        let rel = file
            .system_path
            .strip_prefix("/etc/fail2ban/")
            .unwrap_or(&file.system_path);
        let dest = conf_dir.join(rel);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        fs::write(&dest, &file.contents).map_err(io_err(&dest))?;
    }
    Ok(ConfigCopy {
        _dir: dir,
        conf_dir,
    })
}

/// Copy the configuration directory `system_dir` (a system path) into `to`.
/// Symlinks are followed the way the target system would follow them, inside
/// the root (an image's `/etc/fail2ban/jail.local -> /etc/...` must not read
/// this host's file); directory nesting is bounded, so a symlink loop ends.
fn copy_tree(root: &Root, system_dir: &str, to: &Path, depth: usize) -> Result<(), WriteError> {
    if depth > 8 {
        return Ok(());
    }
    let from = root.resolve(system_dir)?;
    fs::create_dir_all(to).map_err(io_err(to))?;
    for entry in fs::read_dir(&from).map_err(io_err(&from))? {
        let entry = entry.map_err(io_err(&from))?;
        let name = entry.file_name();
        let system = format!("{system_dir}/{}", name.to_string_lossy());
        let dest = to.join(&name);
        let Ok(host) = root.resolve(&system) else {
            continue;
        };
        let Ok(meta) = fs::metadata(&host) else {
            continue;
        };
        if meta.is_dir() {
            copy_tree(root, &system, &dest, depth + 1)?;
        } else if meta.is_file() {
            fs::copy(&host, &dest).map_err(io_err(&host))?;
        }
    }
    Ok(())
}

/// Validate `files` in a copy of the configuration under `root`.
pub fn validate(judge: &Judge, root: &Root, files: &[NewFile]) -> Result<(), WriteError> {
    validate_copy(judge, root, &copy_with(root, files)?)
}

/// Run `fail2ban-client -t` on a prepared copy.
pub fn validate_copy(judge: &Judge, root: &Root, copy: &ConfigCopy) -> Result<(), WriteError> {
    let out = judge.run(root, &copy.conf_dir, &["-t"])?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("rror:"))
        // "2026-11-22 06:24:46,706 fail2ban [28222]: ERROR   message" -> "message"
        .map(|l| {
            l.split_once("ERROR")
                .map_or(l, |(_, m)| m)
                .trim()
                .to_string()
        })
        .filter(|l| l != "ERROR: test configuration failed")
        .collect();
    if lines.is_empty() {
        lines = text.lines().map(str::to_string).collect();
    }
    // The program is the image's: what it prints is shown, never trusted
    // as terminal control.
    let lines: Vec<String> = lines
        .iter()
        .map(|l| hardkit_core::output::escape_untrusted(l))
        .collect();
    Err(WriteError::Rejected(lines.join("\n")))
}

/// Install `files` under `root`, each atomically, in the given order.
pub fn install(root: &Root, files: &[NewFile]) -> Result<Vec<(String, WriteOutcome)>, WriteError> {
    let mut outcomes = Vec::new();
    for file in files {
        let host = root.resolve_parent(&file.system_path)?;
        if let Some(parent) = host.parent() {
            // Through directory descriptors: no planted link is followed.
            hardkit_core::dirfd::create_dirs(parent, 0o755).map_err(atomic::AtomicError::from)?;
        }
        let outcome =
            atomic::replace_file(&host, file.contents.as_bytes(), &WriteOptions::mode(0o644))?;
        outcomes.push((file.system_path.clone(), outcome));
    }
    Ok(outcomes)
}

/// Would installing `file` change anything?
pub fn would_change(root: &Root, file: &NewFile) -> bool {
    match root.resolve_parent(&file.system_path) {
        Ok(host) => {
            !atomic::is_current(&host, file.contents.as_bytes(), &WriteOptions::mode(0o644))
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_follows_symlinks_inside_the_root_and_survives_loops() {
        let tmp = tempfile::tempdir().unwrap();
        let etc = tmp.path().join("etc/fail2ban");
        fs::create_dir_all(etc.join("jail.d")).unwrap();
        fs::write(etc.join("jail.conf"), "[DEFAULT]\n").unwrap();
        fs::create_dir_all(tmp.path().join("srv")).unwrap();
        fs::write(tmp.path().join("srv/site.local"), "[sshd]\nport = 2222\n").unwrap();
        // Absolute symlinks are re-rooted: this reads ROOT/srv, not the host's /srv.
        std::os::unix::fs::symlink("/srv/site.local", etc.join("jail.d/site.local")).unwrap();
        std::os::unix::fs::symlink("/etc/fail2ban", etc.join("jail.d/loop")).unwrap();
        let root = Root::new(tmp.path()).unwrap();
        let copy = copy_with(
            &root,
            &[NewFile {
                system_path: "/etc/fail2ban/jail.d/hardkit.local".into(),
                contents: "[sshd]\n".into(),
            }],
        )
        .unwrap();
        let site = fs::read_to_string(copy.conf_dir.join("jail.d/site.local")).unwrap();
        assert_eq!(site, "[sshd]\nport = 2222\n");
        assert!(copy.conf_dir.join("jail.d/hardkit.local").is_file());
        assert!(copy.conf_dir.join("jail.d/loop/jail.conf").is_file());
    }
}
