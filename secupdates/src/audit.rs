//! Does this system apply security updates by itself? One row per way it
//! can fail to, each a function of the gathered [`Target`]. The chain that
//! must hold, as Debian runs it: a `CODENAME-security` source; apt's
//! configuration readable at all; apt-daily.timer (apt-get update) and
//! apt-daily-upgrade.timer (unattended-upgrade) enabled; the periodic job
//! not switched off and both intervals set; unattended-upgrades installed;
//! its patterns all understood and one of them matching the security
//! archive. Then: nothing from that archive left uninstalled.

use hardkit_core::host;
use hardkit_core::{Finding, Location, Severity};

use crate::model::{self, setting};
use crate::pending::{self, release_date_epoch};
use crate::target::Target;

/// The fix when the package is there and its configuration is not.
const FIX_APPLY: &str = "secupdates apply (a drop-in that sorts after Debian's files and wins over them), or first-five --apply";
/// The fix when the package is missing.
const FIX_INSTALL: &str = "apt-get install unattended-upgrades, then secupdates apply (first-five --apply does both, and enables apt's timers)";

/// Days after which apt's copy of the security archive is stale.
pub const STALE_LISTS_DAYS: i64 = 7;

pub struct Check {
    pub id: &'static str,
    pub severity: Severity,
    pub run: fn(&Target) -> Vec<Finding>,
}

pub const CHECKS: &[Check] = &[
    Check {
        id: "secupdates/apt-config-broken",
        severity: Severity::Critical,
        run: apt_config_broken,
    },
    Check {
        id: "secupdates/no-security-source",
        severity: Severity::High,
        run: no_security_source,
    },
    Check {
        id: "secupdates/not-installed",
        severity: Severity::High,
        run: not_installed,
    },
    Check {
        id: "secupdates/timer-off",
        severity: Severity::High,
        run: timer_off,
    },
    Check {
        id: "secupdates/periodic-disabled",
        severity: Severity::High,
        run: periodic_disabled,
    },
    Check {
        id: "secupdates/interval-off",
        severity: Severity::High,
        run: interval_off,
    },
    Check {
        id: "secupdates/interval-long",
        severity: Severity::Medium,
        run: interval_long,
    },
    Check {
        id: "secupdates/pattern-stops",
        severity: Severity::High,
        run: pattern_stops,
    },
    Check {
        id: "secupdates/security-not-covered",
        severity: Severity::High,
        run: security_not_covered,
    },
    Check {
        id: "secupdates/lists-stale",
        severity: Severity::Medium,
        run: lists_stale,
    },
    Check {
        id: "secupdates/pending",
        severity: Severity::Medium,
        run: pending_updates,
    },
];

/// Every finding, worst first (the reporter sorts nothing).
pub fn audit(target: &Target) -> Vec<Finding> {
    let mut out: Vec<Finding> = CHECKS.iter().flat_map(|c| (c.run)(target)).collect();
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn finding(id: &str, title: String, detail: String) -> Finding {
    let check = CHECKS.iter().find(|c| c.id == id);
    let severity = check.map(|c| c.severity).unwrap_or(Severity::High);
    Finding::new(id, severity, title, detail)
}

fn located(f: Finding, at: Option<&crate::aptconf::SetAt>) -> Finding {
    match at {
        Some(at) => f.at(Location::new(at.file.clone(), Some(at.line))),
        None => f,
    }
}

fn apt_config_broken(t: &Target) -> Vec<Finding> {
    let Err(e) = &t.config else { return Vec::new() };
    vec![finding(
        "secupdates/apt-config-broken",
        "apt's configuration has a syntax error: apt and unattended-upgrade stop on it".into(),
        format!("{e}. apt refuses to start with it, so neither apt-get update nor unattended-upgrade runs: no security update is fetched or installed."),
    )
    .at(Location::new(e.file.clone(), (e.line > 0).then_some(e.line)))
    .fix("correct that line (apt-config dump shows when apt reads the configuration again)")]
}

fn no_security_source(t: &Target) -> Vec<Finding> {
    let Some(release) = t.debian else {
        return Vec::new();
    };
    if !release.has_security_archive || !t.security_sources().is_empty() {
        return Vec::new();
    }
    let codename = release.codename;
    let detail = if t.sources.is_empty() {
        "apt has no source at all (sources.list and sources.list.d are empty or missing)"
            .to_string()
    } else {
        let suites: Vec<String> = t.sources.iter().map(|s| s.suite.clone()).collect();
        format!("apt fetches only {}", suites.join(", "))
    };
    vec![finding(
        "secupdates/no-security-source",
        format!("apt does not fetch {codename}-security: security fixes never arrive"),
        format!("{detail}. Debian publishes its security fixes in the separate archive {codename}-security; without it no updater can install them."),
    )
    .at(Location::new("/etc/apt/sources.list.d/debian.sources", None))
    .fix(format!("add it: deb http://security.debian.org/debian-security {codename}-security main (or a Suites: {codename}-security stanza with the same URIs in debian.sources)"))]
}

fn not_installed(t: &Target) -> Vec<Finding> {
    if t.packages.is_none() || t.installed("unattended-upgrades").is_some() {
        return Vec::new();
    }
    vec![finding(
        "secupdates/not-installed",
        "unattended-upgrades is not installed: security updates wait for someone to run apt".into(),
        "Nothing installs security updates on this system by itself; a published fix reaches it only when an administrator upgrades by hand.".into(),
    )
    .at(Location::new("/var/lib/dpkg/status", None))
    .fix(FIX_INSTALL)]
}

/// The daily timers, when the system has systemd and the units exist.
fn timer_off(t: &Target) -> Vec<Finding> {
    let mut out = Vec::new();
    for (timer, what) in [
        (
            "apt-daily.timer",
            "apt-get update (fetching the lists of new versions)",
        ),
        ("apt-daily-upgrade.timer", "unattended-upgrade"),
    ] {
        let exists = host::UNIT_DIRS.iter().any(|d| {
            t.root
                .resolve(format!("{d}/{timer}"))
                .is_ok_and(|p| p.is_file())
        });
        if !exists {
            continue;
        }
        let masked = host::unit_masked(&t.root, timer);
        if !masked && host::unit_enabled(&t.root, timer) {
            continue;
        }
        let state = if masked { "masked" } else { "not enabled" };
        out.push(
            finding(
                "secupdates/timer-off",
                format!("{timer} is {state}: {what} never runs by itself"),
                format!("systemd starts the daily apt job from {timer}; {state}, it never fires, whatever apt's configuration says."),
            )
            .at(Location::new(std::path::PathBuf::from(format!("/etc/systemd/system/{timer}")), None))
            .fix(format!("systemctl {}enable --now {timer} (or first-five --apply)", if masked { "unmask " } else { "" })),
        );
    }
    out
}

fn periodic_disabled(t: &Target) -> Vec<Finding> {
    let Ok(c) = &t.config else { return Vec::new() };
    let Some(v) = c.find(model::ENABLE) else {
        return Vec::new();
    };
    // apt.systemd.daily: `[ $AutoAptEnable -eq 0 ]`, a number test.
    let zero = v.text.trim_start_matches(['+', '-']).parse::<u64>() == Ok(0);
    if !zero {
        return Vec::new();
    }
    vec![located(
        finding(
            "secupdates/periodic-disabled",
            format!("{} is \"{}\": apt's daily job does nothing", model::ENABLE, v.text),
            format!("{}. With it, apt.systemd.daily exits at once: no update of the lists, no unattended-upgrade.", setting(model::ENABLE).meaning),
        ),
        v.set_at,
    )
    .fix(format!("remove that line, or set {} \"1\" (first-five --apply does)", model::ENABLE))]
}

/// An interval of the daily job as set: its value, where, and what
/// apt.systemd.daily makes of it.
struct Interval {
    text: String,
    at: Option<crate::aptconf::SetAt>,
    seconds: Result<Option<u64>, String>,
}

fn interval(t: &Target, key: &str) -> Option<Interval> {
    let c = t.config.as_ref().ok()?;
    let (text, at) = match c.find(key) {
        Some(v) => (v.text.to_string(), v.set_at.cloned()),
        None => (setting(key).default.unwrap_or("0").to_string(), None),
    };
    let seconds = model::interval_seconds(&text);
    Some(Interval { text, at, seconds })
}

fn interval_off(t: &Target) -> Vec<Finding> {
    // Without the package there is nothing to switch on: that finding says it.
    if t.installed("unattended-upgrades").is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (key, what) in [
        (model::UNATTENDED, "unattended-upgrade never runs"),
        (model::UPDATE_LISTS, "apt never fetches the lists of new versions, so unattended-upgrade never sees a security fix"),
    ] {
        let Some(Interval { text, at, seconds }) = interval(t, key) else { continue };
        let (title, detail) = match seconds {
            Ok(Some(_)) => continue,
            Ok(None) if at.is_none() => (
                format!("{key} is not set: {what}"),
                format!("{} No file of apt's configuration sets it (Debian's 20auto-upgrades does, when unattended-upgrades is set up).", setting(key).meaning),
            ),
            Ok(None) => (
                format!("{key} is \"{text}\": {what}"),
                format!("{}.", setting(key).meaning),
            ),
            Err(why) => (
                format!("{key} is \"{text}\", which apt.systemd.daily cannot read: the daily job stops"),
                format!("{why}; the script's arithmetic fails on it and it exits before upgrading anything."),
            ),
        };
        out.push(located(finding("secupdates/interval-off", title, detail), at.as_ref()).fix(FIX_APPLY));
    }
    out
}

fn interval_long(t: &Target) -> Vec<Finding> {
    if t.installed("unattended-upgrades").is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for key in [model::UNATTENDED, model::UPDATE_LISTS] {
        let Some(Interval {
            text,
            at,
            seconds: Ok(Some(seconds)),
        }) = interval(t, key)
        else {
            continue;
        };
        if seconds <= 86_400 {
            continue;
        }
        let days = seconds as f64 / 86_400.0;
        out.push(
            located(
                finding(
                    "secupdates/interval-long",
                    format!("{key} is \"{text}\": a security fix may wait {days:.0} days"),
                    format!(
                        "{}. Exploits for published fixes follow within days.",
                        setting(key).meaning
                    ),
                ),
                at.as_ref(),
            )
            .fix(format!("set {key} \"1\" (daily; first-five --apply does)")),
        );
    }
    out
}

fn pattern_stops(t: &Target) -> Vec<Finding> {
    if t.installed("unattended-upgrades").is_none() {
        return Vec::new();
    }
    t.entries()
        .into_iter()
        .filter_map(|e| {
            let err = e.parsed.err()?;
            Some(
                located(
                    finding(
                        "secupdates/pattern-stops",
                        format!("unattended-upgrade stops on the origin \"{}\"", e.raw),
                        format!("{err}. unattended-upgrade reads every origin before it upgrades anything, and this one makes it exit with an error: no update at all."),
                    ),
                    e.at.as_ref(),
                )
                .fix("correct or remove that line (unattended-upgrade --dry-run --debug shows the origins it accepts)"),
            )
        })
        .collect()
}

fn security_not_covered(t: &Target) -> Vec<Finding> {
    if t.installed("unattended-upgrades").is_none() || t.config.is_err() {
        return Vec::new();
    }
    let entries = t.entries();
    if entries.iter().any(|e| e.parsed.is_err()) {
        return Vec::new();
    }
    let archives = t.security_archives();
    if archives.is_empty() {
        return Vec::new();
    }
    let covered = archives.iter().any(|a| {
        entries
            .iter()
            .any(|e| e.parsed.as_ref().is_ok_and(|p| p.matches(a)))
    });
    if covered {
        return Vec::new();
    }
    let a = &archives[0];
    let listed = if entries.is_empty() {
        "no origin at all".to_string()
    } else {
        entries
            .iter()
            .map(|e| match &e.at {
                Some(at) => format!("\"{}\" ({}:{})", e.raw, at.file.display(), at.line),
                None => format!("\"{}\"", e.raw),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let at = entries.first().and_then(|e| e.at.clone());
    vec![located(
        finding(
            "secupdates/security-not-covered",
            format!("unattended-upgrade does not take packages from {}", a.codename),
            format!(
                "The security archive (origin {}, label {}, codename {}, suite {}) matches none of the origins unattended-upgrade is given: {listed}. It runs, and installs no security fix.",
                a.origin, a.label, a.codename, a.suite
            ),
        ),
        at.as_ref(),
    )
    .fix("add \"origin=Debian,codename=${distro_codename}-security,label=Debian-Security\" to Unattended-Upgrade::Origins-Pattern (first-five --apply does)")]
}

fn lists_stale(t: &Target) -> Vec<Finding> {
    let now = pending::now_epoch();
    let mut out = Vec::new();
    for a in t
        .archives
        .iter()
        .filter(|a| Target::is_security(&a.release))
    {
        let name = if a.release.codename.is_empty() {
            &a.release.suite
        } else {
            &a.release.codename
        };
        let date = a.date.as_deref().unwrap_or("an unknown date");
        let expired = a
            .valid_until
            .as_deref()
            .and_then(|v| release_date_epoch(v).map(|e| (v, e)))
            .filter(|(_, e)| *e < now);
        let age = a
            .date
            .as_deref()
            .and_then(release_date_epoch)
            .map(|e| (now - e) / 86_400);
        let (title, detail) = match (expired, age) {
            (Some((until, _)), _) => (
                format!("apt's copy of {name} expired on {until}: no newer one was fetched"),
                format!("The Release file apt holds for {name} (dated {date}) is valid until {until}; apt refuses expired lists, and no fresher copy has been fetched since, so security fixes published after {date} are unknown here."),
            ),
            (None, Some(days)) if days >= STALE_LISTS_DAYS => (
                format!("apt's copy of {name} is {days} days old: newer security fixes are unknown here"),
                format!("The Release file apt last fetched for {name} is dated {date}. Fixes published since are invisible to unattended-upgrade and to this audit."),
            ),
            _ => continue,
        };
        out.push(
            finding("secupdates/lists-stale", title, detail)
                .at(Location::new(std::path::PathBuf::from(format!("{}/{}InRelease", crate::system::LISTS_DIR, a.prefix)), None))
                .fix("apt-get update, and see that it succeeds and that apt-daily.timer runs (systemctl list-timers apt-daily.timer)"),
        );
    }
    out
}

fn pending_updates(t: &Target) -> Vec<Finding> {
    let (pending, _) = t.pending();
    if pending.is_empty() {
        return Vec::new();
    }
    let shown: Vec<String> = pending
        .iter()
        .take(8)
        .map(|p| format!("{} {} -> {}", p.package, p.installed, p.candidate))
        .collect();
    let more = if pending.len() > shown.len() {
        format!(" and {} more", pending.len() - shown.len())
    } else {
        String::new()
    };
    vec![finding(
        "secupdates/pending",
        format!("{} security update(s) are not installed", pending.len()),
        format!("apt knows of them and they are not installed: {}{more}. (secupdates pending lists them all; monitor reports those older than its limit.)", shown.join(", ")),
    )
    .at(Location::new(crate::system::LISTS_DIR, None))
    .fix("apt-get upgrade (or unattended-upgrade -v); then find why they were not installed by themselves: /var/log/unattended-upgrades/")]
}
