//! `secupdates apply`: the configuration that makes the system install
//! security updates by itself, in one file of apt.conf.d that sorts after
//! Debian's own (20auto-upgrades, 50unattended-upgrades), so that it wins
//! over them without editing files the package owns.
//!
//! Before anything is written, the configuration as apt will read it with
//! the new file is evaluated: if a later file still switches the job off
//! or narrows the origins again, the file that wins is named and nothing is
//! written. Installing the package and enabling the timers are steps of
//! their own (`first-five --apply` runs them); this command reports whether
//! they are needed.

use std::path::Path;

use hardkit_core::atomic::{self, WriteOptions};
use hardkit_core::record::Action;
use hardkit_core::{diff, dirfd, host, BytesPath, Root};

use crate::aptconf::{AptConfig, ConfigError};
use crate::model;
use crate::target::Target;

/// The file written (its name sorts after Debian's 50unattended-upgrades).
pub const DROPIN_NAME: &str = "52hardkit-security-updates";
pub const DROPIN: &str = "/etc/apt/apt.conf.d/52hardkit-security-updates";

/// The source written when apt fetches no security archive.
pub const SOURCE: &str = "/etc/apt/sources.list.d/debian-security.sources";

/// Debian's pattern for its security archive.
pub const SECURITY_PATTERN: &str =
    "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";

/// `--reboot-at HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebootTime {
    pub hour: u8,
    pub minute: u8,
}

impl std::str::FromStr for RebootTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a time of day as HH:MM (00:00 to 23:59)");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let hour: u8 = h.parse().map_err(|_| bad())?;
        let minute: u8 = m.parse().map_err(|_| bad())?;
        if hour > 23 || minute > 59 {
            return Err(bad());
        }
        Ok(RebootTime { hour, minute })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Write nothing; report what would change.
    pub check: bool,
    pub diff: bool,
    /// Keep the origins already configured and add the security archive
    /// (default: the security archive only).
    pub keep_origins: bool,
    pub reboot_at: Option<RebootTime>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{0}: no dpkg status file: not a Debian system, nothing to configure")]
    NotDebian(String),
    #[error("apt's configuration cannot be read, so no change is made: {0}")]
    Config(#[from] ConfigError),
    #[error("{file}:{line} sets {key} \"{value}\" after {DROPIN}, so it would still win: {why}; change it there, then run this again")]
    Overridden {
        key: String,
        value: String,
        file: String,
        line: u64,
        why: String,
    },
    #[error("with {DROPIN}, {0}")]
    Unsound(String),
    #[error(transparent)]
    Root(#[from] hardkit_core::root::RootError),
    #[error(transparent)]
    Write(#[from] atomic::AtomicError),
    #[error(transparent)]
    Dir(#[from] dirfd::DirError),
}

/// The text of the file.
pub fn dropin_text(opts: &Options) -> String {
    let mut t = String::new();
    t.push_str("// Written by hardkit secupdates: security updates installed by themselves\n");
    t.push_str("// (docs/secupdates.md). It sorts after Debian's 20auto-upgrades and\n");
    t.push_str("// 50unattended-upgrades and overrides what they set.\n");
    t.push_str(&format!("{} \"1\";\n", model::ENABLE));
    t.push_str(&format!("{} \"1\";\n", model::UPDATE_LISTS));
    t.push_str(&format!("{} \"1\";\n", model::UNATTENDED));
    if !opts.keep_origins {
        t.push_str("// Only Debian's security archive (not the point releases).\n");
        t.push_str(&format!("#clear {};\n", model::ALLOWED_ORIGINS));
        t.push_str(&format!("#clear {};\n", model::ORIGINS_PATTERN));
    }
    t.push_str(&format!(
        "{} {{\n        \"{SECURITY_PATTERN}\";\n}};\n",
        model::ORIGINS_PATTERN
    ));
    match opts.reboot_at {
        Some(r) => {
            t.push_str(&format!("{} \"true\";\n", model::AUTO_REBOOT));
            t.push_str(&format!(
                "{} \"{:02}:{:02}\";\n",
                model::AUTO_REBOOT_TIME,
                r.hour,
                r.minute
            ));
        }
        None => t.push_str(&format!("{} \"false\";\n", model::AUTO_REBOOT)),
    }
    t
}

/// What `apply` does: the file (written unless `check`), and the steps
/// left to the caller.
pub fn apply(root: &Root, opts: &Options) -> Result<Vec<Action>, ApplyError> {
    let target = Target::load(root);
    if target.packages.is_none() {
        return Err(ApplyError::NotDebian(root.dir().display().to_string()));
    }
    if let Err(e) = &target.config {
        return Err(ApplyError::Config(e.clone()));
    }
    let text = dropin_text(opts);
    let planned = AptConfig::load_with(root, Some((DROPIN_NAME, &text)))?;
    check_planned(&target, &planned, opts)?;

    let mut actions = vec![write_file(root, DROPIN, &text, opts)?];
    if let Some(source) = security_source_text(&target) {
        actions.push(write_file(root, SOURCE, &source, opts)?);
    }
    // What the caller must do: install the package, enable the timers.
    actions.push(Action {
        op: "install".into(),
        path: BytesPath::from(Path::new("unattended-upgrades")),
        mode: None,
        owner: None,
        changed: target.installed("unattended-upgrades").is_none(),
        diff: None,
    });
    for timer in ["apt-daily.timer", "apt-daily-upgrade.timer"] {
        let exists = host::UNIT_DIRS.iter().any(|d| {
            root.resolve(format!("{d}/{timer}"))
                .is_ok_and(|p| p.is_file())
        });
        let on = host::unit_enabled(root, timer);
        actions.push(Action {
            op: if host::unit_masked(root, timer) {
                "unmask".into()
            } else {
                "enable".into()
            },
            path: BytesPath::from(Path::new(timer)),
            mode: None,
            owner: None,
            changed: exists && !on,
            diff: None,
        });
    }
    Ok(actions)
}

/// Write `text` at `system_path` under `root` atomically (nothing with
/// `check`), through directory descriptors; the `write` action.
fn write_file(
    root: &Root,
    system_path: &str,
    text: &str,
    opts: &Options,
) -> Result<Action, ApplyError> {
    let host_path = root.resolve_parent(system_path)?;
    let old = std::fs::read_to_string(&host_path).unwrap_or_default();
    let write_opts = WriteOptions::mode(0o644);
    let changed = if opts.check {
        !atomic::is_current(&host_path, text.as_bytes(), &write_opts)
    } else {
        if let Some(parent) = host_path.parent() {
            dirfd::create_dirs(parent, 0o755)?;
        }
        atomic::replace_file(&host_path, text.as_bytes(), &write_opts)?.changed
    };
    Ok(Action {
        op: "write".into(),
        path: BytesPath::from(Path::new(system_path)),
        mode: Some("0644".into()),
        owner: None,
        changed,
        diff: (opts.diff && changed).then(|| diff::unified(system_path, &old, text)),
    })
}

/// Debian's security archive as a deb822 source, when apt fetches none
/// (or hardkit wrote the one it fetches: kept current): the mirror of the
/// release's main source when that is deb.debian.org (which carries
/// debian-security too), else security.debian.org; the same components;
/// Debian's keyring. None on a system that is not a Debian release with a
/// security archive, or that has a security source of its own.
pub fn security_source_text(target: &Target) -> Option<String> {
    let release = target.debian.filter(|r| r.has_security_archive)?;
    let own = target
        .security_sources()
        .iter()
        .all(|s| s.file == Path::new(SOURCE));
    if !own {
        return None;
    }
    let main = target.sources.iter().find(|s| s.suite == release.codename);
    let scheme = match main {
        Some(s) if s.uri.starts_with("https:") => "https",
        _ => "http",
    };
    let host = main
        .and_then(|s| s.uri.split('/').nth(2))
        .filter(|h| *h == "deb.debian.org")
        .unwrap_or("security.debian.org");
    let components = match main {
        Some(s) if !s.components.is_empty() => s.components.join(" "),
        _ => "main".to_string(),
    };
    let mut t = String::new();
    t.push_str("# Written by hardkit secupdates: Debian's security archive, where its\n");
    t.push_str("# security fixes are published (docs/secupdates.md).\n");
    t.push_str("Types: deb\n");
    t.push_str(&format!("URIs: {scheme}://{host}/debian-security\n"));
    t.push_str(&format!("Suites: {}-security\n", release.codename));
    t.push_str(&format!("Components: {components}\n"));
    let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
    if target.root.resolve(keyring).is_ok_and(|p| p.is_file()) {
        t.push_str(&format!("Signed-By: {keyring}\n"));
    }
    Some(t)
}

/// The planned configuration must do what the file says: a later file may
/// not switch anything off again.
fn check_planned(target: &Target, planned: &AptConfig, opts: &Options) -> Result<(), ApplyError> {
    let ours = |at: Option<&crate::aptconf::SetAt>| at.is_some_and(|a| a.file == Path::new(DROPIN));
    for (key, want_on) in [
        (model::ENABLE, true),
        (model::UPDATE_LISTS, true),
        (model::UNATTENDED, true),
    ] {
        let Some(v) = planned.find(key) else {
            return Err(ApplyError::Unsound(format!("{key} is unset")));
        };
        if ours(v.set_at) {
            continue;
        }
        let at = v.set_at.cloned();
        let why = match key {
            model::ENABLE if v.text.parse::<u64>() == Ok(0) && want_on => {
                "it switches apt's daily job off".to_string()
            }
            model::ENABLE => continue,
            _ => match model::interval_seconds(v.text) {
                Ok(Some(s)) if s <= 86_400 => continue,
                Ok(Some(_)) => "it runs less often than daily".to_string(),
                Ok(None) => "it switches the step off".to_string(),
                Err(why) => why,
            },
        };
        return Err(ApplyError::Overridden {
            key: key.to_string(),
            value: v.text.to_string(),
            file: at
                .as_ref()
                .map(|a| a.file.display().to_string())
                .unwrap_or_default(),
            line: at.as_ref().map(|a| a.line).unwrap_or(0),
            why,
        });
    }
    // The origins: all understood, the security archive among them, and
    // (by default) nothing else after the #clear.
    let mut planned_target = target.clone();
    planned_target.config = Ok(planned.clone());
    for e in planned_target.entries() {
        if let Err(err) = &e.parsed {
            let at = e.at.clone();
            return Err(ApplyError::Overridden {
                key: model::ORIGINS_PATTERN.to_string(),
                value: e.raw.clone(),
                file: at
                    .as_ref()
                    .map(|a| a.file.display().to_string())
                    .unwrap_or_default(),
                line: at.as_ref().map(|a| a.line).unwrap_or(0),
                why: format!("unattended-upgrade stops on it ({err})"),
            });
        }
        if !opts.keep_origins && e.raw != SECURITY_PATTERN {
            let at = e.at.clone();
            return Err(ApplyError::Overridden {
                key: model::ORIGINS_PATTERN.to_string(),
                value: e.raw.clone(),
                file: at.as_ref().map(|a| a.file.display().to_string()).unwrap_or_default(),
                line: at.as_ref().map(|a| a.line).unwrap_or(0),
                why: "it adds an origin beyond the security archive (use --keep-origins to keep them)".to_string(),
            });
        }
    }
    let archives = planned_target.security_archives();
    let entries = planned_target.entries();
    if !archives.is_empty()
        && !archives.iter().any(|a| {
            entries
                .iter()
                .any(|e| e.parsed.as_ref().is_ok_and(|p| p.matches(a)))
        })
    {
        return Err(ApplyError::Unsound(format!(
            "no origin matches the security archive {}",
            archives[0].codename
        )));
    }
    Ok(())
}
