//! Which OpenSSH release's rules to follow, and whose build: `--openssh
//! 10.0` (or `10.0-debian`: Debian's build; `10.0-upstream`: the portable
//! release as upstream ships it; or a Debian package version), detected
//! from the package database under `--root` (Debian's build, with its
//! revision: Debian backports defaults in point releases), else from the
//! target's own `sshd -V`, else the newest modelled upstream release. A
//! release newer than the newest modelled one is read with the newest model
//! and reported as a finding, never refused.

use std::fmt;
use std::str::FromStr;

use hardkit_core::release::{ReleaseRecord, ReleaseSource};
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
    pub const NEWEST: Version = Version::new(10, 6);
    /// Releases checked against the real program in the test suite
    /// (Debian 12's 9.2p1, Debian 13's 10.0p2, Debian testing's 10.6p1).
    pub const VERIFIED: &'static [Version] =
        &[Version::new(9, 2), Version::new(10, 0), Version::new(10, 6)];

    /// The release whose rules apply: this one, or the newest modelled.
    pub fn model(self) -> Version {
        self.min(Version::NEWEST)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported OpenSSH version '{0}' (expected {min} or later, e.g. 9.2, 9.6p1, 10.0-upstream or 1:10.0p1-7+deb13u4)", min = Version::OLDEST)]
pub struct BadVersion(pub String);

impl FromStr for Version {
    type Err = BadVersion;

    /// Accepts `9.2`, `9.2p1`, `1:9.2p1-2+deb12u3` (a Debian version) and
    /// `OpenSSH_9.2`. Any release from 9.0 on: one newer than the newest
    /// modelled is read with the newest model (see [`Version::model`]).
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
        if v >= Version::OLDEST {
            Ok(v)
        } else {
            Err(bad())
        }
    }
}

/// Whose build: upstream's portable release, or Debian's package (GSS-API
/// key exchange patch, DebianBanner, its own IPQoS default per revision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavour {
    Upstream,
    Debian,
}

/// The Debian revision of a package version: `7+deb13u4` of
/// `1:10.0p1-7+deb13u4` (revision 7, stable update 4 of Debian 13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DebianRevision {
    pub revision: u32,
    /// (Debian release, update number) of a `+debNuM` suffix.
    pub stable_update: Option<(u32, u32)>,
}

impl DebianRevision {
    /// Parse the part after the last `-` of a Debian version.
    pub fn parse(version: &str) -> Option<DebianRevision> {
        let (_, rev) = version.rsplit_once('-')?;
        let digits: String = rev.chars().take_while(|c| c.is_ascii_digit()).collect();
        let revision = digits.parse().ok()?;
        let stable_update = rev.split_once("+deb").and_then(|(_, s)| {
            let (rel, upd) = s.split_once('u')?;
            let upd: String = upd.chars().take_while(|c| c.is_ascii_digit()).collect();
            Some((rel.parse().ok()?, upd.parse().ok()?))
        });
        Some(DebianRevision {
            revision,
            stable_update,
        })
    }

    /// At least revision `revision` with stable update `deb`u`update`
    /// (a later revision counts as including the update).
    pub fn at_least(&self, revision: u32, deb: u32, update: u32) -> bool {
        match self.revision.cmp(&revision) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => self
                .stable_update
                .is_some_and(|(d, u)| d > deb || (d == deb && u >= update)),
        }
    }
}

/// The release in force on the target, whose rules are used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// As found: `1:10.0p1-7+deb13u4`, `OpenSSH_9.2p1`, `10.0`.
    pub found: String,
    pub version: Version,
    pub flavour: Flavour,
    pub debian: Option<DebianRevision>,
    pub source: ReleaseSource,
}

impl Release {
    /// The release the rules are taken from.
    pub fn model(&self) -> Version {
        self.version.model()
    }

    /// A Debian build of `version` at `revision`+deb`deb`u`update` or later.
    pub fn debian_at_least(&self, version: Version, revision: u32, deb: u32, update: u32) -> bool {
        self.flavour == Flavour::Debian
            && (self.model() > version
                || (self.model() == version
                    && self
                        .debian
                        .is_some_and(|r| r.at_least(revision, deb, update))))
    }

    /// Can this build load DSA keys? Upstream leaves DSA out at compile
    /// time from 9.8 (`--enable-dsa-keys` brings it back) and removed it in
    /// 10.0; Debian's build keeps it until 10.0.
    pub fn has_dsa(&self) -> bool {
        let v = self.model();
        v < Version::new(10, 0) && (self.flavour == Flavour::Debian || v < Version::new(9, 8))
    }

    /// sshd's version string (`SSH_RELEASE`), which `Match Version`
    /// compares: `OpenSSH_10.0p2`, with the portable suffix when known.
    pub fn sshd_release(&self) -> String {
        let t = self.found.trim_start_matches("OpenSSH_");
        let t = t.split_once(':').map_or(t, |(_, r)| r);
        let portable: String = t
            .split_once('p')
            .map(|(_, p)| p.chars().take_while(|c| c.is_ascii_digit()).collect())
            .unwrap_or_default();
        if portable.is_empty() || self.version > Version::NEWEST {
            format!("OpenSSH_{}", self.version)
        } else {
            format!("OpenSSH_{}p{portable}", self.version)
        }
    }

    pub fn record(&self) -> ReleaseRecord {
        let flavour = match self.flavour {
            Flavour::Debian => "debian",
            Flavour::Upstream => "upstream",
        };
        ReleaseRecord {
            program: "openssh".into(),
            version: self.found.clone(),
            model: format!("{}-{flavour}", self.model()),
            source: self.source,
        }
    }

    /// Parse a `--openssh` value: `10.0` or `10.0-debian` (Debian's build),
    /// `10.0-upstream`, or a Debian package version.
    pub fn from_flag(s: &str) -> Result<Release, BadVersion> {
        let t = s.trim();
        let (text, flavour) = if let Some(v) = t.strip_suffix("-upstream") {
            (v, Flavour::Upstream)
        } else if let Some(v) = t.strip_suffix("-debian") {
            (v, Flavour::Debian)
        } else {
            (t, Flavour::Debian)
        };
        let version: Version = text.parse()?;
        let debian = if flavour == Flavour::Debian {
            DebianRevision::parse(text)
        } else {
            None
        };
        Ok(Release {
            found: t.to_string(),
            version,
            flavour,
            debian,
            source: ReleaseSource::Flag,
        })
    }

    /// Debian's build of `v` with no known revision.
    pub fn debian(v: Version) -> Release {
        Release {
            found: v.to_string(),
            version: v,
            flavour: Flavour::Debian,
            debian: None,
            source: ReleaseSource::Flag,
        }
    }
}

impl FromStr for Release {
    type Err = BadVersion;
    fn from_str(s: &str) -> Result<Release, BadVersion> {
        Release::from_flag(s)
    }
}

/// The installed `openssh-server` of a dpkg status file, as Debian's build.
pub fn from_dpkg_status(text: &str) -> Option<Release> {
    let found = hardkit_core::release::dpkg_version_in(text, "openssh-server")?;
    Some(Release {
        version: found.parse().ok()?,
        debian: DebianRevision::parse(&found),
        found,
        flavour: Flavour::Debian,
        source: ReleaseSource::Dpkg,
    })
}

/// The release an sshd binary is, read from its bytes (never run): the
/// version string it carries (`OpenSSH_10.3p1`, `OpenSSH_10.0`: the one
/// whole string of that form, not the compatibility patterns such as
/// `OpenSSH_7.0*`), and Debian's build (or Ubuntu's, which carries Debian's
/// patches) when its keyword table has Debian's `debianbanner`. `sshd -V`
/// would not do: Debian's prints `OpenSSH_9.2` like upstream's, and a
/// tree's program is not run for this.
pub fn from_sshd_binary(bytes: &[u8]) -> Option<Release> {
    let mut best: Option<(Version, String)> = None;
    for piece in bytes.split(|b| *b == 0) {
        let Some(text) = piece.strip_prefix(b"OpenSSH_") else {
            continue;
        };
        let Ok(text) = std::str::from_utf8(text) else {
            continue;
        };
        let release = text.split(' ').next().unwrap_or("");
        let (major, rest) = match release.split_once('.') {
            Some(x) => x,
            None => continue,
        };
        let (minor, portable) = match rest.split_once('p') {
            Some((m, p)) => (m, Some(p)),
            None => (rest, None),
        };
        let digits =
            |t: &str| !t.is_empty() && t.len() <= 3 && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(major) || !digits(minor) || portable.is_some_and(|p| !digits(p)) {
            continue;
        }
        let Ok(v) = format!("{major}.{minor}").parse::<Version>() else {
            continue;
        };
        // The fullest spelling wins: `OpenSSH_9.2p1 Debian-2+deb12u10`
        // over `OpenSSH_9.2`.
        let found = format!("OpenSSH_{text}");
        if best.as_ref().is_none_or(|(_, f)| found.len() > f.len()) {
            best = Some((v, found));
        }
    }
    let (version, found) = best?;
    let debian = bytes
        .windows(b"\0debianbanner\0".len())
        .any(|w| w == b"\0debianbanner\0")
        || found.contains(" Debian-")
        || found.contains(" Ubuntu-");
    Some(Release {
        found,
        version,
        flavour: if debian {
            Flavour::Debian
        } else {
            Flavour::Upstream
        },
        debian: None,
        source: ReleaseSource::Program,
    })
}

/// Detect the release: the dpkg database under the root (Debian's build),
/// then the target's own sshd binary, read as data, else the newest
/// modelled upstream release.
pub fn detect(root: &Root) -> Release {
    if let Ok(path) = root.resolve("/var/lib/dpkg/status") {
        if let Ok(text) = hardkit_core::input::read_regular_file(&path, 256 << 20)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
        {
            if let Some(r) = from_dpkg_status(&text) {
                return r;
            }
        }
    }
    for sshd in ["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd"] {
        // Resolved inside the tree: a link in an image cannot point this
        // at a file of the host.
        let Ok(path) = root.resolve(sshd) else {
            continue;
        };
        if let Ok(bytes) = hardkit_core::input::read_regular_file(&path, 64 << 20) {
            if let Some(r) = from_sshd_binary(&bytes) {
                return r;
            }
        }
    }
    Release {
        found: Version::NEWEST.to_string(),
        version: Version::NEWEST,
        flavour: Flavour::Upstream,
        debian: None,
        source: ReleaseSource::Default,
    }
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
        // Newer than modelled: accepted, read with the newest model.
        let v: Version = "11.2p1".parse().unwrap();
        assert_eq!(v.model(), Version::NEWEST);
    }

    #[test]
    fn reads_the_installed_package_and_its_revision_from_dpkg_status() {
        let status = "Package: openssh-client\nStatus: install ok installed\nVersion: 1:9.2p1-2\n\n\
                      Package: openssh-server\nStatus: install ok installed\nVersion: 1:10.0p1-7+deb13u4\n";
        let r = from_dpkg_status(status).unwrap();
        assert_eq!(r.version, Version::new(10, 0));
        assert_eq!(r.flavour, Flavour::Debian);
        assert_eq!(
            r.debian,
            Some(DebianRevision {
                revision: 7,
                stable_update: Some((13, 4))
            })
        );
        assert_eq!(r.record().version, "1:10.0p1-7+deb13u4");
        assert_eq!(r.record().model, "10.0-debian");
        let removed =
            "Package: openssh-server\nStatus: deinstall ok config-files\nVersion: 1:9.2p1-2\n";
        assert_eq!(from_dpkg_status(removed), None);
    }

    #[test]
    fn an_sshd_binary_names_its_release_and_whose_build() {
        let bin = |parts: &[&str]| {
            let mut b = b"\x7fELF\0junk\0".to_vec();
            for p in parts {
                b.extend_from_slice(p.as_bytes());
                b.push(0);
            }
            b
        };
        let d = from_sshd_binary(&bin(&[
            "OpenSSH_9.2",
            "OpenSSH_9.2p1 Debian-2+deb12u10",
            "OpenSSH_7.0*,OpenSSH_7.1*",
            "debianbanner",
        ]))
        .unwrap();
        assert_eq!(
            (d.version, d.flavour),
            (Version::new(9, 2), Flavour::Debian)
        );
        assert_eq!(d.found, "OpenSSH_9.2p1 Debian-2+deb12u10");
        let t = from_sshd_binary(&bin(&["OpenSSH_10.0", "OpenSSH_3.*", "debianbanner"])).unwrap();
        assert_eq!(
            (t.version, t.flavour),
            (Version::new(10, 0), Flavour::Debian)
        );
        let u = from_sshd_binary(&bin(&[
            "OpenSSH_10.3p1",
            "OpenSSH_10.3",
            "OpenSSH_2*,OpenSSH_3*",
        ]))
        .unwrap();
        assert_eq!(
            (u.version, u.flavour),
            (Version::new(10, 3), Flavour::Upstream)
        );
        assert_eq!(u.found, "OpenSSH_10.3p1");
        assert_eq!(from_sshd_binary(&bin(&["OpenSSH_7.0*", "hello"])), None);
        assert_eq!(from_sshd_binary(b"no version here"), None);
    }

    #[test]
    fn debian_point_releases_compare_by_revision_then_update() {
        let at = |v: &str| Release::from_flag(v).unwrap();
        let ten = Version::new(10, 0);
        assert!(at("1:10.0p1-7+deb13u3").debian_at_least(ten, 7, 13, 3));
        assert!(at("1:10.0p1-7+deb13u4").debian_at_least(ten, 7, 13, 3));
        assert!(!at("1:10.0p1-7+deb13u2").debian_at_least(ten, 7, 13, 3));
        assert!(!at("1:10.0p1-7").debian_at_least(ten, 7, 13, 3));
        assert!(at("1:10.0p1-8").debian_at_least(ten, 7, 13, 3));
        assert!(at("10.6").debian_at_least(ten, 7, 13, 3));
        assert!(!at("10.6-upstream").debian_at_least(ten, 7, 13, 3));
        assert_eq!(at("10.0-upstream").flavour, Flavour::Upstream);
    }
}
