//! Which fail2ban release's rules jailgen follows: detected from the target
//! (the tree's dpkg database under `--root`, `fail2ban-client --version` on
//! this machine), forced with `--fail2ban`, and said once (the `release`
//! record). A release newer than the newest modelled one is judged by the
//! newest model and reported as a finding naming both; never a silent
//! fallback, never a refusal to run.

use std::fmt;

use hardkit_core::release::{dpkg_version, ReleaseRecord, ReleaseSource};
use hardkit_core::{Finding, Root, Severity};

use crate::values::ValueError;

/// An upstream fail2ban version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u32, pub u32, pub u32);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl Version {
    /// The upstream version in `1.1.0`, `1.1`, `v1.0.2`, or Debian's
    /// `1.1.0-8` / `1:1.1.0-8+deb13u1` (epoch and revision dropped: no
    /// Debian revision of fail2ban changes how a jail is read).
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim();
        let text = text.split_once(':').map_or(text, |(_, v)| v);
        let text = text.rsplit_once('-').map_or(text, |(v, _)| v);
        let text = text.trim_start_matches(['v', 'V']);
        let mut parts = [0u32; 3];
        let mut count = 0;
        for (i, part) in text.split('.').enumerate() {
            if i >= 3 {
                break;
            }
            // Upstream pre-releases (`1.1.0.dev1`, `1.0.3a1`): the digits before.
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() {
                break;
            }
            parts[i] = digits.parse().ok()?;
            count += 1;
        }
        (count >= 2).then_some(Version(parts[0], parts[1], parts[2]))
    }
}

/// The releases whose rules jailgen knows: Debian 12's and Debian 13's
/// (testing's, forky, ships the same upstream release so far).
pub const MODELS: [Version; 2] = [Version(1, 0, 2), Version(1, 1, 0)];

pub fn newest() -> Version {
    MODELS[MODELS.len() - 1]
}

/// The release in force and the model judging it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub model: Version,
    pub record: ReleaseRecord,
}

impl Release {
    /// `--fail2ban VERSION` if given, else what the target has.
    pub fn detect(root: &Root, flag: Option<&str>) -> Result<Release, ValueError> {
        let (found, source) = match flag {
            Some(text) => {
                Version::parse(text).ok_or_else(|| {
                    ValueError::new(
                        "--fail2ban",
                        format!("{text:?} is not a fail2ban version such as 1.0.2 or 1.1"),
                    )
                })?;
                (Some(text.to_string()), ReleaseSource::Flag)
            }
            None if root.is_host() => (
                crate::fail2ban_program::host_version(),
                ReleaseSource::Program,
            ),
            None => (dpkg_version(root, "fail2ban"), ReleaseSource::Dpkg),
        };
        Ok(match found.as_deref().and_then(Version::parse) {
            Some(version) => Release::of(version, found.unwrap_or_default(), source),
            None => Release::of(newest(), newest().to_string(), ReleaseSource::Default),
        })
    }

    /// The model for a found version: the newest modelled release not newer
    /// than it (the oldest for anything older).
    pub fn of(version: Version, found: String, source: ReleaseSource) -> Release {
        let model = MODELS
            .iter()
            .rev()
            .find(|m| **m <= version)
            .copied()
            .unwrap_or(MODELS[0]);
        Release {
            model,
            record: ReleaseRecord {
                program: "fail2ban".into(),
                version: found,
                model: model.to_string(),
                source,
            },
        }
    }

    /// The found version, when there was one.
    pub fn found(&self) -> Option<Version> {
        match self.record.source {
            ReleaseSource::Default => None,
            _ => Version::parse(&self.record.version),
        }
    }

    /// A finding when the found release is not one jailgen models: newer
    /// than the newest (its new rules are unknown) or older than the oldest.
    pub fn unmodelled(&self) -> Option<Finding> {
        let found = self.found()?;
        let same_line = |m: &Version| (m.0, m.1) == (found.0, found.1);
        if found > newest() && !same_line(&newest()) {
            return Some(
                Finding::new(
                    "jailgen/fail2ban-release-unmodelled",
                    Severity::Low,
                    format!(
                        "fail2ban {} is newer than the newest release jailgen models ({}); judged by {}'s rules",
                        self.record.version,
                        newest(),
                        newest()
                    ),
                    "Options or values that release added or changed are not known to jailgen; `fail2ban-client -t` still validates what is written.",
                )
                .evidence("version", &self.record.version)
                .evidence("model", newest().to_string()),
            );
        }
        if found < MODELS[0] {
            return Some(
                Finding::new(
                    "jailgen/fail2ban-release-unmodelled",
                    Severity::Low,
                    format!(
                        "fail2ban {} is older than the oldest release jailgen models ({}); judged by {}'s rules",
                        self.record.version, MODELS[0], MODELS[0]
                    ),
                    "Options that release lacks may be reported as usable.",
                )
                .evidence("version", &self.record.version)
                .evidence("model", MODELS[0].to_string()),
            );
        }
        None
    }

    /// The one line of human output.
    pub fn human(&self) -> String {
        format!("jailgen: {}\n", self.record.human("fail2ban"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_as_debian_and_fail2ban_spell_them() {
        assert_eq!(Version::parse("1.1.0-8"), Some(Version(1, 1, 0)));
        assert_eq!(Version::parse("1:1.1.0-8+deb13u1"), Some(Version(1, 1, 0)));
        assert_eq!(Version::parse("v1.0.2"), Some(Version(1, 0, 2)));
        assert_eq!(Version::parse("1.1"), Some(Version(1, 1, 0)));
        assert_eq!(Version::parse("1.1.1.dev1"), Some(Version(1, 1, 1)));
        assert_eq!(Version::parse("1"), None);
        assert_eq!(Version::parse("one"), None);
    }

    #[test]
    fn the_model_is_the_newest_not_newer_and_unknown_releases_are_said() {
        let r = |v: &str| Release::of(Version::parse(v).unwrap(), v.into(), ReleaseSource::Dpkg);
        assert_eq!(r("1.0.2-2").model, Version(1, 0, 2));
        assert_eq!(r("1.1.0-8").model, Version(1, 1, 0));
        assert!(r("1.1.0-8").unmodelled().is_none());
        // A point release of a modelled line is that line's rules, silently.
        assert!(r("1.1.1-1").unmodelled().is_none());
        let newer = r("1.2.0-1");
        assert_eq!(newer.model, Version(1, 1, 0));
        let f = newer.unmodelled().unwrap();
        assert!(
            f.title.contains("1.2.0-1") && f.title.contains("1.1.0"),
            "{}",
            f.title
        );
        let older = r("0.11.2-6");
        assert_eq!(older.model, Version(1, 0, 2));
        assert!(older.unmodelled().is_some());
        assert_eq!(
            newer.human(),
            "jailgen: rules of fail2ban 1.1.0 (1.2.0-1, from the package database)\n"
        );
    }

    #[test]
    fn the_target_decides_and_the_flag_overrides() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("var/lib/dpkg")).unwrap();
        std::fs::write(
            tmp.path().join("var/lib/dpkg/status"),
            "Package: fail2ban\nStatus: install ok installed\nVersion: 1.1.0-8\n",
        )
        .unwrap();
        let root = Root::new(tmp.path()).unwrap();
        let found = Release::detect(&root, None).unwrap();
        assert_eq!(found.model, Version(1, 1, 0));
        assert_eq!(found.record.source, ReleaseSource::Dpkg);
        let forced = Release::detect(&root, Some("1.0.2")).unwrap();
        assert_eq!(
            (forced.model, forced.record.source),
            (Version(1, 0, 2), ReleaseSource::Flag)
        );
        let err = Release::detect(&root, Some("latest")).unwrap_err();
        assert!(err.to_string().contains("--fail2ban"), "{err}");
        let empty = tempfile::tempdir().unwrap();
        let none = Release::detect(&Root::new(empty.path()).unwrap(), None).unwrap();
        assert_eq!(none.record.source, ReleaseSource::Default);
        assert_eq!(none.model, newest());
    }
}
