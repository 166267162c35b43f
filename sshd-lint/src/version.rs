//! Which OpenSSH release's rules to follow: `--openssh 9.2`, or detected
//! from the package database under `--root`, or from `sshd -V` on the host.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use hardkit_core::Root;

/// An OpenSSH release, `major.minor` (the portable `pN` suffix does not
/// change the config language).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
}

impl Version {
    pub const fn new(major: u8, minor: u8) -> Version {
        Version { major, minor }
    }
    /// The oldest and newest releases whose rules are modelled.
    pub const OLDEST: Version = Version::new(9, 0);
    pub const NEWEST: Version = Version::new(10, 3);
    /// The one release checked against the real program in the test suite
    /// (Debian 12's OpenSSH 9.2p1).
    pub const VERIFIED: Version = Version::new(9, 2);

    pub fn is_supported(self) -> bool {
        (Version::OLDEST..=Version::NEWEST).contains(&self)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported OpenSSH version '{0}' (expected {min} to {max}, e.g. 9.2 or 9.6p1)", min = Version::OLDEST, max = Version::NEWEST)]
pub struct BadVersion(pub String);

impl FromStr for Version {
    type Err = BadVersion;

    /// Accepts `9.2`, `9.2p1`, `1:9.2p1-2+deb12u3` (a Debian version) and
    /// `OpenSSH_9.2`.
    fn from_str(s: &str) -> Result<Version, BadVersion> {
        let bad = || BadVersion(s.to_string());
        let t = s.trim();
        let t = t.strip_prefix("OpenSSH_").unwrap_or(t);
        let t = match t.split_once(':') {
            Some((epoch, rest)) if epoch.chars().all(|c| c.is_ascii_digit()) => rest,
            _ => t,
        };
        let (major, rest) = t.split_once('.').ok_or_else(bad)?;
        let minor: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        let v = Version::new(
            major.parse().map_err(|_| bad())?,
            minor.parse().map_err(|_| bad())?,
        );
        if v.is_supported() {
            Ok(v)
        } else {
            Err(bad())
        }
    }
}

/// Where the version in use came from (shown in human output and docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSource {
    Flag,
    Dpkg,
    SshdV,
    Newest,
}

/// The version of `openssh-server` in `ROOT/var/lib/dpkg/status`.
pub fn from_dpkg_status(text: &str) -> Option<Version> {
    for stanza in text.split("\n\n") {
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
        if name == Some("openssh-server") && installed {
            return version.and_then(|v| v.parse().ok());
        }
    }
    None
}

/// Detect the version: dpkg database under the root, then `sshd -V` when the
/// root is the host, else the newest supported release.
pub fn detect(root: &Root) -> (Version, VersionSource) {
    if let Ok(path) = root.resolve("/var/lib/dpkg/status") {
        if let Ok(text) = hardkit_core::input::read_regular_file(&path, 256 << 20)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
        {
            if let Some(v) = from_dpkg_status(&text) {
                return (v, VersionSource::Dpkg);
            }
        }
    }
    if root.is_host() {
        for sshd in ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"] {
            if !Path::new(sshd).exists() {
                continue;
            }
            // `sshd -V` prints "OpenSSH_9.2p1 Debian-2, OpenSSL ..." on stderr.
            if let Ok(out) = std::process::Command::new(sshd).arg("-V").output() {
                let text = String::from_utf8_lossy(&out.stderr).into_owned()
                    + &String::from_utf8_lossy(&out.stdout);
                if let Some(v) = text
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .find_map(|w| w.parse().ok())
                {
                    return (v, VersionSource::SshdV);
                }
            }
        }
    }
    (Version::NEWEST, VersionSource::Newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_debian_and_upstream_spellings() {
        assert_eq!("9.2".parse(), Ok(Version::new(9, 2)));
        assert_eq!("1:9.2p1-2+deb12u3".parse(), Ok(Version::new(9, 2)));
        assert_eq!("OpenSSH_9.6p1".parse(), Ok(Version::new(9, 6)));
        assert_eq!("10.0p2".parse(), Ok(Version::new(10, 0)));
        assert!("8.9".parse::<Version>().is_err());
        assert!("nine".parse::<Version>().is_err());
    }

    #[test]
    fn reads_the_installed_package_from_dpkg_status() {
        let status = "Package: openssh-client\nStatus: install ok installed\nVersion: 1:9.2p1-2\n\n\
                      Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.2p1-2+deb12u3\n";
        assert_eq!(from_dpkg_status(status), Some(Version::new(9, 2)));
        let removed =
            "Package: openssh-server\nStatus: deinstall ok config-files\nVersion: 1:9.2p1-2\n";
        assert_eq!(from_dpkg_status(removed), None);
    }
}
