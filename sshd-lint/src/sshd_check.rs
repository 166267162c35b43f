//! The real `sshd -t` on a configuration, before and after `--fix --write`.
//!
//! Before: the candidate files are shown to sshd in a private mount
//! namespace (each bound over the live file it would replace; a new file by
//! binding a copy of its directory with the new file in it), so a change
//! sshd would refuse never replaces anything. After: `sshd -t` once more on
//! the files as written.
//!
//! Under another `--root` the judge is the tree's own `/usr/sbin/sshd` (its
//! release), never run as root: in [`hardkit_core::sandbox`], on the tree
//! read-only with a readable copy of its `/etc/ssh` (host keys are 0600) and
//! the candidate files mounted over the ones they replace. A tree whose
//! sshd already refuses the configuration as it is (an image whose host keys
//! are made at first boot) is not blocked by that: only a change that makes
//! a configuration sshd accepted into one it refuses is.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fix::Change;

fn sshd() -> Option<&'static str> {
    ["/usr/sbin/sshd", "/usr/local/sbin/sshd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

/// `sshd -t -f MAIN` as the files are now.
pub fn validate_written(root: &hardkit_core::Root, main: &Path) -> Result<(), String> {
    if !root.is_host() {
        return match in_sandbox(root, main, &[])? {
            Judged::Refused(m) => Err(m),
            _ => Ok(()),
        };
    }
    let Some(sshd) = sshd() else {
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

/// What the tree's sshd said in the sandbox.
enum Judged {
    Accepted,
    Refused(String),
    /// It could not be asked (no sshd in the tree, no sandbox, a path the
    /// sandbox cannot cover): why.
    NotRun(String),
}

/// Where the candidate files are shown to a sandboxed sshd.
struct Staged {
    _dir: tempfile::TempDir,
    inputs: Vec<(PathBuf, String)>,
}

/// Copies of the changed files (a new file: a copy of its directory with the
/// new file in it), read from the tree through [`hardkit_core::Root`].
fn stage(root: &hardkit_core::Root, changes: &[Change]) -> Result<Option<Staged>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut inputs = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        let system = c.path.to_string_lossy().into_owned();
        let live = root.resolve(&c.path).map_err(|e| e.to_string())?;
        if fs::symlink_metadata(&live).is_ok_and(|m| m.is_file()) {
            let copy = dir.path().join(format!("file{i}"));
            fs::write(&copy, &c.new).map_err(|e| e.to_string())?;
            inputs.push((copy, system));
            continue;
        }
        let (Some(parent), Some(name)) = (c.path.parent(), c.path.file_name()) else {
            return Ok(None);
        };
        let Ok(parent_host) = root.resolve(parent) else {
            return Ok(None);
        };
        if !fs::symlink_metadata(&parent_host).is_ok_and(|m| m.is_dir()) {
            // A directory --fix would create: sshd cannot be shown it.
            return Ok(None);
        }
        let copy = dir.path().join(format!("dir{i}"));
        fs::create_dir(&copy).map_err(|e| e.to_string())?;
        for entry in fs::read_dir(&parent_host)
            .map_err(|e| e.to_string())?
            .flatten()
        {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                let bytes = hardkit_core::input::read_regular_file(
                    &entry.path(),
                    hardkit_core::input::MAX_FILE_BYTES,
                )
                .map_err(|e| format!("{}: {e}", entry.path().display()))?;
                fs::write(copy.join(entry.file_name()), bytes).map_err(|e| e.to_string())?;
            }
        }
        fs::write(copy.join(name), &c.new).map_err(|e| e.to_string())?;
        inputs.push((copy, parent.to_string_lossy().into_owned()));
    }
    // Directories first, so that a file inside one lands on top of it.
    inputs.sort_by_key(|(from, _)| from.is_file());
    Ok(Some(Staged { _dir: dir, inputs }))
}

/// `sshd -t -f MAIN` by the tree's own sshd in the sandbox, with `inputs`
/// (host copy, system path) mounted over the tree's files.
fn in_sandbox(
    root: &hardkit_core::Root,
    main: &Path,
    inputs: &[(PathBuf, String)],
) -> Result<Judged, String> {
    const TREE_SSHD: &str = "/usr/sbin/sshd";
    if !hardkit_core::program::in_tree(root, TREE_SSHD) {
        return Ok(Judged::NotRun(format!(
            "{} has no {TREE_SSHD}",
            root.dir().display()
        )));
    }
    let mut sandbox = hardkit_core::sandbox::Sandbox::new(root)
        .readable_copy("/etc/ssh")
        .make_dir("/run/sshd");
    for (copy, system) in inputs {
        sandbox = sandbox.input_over(copy, system);
    }
    let args = [std::ffi::OsStr::new("-t"), "-f".as_ref(), main.as_os_str()];
    match sandbox.run(TREE_SSHD, &args, b"") {
        Ok(out) if out.status.success() => Ok(Judged::Accepted),
        Ok(out) => Ok(Judged::Refused(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        )),
        Err(e) => Ok(Judged::NotRun(e.to_string())),
    }
}

/// How the candidate was judged, for the report.
pub enum Verdict {
    /// Checked, by this (e.g. "the tree's own sshd -t, in the sandbox").
    Checked(String),
    /// Not checked before writing, and why.
    NotChecked(String),
}

/// `sshd -t -f MAIN` on the configuration as `changes` would leave it,
/// with nothing written. Err when sshd refuses it; otherwise how it was
/// judged (or why it could not be: then only the checks after writing
/// stand).
pub fn validate_candidate(
    root: &hardkit_core::Root,
    main: &Path,
    changes: &[Change],
) -> Result<Verdict, String> {
    if !root.is_host() {
        let Some(staged) = stage(root, changes)? else {
            return Ok(Verdict::NotChecked(
                "the fix creates a directory the sandbox cannot show sshd".into(),
            ));
        };
        return match in_sandbox(root, main, &staged.inputs)? {
            Judged::Accepted => Ok(Verdict::Checked(
                "the tree's own sshd -t, in the sandbox".into(),
            )),
            Judged::NotRun(why) => Ok(Verdict::NotChecked(why)),
            Judged::Refused(m) => match in_sandbox(root, main, &[])? {
                // It refuses the configuration as it is already: the fix
                // is not what breaks it.
                Judged::Refused(before) => Ok(Verdict::NotChecked(format!(
                    "the tree's own sshd -t refuses the configuration as it is already: {before}"
                ))),
                _ => Err(m),
            },
        };
    }
    let (Some(sshd), Some(unshare)) = (sshd(), hardkit_core::program::find_program("unshare"))
    else {
        return Ok(Verdict::NotChecked("no sshd or unshare here".into()));
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
            return Ok(Verdict::NotChecked("a path with no directory".into()));
        };
        if !fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
            // A directory --fix would create: sshd cannot be shown it here.
            return Ok(Verdict::NotChecked(
                "the fix creates a directory sshd cannot be shown".into(),
            ));
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
        return Ok(Verdict::NotChecked(
            "no private mount namespace here".into(),
        ));
    }
    if out.status.success() {
        Ok(Verdict::Checked(
            "sshd -t, in a private mount namespace".into(),
        ))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}
