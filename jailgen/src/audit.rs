//! `jailgen audit`: what is wrong with the jails fail2ban would really run
//! under `--root`, judged against the host (its SSH port, logs, SSH unit,
//! firewall) and against values fail2ban silently misreads.

use hardkit_core::input::InputSource;
use hardkit_core::{ExitStatus, Finding, Location, Reporter, Root, Severity};

use crate::cli::AuditArgs;
use crate::fail2ban_actions;
use crate::fail2ban_config::{self, Config, InterpolationError, Value};
use crate::fail2ban_values::{fail2ban_seconds, invalid_ports, port_covers};
use crate::host::{self, Host};
use crate::options::{self, OptionType};
use crate::release::{Release, Version};
use crate::values::{IgnoreNet, Port};
use crate::JailgenError;

pub fn run(
    args: &AuditArgs,
    root: &Root,
    release: &Release,
    fail_on: Severity,
    reporter: &mut Reporter<impl std::io::Write>,
) -> Result<ExitStatus, JailgenError> {
    let ssh_ports = match &args.sshd {
        Some(path) => Some(crate::sshd_input::read_ports(&InputSource::parse(path))?),
        None => None,
    };
    crate::announce_release(release, reporter)?;
    let host = Host::inspect(root);
    let findings = audit(root, &host, release.model, ssh_ports.as_deref());
    if findings.is_empty() {
        reporter.text(&format!(
            "jailgen audit: no findings in the fail2ban configuration under {}\n",
            root.dir().display()
        ))?;
    }
    for finding in findings {
        reporter.finding(finding)?;
    }
    Ok(reporter.finish(fail_on, ExitStatus::Clean)?)
}

/// One enabled jail as fail2ban would configure it.
struct JailView<'a> {
    name: &'a str,
    config: &'a Config,
    /// One interpolation finding per jail: a bad reference breaks every
    /// option that uses it, and the first one probed names the culprit.
    interpolation_reported: std::cell::Cell<bool>,
}

impl JailView<'_> {
    fn raw(&self, key: &str) -> Option<&Value> {
        self.config.raw(self.name, key)
    }

    fn location(&self, key: &str) -> Option<Location> {
        self.raw(key)
            .map(|v| Location::new(v.path.as_str(), Some(v.line)))
    }

    fn get(&self, key: &str, findings: &mut Vec<Finding>) -> Option<String> {
        match self.config.get(self.name, key) {
            Ok(v) => v,
            Err(_) if self.interpolation_reported.get() => None,
            Err(e) => {
                self.interpolation_reported.set(true);
                let mut f = Finding::new(
                    "jailgen/interpolation",
                    Severity::High,
                    format!(
                        "[{}] {key}: fail2ban cannot interpolate the value",
                        self.name
                    ),
                    match e {
                        // Not a syntax error fail2ban reports: a value no
                        // real jail needs, which jailgen will not expand.
                        InterpolationError::TooLong(_) => {
                            format!("{e}; no usable value comes out of it.")
                        }
                        _ => format!("{e}; fail2ban refuses the configuration."),
                    },
                )
                .evidence("jail", self.name)
                .evidence("value", self.raw(key).map(|v| v.raw.clone()));
                if let Some(loc) = self.location(key) {
                    f = f.at(loc);
                }
                findings.push(f);
                None
            }
        }
    }
}

/// All findings for the configuration under `root`.
pub fn audit(root: &Root, host: &Host, model: Version, ssh_ports: Option<&[Port]>) -> Vec<Finding> {
    let mut findings = Vec::new();
    if !host.fail2ban_installed {
        findings.push(
            Finding::new(
                "jailgen/fail2ban-missing",
                Severity::High,
                "fail2ban is not installed",
                "No /etc/fail2ban/jail.conf: nothing bans password guessers.",
            )
            .fix("apt-get install fail2ban, then jailgen --write"),
        );
        return findings;
    }
    let config = fail2ban_config::load_jails(root, &model.to_string());
    // What `fail2ban-client -t` refuses stops every jail: a line its reader
    // rejects, or an enabled jail naming a filter or action file that does
    // not exist. Only a configuration fail2ban would run is judged further.
    let mut refused = false;
    for (path, line, message) in &config.problems {
        refused = true;
        findings.push(
            Finding::new(
                "jailgen/syntax",
                Severity::Critical,
                "fail2ban refuses the whole configuration: every jail is stopped",
                format!(
                    "{message}. fail2ban-client -t fails, and fail2ban starts no jail at all (the sshd jail \
                     included) until this line is corrected."
                ),
            )
            .at(Location::new(path.as_str(), Some(*line))),
        );
    }
    let sections: Vec<String> = config.sections().map(str::to_string).collect();
    for name in &sections {
        let jail = JailView {
            name,
            config: &config,
            interpolation_reported: std::cell::Cell::new(false),
        };
        let mut quiet = Vec::new();
        let enabled = jail
            .get("enabled", &mut quiet)
            .and_then(|v| fail2ban_config::parse_bool(&v))
            .unwrap_or(false);
        if !enabled {
            continue;
        }
        // A value fail2ban cannot interpolate (an undefined %(name)s) in an
        // option its reader takes: "Errors in jail", -t fails.
        let mut interpolation = Vec::new();
        for row in options::rows(model) {
            let _ = jail.get(row.key, &mut interpolation);
        }
        for mut f in interpolation {
            if f.id == "jailgen/interpolation"
                && f.detail.ends_with("fail2ban refuses the configuration.")
            {
                refused = true;
                f.severity = Severity::Critical;
                f.title = format!(
                    "{}: fail2ban refuses the whole configuration, every jail is stopped",
                    f.title
                );
                findings.push(f);
            }
        }
        // (a tree with fail2ban's jail files but not its filter.d and
        // action.d, such as a partial image, cannot say what is missing)
        let judged = host::exists(root, "/etc/fail2ban/filter.d")
            && host::exists(root, "/etc/fail2ban/action.d");
        let missing = if judged {
            missing_files(root, &jail, &mut quiet)
        } else {
            Vec::new()
        };
        for (kind, file, option) in missing {
            refused = true;
            findings.push(at(
                Finding::new(
                    "jailgen/jail-file-missing",
                    Severity::Critical,
                    format!(
                        "[{name}] uses {kind}.d/{file}, which does not exist: fail2ban refuses the whole configuration, every jail is stopped"
                    ),
                    format!(
                        "fail2ban finds no {kind}.d/{file}.conf or .local under /etc/fail2ban (\"Found no accessible config files for '{kind}.d/{file}'\", then \"Errors in jail '{name}'\"): fail2ban-client -t fails and no jail runs, not only [{name}]."
                    ),
                )
                .evidence("jail", name.as_str())
                .evidence(kind, &file)
                .fix(match file.split_once(" #") {
                    // Seen in real configurations: fail2ban strips only
                    // ` ;` comments after a value, so `filter = x # note`
                    // names the file `x # note`.
                    Some((named, _)) => format!(
                        "move the '#' comment off the {option} line (fail2ban strips only ' ;' comments after a value, so the {kind} is named '{file}', not '{}')",
                        named.trim()
                    ),
                    None => format!(
                        "install the {kind} ({kind}.d/{file}.conf), name one that exists, or disable [{name}]"
                    ),
                }),
                jail.location(option).or_else(|| jail.location(kind)),
            ));
        }
    }
    if refused {
        return findings;
    }
    audit_unknown_options(&config, model, &mut findings);
    let mut sshd_enabled = false;
    for name in &sections {
        let jail = JailView {
            name,
            config: &config,
            interpolation_reported: std::cell::Cell::new(false),
        };
        let Some(enabled_raw) = jail.get("enabled", &mut findings) else {
            continue;
        };
        match fail2ban_config::parse_bool(&enabled_raw) {
            Some(true) => {}
            Some(false) => continue,
            None => {
                findings.push(at(
                    Finding::new(
                        "jailgen/enabled-invalid",
                        Severity::High,
                        format!("[{name}] enabled = {enabled_raw}: not a boolean, fail2ban leaves the jail off"),
                        "fail2ban reads only 1, on, true and yes (any case) as true; anything else, a misspelling included, is false without a word, so the jail is off.",
                    )
                    .evidence("jail", name.as_str())
                    .evidence("value", &enabled_raw)
                    .fix("enabled = true"),
                    jail.location("enabled"),
                ));
                continue;
            }
        }
        let filter = jail.get("filter", &mut findings).unwrap_or_default();
        let filter_name = filter.split('[').next().unwrap_or("").trim().to_string();
        let is_sshd = name == "sshd" || filter_name == "sshd";
        sshd_enabled |= is_sshd;
        audit_jail(
            root,
            host,
            model,
            &jail,
            &filter_name,
            is_sshd,
            ssh_ports,
            &mut findings,
        );
    }
    if !sshd_enabled {
        findings.push(
            Finding::new(
                "jailgen/no-sshd-jail",
                Severity::High,
                "No sshd jail is enabled",
                "fail2ban runs, but nothing bans SSH password guessers.",
            )
            .fix("jailgen --sshd - --write (with sshd-lint --json on stdin)"),
        );
    }
    findings
}

fn at(finding: Finding, location: Option<Location>) -> Finding {
    match location {
        Some(loc) => finding.at(loc),
        None => finding,
    }
}

#[allow(clippy::too_many_arguments)]
fn audit_jail(
    root: &Root,
    host: &Host,
    model: Version,
    jail: &JailView<'_>,
    filter_name: &str,
    is_sshd: bool,
    ssh_ports: Option<&[Port]>,
    findings: &mut Vec<Finding>,
) {
    let name = jail.name;
    // Probe the plain options (the table's order) before `action`, which
    // interpolates several of them: an interpolation error is then
    // reported where it was written.
    for row in options::rows(model) {
        if matches!(
            row.ty,
            OptionType::Enabled | OptionType::Filter | OptionType::Backend | OptionType::Action
        ) {
            continue;
        }
        let value = jail.get(row.key, findings);
        if let Some(value) = value {
            audit_typed(jail, row, &value, findings);
        }
    }
    let backend = jail.get("backend", findings).unwrap_or_else(|| {
        options::row_of("backend", model)
            .and_then(|r| r.default)
            .unwrap_or("auto")
            .to_string()
    });
    if let Err(known) = options::check_backend(&backend, model) {
        findings.push(at(
            Finding::new(
                "jailgen/backend-invalid",
                Severity::High,
                format!("[{name}] backend = {backend}: fail2ban {model} has no such backend"),
                format!("The server answers \"Unknown backend\" when it adds the jail, so the jail does not run (`fail2ban-client -t` does not check it). fail2ban {model} knows {}.", known.join(", ")),
            )
            .evidence("jail", name)
            .evidence("backend", &backend)
            .evidence("fail2ban", model.to_string())
            .fix("backend = auto (or systemd for the journal)"),
            jail.location("backend"),
        ));
    }
    let actions = jail.get("action", findings).unwrap_or_default();
    let action_refs = fail2ban_actions::split_actions(&actions);
    let action_names: Vec<String> = action_refs.iter().map(|a| a.file.clone()).collect();
    // The ports the first ban action blocks: its own port= option, else the jail's.
    let action_port = action_refs.first().and_then(|a| {
        a.options
            .iter()
            .rev()
            .find(|(k, _)| k == "port")
            .map(|(_, v)| v.clone())
    });
    let bans_all_ports = action_names
        .iter()
        .any(|a| a.contains("allports") || a.starts_with("ufw"));

    // A numeric port outside 1-65535 makes the firewall command fail when
    // the action starts: the jail runs and bans nothing.
    let port_value = action_port.clone().or_else(|| jail.get("port", findings));
    let bad_ports = port_value.as_deref().map(invalid_ports).unwrap_or_default();
    if !bad_ports.is_empty() {
        findings.push(at(
            Finding::new(
                "jailgen/port-invalid",
                Severity::High,
                format!("[{name}] port {} is not a TCP port", bad_ports.join(",")),
                "fail2ban passes the port to the firewall unchecked; the ban rule cannot be created, so bans block nothing.",
            )
            .evidence("jail", name)
            .evidence("port", port_value.as_deref())
            .fix("port = a number from 1 to 65535 (or a service name such as ssh)"),
            jail.location("port"),
        ));
    }
    // The SSH port in use must be one the jail's action blocks.
    if let (true, Some(ports), false, true) =
        (is_sshd, ssh_ports, bans_all_ports, bad_ports.is_empty())
    {
        if let Some(port_value) = port_value {
            let missing: Vec<String> = ports
                .iter()
                .filter(|p| !port_covers(&port_value, p.get()))
                .map(|p| p.to_string())
                .collect();
            if !missing.is_empty() {
                findings.push(at(
                    Finding::new(
                        "jailgen/sshd-port-mismatch",
                        Severity::High,
                        format!("[{name}] bans port {port_value} but sshd listens on {}", missing.join(",")),
                        "The ban rule only blocks the jail's ports: banned addresses keep guessing passwords on the port sshd really uses.",
                    )
                    .evidence("jail", name)
                    .evidence("port", &port_value)
                    .evidence("sshd_ports", ports.iter().map(|p| p.get()).collect::<Vec<_>>())
                    .fix(format!("port = {}", ports.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(","))),
                    jail.location("port"),
                ));
            }
        }
    }

    if backend.starts_with("systemd") {
        audit_journal(root, host, jail, filter_name, is_sshd, findings);
    } else if let Some(logpath) = jail.get("logpath", findings) {
        let paths: Vec<&str> = logpath
            .split('\n')
            .map(|l| {
                l.trim().rsplit_once(' ').map_or(l.trim(), |(p, tail)| {
                    if tail == "head" || tail == "tail" {
                        p
                    } else {
                        l.trim()
                    }
                })
            })
            .filter(|p| !p.is_empty())
            .collect();
        if !paths.iter().any(|p| host::log_exists(root, p)) {
            let hint = if is_sshd && !host.rsyslog {
                "backend = systemd (this host has no rsyslog: sshd logs only to the journal)"
            } else {
                "backend = systemd, or the log file the service really writes"
            };
            findings.push(at(
                Finding::new(
                    "jailgen/logpath-missing",
                    Severity::High,
                    format!("[{name}] reads {} which does not exist", paths.join(", ")),
                    format!("With backend = {backend} fail2ban needs the log file; without it fail2ban refuses the jail (and `fail2ban-client -t` fails the whole configuration)."),
                )
                .evidence("jail", name)
                .evidence("backend", &backend)
                .evidence("logpath", &paths)
                .fix(hint),
                jail.location("logpath"),
            ));
        }
    }

    for action in &action_names {
        if let Some(why) = host.ban_blocker(action) {
            let fix = match host.working_multiport_action() {
                Some(a) => format!("banaction = {a}"),
                None => "apt-get install nftables, then banaction = nftables-multiport".into(),
            };
            let firewall = host
                .firewall
                .as_ref()
                .map(|(fw, how)| format!(" (the host's firewall: {}, {how})", fw.as_str()))
                .unwrap_or_default();
            findings.push(at(
                Finding::new(
                    "jailgen/banaction-firewall",
                    Severity::High,
                    format!("[{name}] bans with {action}, which cannot work here: {why}"),
                    format!(
                        "fail2ban accepts the action and counts the failures, but when it bans, the \
                         action's commands fail{firewall}: the address is never blocked."
                    ),
                )
                .evidence("jail", name)
                .evidence("action", action)
                .fix(fix),
                jail.location("banaction").or_else(|| jail.location("action")),
            ));
        }
    }

    let bantime = duration_value(jail, "bantime", findings);
    let findtime = duration_value(jail, "findtime", findings);
    if let (Some(b), Some(f)) = (bantime, findtime) {
        if b >= 0.0 && b < f {
            findings.push(at(
                Finding::new(
                    "jailgen/bantime-shorter-than-findtime",
                    Severity::Medium,
                    format!("[{name}] bantime ({b}s) is shorter than findtime ({f}s)"),
                    "A banned client is back before its failures expire: it gets a short pause, not a ban.",
                )
                .evidence("jail", name)
                .evidence("bantime_seconds", b)
                .evidence("findtime_seconds", f)
                .fix("bantime = 1h (or longer than findtime)"),
                jail.location("bantime"),
            ));
        }
    }

    if let Some(maxretry) = jail.get("maxretry", findings) {
        match maxretry.trim().parse::<u32>() {
            Ok(n) if n > 10 => findings.push(at(
                Finding::new(
                    "jailgen/maxretry-high",
                    Severity::Medium,
                    format!("[{name}] maxretry = {n} lets each address try {n} times per findtime"),
                    "More than 10 failures before a ban gives password guessers many free attempts.",
                )
                .evidence("jail", name)
                .evidence("maxretry", n)
                .fix("maxretry = 3"),
                jail.location("maxretry"),
            )),
            Ok(_) => {}
            Err(_) => findings.push(at(
                Finding::new(
                    "jailgen/maxretry-invalid",
                    Severity::High,
                    format!("[{name}] maxretry = {maxretry} is not a number"),
                    "fail2ban warns and falls back to its default, which is not what was written.",
                )
                .evidence("jail", name)
                .evidence("value", &maxretry)
                .fix("maxretry = 3"),
                jail.location("maxretry"),
            )),
        }
    }

    if let Some(ignoreip) = jail.get("ignoreip", findings) {
        audit_ignoreip(jail, &ignoreip, findings);
    }
}

/// The journal match a jail runs with: its own `journalmatch`, else its
/// filter's (`filter.d/NAME.conf` and `.local`, `[Init]` over `[Definition]`), with the
/// line that set it.
pub fn journalmatch(root: &Root, config: &Config, jail: &str) -> (String, Option<Location>) {
    if let Ok(Some(m)) = config.get(jail, "journalmatch") {
        let loc = config
            .raw(jail, "journalmatch")
            .map(|v| Location::new(v.path.as_str(), Some(v.line)));
        return (m, loc);
    }
    let filter = config
        .get(jail, "filter")
        .ok()
        .flatten()
        .unwrap_or_default();
    filter_journalmatch(root, filter.split('[').next().unwrap_or("").trim())
}

fn filter_journalmatch(root: &Root, filter_name: &str) -> (String, Option<Location>) {
    if filter_name.is_empty() {
        return (String::new(), None);
    }
    let filter = fail2ban_config::load(root, &format!("filter.d/{filter_name}"));
    // A filter's [Init] options override its [Definition] (DefinitionInitConfigReader).
    for section in ["Init", "Definition"] {
        let own = filter
            .raw(section, "journalmatch")
            .filter(|_| filter.has_option(section, "journalmatch"));
        if let Some(raw) = own {
            let loc = Location::new(raw.path.as_str(), Some(raw.line));
            let value = filter.get(section, "journalmatch").ok().flatten();
            return (value.unwrap_or_default(), Some(loc));
        }
    }
    (String::new(), None)
}

fn audit_journal(
    root: &Root,
    host: &Host,
    jail: &JailView<'_>,
    filter_name: &str,
    is_sshd: bool,
    findings: &mut Vec<Finding>,
) {
    let name = jail.name;
    let (matchline, location) = match jail.get("journalmatch", findings) {
        Some(m) => (m, jail.location("journalmatch")),
        None => filter_journalmatch(root, filter_name),
    };
    if let Some(term) = forgeable_term(&matchline) {
        findings.push(at(
            Finding::new(
                "jailgen/journalmatch-forgeable",
                Severity::Medium,
                format!("[{name}] counts journal entries any local user can write ({term})"),
                format!(
                    "The journal match `{matchline}` admits every entry of `{term}`: _COMM is the \
                     name of the process that logged, which any local user chooses (a copy of logger \
                     named {prog}). Such a user can log \"Failed password ... from\" an innocent \
                     address (the admin's) and this jail bans it. Entries of a system unit, or of \
                     processes running as root, cannot be forged that way.",
                    prog = term
                        .split_whitespace()
                        .find_map(|t| t.strip_prefix("_COMM="))
                        .unwrap_or("the daemon")
                ),
            )
            .evidence("jail", name)
            .evidence("journalmatch", &matchline)
            .fix(if is_sshd {
                format!("journalmatch = {}", host.ssh_journalmatch())
            } else {
                format!("journalmatch = {} (add _UID=0 to each term, or match the _SYSTEMD_UNIT)", trusted_match(&matchline))
            }),
            location.clone(),
        ));
    }
    for unit in matchline
        .split_whitespace()
        .filter_map(|t| t.strip_prefix("_SYSTEMD_UNIT="))
    {
        let wrong = if is_sshd {
            host.ssh_unit.as_deref().is_some_and(|u| u != unit)
        } else {
            !unit_installed(root, unit)
        };
        if wrong {
            let expected = if is_sshd {
                host.ssh_unit_or_default().to_string()
            } else {
                match units_like(root, unit).first() {
                    Some(found) => found.clone(),
                    None => format!(
                        "a unit of {} (none is installed: this jail reads nothing; disable it, or install the service)",
                        service_stem(unit)
                    ),
                }
            };
            findings.push(at(
                Finding::new(
                    "jailgen/journalmatch-unit",
                    Severity::High,
                    format!("[{name}] matches journal unit {unit}, which this host does not have"),
                    format!("The journal match selects no entries, so the jail never sees a failure; the host's unit is {expected}."),
                )
                .evidence("jail", name)
                .evidence("journalmatch", &matchline)
                .fix(if is_sshd {
                    format!("journalmatch = {}", host.ssh_journalmatch())
                } else if unit_installed(root, &expected) {
                    format!("journalmatch = _SYSTEMD_UNIT={expected}")
                } else {
                    format!(
                        "disable [{name}], or install the service: no unit of {} is installed",
                        service_stem(unit)
                    )
                }),
                location.clone(),
            ));
        }
    }
}

/// Options an operator's file sets that fail2ban does not know and that
/// nothing reads (no `%(name)s`, no action's `<name>`), yet are close to a
/// real option: a misspelling (`bandtime`, `bantime.max`), which fail2ban
/// ignores without a word, so the value the operator meant is not in force.
/// Names far from every option are the operator's own variables and are
/// left alone.
fn audit_unknown_options(
    config: &fail2ban_config::Config,
    model: Version,
    findings: &mut Vec<Finding>,
) {
    let known: Vec<&str> = options::rows(model).map(|r| r.key).collect();
    let mut referenced = std::collections::BTreeSet::new();
    let mut all: Vec<(String, &fail2ban_config::Value, &str)> = Vec::new();
    for (key, value) in &config.defaults {
        all.push(("DEFAULT".into(), value, key));
    }
    for section in config.sections() {
        if let Some(options) = config.section_options(section) {
            for (key, value) in options {
                all.push((section.to_string(), value, key));
            }
        }
    }
    for (_, value, _) in &all {
        let raw = &value.raw;
        for (start, _) in raw.match_indices("%(") {
            if let Some(end) = raw[start + 2..].find(")s") {
                referenced.insert(raw[start + 2..start + 2 + end].to_string());
            }
        }
        for (start, _) in raw.match_indices('<') {
            if let Some(end) = raw[start + 1..].find('>') {
                referenced.insert(raw[start + 1..start + 1 + end].to_string());
            }
        }
    }
    for (section, value, key) in all {
        let operators = value.path.ends_with(".local") || value.path.contains("/jail.d/");
        if !operators || known.contains(&key) || referenced.contains(key) || key.starts_with("__") {
            continue;
        }
        let Some(nearest) = nearest_option(key, &known) else {
            continue;
        };
        findings.push(
            Finding::new(
                "jailgen/option-unknown",
                Severity::Medium,
                format!("[{section}] {key} is not a fail2ban option (did you mean {nearest}?): fail2ban ignores it"),
                format!(
                    "fail2ban {model} has no option `{key}` and nothing in the configuration reads it, so \
                     `{key} = {}` is ignored without a word and {nearest} keeps its value from \
                     elsewhere (or fail2ban's default).",
                    value.raw.trim()
                ),
            )
            .evidence("section", section.as_str())
            .evidence("option", key)
            .evidence("nearest", nearest)
            .fix(format!("{nearest} = {}", value.raw.trim()))
            .at(Location::new(value.path.as_str(), Some(value.line))),
        );
    }
}

/// The known option `key` most likely misspells: at most two edits away
/// (one for names of four letters or fewer), or a dotted option the key is
/// the start of (`bantime.max` for `bantime.maxtime`).
fn nearest_option<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let key_l = key.to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for option in known {
        let d = edit_distance(&key_l, option);
        let limit = if option.len() <= 4 { 1 } else { 2 };
        let close = d <= limit
            || (option.contains('.') && key_l.contains('.') && option.starts_with(&key_l));
        if close && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, option));
        }
    }
    best.map(|(_, o)| o)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The filter and action files an enabled jail names that fail2ban cannot
/// find: (kind, file, the option that named it).
fn missing_files(
    root: &Root,
    jail: &JailView<'_>,
    findings: &mut Vec<Finding>,
) -> Vec<(&'static str, String, &'static str)> {
    let filter = jail.get("filter", findings).unwrap_or_default();
    let actions = jail.get("action", findings).unwrap_or_default();
    crate::view::missing_files(root, &filter, &actions)
        .into_iter()
        .map(|(kind, file)| {
            let option = match kind {
                "filter" => "filter",
                _ if jail.location("banaction").is_some() => "banaction",
                _ => "action",
            };
            (kind, file, option)
        })
        .collect()
}

/// Is there a unit file for `unit`: itself, or for an instance
/// (`postfix@-.service`) its template (`postfix@.service`)?
fn unit_installed(root: &Root, unit: &str) -> bool {
    let template = unit.split_once('@').and_then(|(name, rest)| {
        rest.rsplit_once('.')
            .map(|(_, suffix)| format!("{name}@.{suffix}"))
    });
    hardkit_core::host::UNIT_DIRS.iter().any(|d| {
        host::exists(root, &format!("{d}/{unit}"))
            || template
                .as_ref()
                .is_some_and(|t| host::exists(root, &format!("{d}/{t}")))
    })
}

/// `postfix@-.service` -> `postfix`.
fn service_stem(unit: &str) -> &str {
    let base = unit.rsplit_once('.').map_or(unit, |(b, _)| b);
    base.split('@').next().unwrap_or(base)
}

/// Units installed under the root whose name starts with the service's
/// stem (`postfix.service`, `postfix@.service` as `postfix@-.service`, the
/// instance Debian's postfix runs), sorted: the per-service fix.
fn units_like(root: &Root, unit: &str) -> Vec<String> {
    let stem = service_stem(unit);
    let mut found = Vec::new();
    for d in hardkit_core::host::UNIT_DIRS {
        let Ok(dir) = root.resolve(d) else {
            continue;
        };
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".service") {
                continue;
            }
            let Some(rest) = name.strip_prefix(stem) else {
                continue;
            };
            let unit = if rest == ".service" {
                name.clone()
            } else if rest == "@.service" {
                format!("{stem}@-.service")
            } else {
                continue;
            };
            if !found.contains(&unit) {
                found.push(unit);
            }
        }
    }
    found.sort();
    found
}

/// The first `+` term of a journal match that selects by fields a local
/// user sets (`_COMM`, `SYSLOG_IDENTIFIER`, ...) without one they cannot
/// (`_SYSTEMD_UNIT`, `_UID=0`); in one term, different fields must all
/// hold (sd_journal_add_match), terms are alternatives.
pub fn forgeable_term(matchline: &str) -> Option<String> {
    matchline
        .split(" + ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .find(|term| {
            let fields: Vec<&str> = term.split_whitespace().collect();
            let trusted = fields.iter().any(|f| {
                f.starts_with("_SYSTEMD_UNIT=")
                    || *f == "_UID=0"
                    || f.starts_with("_SYSTEMD_SLICE=system")
            });
            !trusted && !fields.is_empty()
        })
        .map(str::to_string)
}

/// `matchline` with `_UID=0` added to each term that lacks a trusted field.
fn trusted_match(matchline: &str) -> String {
    matchline
        .split(" + ")
        .map(|t| {
            let t = t.trim();
            if forgeable_term(t).is_some() {
                format!("{t} _UID=0")
            } else {
                t.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// A value fail2ban's reader cannot convert to the row's type: a boolean
/// other than 1/on/true/yes (0/off/false/no) silently becomes false, a
/// number that is not one is dropped with a warning nobody reads and the
/// default runs. `enabled` and `maxretry` have findings of their own.
fn audit_typed(
    jail: &JailView<'_>,
    row: &options::JailOption,
    value: &str,
    findings: &mut Vec<Finding>,
) {
    let (ok, what, effect) = match row.ty {
        OptionType::Bool => (
            fail2ban_config::parse_bool(value).is_some(),
            "a boolean (true/false, yes/no, on/off, 1/0)",
            "fail2ban reads anything but 1, on, true or yes as false, without a word",
        ),
        OptionType::Int if row.key != "maxretry" => (
            value.trim().parse::<i64>().is_ok(),
            "a whole number",
            "fail2ban's reader warns and drops the value, so the jail runs with fail2ban's default",
        ),
        _ => return,
    };
    if ok {
        return;
    }
    let name = jail.name;
    findings.push(at(
        Finding::new(
            "jailgen/option-invalid",
            Severity::High,
            format!("[{name}] {} = {value} is not {what}", row.key),
            format!("{effect}, not what was written."),
        )
        .evidence("jail", name)
        .evidence("option", row.key)
        .evidence("value", value),
        jail.location(row.key),
    ));
}

fn duration_value(jail: &JailView<'_>, key: &str, findings: &mut Vec<Finding>) -> Option<f64> {
    let value = jail.get(key, findings)?;
    match fail2ban_seconds(&value) {
        Some(s) => Some(s),
        None => {
            findings.push(at(
                Finding::new(
                    "jailgen/duration-invalid",
                    Severity::High,
                    format!("[{}] {key} = {value} is not a time fail2ban can compute", jail.name),
                    "`fail2ban-client -t` accepts it, but the server cannot turn it into seconds (MyTime.str2seconds fails) when it sets the jail up, so the jail does not run as written; write seconds or units s, m, h, d, w, mo, y.",
                )
                .evidence("jail", jail.name)
                .evidence("value", &value)
                .fix(format!("{key} = 1h")),
                jail.location(key),
            ));
            None
        }
    }
}

fn audit_ignoreip(jail: &JailView<'_>, value: &str, findings: &mut Vec<Finding>) {
    let name = jail.name;
    for entry in value
        .split([' ', ',', '\n', '\t'])
        .filter(|e| !e.is_empty())
    {
        let numeric = entry
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'/'))
            && entry.bytes().any(|b| b.is_ascii_digit());
        match IgnoreNet::parse_as_fail2ban("ignoreip", entry) {
            Ok(net) if net.too_wide() => findings.push(at(
                Finding::new(
                    "jailgen/ignoreip-too-wide",
                    Severity::Medium,
                    format!("[{name}] ignoreip {entry} exempts a large part of the internet"),
                    "Addresses in ignoreip are never banned; a public range wider than /16 (or the whole internet) switches the jail off for everyone in it.",
                )
                .evidence("jail", name)
                .evidence("entry", entry)
                .fix("list only your own addresses or networks"),
                jail.location("ignoreip"),
            )),
            Ok(_) => {}
            Err(e) if numeric => findings.push(at(
                Finding::new(
                    "jailgen/ignoreip-invalid",
                    Severity::High,
                    format!("[{name}] ignoreip {entry} is not a valid address or network"),
                    format!("{}; fail2ban does not reject it, it just never matches, so the address meant to be safe can be banned.", e.message),
                )
                .evidence("jail", name)
                .evidence("entry", entry),
                jail.location("ignoreip"),
            )),
            Err(_) => {}
        }
    }
}
