//! The real `sshd -t` on a configuration, before and after `--fix --write`.
//!
//! Before: the candidate files are shown to sshd in a private mount
//! namespace (each bound over the live file it would replace; a new file by
//! binding a copy of its directory with the new file in it), so a change
//! sshd would refuse never replaces anything. After: `sshd -t` once more on
//! the files as written. Both only with `--root /`: under another root
//! sshd would read the host's Include files and host keys.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fix::Change;

fn sshd() -> Option<&'static str> {
    ["/usr/sbin/sshd", "/usr/local/sbin/sshd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// `sshd -t -f MAIN` on the host as the files are now.
pub fn validate_written(root: &hardkit_core::Root, main: &Path) -> Result<(), String> {
    let Some(sshd) = sshd().filter(|_| root.is_host()) else {
        return Ok(());
    };
    let out = Command::new(sshd)
        .arg("-t")
        .arg("-f")
        .arg(main)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Exit status of our mount script when it could not set the view up.
const NO_VIEW: i32 = 125;

/// `sshd -t -f MAIN` on the configuration as `changes` would leave it,
/// with nothing written. Ok(false) when it could not run (not the host, no
/// sshd, no mount namespace): then only the check after writing stands.
pub fn validate_candidate(
    root: &hardkit_core::Root,
    main: &Path,
    changes: &[Change],
) -> Result<bool, String> {
    let (Some(sshd), Some(unshare)) = (
        sshd().filter(|_| root.is_host()),
        hardkit_core::program::find_program("unshare"),
    ) else {
        return Ok(false);
    };
    // Our own private directory (0700), holding copies and candidates.
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut binds: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        let live_is_file = fs::symlink_metadata(&c.path).is_ok_and(|m| m.is_file());
        if live_is_file {
            let copy = scratch.path().join(format!("file{i}"));
            fs::write(&copy, &c.new).map_err(|e| e.to_string())?;
            binds.push((copy, c.path.clone()));
            continue;
        }
        let (Some(dir), Some(name)) = (c.path.parent(), c.path.file_name()) else {
            return Ok(false);
        };
        if !fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
            // A directory --fix would create: sshd cannot be shown it here.
            return Ok(false);
        }
        let copy = scratch.path().join(format!("dir{i}"));
        fs::create_dir(&copy).map_err(|e| e.to_string())?;
        for entry in fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                fs::copy(entry.path(), copy.join(entry.file_name())).map_err(|e| e.to_string())?;
            }
        }
        fs::write(copy.join(name), &c.new).map_err(|e| e.to_string())?;
        binds.push((copy, dir.to_path_buf()));
    }
    // Directory binds first, so that a file bound afterwards lands on top.
    binds.sort_by_key(|(from, _)| from.is_file());
    let mut script = String::new();
    let mut args: Vec<PathBuf> = Vec::new();
    for (from, to) in &binds {
        let n = args.len();
        script.push_str(&format!(
            "mount --bind \"${}\" \"${}\" || exit {NO_VIEW}; ",
            n + 1,
            n + 2
        ));
        args.push(from.clone());
        args.push(to.clone());
    }
    let n = args.len();
    script.push_str(&format!("exec \"${}\" -t -f \"${}\"", n + 1, n + 2));
    args.push(PathBuf::from(sshd));
    args.push(main.to_path_buf());
    let out = Command::new(unshare)
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
            "sh",
        ])
        .args(&args)
        .output()
        .map_err(|e| e.to_string())?;
    let unshare_failed = out.status.code() == Some(1)
        && String::from_utf8_lossy(&out.stderr).starts_with("unshare:");
    if out.status.code() == Some(NO_VIEW) || unshare_failed {
        return Ok(false);
    }
    if out.status.success() {
        Ok(true)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}
