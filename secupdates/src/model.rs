//! What hardkit knows of the programs that apply updates, one row per
//! setting and per release: apt's periodic job (`apt.systemd.daily`, run by
//! apt-daily.timer and apt-daily-upgrade.timer) and unattended-upgrades, as
//! shipped by Debian 12 (apt 2.6, unattended-upgrades 2.9), 13 (apt 3.0,
//! 2.12) and testing (apt 3.3, 2.13). The settings and their defaults are
//! the same in all three: the rows carry the release they were read from
//! so that a release that changes one adds a row, not a branch.

use hardkit_core::release::{ReleaseRecord, ReleaseSource};

use crate::debversion;

/// Who reads a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// `/usr/lib/apt/apt.systemd.daily` (apt-config shell).
    AptDaily,
    /// `/usr/bin/unattended-upgrade` (python-apt).
    UnattendedUpgrade,
}

/// One setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub key: &'static str,
    pub reader: Reader,
    /// The value when no file sets it (None: a list, empty).
    pub default: Option<&'static str>,
    /// The first modelled release of unattended-upgrades that reads it.
    pub since: &'static str,
    pub meaning: &'static str,
}

pub const ENABLE: &str = "APT::Periodic::Enable";
pub const UPDATE_LISTS: &str = "APT::Periodic::Update-Package-Lists";
pub const UNATTENDED: &str = "APT::Periodic::Unattended-Upgrade";
pub const ORIGINS_PATTERN: &str = "Unattended-Upgrade::Origins-Pattern";
pub const ALLOWED_ORIGINS: &str = "Unattended-Upgrade::Allowed-Origins";
pub const AUTO_REBOOT: &str = "Unattended-Upgrade::Automatic-Reboot";
pub const AUTO_REBOOT_TIME: &str = "Unattended-Upgrade::Automatic-Reboot-Time";

pub const SETTINGS: &[Setting] = &[
    Setting {
        key: ENABLE,
        reader: Reader::AptDaily,
        default: Some("1"),
        since: "2.9",
        meaning: "0 turns the whole daily apt job off (only a number equal to 0 does: the script tests it with -eq)",
    },
    Setting {
        key: UPDATE_LISTS,
        reader: Reader::AptDaily,
        default: Some("0"),
        since: "2.9",
        meaning: "how often apt-daily.service runs apt-get update: days, or a number with s, m, h, d; 0 never, always every run",
    },
    Setting {
        key: UNATTENDED,
        reader: Reader::AptDaily,
        default: Some("0"),
        since: "2.9",
        meaning: "how often apt-daily-upgrade.service runs unattended-upgrade, in the same units; 0 never",
    },
    Setting {
        key: ORIGINS_PATTERN,
        reader: Reader::UnattendedUpgrade,
        default: None,
        since: "2.9",
        meaning: "the archives packages are upgraded from: key=value,... (o, l, a, c, n, site) matched as globs",
    },
    Setting {
        key: ALLOWED_ORIGINS,
        reader: Reader::UnattendedUpgrade,
        default: None,
        since: "2.9",
        meaning: "the old form of the same: ORIGIN:SUITE",
    },
    Setting {
        key: AUTO_REBOOT,
        reader: Reader::UnattendedUpgrade,
        default: Some("false"),
        since: "2.9",
        meaning: "reboot by itself when an upgrade asks for it (/var/run/reboot-required)",
    },
    Setting {
        key: AUTO_REBOOT_TIME,
        reader: Reader::UnattendedUpgrade,
        default: Some("now"),
        since: "2.9",
        meaning: "when that reboot happens (HH:MM, or now)",
    },
];

/// The row of a setting.
pub fn setting(key: &str) -> &'static Setting {
    SETTINGS
        .iter()
        .find(|s| s.key == key)
        .unwrap_or(&SETTINGS[0])
}

/// A Debian release as its security archive names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DebianRelease {
    pub codename: &'static str,
    pub version: &'static str,
    /// Its suite today (the security archive's Suite is this plus
    /// `-security`).
    pub suite: &'static str,
    /// Whether Debian's security team publishes a `CODENAME-security` archive.
    pub has_security_archive: bool,
    /// unattended-upgrades as this release ships it.
    pub unattended_upgrades: &'static str,
}

pub const DEBIAN_RELEASES: &[DebianRelease] = &[
    DebianRelease {
        codename: "bookworm",
        version: "12",
        suite: "oldstable",
        has_security_archive: true,
        unattended_upgrades: "2.9",
    },
    DebianRelease {
        codename: "trixie",
        version: "13",
        suite: "stable",
        has_security_archive: true,
        unattended_upgrades: "2.12",
    },
    DebianRelease {
        codename: "forky",
        version: "14",
        suite: "testing",
        has_security_archive: true,
        unattended_upgrades: "2.13",
    },
    DebianRelease {
        codename: "sid",
        version: "unstable",
        suite: "unstable",
        has_security_archive: false,
        unattended_upgrades: "2.13",
    },
];

pub fn debian_release(codename: &str) -> Option<&'static DebianRelease> {
    DEBIAN_RELEASES.iter().find(|r| r.codename == codename)
}

/// The modelled releases of unattended-upgrades, oldest first.
pub const MODELLED: &[&str] = &["2.9", "2.12", "2.13"];

/// Which release's rules apply: the installed unattended-upgrades (the
/// newest modelled release not newer than it), else the one the target's
/// Debian release ships, else the newest; and the `release` record.
pub fn detect(installed: Option<&str>, codename: &str) -> ReleaseRecord {
    let program = "unattended-upgrades".to_string();
    if let Some(version) = installed.map(str::to_string) {
        let model = MODELLED
            .iter()
            .rev()
            .find(|m| debversion::compare(m, &version).is_le())
            .unwrap_or(&MODELLED[0]);
        return ReleaseRecord {
            program,
            version,
            model: model.to_string(),
            source: ReleaseSource::Dpkg,
        };
    }
    let newest = MODELLED[MODELLED.len() - 1];
    match debian_release(codename) {
        Some(r) => ReleaseRecord {
            program,
            version: format!(
                "{} (Debian {}'s, not installed)",
                r.unattended_upgrades, r.version
            ),
            model: r.unattended_upgrades.to_string(),
            source: ReleaseSource::Default,
        },
        None => ReleaseRecord {
            program,
            version: newest.to_string(),
            model: newest.to_string(),
            source: ReleaseSource::Default,
        },
    }
}

/// An interval of apt.systemd.daily (`check_stamp`), in seconds: None for
/// "never" (`0`), Some(0) for `always`; Err for what makes the script's
/// arithmetic fail (and the whole job with it).
pub fn interval_seconds(value: &str) -> Result<Option<u64>, String> {
    if value == "always" {
        return Ok(Some(0));
    }
    if value == "0" {
        return Ok(None);
    }
    let (number, unit) = match value.as_bytes().last() {
        Some(b's') => (&value[..value.len() - 1], 1),
        Some(b'm') => (&value[..value.len() - 1], 60),
        Some(b'h') => (&value[..value.len() - 1], 3600),
        Some(b'd') => (&value[..value.len() - 1], 86400),
        _ => (value, 86400),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "'{value}' is not an interval (a number of days, or a number with s, m, h or d)"
        ));
    }
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{value}' is too large"))?;
    Ok(Some(n.saturating_mul(unit)))
}
