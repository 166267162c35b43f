//! svcacct: least-privilege service accounts, hardened systemd units, and an
//! audit that scores units exactly as `systemd-analyze security` of the
//! target's systemd release (252, 257, 262).
//!
//! - [`names`]: validated account names, paths, ports, commands, networks;
//! - [`unit_file`]: unit files and drop-ins as systemd reads them;
//! - [`exposure`]: systemd-analyze security's table and score;
//! - [`accounts`]: /etc/passwd, /etc/group, /etc/shadow under --root;
//! - [`account_files`]: accounts added under --root by editing those files (no NSS);
//! - [`sudoers`]: /etc/sudoers and its includes, and what a rule grants;
//! - [`plan`]: the steps that set a service up;
//! - [`profile`]: what common AI workloads need from their unit (ollama, vLLM, agents, jupyter);
//! - [`generated_files`]: the unit, sudoers, logrotate, sysusers.d and tmpfiles.d texts;
//! - [`apply`]: carrying them out idempotently and atomically;
//! - [`audit`]: findings about a service and its account;
//! - [`agent`]: an agent the operator installed: can it reach any host, is what it runs recorded;
//! - [`cli`]: the command line.

pub mod account_files;
pub mod agent;
pub mod apply;
pub mod audit;
pub mod cli;
pub mod containers;
pub mod existing_unit;
pub mod exposure;
pub mod generated_files;
pub mod names;
pub mod plan;
pub mod profile;
pub mod unit_file;

/// Shared with sshd-lint (who can log in, who can become root).
pub use hardkit_core::{accounts, sudoers};
