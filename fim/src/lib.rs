//! fim: a BLAKE3 file-integrity monitor, faster than AIDE, tamper-evident,
//! and safe on any tree.
//!
//! - [`rules`]: the rule language, the built-in rules, deepest match;
//! - [`walk`]: the traversal, in baseline order, one filesystem, no pseudo-filesystems;
//! - [`scan`]: metadata, xattrs, symlink targets, hard-link dedup, parallel scanning;
//! - [`hash`]: reading one file safely and hashing it with BLAKE3;
//! - [`packages`]: installed packages' files against dpkg's own checksums;
//! - [`perms`]: the system-wide permissions inventory;
//! - [`entry`]: the `entry` and `change` records and the path order;
//! - [`baseline`]: the baseline file, its MAC, streaming reader and writer;
//! - [`compare`]: the streaming merge of walk and baseline;
//! - [`report`]: the human incident summary;
//! - [`progress`]: the progress line on a terminal while a tree is scanned;
//! - [`cli`], [`commands`]: the command line and the four subcommands.

pub mod baseline;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod entry;
pub mod generation;
pub mod hash;
pub mod packages;
pub mod perms;
pub mod progress;
pub mod report;
pub mod rules;
pub mod scan;
pub mod walk;

pub const TOOL: &str = "fim";

/// The baseline's default system path (resolved under `--root`).
pub const DEFAULT_DB: &str = "/var/lib/hardkit/fim.db";
