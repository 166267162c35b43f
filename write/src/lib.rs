//! hardkit-write: how hardkit's scripts write, read and remove a system's
//! files. The scripts (first-five, monitor) order steps; every file they
//! put on a system, or into a plan directory, goes through here, that is
//! through hardkit-core's writer:
//!
//! - a system path is resolved inside `--root` as the tree's own programs
//!   would see it (a link in an image to `/etc/shadow` is the image's file,
//!   never this machine's), then
//! - its directory is opened from `/` one component at a time with
//!   `O_NOFOLLOW` ([`hardkit_core::dirfd`]): no link another user controls is
//!   followed, and a directory another user can write is refused;
//! - the file is replaced atomically ([`hardkit_core::atomic`]): a new file
//!   made `O_EXCL` beside it, mode set on the descriptor, fsynced, renamed;
//!   the previous version kept as `NAME.hardkit-bak~` on request.
//!
//! `read` is the matching way to read a system's file (in the tree, never
//! through a final link, never a FIFO or device, bounded in size).

pub mod cli;

pub const TOOL: &str = "hardkit-write";

/// Everything that stops a run; each message names the flag or the file.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Root(#[from] hardkit_core::root::RootError),
    #[error(transparent)]
    Atomic(#[from] hardkit_core::atomic::AtomicError),
    #[error(transparent)]
    Dir(#[from] hardkit_core::dirfd::DirError),
    #[error(transparent)]
    Input(#[from] hardkit_core::input::InputError),
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

impl From<std::io::Error> for WriteError {
    fn from(source: std::io::Error) -> Self {
        WriteError::File {
            path: "output".into(),
            source,
        }
    }
}
