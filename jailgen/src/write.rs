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
//! fail2ban checks that each file-backend jail's log exists, on the machine
//! it runs on. For a `--root` other than `/` the check must see the target's
//! logs, not this host's: jailgen runs fail2ban-client in a private mount
//! namespace (`unshare --mount`, inside a user namespace when not root) with
//! the target's `/var/log` bound over `/var/log`. Nothing is mounted outside
//! that namespace.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hardkit_core::atomic::{self, WriteOptions, WriteOutcome};
use hardkit_core::Root;

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

/// Where fail2ban-client is on this machine, if anywhere.
pub fn fail2ban_client() -> Option<PathBuf> {
    hardkit_core::program::find_program("fail2ban-client")
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

/// Run `fail2ban-client -c CONF_DIR ARGS`, seeing `root`'s logs (see the module docs).
pub fn run_fail2ban_client(
    client: &Path,
    root: &Root,
    conf_dir: &Path,
    args: &[&str],
) -> Result<Output, WriteError> {
    let mut command = if root.is_host() {
        Command::new(client)
    } else {
        let unshare = hardkit_core::program::find_program("unshare").ok_or_else(|| {
            WriteError::CannotValidate(
                "unshare (util-linux) is needed to show fail2ban the logs under --root".into(),
            )
        })?;
        let logs = root.resolve("/var/log")?;
        let mut c = Command::new(unshare);
        if !nix::unistd::Uid::effective().is_root() {
            // Unprivileged: a user namespace makes the mount namespace possible.
            c.args(["--user", "--map-root-user"]);
        }
        // Bind the target's /var/log over ours, or an empty tmpfs when it has none.
        c.args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
            .arg(
                "if [ -d \"$0\" ]; then mount --bind \"$0\" /var/log; \
                 else mount -t tmpfs jailgen-empty /var/log; fi && exec \"$@\"",
            )
            .arg(&logs)
            .arg(client);
        c
    };
    command.arg("-c").arg(conf_dir).args(args);
    command.env("LC_ALL", "C.UTF-8");
    command.output().map_err(io_err(client))
}

/// Validate `files` in a copy of the configuration under `root`.
pub fn validate(client: &Path, root: &Root, files: &[NewFile]) -> Result<(), WriteError> {
    validate_copy(client, root, &copy_with(root, files)?)
}

/// Run `fail2ban-client -t` on a prepared copy.
pub fn validate_copy(client: &Path, root: &Root, copy: &ConfigCopy) -> Result<(), WriteError> {
    let out = run_fail2ban_client(client, root, &copy.conf_dir, &["-t"])?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let copy_dir = copy.conf_dir.display().to_string();
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| {
            l.contains("ERROR")
                || l.contains("rror:")
                || l.contains("unshare")
                || l.contains("mount")
        })
        .map(|l| {
            // "2026-11-22 06:24:46,706 fail2ban [28222]: ERROR   message" -> "message"
            let message = l.split_once("ERROR").map_or(l, |(_, m)| m).trim();
            message.replace(&copy_dir, "/etc/fail2ban")
        })
        .filter(|l| l != "ERROR: test configuration failed")
        .collect();
    if lines.is_empty() {
        lines = text.lines().map(str::to_string).collect();
    }
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
