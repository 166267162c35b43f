//! Which systemd's `systemd-analyze security` the table imitates.
//!
//! systemd changes the table between releases (a row's reading, the values a
//! setting accepts), so the release is part of every assessment: detected
//! from the target (dpkg's `systemd` package under `--root`, `systemctl
//! --version` on the host), or forced with `--systemd`. Rows carry the
//! releases they hold for (`since`/`until`, see `rows.rs`); a release between
//! two modelled ones is assessed by those version bounds, and one newer than
//! the newest modelled gets the newest model and a finding naming both.

use std::fmt;
use std::process::Command;

use hardkit_core::release::{dpkg_version, ReleaseRecord, ReleaseSource};
use hardkit_core::{Finding, Root, Severity};

/// A systemd release by its major number (`252`, `257`): the unit of
/// systemd's own versioning (`systemd 257 (257.13-1~deb13u1)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Systemd(pub u32);

/// The releases whose `systemd-analyze security --offline=true` the table
/// has been compared with, row by row (docs/svcacct.md: Debian 12's 252,
/// Debian 13's 257, Debian testing's 262).
pub const MODELLED: &[Systemd] = &[Systemd(252), Systemd(257), Systemd(262)];

impl Systemd {
    pub const OLDEST: Systemd = MODELLED[0];
    pub const NEWEST: Systemd = MODELLED[MODELLED.len() - 1];

    /// The major release in a version as dpkg (`252.39-1~deb12u2`), systemd
    /// (`257.13`, `262~rc1`) or `--systemd` (`257`) spells it.
    pub fn parse(version: &str) -> Option<Systemd> {
        let digits: String = version
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        let rest = &version.trim()[digits.len()..];
        if digits.is_empty() || digits.len() > 4 {
            return None;
        }
        if !(rest.is_empty() || rest.starts_with(['.', '-', '~', '+', ' '])) {
            return None;
        }
        digits.parse().ok().map(Systemd)
    }

    /// The release whose rules apply: itself, or the newest modelled one
    /// when it is newer than that (the caller reports it), or the oldest
    /// when it is older.
    pub fn model(self) -> Systemd {
        self.clamp(Systemd::OLDEST, Systemd::NEWEST)
    }
}

impl fmt::Display for Systemd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The first release seen naming a template analysed on its own
/// `NAME@test_instance` (257; 252 names it `NAME@i`; 253-256 were not
/// compared and are taken as 252 here).
pub const TEST_INSTANCE_SINCE: u32 = 257;

/// The instance `release`'s systemd-analyze gives a bare template (a
/// `NAME@.service` file or name): what `%i` in it expands to.
pub fn template_instance(release: Systemd) -> &'static str {
    if release.0 >= TEST_INSTANCE_SINCE {
        "test_instance"
    } else {
        "i"
    }
}

/// The release found for a target, and where from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    /// As found (dpkg's full version, systemctl's first line's number, the flag).
    pub version: String,
    pub release: Option<Systemd>,
    pub source: ReleaseSource,
}

impl Detected {
    /// The release whose rules are used.
    pub fn model(&self) -> Systemd {
        self.release.map_or(Systemd::NEWEST, Systemd::model)
    }

    /// The `release` record.
    pub fn record(&self) -> ReleaseRecord {
        ReleaseRecord {
            program: "systemd".into(),
            version: self.version.clone(),
            model: self.model().to_string(),
            source: self.source,
        }
    }

    /// A finding when the rules used are not the release's own.
    pub fn finding(&self) -> Option<Finding> {
        let model = self.model();
        let severity = if self.release.is_some() {
            Severity::Low
        } else {
            Severity::Info
        };
        let (id, what) = match self.release {
            Some(r) if r > Systemd::NEWEST => (
                "svcacct/systemd-release-newer",
                format!(
                    "systemd {} is newer than the newest release svcacct models ({model})",
                    self.version
                ),
            ),
            Some(r) if r < Systemd::OLDEST => (
                "svcacct/systemd-release-older",
                format!(
                    "systemd {} is older than the oldest release svcacct models ({model})",
                    self.version
                ),
            ),
            Some(_) => return None,
            None if self.source == ReleaseSource::Default => (
                "svcacct/systemd-release-unknown",
                "no systemd release found on the target".to_string(),
            ),
            None => (
                "svcacct/systemd-release-unknown",
                format!("cannot read a systemd release in '{}'", self.version),
            ),
        };
        Some(
            Finding::new(
                id,
                severity,
                what,
                format!(
                    "Exposure scores follow systemd {model}'s systemd-analyze security and may differ from this release's."
                ),
            )
            .fix("compare with the target's own `systemd-analyze security --offline=true`, or force a release with --systemd")
            .evidence("version", &self.version)
            .evidence("model", model.0),
        )
    }
}

/// `--systemd VERSION`: a release number such as 252, 257 or 257.13.
pub fn from_flag(value: &str) -> Result<Detected, String> {
    let release = Systemd::parse(value)
        .ok_or_else(|| format!("'{value}' is not a systemd release such as 252 or 257"))?;
    Ok(Detected {
        version: value.trim().to_string(),
        release: Some(release),
        source: ReleaseSource::Flag,
    })
}

/// The target's systemd: dpkg's `systemd` package under a `--root` other
/// than /, else `systemctl --version` (the host's own program), else none
/// (the newest model, and a finding).
pub fn detect(root: &Root) -> Detected {
    if let Some(version) = dpkg_version(root, "systemd") {
        if !root.is_host() {
            return Detected {
                release: Systemd::parse(strip_epoch(&version)),
                version,
                source: ReleaseSource::Dpkg,
            };
        }
    }
    if root.is_host() {
        if let Some(version) = systemctl_version() {
            return Detected {
                release: Systemd::parse(&version),
                version,
                source: ReleaseSource::Program,
            };
        }
    }
    Detected {
        version: "unknown".into(),
        release: None,
        source: ReleaseSource::Default,
    }
}

fn strip_epoch(version: &str) -> &str {
    version.split_once(':').map_or(version, |(_, v)| v)
}

/// `systemd 252 (252.38-1~deb12u1)` → `252.38-1~deb12u1` (or `252`).
pub fn parse_systemctl_version(output: &str) -> Option<String> {
    let first = output.lines().next()?;
    let rest = first.strip_prefix("systemd ")?;
    let (major, detail) = match rest.split_once(' ') {
        Some((m, d)) => (m, d.trim()),
        None => (rest, ""),
    };
    Systemd::parse(major)?;
    let full = detail
        .strip_prefix('(')
        .and_then(|d| d.strip_suffix(')'))
        .filter(|d| Systemd::parse(d).is_some());
    Some(full.unwrap_or(major).to_string())
}

fn systemctl_version() -> Option<String> {
    let program = hardkit_core::program::find_program("systemctl")?;
    let out = Command::new(program).arg("--version").output().ok()?;
    parse_systemctl_version(&String::from_utf8_lossy(&out.stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_debian_and_systemd_spell_them() {
        assert_eq!(Systemd::parse("252.39-1~deb12u2"), Some(Systemd(252)));
        assert_eq!(Systemd::parse("257.13-1~deb13u1"), Some(Systemd(257)));
        assert_eq!(Systemd::parse("263~rc1-1"), Some(Systemd(263)));
        assert_eq!(Systemd::parse("257"), Some(Systemd(257)));
        for bad in ["", "v257", "257x", "abc", "99999"] {
            assert_eq!(Systemd::parse(bad), None, "{bad}");
        }
        assert_eq!(
            parse_systemctl_version("systemd 252 (252.38-1~deb12u1)\n+PAM +AUDIT\n").as_deref(),
            Some("252.38-1~deb12u1")
        );
        assert_eq!(
            parse_systemctl_version("systemd 257 (257.13)\n").as_deref(),
            Some("257.13")
        );
        assert_eq!(parse_systemctl_version("bash 5.2\n"), None);
    }

    #[test]
    fn newer_than_modelled_uses_the_newest_and_says_so() {
        let d = Detected {
            version: "263.1-1".into(),
            release: Systemd::parse("263.1-1"),
            source: ReleaseSource::Dpkg,
        };
        assert_eq!(d.model(), Systemd::NEWEST);
        let f = d.finding().expect("a finding");
        assert_eq!(f.id, "svcacct/systemd-release-newer");
        assert!(f.title.contains("263.1-1") && f.title.contains(&Systemd::NEWEST.to_string()));
        let r = d.record();
        assert_eq!((r.version.as_str(), r.model.as_str()), ("263.1-1", "262"));

        let ok = from_flag("252").unwrap();
        assert_eq!((ok.model(), ok.finding()), (Systemd(252), None));
        // A release between two modelled ones keeps its own number: the
        // rows' since/until decide.
        assert_eq!(from_flag("255").unwrap().model(), Systemd(255));
        assert_eq!(from_flag("249").unwrap().model(), Systemd(252));
        assert!(from_flag("249").unwrap().finding().is_some());
        assert!(from_flag("two").is_err());
    }
}
