//! logscan: a fast, injection-proof reader of auth, sudo, nginx and
//! fail2ban logs (hardkit issue 4).
//!
//! A line flows through [`format`] (which log shape, timestamp, host,
//! program, pid), a classifier chosen by program ([`sshd`], [`pam`],
//! [`sudo`], [`nginx`], [`fail2ban`]), and [`connection`] (fail2ban's
//! per-connection verdict for sshd), and comes out as an [`event::Event`].
//! [`summary`] and [`offenders`] analyse the events; [`follow`] keeps reading
//! growing files; [`progress`] shows how far a long read got.

pub mod address;
pub mod addrtable;
pub mod audit_log;
pub mod classify;
pub mod cli;
pub mod connection;
pub mod event;
pub mod event_stream;
pub mod fail2ban;
pub mod follow;
pub mod format;
pub mod hashing;
pub mod journal;
pub mod lines;
pub mod nginx;
pub mod offenders;
pub mod pam;
pub mod progress;
pub mod report;
pub mod scan;
pub mod sshd;
pub mod sudo;
pub mod summary;
pub mod text;
pub mod time;

pub const TOOL: &str = "logscan";
