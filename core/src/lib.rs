//! hardkit-core: only what every hardkit tool needs.
//!
//! - [`record`]: the protocol's shared records (finding, action, error,
//!   summary), their JSON Lines encoding and decoding;
//! - [`severity`]: the severity scale;
//! - [`output`]: the reporter (JSON Lines or human text, colour rules,
//!   escaping of untrusted text);
//! - [`exit`]: exit codes and the `main` wrapper (broken pipe, Ctrl-C);
//! - [`release`]: which release of a program a tool imitates (the `release`
//!   record, the target's dpkg database);
//! - [`root`]: `--root DIR` path mapping without escapes;
//! - [`sandbox`]: running a target tree's own programs unprivileged, offline,
//!   on a read-only copy of the tree;
//! - [`atomic`]: atomic, validated, backed-up file replacement;
//! - [`dirfd`]: directories opened so that no other user can redirect a
//!   root write (the base of [`atomic`]);
//! - [`diff`]: unified diffs for `--diff`;
//! - [`input`]: a path or `-`;
//! - [`cli`]: the shared command-line options;
//! - [`stream`]: reading one record type out of another tool's JSON Lines;
//! - [`tally`]: the summary's counts, and the closing `error` and `summary`
//!   of a JSON stream whose run stopped on an error;
//! - [`program`]: finding the real programs a tool hands work to;
//! - [`progress`]: whether a run may draw progress on stderr;
//! - [`bytes_path`]: non-UTF-8 paths in JSON, losslessly;
//! - [`oracle`]: for tests, finding the real programs we compare against;
//! - [`rng`]: for tests, a seeded generator (failures reproduce);
//! - `host`: facts several tools read (units enabled at boot, ufw on);
//! - `accounts`, `sudoers` (feature `accounts`, for svcacct and sshd-lint):
//!   a tree's passwd/group/shadow and sudoers read as files, and who can
//!   become root.

#[cfg(feature = "accounts")]
pub mod accounts;
pub mod atomic;
pub mod bytes_path;
pub mod cli;
pub mod diff;
pub mod dirfd;
pub mod exit;
pub mod host;
pub mod input;
pub mod oracle;
pub mod output;
pub mod program;
pub mod progress;
pub mod record;
pub mod release;
pub mod rng;
pub mod root;
pub mod sandbox;
pub mod severity;
mod signals;
pub mod stream;
#[cfg(feature = "accounts")]
pub mod sudoers;
pub mod tally;

pub use bytes_path::BytesPath;
pub use cli::CommonArgs;
pub use exit::ExitStatus;
pub use output::{Format, Reporter};
pub use record::{Action, ErrorRecord, Finding, Location, Record, Summary};
pub use root::Root;
pub use severity::Severity;
