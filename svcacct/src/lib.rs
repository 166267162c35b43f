//! svcacct: least-privilege service accounts, hardened systemd units, and an
//! audit that scores units exactly as `systemd-analyze security` (systemd 252).

pub mod exposure;
pub mod unit_file;
