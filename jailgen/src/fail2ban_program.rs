//! Which `fail2ban-client` judges a configuration, and running it without
//! trusting it.
//!
//! The judge is the target's own fail2ban: under `--root` the tree's
//! `/usr/bin/fail2ban-client` (its release, its Python, its filters), never
//! this machine's by `PATH`. The tree is an image that may be hostile, so its
//! program runs in [`hardkit_core::sandbox`] (a stranger uid in namespaces of
//! its own, the tree read-only, no network), never as root in a chroot. The
//! configuration to judge is shown to it read-only at `/etc/fail2ban`
//! ([`Sandbox::input_over`]); the tree's own `/var/log` is where the program
//! looks for the logs, because the tree is its root.
//!
//! A tree that has fail2ban's configuration but not its programs (a partial
//! image, a test fixture) is judged by this machine's fail2ban instead, in
//! the same sandbox over this machine's files, with an empty skeleton of the
//! tree's `/var/log` (the names only: fail2ban checks that the logs exist),
//! and the caller says so: "validated by this machine's fail2ban-client".

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use hardkit_core::sandbox::{Sandbox, SandboxOutput};
use hardkit_core::Root;

use crate::write::WriteError;

/// Where fail2ban-client lives on a Debian system.
pub const CLIENT: &str = "/usr/bin/fail2ban-client";

/// The fail2ban-client that judges configurations for a `--root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judge {
    /// The tree's own program (for `--root /`, this machine's: the same thing).
    Tree,
    /// The tree has none: this machine's, at this path.
    ThisMachine(PathBuf),
}

impl Judge {
    /// The tree's fail2ban-client when it has one, else this machine's,
    /// else None.
    pub fn for_root(root: &Root) -> Option<Judge> {
        if crate::host::exists(root, CLIENT) {
            return Some(Judge::Tree);
        }
        // Elsewhere on this machine's PATH (a pip install in /usr/local):
        // for `--root /` that is the tree's own.
        hardkit_core::program::find_program("fail2ban-client").map(Judge::ThisMachine)
    }

    /// For messages: "fail2ban-client -t" or "this machine's fail2ban-client -t".
    pub fn describe(&self, root: &Root) -> String {
        match self {
            Judge::Tree if root.is_host() => "fail2ban-client".into(),
            Judge::Tree => format!("{}'s own fail2ban-client", root.dir().display()),
            Judge::ThisMachine(client) if root.is_host() => client.display().to_string(),
            Judge::ThisMachine(_) => format!(
                "this machine's fail2ban-client ({} has none)",
                root.dir().display()
            ),
        }
    }

    /// Run `fail2ban-client -c /etc/fail2ban ARGS` on the configuration in
    /// `conf_dir` (a directory of the caller's), sandboxed.
    pub fn run(
        &self,
        root: &Root,
        conf_dir: &Path,
        args: &[&str],
    ) -> Result<SandboxOutput, WriteError> {
        let mut argv: Vec<&OsStr> = vec![OsStr::new("-c"), OsStr::new("/etc/fail2ban")];
        argv.extend(args.iter().map(OsStr::new));
        let (tree, program, skeleton) = match self {
            Judge::Tree => (root.clone(), PathBuf::from(CLIENT), None),
            Judge::ThisMachine(client) if root.is_host() => (root.clone(), client.clone(), None),
            Judge::ThisMachine(client) => {
                let host = Root::new(Path::new("/"))?;
                let skeleton = log_skeleton(root)?;
                (host, client.clone(), Some(skeleton))
            }
        };
        let mut sandbox = Sandbox::new(&tree)
            .input_over(conf_dir, "/etc/fail2ban")
            .make_dir("/run/fail2ban")
            .env("LC_ALL", "C.UTF-8");
        if let Some(skeleton) = &skeleton {
            sandbox = sandbox.input_over(skeleton.path(), "/var/log");
        }
        let program = program.to_string_lossy().into_owned();
        sandbox
            .run(&program, &argv, b"")
            .map_err(|e| WriteError::CannotValidate(format!("{program} in the sandbox: {e}")))
    }
}

/// Empty files and directories named as the tree's `/var/log` (read through
/// [`Root`], so a link in the image cannot point the walk at this machine),
/// bounded in depth and count: fail2ban only asks whether a log exists.
fn log_skeleton(root: &Root) -> Result<tempfile::TempDir, WriteError> {
    let dir = tempfile::Builder::new()
        .prefix("jailgen-logs.")
        .tempdir()
        .map_err(|source| WriteError::Io {
            path: PathBuf::from("temporary directory"),
            source,
        })?;
    let mut budget = 10_000usize;
    walk_skeleton(root, "/var/log", dir.path(), 0, &mut budget)?;
    Ok(dir)
}

fn walk_skeleton(
    root: &Root,
    system_dir: &str,
    to: &Path,
    depth: usize,
    budget: &mut usize,
) -> Result<(), WriteError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError::Io { path, source }
    };
    let Ok(from) = root.resolve(system_dir) else {
        return Ok(());
    };
    let Ok(entries) = fs::read_dir(&from) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if depth > 8 || *budget == 0 {
            return Ok(());
        }
        *budget -= 1;
        let name = entry.file_name();
        let system = format!("{system_dir}/{}", name.to_string_lossy());
        let dest = to.join(&name);
        let Some(meta) = root
            .resolve(&system)
            .ok()
            .and_then(|p| fs::metadata(p).ok())
        else {
            continue;
        };
        if meta.is_dir() {
            fs::create_dir(&dest).map_err(io(&dest))?;
            walk_skeleton(root, &system, &dest, depth + 1, budget)?;
        } else if meta.is_file() {
            fs::write(&dest, "").map_err(io(&dest))?;
        }
    }
    Ok(())
}

/// fail2ban's version as its client prints it (`Fail2Ban v1.0.2`), on this
/// machine (`--root /`).
pub fn host_version() -> Option<String> {
    let client = hardkit_core::program::find_program("fail2ban-client")?;
    let out = std::process::Command::new(client)
        .arg("--version")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let word = text.split_whitespace().find(|w| {
        w.trim_start_matches(['v', 'V'])
            .starts_with(|c: char| c.is_ascii_digit())
    })?;
    Some(word.trim_start_matches(['v', 'V']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_skeleton_has_names_only_and_stays_in_the_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let logs = tmp.path().join("var/log");
        fs::create_dir_all(logs.join("nginx")).unwrap();
        fs::write(logs.join("auth.log"), "secret line\n").unwrap();
        fs::write(logs.join("nginx/error.log"), "x").unwrap();
        // A link in the image pointing at this machine's /etc: read inside the tree.
        std::os::unix::fs::symlink("/etc", logs.join("etc")).unwrap();
        let root = Root::new(tmp.path()).unwrap();
        let skel = log_skeleton(&root).unwrap();
        assert_eq!(fs::read(skel.path().join("auth.log")).unwrap(), b"");
        assert!(skel.path().join("nginx/error.log").is_file());
        assert!(!skel.path().join("etc/passwd").exists());
    }
}
