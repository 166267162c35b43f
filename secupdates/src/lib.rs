//! secupdates: does this Debian system install its security updates by
//! itself, and which ones has it not installed?
//!
//! - [`aptconf`]: apt's configuration read as apt reads it (apt.conf.d,
//!   its syntax, `#clear`, where each value was set);
//! - [`origin`]: unattended-upgrade's origin patterns and how they match
//!   an archive;
//! - [`model`]: the settings of apt's daily job and unattended-upgrades,
//!   one row each, and the Debian releases;
//! - [`system`]: the target's files (os-release, dpkg status, sources,
//!   apt's fetched lists);
//! - [`target`]: all of it gathered once;
//! - [`audit`]: the checks, one row each;
//! - [`pending`]: security updates not installed;
//! - [`apply`]: the drop-in that switches it all on;
//! - [`debversion`]: dpkg's version order.

pub mod apply;
pub mod aptconf;
pub mod audit;
pub mod cli;
pub mod debversion;
pub mod model;
pub mod origin;
pub mod pending;
pub mod system;
pub mod target;
