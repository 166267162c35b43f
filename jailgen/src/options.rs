//! fail2ban's jail options, one row each, as fail2ban itself keeps them
//! (`JailReader._configOpts` with `FilterReader._configOpts` merged in,
//! plus the two action inputs jailgen judges): the key, how the reader
//! types it, its default, and the releases that have it. Reading
//! (`view`), the audit's probes and value checks, and the differential
//! tests are derived from these rows.
//!
//! Facts, from each release's own `fail2ban/client/jailreader.py` and
//! `filterreader.py` (Debian 12's 1.0.2 and Debian 13's 1.1.0): the option
//! set is the same in both; 1.1.0 drops the `gamin` backend (its server
//! answers "Unknown backend gamin" and the jail does not start, where 1.0.2
//! fell back to polling). Adding a release's option is adding a row.

use crate::release::Version;

/// How fail2ban's reader types an option, and so how `fail2ban-client -d`
/// sends it to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionType {
    /// `getboolean`: true/false, yes/no, on/off, 1/0; sent as a boolean.
    Bool,
    /// `int()`: sent as a number.
    Int,
    /// A string the server turns into seconds (`MyTime.str2seconds`).
    Time,
    /// Any other string, sent as written (after interpolation).
    Text,
    /// Sent in the jail's `add` command, not as an option.
    Backend,
    /// One `addlogpath` per file matched (file backends only).
    Logpath,
    /// `addignoreip` with the value split at spaces and commas.
    Ignoreip,
    /// A filter option: the jail's value overrides the filter file's.
    FilterOption,
    /// Selects the filter file; not sent itself.
    Filter,
    /// Split into actions (`addaction` and their parameters).
    Action,
    /// Read only by the actions' interpolation (`port`, `banaction`).
    ActionInput,
    /// `enabled`: decides whether the jail exists at all.
    Enabled,
}

/// One jail option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JailOption {
    pub key: &'static str,
    pub ty: OptionType,
    /// The reader's default when no file sets it (None: the option is
    /// left out and the server keeps its own).
    pub default: Option<&'static str>,
    /// First release with the option (None: every modelled release).
    pub since: Option<Version>,
    /// First release without it.
    pub until: Option<Version>,
}

const fn row(key: &'static str, ty: OptionType, default: Option<&'static str>) -> JailOption {
    JailOption {
        key,
        ty,
        default,
        since: None,
        until: None,
    }
}

use OptionType::*;

/// In the order the audit probes them: the plain values before `action`,
/// which interpolates several of them, so that an interpolation error is
/// reported where it was written.
pub const JAIL_OPTIONS: &[JailOption] = &[
    row("enabled", Enabled, Some("false")),
    row("filter", Filter, Some("")),
    row("backend", Backend, Some("auto")),
    row("port", ActionInput, None),
    row("logpath", Logpath, None),
    row("journalmatch", FilterOption, None),
    row("banaction", ActionInput, None),
    row("bantime", Time, None),
    row("findtime", Time, None),
    row("maxretry", Int, None),
    row("ignoreip", Ignoreip, None),
    row("maxmatches", Int, None),
    row("bantime.increment", Bool, None),
    row("bantime.factor", Text, None),
    row("bantime.formula", Text, None),
    row("bantime.multipliers", Text, None),
    row("bantime.maxtime", Text, None),
    row("bantime.rndtime", Text, None),
    row("bantime.overalljails", Bool, None),
    row("ignorecommand", Text, None),
    row("ignoreself", Bool, None),
    row("ignorecache", Text, None),
    row("logtimezone", Text, None),
    row("logencoding", Text, None),
    row("usedns", FilterOption, None),
    row("prefregex", FilterOption, None),
    row("ignoreregex", FilterOption, None),
    row("failregex", FilterOption, None),
    row("maxlines", FilterOption, None),
    row("datepattern", FilterOption, None),
    row("action", Action, Some("")),
];

/// A backend name (before any `[options]`) and the releases that have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backend {
    pub name: &'static str,
    pub until: Option<Version>,
}

/// The server's backends (`Jail._BACKENDS`) and `auto`.
pub const BACKENDS: &[Backend] = &[
    Backend {
        name: "auto",
        until: None,
    },
    Backend {
        name: "pyinotify",
        until: None,
    },
    Backend {
        name: "gamin",
        until: Some(Version(1, 1, 0)),
    },
    Backend {
        name: "polling",
        until: None,
    },
    Backend {
        name: "systemd",
        until: None,
    },
];

impl JailOption {
    pub fn in_release(&self, model: Version) -> bool {
        self.since.is_none_or(|s| s <= model) && self.until.is_none_or(|u| model < u)
    }
}

/// The rows of one release.
pub fn rows(model: Version) -> impl Iterator<Item = &'static JailOption> {
    JAIL_OPTIONS.iter().filter(move |o| o.in_release(model))
}

/// The row of `key` in `model`'s release.
pub fn row_of(key: &str, model: Version) -> Option<&'static JailOption> {
    rows(model).find(|o| o.key == key)
}

/// The options sent to the server as `set JAIL KEY VALUE`, each with its type.
pub fn sent_as_set(model: Version) -> impl Iterator<Item = &'static JailOption> {
    rows(model).filter(|o| matches!(o.ty, Bool | Int | Time | Text))
}

/// Is `value` (a jail's `backend`, possibly `systemd[journalflags=1]`) a
/// backend `model`'s server starts? Err: the names it knows.
pub fn check_backend(value: &str, model: Version) -> Result<(), Vec<&'static str>> {
    let name = value
        .split('[')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let known: Vec<&'static str> = BACKENDS
        .iter()
        .filter(|b| b.until.is_none_or(|u| model < u))
        .map(|b| b.name)
        .collect();
    if known.contains(&name.as_str()) {
        Ok(())
    } else {
        Err(known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V102: Version = Version(1, 0, 2);
    const V110: Version = Version(1, 1, 0);

    #[test]
    fn one_row_per_key() {
        let mut keys: Vec<&str> = JAIL_OPTIONS.iter().map(|o| o.key).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn gamin_is_gone_in_1_1() {
        assert!(check_backend("gamin", V102).is_ok());
        let known = check_backend("gamin", V110).unwrap_err();
        assert_eq!(known, ["auto", "pyinotify", "polling", "systemd"]);
        assert!(check_backend("systemd[journalflags=1]", V110).is_ok());
        assert!(check_backend("Polling", V110).is_ok());
        assert!(check_backend("inotify", V102).is_err());
    }

    #[test]
    fn the_set_options_are_those_of_fail2bans_reader() {
        let set: Vec<&str> = sent_as_set(V110).map(|o| o.key).collect();
        assert!(set.contains(&"maxretry") && set.contains(&"bantime.increment"));
        assert!(!set.contains(&"port") && !set.contains(&"logpath"));
        assert_eq!(row_of("maxretry", V102).unwrap().ty, Int);
    }
}
