//! `systemd-analyze security --offline=true`, reproduced for each systemd
//! release modelled (252, 257, 262; see [`release`]).
//!
//! Each row of systemd's table has a weight and a range; a setting's badness
//! (0 = good .. range = bad, or "not applicable") adds
//! `ceil(badness * weight / range)` to the sum, and the overall exposure is
//! `ceil(sum * 100 / weights of the applicable rows)`, printed in tenths
//! (`96` is "9.6"). A row's own figure is
//! `ceil(ceil(badness * weight * 100 / range) / weight sum)`, in tenths too.
//! The levels: >= 10.0 DANGEROUS, >= 9.0 UNSAFE, >= 7.5 EXPOSED, >= 5.0
//! MEDIUM, >= 1.0 OK, >= 0.1 SAFE, else PERFECT.
//!
//! The weights, ranges, descriptions and the way each row reads the unit are
//! those of each release's offline mode, learnt from its documentation and
//! behaviour: rows and values carry the releases they hold for, and the
//! syscall sets are generated per release. `tests/exposure_oracle.rs`
//! compares every row with each release's own `systemd-analyze security
//! --offline=true` (the host's, and each cached Debian root's in the sandbox).

pub mod context;
mod judge;
pub mod release;
mod rows;
pub mod syscall_groups;
pub mod syscall_groups_257;
pub mod syscall_groups_262;
pub mod values;

use serde::{Deserialize, Serialize};

use hardkit_core::record::Record;
use hardkit_core::BytesPath;

pub use context::SecurityContext;
use judge::Assess;
pub use release::Systemd;
use rows::ROWS;

/// One row of the table, as assessed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    /// systemd's row name, e.g. `PrivateTmp=` or `CapabilityBoundingSet=~CAP_SYS_ADMIN`.
    pub name: String,
    /// systemd's JSON field name for the row.
    pub json_field: String,
    /// true: good (badness 0); false: not good; null: not applicable.
    pub set: Option<bool>,
    /// The sentence systemd prints for the row (null where systemd prints none).
    pub description: Option<String>,
    pub weight: u64,
    /// 0 (good) ..= range (bad); null when the row does not apply.
    pub badness: Option<u64>,
    pub range: u64,
    /// The row's share of the score as systemd prints it ("0.2"), null when 0.
    pub exposure: Option<String>,
}

/// The `exposure` record: a unit's score and breakdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exposure {
    /// Unit name as systemd names it (`foo.service`; a bare template `foo@i.service` in 252, `foo@test_instance.service` from 257).
    pub unit: String,
    /// The unit file read (system path).
    pub path: BytesPath,
    /// Drop-ins applied after it, in order.
    pub dropins: Vec<BytesPath>,
    /// Overall exposure as systemd-analyze prints it, e.g. "9.6".
    pub score: String,
    /// DANGEROUS, UNSAFE, EXPOSED, MEDIUM, OK, SAFE or PERFECT.
    pub level: String,
    /// Every row of the table, in systemd's display order.
    pub settings: Vec<Setting>,
    /// A user unit (scored as `systemd-analyze security --user`; it runs
    /// as the user whose manager starts it). Absent for system units.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub user: bool,
    /// The account a system unit runs as (`User=`, `root` without one);
    /// absent for user units and `DynamicUser=yes` (an account made at
    /// start). scripts/monitor follows this account's connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl Record for Exposure {
    const TYPE: &'static str = "exposure";
}

/// The score in tenths and every row, computed from a loaded context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// Exposure in tenths: 96 is "9.6".
    pub tenths: u64,
    pub settings: Vec<Setting>,
}

impl Assessment {
    pub fn score(&self) -> String {
        format!("{}.{}", self.tenths / 10, self.tenths % 10)
    }

    pub fn level(&self) -> &'static str {
        level_of(self.tenths)
    }
}

pub fn level_of(tenths: u64) -> &'static str {
    match tenths {
        100.. => "DANGEROUS",
        90.. => "UNSAFE",
        75.. => "EXPOSED",
        50.. => "MEDIUM",
        10.. => "OK",
        1.. => "SAFE",
        0 => "PERFECT",
    }
}

/// Assess a service's security context as systemd-analyze security does.
pub fn assess(ctx: &SecurityContext) -> Assessment {
    let mut rows: Vec<(Setting, Option<u64>)> = Vec::with_capacity(ROWS.len());
    let mut badness_sum = 0u64;
    let mut weight_sum = 0u64;
    for row in ROWS.iter().filter(|r| r.holds_in(ctx.release)) {
        let (badness, description) = if row.default_dependencies_only && !ctx.default_dependencies {
            (
                None,
                Some("Service runs in special boot phase, option is not appropriate".to_string()),
            )
        } else {
            let Assess {
                badness,
                description,
            } = (row.assess)(ctx);
            (badness, description)
        };
        if let Some(b) = badness {
            badness_sum += (b * row.weight).div_ceil(row.range);
            weight_sum += row.weight;
        }
        let (set, fallback) = match badness {
            None => (None, row.description_na),
            Some(b) if b == row.range => (Some(false), row.description_bad),
            Some(0) => (Some(true), row.description_good),
            Some(_) => (Some(false), None),
        };
        let description = description.or_else(|| fallback.map(str::to_string));
        rows.push((
            Setting {
                name: row.id.to_string(),
                json_field: row.json_field.to_string(),
                set,
                description,
                weight: row.weight,
                badness,
                range: row.range,
                exposure: None,
            },
            badness,
        ));
    }
    let weight_sum = weight_sum.max(1);
    for (setting, badness) in &mut rows {
        if let Some(b) = *badness {
            if b > 0 {
                let x = (b * setting.weight * 100)
                    .div_ceil(setting.range)
                    .div_ceil(weight_sum);
                setting.exposure = Some(format!("{}.{}", x / 10, x % 10));
            }
        }
    }
    let tenths = (badness_sum * 100).div_ceil(weight_sum);
    let settings: Vec<Setting> = rows.into_iter().map(|(s, _)| s).collect();
    let settings = display_order(settings, ctx.release);
    Assessment { tenths, settings }
}

/// The first release seen sorting a row without a description (a graded
/// row between good and bad: ProtectProc=noaccess) before all the others:
/// 262 (258-261 were not compared; they keep 257's order here).
const UNDESCRIBED_FIRST_SINCE: u32 = 262;

/// systemd's display order: its table sorts the rows (in the order the
/// assessors ran, under a header row) by description, descending, then by
/// name, using glibc's merge sort. Up to 257 a row without a description
/// compares with the others by insertion order (reversed, like the column),
/// which is not a consistent order, so the exact algorithm decides: it is
/// reproduced. From [`UNDESCRIBED_FIRST_SINCE`] such a row comes first.
fn display_order(rows: Vec<Setting>, release: Systemd) -> Vec<Setting> {
    let undescribed_first = release.0 >= UNDESCRIBED_FIRST_SINCE;
    // Position 0 is the header, which always sorts first.
    let mut order: Vec<usize> = (0..=rows.len()).collect();
    let cmp = |a: usize, b: usize| -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (a, b) {
            (0, 0) => return Ordering::Equal,
            (0, _) => return Ordering::Less,
            (_, 0) => return Ordering::Greater,
            _ => {}
        }
        let (ra, rb) = (&rows[a - 1], &rows[b - 1]);
        let by_description = match (&ra.description, &rb.description) {
            (Some(x), Some(y)) => x.as_bytes().cmp(y.as_bytes()).reverse(),
            (None, Some(_)) if undescribed_first => Ordering::Less,
            (Some(_), None) if undescribed_first => Ordering::Greater,
            _ => a.cmp(&b).reverse(),
        };
        if by_description != Ordering::Equal {
            return by_description;
        }
        ra.name.as_bytes().cmp(rb.name.as_bytes()).then(a.cmp(&b))
    };
    merge_sort(&mut order, &cmp);
    let mut slots: Vec<Option<Setting>> = rows.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter(|i| *i > 0)
        .filter_map(|i| slots[i - 1].take())
        .collect()
}

/// glibc's msort: split at n/2, sort both halves, merge taking from the
/// left while it compares less than or equal.
fn merge_sort(v: &mut [usize], cmp: &dyn Fn(usize, usize) -> std::cmp::Ordering) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    merge_sort(&mut v[..n1], cmp);
    merge_sort(&mut v[n1..], cmp);
    let (left, right) = (v[..n1].to_vec(), v[n1..].to_vec());
    let (mut i, mut j, mut k) = (0, 0, 0);
    while i < left.len() && j < right.len() {
        if cmp(left[i], right[j]) != std::cmp::Ordering::Greater {
            v[k] = left[i];
            i += 1;
        } else {
            v[k] = right[j];
            j += 1;
        }
        k += 1;
    }
    while i < left.len() {
        v[k] = left[i];
        i += 1;
        k += 1;
    }
    while j < right.len() {
        v[k] = right[j];
        j += 1;
        k += 1;
    }
}

/// Assess a loaded unit as `release`'s systemd-analyze would, and build its record.
pub fn exposure_of(unit: &crate::unit_file::Unit, release: Systemd) -> Exposure {
    let ctx = SecurityContext::from_unit(unit, release);
    let assessment = assess(&ctx);
    Exposure {
        unit: unit.name.clone(),
        path: BytesPath::new(&unit.fragment),
        dropins: unit.dropins.iter().map(BytesPath::new).collect(),
        score: assessment.score(),
        level: assessment.level().to_string(),
        settings: assessment.settings,
        user: unit.user,
        account: (!unit.user && !ctx.dynamic_user).then(|| {
            ctx.user
                .clone()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "root".to_string())
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_systemds_thresholds() {
        assert_eq!(level_of(100), "DANGEROUS");
        assert_eq!(level_of(96), "UNSAFE");
        assert_eq!(level_of(85), "EXPOSED");
        assert_eq!(level_of(50), "MEDIUM");
        assert_eq!(level_of(15), "OK");
        assert_eq!(level_of(9), "SAFE");
        assert_eq!(level_of(0), "PERFECT");
    }

    fn row_of(text: &str, release: u32, row: &str) -> (String, Option<u64>) {
        let unit = crate::unit_file::Unit {
            name: "t.service".into(),
            fragment: "/t.service".into(),
            dropins: vec![],
            files_read: vec![],
            assignments: crate::unit_file::parse(text, std::path::Path::new("/t.service")),
            user: false,
        };
        let e = exposure_of(&unit, Systemd(release));
        let s = e.settings.iter().find(|s| s.name == row).expect(row);
        (e.score, s.badness)
    }

    #[test]
    fn each_release_has_each_row_once() {
        for release in [0, 252, 253, 254, 257, 258, 262, 300] {
            let mut ids: Vec<&str> = ROWS
                .iter()
                .filter(|r| r.holds_in(Systemd(release)))
                .map(|r| r.id)
                .collect();
            let n = ids.len();
            ids.sort();
            ids.dedup();
            assert_eq!((ids.len(), n), (n, 81), "systemd {release}");
        }
    }

    #[test]
    fn private_mounts_unset_counts_as_set_from_254() {
        // systemd-analyze's offline quirk: 9.6 on 252, 9.4 on 257.
        let plain = "[Service]\nExecStart=/bin/true\n";
        assert_eq!(
            row_of(plain, 252, "PrivateMounts="),
            ("9.6".into(), Some(1))
        );
        assert_eq!(
            row_of(plain, 253, "PrivateMounts="),
            ("9.6".into(), Some(1))
        );
        assert_eq!(
            row_of(plain, 254, "PrivateMounts="),
            ("9.4".into(), Some(0))
        );
        assert_eq!(
            row_of(plain, 257, "PrivateMounts="),
            ("9.4".into(), Some(0))
        );
        let off = "[Service]\nPrivateMounts=no\n";
        assert_eq!(row_of(off, 257, "PrivateMounts=").1, Some(1));
        // An empty assignment returns the tristate to unset; 252 ignores it.
        let reset = "[Service]\nPrivateMounts=no\nPrivateMounts=\n";
        assert_eq!(row_of(reset, 257, "PrivateMounts=").1, Some(0));
        assert_eq!(row_of(reset, 252, "PrivateMounts=").1, Some(1));
    }

    #[test]
    fn values_257_added_turn_the_setting_on_there_only() {
        for (line, row) in [
            ("PrivateTmp=disconnected", "PrivateTmp="),
            ("PrivateTmp=connected", "PrivateTmp="),
            ("PrivateUsers=self", "PrivateUsers="),
            ("PrivateUsers=identity", "PrivateUsers="),
            ("ProtectControlGroups=private", "ProtectControlGroups="),
            ("ProtectControlGroups=strict", "ProtectControlGroups="),
        ] {
            let text = format!("[Service]\n{line}\n");
            assert_eq!(row_of(&text, 257, row).1, Some(0), "{line} on 257");
            assert_eq!(row_of(&text, 252, row).1, Some(1), "{line} on 252");
        }
        for (line, row, since) in [
            ("PrivateUsers=full", "PrivateUsers=", 258),
            ("ProtectHostname=private", "ProtectHostname=", 258),
            ("ProtectHostname=private:web", "ProtectHostname=", 258),
            ("PrivateUsers=managed", "PrivateUsers=", 260),
        ] {
            let text = format!("[Service]\n{line}\n");
            assert_eq!(row_of(&text, since, row).1, Some(0), "{line} on {since}");
            assert_eq!(
                row_of(&text, since - 1, row).1,
                Some(1),
                "{line} before {since}"
            );
        }
        let text = "[Service]\nProtectHostname=private:\n";
        assert_eq!(
            row_of(text, 262, "ProtectHostname=").1,
            Some(1),
            "empty hostname"
        );
    }

    #[test]
    fn a_row_without_description_comes_first_from_262() {
        // ProtectProc=noaccess is neither good nor bad: no description.
        let text = "[Service]\nProtectProc=noaccess\n";
        let first = |release| {
            let unit = crate::unit_file::Unit {
                name: "t.service".into(),
                fragment: "/t.service".into(),
                dropins: vec![],
                files_read: vec![],
                assignments: crate::unit_file::parse(text, std::path::Path::new("/t.service")),
                user: false,
            };
            exposure_of(&unit, Systemd(release)).settings[0]
                .name
                .clone()
        };
        assert_eq!(first(262), "ProtectProc=");
        assert_ne!(first(257), "ProtectProc=");
    }

    #[test]
    fn syscall_sets_and_names_follow_the_release() {
        // @sandbox (257) and mseal (libseccomp 2.6) are unknown before:
        // the deny list stays empty there.
        for line in ["SystemCallFilter=~@sandbox", "SystemCallFilter=~mseal"] {
            let text = format!("[Service]\n{line}\n");
            let unit = crate::unit_file::Unit {
                name: "t.service".into(),
                fragment: "/t.service".into(),
                dropins: vec![],
                files_read: vec![],
                assignments: crate::unit_file::parse(&text, std::path::Path::new("/t.service")),
                user: false,
            };
            let says = |release| {
                let e = exposure_of(&unit, Systemd(release));
                let row = e
                    .settings
                    .iter()
                    .find(|s| s.name == "SystemCallFilter=~@swap")
                    .unwrap();
                row.description.clone().unwrap()
            };
            assert_eq!(says(252), "Service does not filter system calls", "{line}");
            assert_eq!(
                says(257),
                "System call deny list defined for service, and @swap is not included (e.g. swapoff is allowed)",
                "{line}"
            );
        }
    }

    #[test]
    fn an_empty_service_scores_like_systemd() {
        // `[Service] ExecStart=/bin/true` prints 9.6 UNSAFE in systemd 252.
        let unit = crate::unit_file::Unit {
            name: "t.service".into(),
            fragment: "/t.service".into(),
            dropins: vec![],
            files_read: vec![],
            assignments: crate::unit_file::parse(
                "[Service]\nExecStart=/bin/true\n",
                std::path::Path::new("/t.service"),
            ),
            user: false,
        };
        let e = exposure_of(&unit, Systemd(252));
        assert_eq!((e.score.as_str(), e.level.as_str()), ("9.6", "UNSAFE"));
    }
}
