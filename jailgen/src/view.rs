//! jailgen's view of the jails fail2ban would run: for each enabled jail,
//! what `fail2ban-client -d` sends to the server, derived from the option
//! table ([`crate::options`]): the backend, every `set` option typed as
//! fail2ban's reader types it, the log files matched, the journal match,
//! the ignore list, the actions and the ports the first one blocks.
//!
//! The filter's own definitions (failregex, datepattern, ...) are fail2ban's
//! and not part of the view, except the journal match, which the audit
//! judges against the host.

use std::collections::BTreeMap;

use hardkit_core::Root;
use serde_json::Value as Json;

use crate::fail2ban_actions;
use crate::fail2ban_config::{self, Config};
use crate::options::{self, OptionType};
use crate::release::Version;

/// One enabled jail as fail2ban would run it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JailView {
    pub backend: String,
    /// `set JAIL KEY VALUE` options: booleans and numbers as such.
    pub options: BTreeMap<String, Json>,
    /// File backends: each file matched, sorted.
    pub logpaths: Vec<String>,
    /// One entry per `addjournalmatch` (each line of the value, split as a shell would).
    pub journalmatch: Vec<Vec<String>>,
    /// `addignoreip`, when the option is set.
    pub ignoreip: Option<Vec<String>>,
    /// Action instance names, in order.
    pub actions: Vec<String>,
    /// The `port` the first action blocks.
    pub action_port: Option<String>,
}

/// Why fail2ban would not run an enabled jail (or any jail: the reader
/// stops at the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A `%(...)s` reference fail2ban cannot resolve.
    Interpolation(String),
    /// A file backend and no log file matched.
    NoLogFile,
    /// The filter or an action names a file that does not exist (kind,
    /// file): fail2ban refuses the whole configuration.
    MissingFile(&'static str, String),
}

/// The filter and action files a jail's `filter` and `action` values name
/// that fail2ban cannot find under the root (`filter.d/NAME.conf` or
/// `.local`): (kind, file). The name is everything before the first `[`,
/// trimmed, as fail2ban's extractOptions takes it: an inline `# comment`
/// is part of it, since fail2ban's reader strips only ` ;` comments.
pub fn missing_files(root: &Root, filter: &str, actions: &str) -> Vec<(&'static str, String)> {
    let exists = |kind: &str, file: &str| {
        ["conf", "local"]
            .iter()
            .any(|ext| crate::host::exists(root, &format!("/etc/fail2ban/{kind}.d/{file}.{ext}")))
    };
    let mut missing = Vec::new();
    let filter = filter.split('[').next().unwrap_or("").trim().to_string();
    if !filter.is_empty() && !exists("filter", &filter) {
        missing.push(("filter", filter));
    }
    for a in fail2ban_actions::split_actions(actions) {
        if !a.file.is_empty()
            && !exists("action", &a.file)
            && !missing.iter().any(|(_, f)| *f == a.file)
        {
            missing.push(("action", a.file.clone()));
        }
    }
    missing
}

/// Every enabled jail of the configuration under `root`, with its view or
/// the reason fail2ban refuses it.
pub fn enabled_jails(
    root: &Root,
    config: &Config,
    model: Version,
) -> BTreeMap<String, Result<JailView, Refusal>> {
    let mut out = BTreeMap::new();
    for name in config.sections() {
        if matches!(name, "DEFAULT" | "INCLUDES") {
            continue;
        }
        let enabled = match config.get(name, "enabled") {
            Ok(v) => v.as_deref().and_then(fail2ban_config::parse_bool),
            Err(e) => {
                out.insert(name.to_string(), Err(Refusal::Interpolation(e.to_string())));
                continue;
            }
        };
        if enabled != Some(true) {
            continue;
        }
        out.insert(name.to_string(), view(root, config, name, model));
    }
    out
}

fn view(root: &Root, config: &Config, name: &str, model: Version) -> Result<JailView, Refusal> {
    let get = |key: &str| -> Result<Option<String>, Refusal> {
        config
            .get(name, key)
            .map_err(|e| Refusal::Interpolation(e.to_string()))
    };
    let mut v = JailView::default();
    for row in options::rows(model) {
        let Some(value) = get(row.key)? else {
            if row.ty == OptionType::Backend {
                v.backend = row.default.unwrap_or("auto").to_string();
            }
            continue;
        };
        match row.ty {
            OptionType::Backend => v.backend = value,
            OptionType::Bool => {
                let b = fail2ban_config::fail2ban_bool(&value);
                v.options.insert(row.key.into(), Json::Bool(b));
            }
            // fail2ban's reader warns and drops a number it cannot convert.
            OptionType::Int => {
                if let Ok(n) = value.trim().parse::<i64>() {
                    v.options.insert(row.key.into(), Json::from(n));
                }
            }
            OptionType::Time | OptionType::Text => {
                v.options.insert(row.key.into(), Json::String(value));
            }
            OptionType::Ignoreip => {
                v.ignoreip = Some(
                    value
                        .split(|c: char| c.is_whitespace() || c == ',')
                        .filter(|w| !w.is_empty())
                        .map(str::to_string)
                        .collect(),
                );
            }
            OptionType::Action => {
                let refs = fail2ban_actions::split_actions(&value);
                v.actions = refs.iter().map(|a| a.instance_name(name)).collect();
                v.action_port = refs.first().map(|first| {
                    first
                        .options
                        .iter()
                        .rev()
                        .find(|(k, _)| k == "port")
                        .map(|(_, p)| p.clone())
                        .unwrap_or_else(|| get("port").ok().flatten().unwrap_or_default())
                });
            }
            OptionType::Logpath
            | OptionType::FilterOption
            | OptionType::Filter
            | OptionType::ActionInput
            | OptionType::Enabled => {}
        }
    }
    let filter = get("filter")?.unwrap_or_default();
    let actions = get("action")?.unwrap_or_default();
    if let Some((kind, file)) = missing_files(root, &filter, &actions).into_iter().next() {
        return Err(Refusal::MissingFile(kind, file));
    }
    // The jail's journal match, else its filter's, is sent whatever the
    // backend (a file backend ignores it).
    let (matchline, _) = crate::audit::journalmatch(root, config, name);
    v.journalmatch = matchline
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    if !v.backend.starts_with("systemd") {
        for line in get("logpath")?.unwrap_or_default().split('\n') {
            // `PATH tail` / `PATH head`: the last word is fail2ban's read mode.
            let path = line.rsplit_once(' ').map_or(line, |(p, _)| p);
            v.logpaths.extend(crate::host::log_matches(root, path));
        }
        v.logpaths.sort();
        if v.logpaths.is_empty() {
            return Err(Refusal::NoLogFile);
        }
    }
    Ok(v)
}
