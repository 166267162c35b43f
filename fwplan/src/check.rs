//! `fwplan check FILE`: would the target's own nft accept this file as its
//! `/etc/nftables.conf`? Nothing is loaded anywhere.
//!
//! The judge is the target's nft, of the target's release (nftables 1.0.6
//! on Debian 12, 1.1.3 on Debian 13, ...): under `--root` the tree's
//! `/usr/sbin/nft`. The tree is an image that may be hostile, so its program
//! runs in [`hardkit_core::sandbox`] (a stranger uid in namespaces of its
//! own, the tree read-only, no network; `nft -c` needs only the empty
//! network namespace it owns there), never as root in a chroot. The
//! candidate is handed to it in its scratch space, and its includes
//! (`/etc/nftables.d/*.nft`) are the tree's own files, because the tree is
//! its root.
//!
//! A tree without nft (a partial image, a test fixture) is judged by this
//! machine's nft, in the same sandbox over this machine's files, on copies
//! whose includes were resolved in the tree ([`nft_include`]); the output
//! says so.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hardkit_core::release::{self, ReleaseRecord, ReleaseSource};
use hardkit_core::sandbox::{Sandbox, SandboxOutput};
use hardkit_core::Root;

use crate::nft_include;

/// Where Debian's nftables package puts nft.
pub const NFT: &str = "/usr/sbin/nft";
/// The candidate's place in the sandbox's scratch space.
const SCRATCH: &str = "/run/fwplan-check";
/// A ruleset with a 100,000-entry set takes a few seconds to check.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Which nft judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judge {
    /// The tree's own (for `--root /`, this machine's: the same thing), at
    /// this path inside the tree.
    Tree(PathBuf),
    /// The tree has none: this machine's, at this path.
    ThisMachine(PathBuf),
}

impl Judge {
    pub fn for_root(root: &Root) -> Option<Judge> {
        if root.is_host() {
            return hardkit_core::program::find_program("nft").map(Judge::Tree);
        }
        if hardkit_core::program::in_tree(root, NFT) {
            return Some(Judge::Tree(PathBuf::from(NFT)));
        }
        hardkit_core::program::find_program("nft").map(Judge::ThisMachine)
    }

    /// For messages: "the tree's own nft", "this machine's nft (the tree has none)".
    pub fn describe(&self, root: &Root) -> String {
        match self {
            Judge::Tree(_) if root.is_host() => "this machine's nft".into(),
            Judge::Tree(_) => format!("{}'s own nft", root.dir().display()),
            Judge::ThisMachine(_) => format!(
                "this machine's nft ({} has none; its includes read from the tree)",
                root.dir().display()
            ),
        }
    }

    /// The judge's release: nftables' version in the package database of
    /// the system it belongs to.
    pub fn release(&self, root: &Root) -> ReleaseRecord {
        let owner = match self {
            Judge::Tree(_) => root.clone(),
            Judge::ThisMachine(_) => Root::host(),
        };
        let version = release::dpkg_version(&owner, "nftables");
        ReleaseRecord {
            program: "nftables".into(),
            model: version.clone().unwrap_or_else(|| "unknown".into()),
            version: version.unwrap_or_else(|| "unknown".into()),
            source: ReleaseSource::Dpkg,
        }
    }
}

/// Turns the paths the sandboxed nft saw into the system paths they stand for.
type MapMessage = Box<dyn Fn(&str) -> String>;

/// What the judge said.
#[derive(Debug)]
pub struct Verdict {
    pub accepted: bool,
    /// nft's message, with the candidate's and the copies' paths replaced
    /// by the system paths they stand for.
    pub message: String,
    /// Where nft says the (first) error is.
    pub location: Option<(PathBuf, u64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(
        "no nft to check with: neither {tree} nor this machine has one (apt-get install nftables)"
    )]
    NoNft { tree: String },
    #[error("{}{}: {message}", .path.display(), .line.map(|l| format!(":{l}")).unwrap_or_default())]
    Include {
        path: PathBuf,
        line: Option<u64>,
        message: String,
    },
    #[error("cannot run nft in the sandbox: {0}")]
    Sandbox(#[from] hardkit_core::sandbox::SandboxError),
    #[error("{0}")]
    Root(#[from] hardkit_core::root::RootError),
    #[error("{0} has neither /run nor /tmp, where the sandbox would give nft the file")]
    NoScratch(String),
    #[error("nft was killed by signal {0} in the sandbox")]
    Killed(i32),
}

/// Check `contents` as the file at the system path `system` of the tree.
pub fn check(
    root: &Root,
    judge: &Judge,
    system: &Path,
    contents: &[u8],
) -> Result<Verdict, CheckError> {
    let scratch = PathBuf::from(SCRATCH);
    let (out, map): (SandboxOutput, MapMessage) = match judge {
        Judge::Tree(nft) => {
            let base = hardkit_core::sandbox::scratch_dir(root)
                .ok_or_else(|| CheckError::NoScratch(root.dir().display().to_string()))?;
            let candidate = Path::new(base).join("fwplan-check/nftables.conf");
            let out = Sandbox::new(root)
                .with_file(&candidate.to_string_lossy(), contents.to_vec())
                .timeout(TIMEOUT)
                .run(
                    &nft.to_string_lossy(),
                    &[OsStr::new("-c"), OsStr::new("-f"), candidate.as_os_str()],
                    b"",
                )?;
            let from = candidate.to_string_lossy().into_owned();
            let to = system.to_string_lossy().into_owned();
            (out, Box::new(move |m: &str| m.replace(&from, &to)))
        }
        Judge::ThisMachine(nft) => {
            let prepared = nft_include::prepare_candidate(root, system, contents, &scratch)
                .map_err(|e| CheckError::Include {
                    path: e.path,
                    line: e.line,
                    message: e.message,
                })?;
            let out = Sandbox::new(&Root::host())
                .make_dir(SCRATCH)
                .input_over(prepared.dir(), SCRATCH)
                .timeout(TIMEOUT)
                .run(
                    &nft.to_string_lossy(),
                    &[
                        OsStr::new("-c"),
                        OsStr::new("-f"),
                        prepared.main().as_os_str(),
                    ],
                    b"",
                )?;
            (out, Box::new(move |m: &str| prepared.map_message(m)))
        }
    };
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&out.status) {
        return Err(CheckError::Killed(signal));
    }
    let mut message = String::from_utf8_lossy(&out.stderr).into_owned();
    if message.is_empty() {
        message = String::from_utf8_lossy(&out.stdout).into_owned();
    }
    let message = map(&message);
    let location = first_location(&message);
    Ok(Verdict {
        accepted: out.status.success(),
        message,
        location,
    })
}

/// The first `PATH:LINE:` of nft's message that is not an "In file
/// included from" line.
fn first_location(message: &str) -> Option<(PathBuf, u64)> {
    for line in message.lines() {
        if line.starts_with("In file included from") || !line.starts_with('/') {
            continue;
        }
        let mut parts = line.splitn(3, ':');
        let (Some(path), Some(n)) = (parts.next(), parts.next()) else {
            continue;
        };
        if let Ok(n) = n.parse() {
            return Some((PathBuf::from(path), n));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_location_skips_include_lines() {
        let m = "In file included from /etc/nftables.conf:3:1-30:\n\
                 /etc/nftables.d/a.nft:7:5-9: Error: syntax error\n";
        assert_eq!(
            first_location(m),
            Some((PathBuf::from("/etc/nftables.d/a.nft"), 7))
        );
        assert_eq!(first_location("Error: nothing\n"), None);
    }

    #[test]
    fn a_tree_without_nft_is_judged_by_this_machine_and_says_so() {
        let t = tempfile::tempdir().unwrap();
        let root = Root::new(t.path()).unwrap();
        if let Some(judge) = Judge::for_root(&root) {
            assert!(matches!(judge, Judge::ThisMachine(_)));
            assert!(judge.describe(&root).contains("has none"));
        }
    }
}
