//! Security updates apt knows of and the system has not installed: every
//! installed package for which a Packages list of a security archive (as
//! fetched in /var/lib/apt/lists) has a newer version, by dpkg's order.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use hardkit_core::record::Record;

use crate::debversion;
use crate::system;
use crate::target::Target;

/// The `pending_update` record: one security update not installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpdate {
    pub package: String,
    pub arch: String,
    pub installed: String,
    pub candidate: String,
    /// The archive it comes from (`bookworm-security`).
    pub archive: String,
    /// The archive's Release `Date:` as apt fetched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_date: Option<String>,
}

impl Record for PendingUpdate {
    const TYPE: &'static str = "pending_update";
}

/// The pending security updates, by package name, and the Packages lists
/// that could not be read (path, error).
pub type Pending = (Vec<PendingUpdate>, Vec<(String, String)>);

/// The pending security updates of `target` (see [`Pending`]).
pub fn pending(target: &Target) -> Pending {
    let mut unreadable = Vec::new();
    let Some(installed) = &target.packages else {
        return (Vec::new(), unreadable);
    };
    let mut by_name: BTreeMap<&str, Vec<&system::Installed>> = BTreeMap::new();
    for p in installed {
        by_name.entry(p.name.as_str()).or_default().push(p);
    }
    // (name, arch) -> (candidate, archive index)
    let mut best: BTreeMap<(String, String), (String, usize)> = BTreeMap::new();
    for list in &target.lists {
        let archive = &target.archives[list.archive];
        if !Target::is_security(&archive.release) {
            continue;
        }
        let entries = match system::read_packages(&target.root, list) {
            Ok(e) => e,
            Err(e) => {
                unreadable.push((list.file.display().to_string(), e.to_string()));
                continue;
            }
        };
        for (name, arch, version) in entries {
            let Some(have) = by_name.get(name.as_str()) else {
                continue;
            };
            for p in have {
                if p.arch != arch && arch != "all" {
                    continue;
                }
                let key = (p.name.clone(), p.arch.clone());
                let newer = match best.get(&key) {
                    Some((v, _)) => debversion::compare(&version, v).is_gt(),
                    None => true,
                };
                if newer {
                    best.insert(key, (version.clone(), list.archive));
                }
            }
        }
    }
    let mut out = Vec::new();
    for ((name, arch), (candidate, index)) in best {
        let Some(p) = by_name
            .get(name.as_str())
            .and_then(|v| v.iter().find(|p| p.arch == arch))
        else {
            continue;
        };
        if debversion::compare(&candidate, &p.version).is_gt() {
            let archive = &target.archives[index];
            out.push(PendingUpdate {
                package: name,
                arch,
                installed: p.version.clone(),
                candidate,
                archive: if archive.release.codename.is_empty() {
                    archive.release.suite.clone()
                } else {
                    archive.release.codename.clone()
                },
                archive_date: archive.date.clone(),
            });
        }
    }
    (out, unreadable)
}

/// Seconds since the epoch of an RFC 2822 date as Release files carry it
/// (`Sat, 05 Dec 2026 10:22:33 UTC`, or `+0000`).
pub fn release_date_epoch(date: &str) -> Option<i64> {
    let words: Vec<&str> = date.split_whitespace().collect();
    // The weekday is optional.
    let words = if words.first().is_some_and(|w| w.ends_with(',')) {
        &words[1..]
    } else {
        &words[..]
    };
    let [day, month, year, time, zone, ..] = words else {
        return None;
    };
    let day: i64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m.eq_ignore_ascii_case(month))? as i64
        + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<i64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms[..] else { return None };
    let offset = match *zone {
        "UTC" | "GMT" | "Z" => 0,
        z if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => {
            let hh: i64 = z[1..3].parse().ok()?;
            let mm: i64 = z[3..5].parse().ok()?;
            let o = hh * 3600 + mm * 60;
            if z.starts_with('-') {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    if !(1..=31).contains(&day)
        || !(0..24).contains(&h)
        || !(0..60).contains(&m)
        || !(0..=60).contains(&s)
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + s - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Now, in seconds since the epoch.
pub fn now_epoch() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_dates() {
        assert_eq!(release_date_epoch("Thu, 01 Jan 1970 00:00:00 UTC"), Some(0));
        assert_eq!(
            release_date_epoch("Sat, 10 Jun 2023 08:55:33 UTC"),
            Some(1_686_387_333)
        );
        assert_eq!(
            release_date_epoch("10 Jun 2023 10:55:33 +0200"),
            Some(1_686_387_333)
        );
        assert_eq!(release_date_epoch("yesterday"), None);
        assert_eq!(release_date_epoch("Sat, 99 Foo 2023 08:55:33 UTC"), None);
    }
}
