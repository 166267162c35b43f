//! Which release of a program a tool imitates, and how it knows.
//!
//! A tool that reads a configuration as OpenSSH, systemd or fail2ban would
//! must follow the rules of the release installed on the target, so each one
//! detects it from the target (the package database under `--root`, the
//! program's own `--version` on the host), lets a flag force it, and says
//! which rules it used: once in human output, as one [`ReleaseRecord`] in
//! JSON, before the findings.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::record::Record;
use crate::root::Root;

/// Where the release came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseSource {
    /// A command-line flag (`--openssh 10.0`).
    Flag,
    /// The target's package database (`var/lib/dpkg/status`).
    Dpkg,
    /// The program itself (`sshd -V`, `systemctl --version`).
    Program,
    /// Nothing said: the newest modelled release.
    Default,
}

impl fmt::Display for ReleaseSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReleaseSource::Flag => "from the command line",
            ReleaseSource::Dpkg => "from the package database",
            ReleaseSource::Program => "from the program itself",
            ReleaseSource::Default => "none detected: the newest modelled",
        })
    }
}

/// The `release` record: which program's rules of which release a tool
/// used. `version` is what was found (Debian's full version when it came
/// from dpkg, e.g. `1:10.0p1-7+deb13u4`); `model` the modelled release whose
/// rules were applied (the same release, or the newest one modelled when
/// the target's is newer, which the tool also reports as a finding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    /// `openssh`, `systemd`, `fail2ban`, ...
    pub program: String,
    pub version: String,
    pub model: String,
    pub source: ReleaseSource,
}

impl Record for ReleaseRecord {
    const TYPE: &'static str = "release";
}

impl ReleaseRecord {
    /// One line for human output: `rules of OpenSSH 10.0 (1:10.0p1-7+deb13u4, from the package database)`.
    pub fn human(&self, display_name: &str) -> String {
        if self.version == self.model {
            format!("rules of {display_name} {} ({})", self.model, self.source)
        } else {
            format!(
                "rules of {display_name} {} ({}, {})",
                self.model, self.version, self.source
            )
        }
    }
}

/// The version of an installed package in the target's dpkg database
/// (`Status: install ok installed` only), as dpkg spells it.
pub fn dpkg_version(root: &Root, package: &str) -> Option<String> {
    let path = root.resolve("/var/lib/dpkg/status").ok()?;
    let text = std::fs::read_to_string(path).ok()?;
    dpkg_version_in(&text, package)
}

/// [`dpkg_version`] on the text of a status file.
pub fn dpkg_version_in(status: &str, package: &str) -> Option<String> {
    for stanza in status.split("\n\n") {
        let mut name = None;
        let mut version = None;
        let mut installed = false;
        for line in stanza.lines() {
            if let Some(v) = line.strip_prefix("Package: ") {
                name = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Version: ") {
                version = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Status: ") {
                installed = v.trim().ends_with(" installed");
            }
        }
        if name == Some(package) && installed {
            return version.map(str::to_string);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_only_installed_packages() {
        let status = "Package: openssh-client\nStatus: install ok installed\nVersion: 1:9.2p1-2\n\n\
                      Package: openssh-server\nStatus: install ok installed\nVersion: 1:10.0p1-7+deb13u4\n\n\
                      Package: fail2ban\nStatus: deinstall ok config-files\nVersion: 1.1.0-8\n";
        assert_eq!(
            dpkg_version_in(status, "openssh-server").as_deref(),
            Some("1:10.0p1-7+deb13u4")
        );
        assert_eq!(dpkg_version_in(status, "fail2ban"), None);
        assert_eq!(dpkg_version_in(status, "systemd"), None);
    }

    #[test]
    fn says_when_the_model_is_not_the_release() {
        let r = ReleaseRecord {
            program: "openssh".into(),
            version: "10.9p1".into(),
            model: "10.6".into(),
            source: ReleaseSource::Program,
        };
        assert_eq!(
            r.human("OpenSSH"),
            "rules of OpenSSH 10.6 (10.9p1, from the program itself)"
        );
        let mut out = Vec::new();
        crate::record::encode(&mut out, "sshd-lint", &r).unwrap();
        let json = String::from_utf8(out).unwrap();
        assert!(
            json.starts_with(r#"{"type":"release","tool":"sshd-lint","program":"openssh""#),
            "{json}"
        );
        assert!(json.contains(r#""source":"program""#), "{json}");
    }
}
