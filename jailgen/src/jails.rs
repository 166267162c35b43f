//! The catalogue of jails jailgen writes, and their resolution for one host
//! into `jail` records: which log or journal each one reads, which ports
//! and ban action, which times.

use hardkit_core::Record;
use hardkit_core::Root;
use serde::{Deserialize, Serialize};

use crate::host::{self, Host};
use crate::values::{Duration, IgnoreNet, Port, ValueError};

/// The jails jailgen knows, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JailKind {
    Sshd,
    Recidive,
    NginxLimitReq,
    NginxBotsearch,
    NginxHttpAuth,
    ApiAbuse,
}

pub const ALL: [JailKind; 6] = [
    JailKind::Sshd,
    JailKind::Recidive,
    JailKind::NginxLimitReq,
    JailKind::NginxBotsearch,
    JailKind::NginxHttpAuth,
    JailKind::ApiAbuse,
];

/// The filter file jailgen writes for the api-abuse jail.
pub const API_FILTER: &str = "hardkit-api-abuse";

impl JailKind {
    pub fn name(self) -> &'static str {
        match self {
            JailKind::Sshd => "sshd",
            JailKind::Recidive => "recidive",
            JailKind::NginxLimitReq => "nginx-limit-req",
            JailKind::NginxBotsearch => "nginx-botsearch",
            JailKind::NginxHttpAuth => "nginx-http-auth",
            JailKind::ApiAbuse => "api-abuse",
        }
    }

    pub fn parse(flag: &str, value: &str) -> Result<JailKind, ValueError> {
        ALL.into_iter().find(|k| k.name() == value).ok_or_else(|| {
            ValueError::new(
                flag,
                format!(
                    "unknown jail {value:?} (known: {})",
                    ALL.map(JailKind::name).join(", ")
                ),
            )
        })
    }

    /// The filter the jail uses (all but api-abuse are fail2ban's stock filters).
    pub fn filter(self) -> &'static str {
        match self {
            JailKind::ApiAbuse => API_FILTER,
            other => other.name(),
        }
    }
}

/// `bantime.increment`: each repeat ban lasts `factor` times longer, up to `maxtime`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Increment {
    pub factor: String,
    pub maxtime: Duration,
}

/// Times and counts for one jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Times {
    pub maxretry: u32,
    pub findtime: Duration,
    pub bantime: Duration,
}

/// Per-jail overrides (`--set JAIL.KEY=VALUE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Override {
    pub maxretry: Option<u32>,
    pub findtime: Option<Duration>,
    pub bantime: Option<Duration>,
}

/// How a jail reads its log, chosen by what the host has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// File when the log exists, else the systemd journal (where possible).
    Auto,
    Systemd,
    File,
}

/// Everything generation needs, already validated.
#[derive(Debug, Clone)]
pub struct Request {
    pub jails: Vec<JailKind>,
    pub ssh_ports: Vec<Port>,
    pub times: Times,
    pub overrides: Vec<(JailKind, Override)>,
    pub increment: Option<Increment>,
    pub ignoreip: Vec<IgnoreNet>,
    pub banaction: Option<String>,
    pub ssh_backend: BackendChoice,
    pub nginx_access_log: String,
    pub nginx_error_log: String,
}

/// A resolved fail2ban jail: the `jail` record of docs/protocol.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jail {
    pub name: String,
    pub enabled: bool,
    pub filter: String,
    /// As fail2ban's `port` option: comma-separated ports or service names.
    pub port: String,
    pub maxretry: u32,
    pub findtime: String,
    pub findtime_seconds: u64,
    pub bantime: String,
    pub bantime_seconds: u64,
    /// `systemd` or `auto` (files).
    pub backend: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logpath: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journalmatch: Option<String>,
    pub banaction: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignoreip: Vec<String>,
    pub bantime_increment: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bantime_factor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bantime_maxtime: Option<String>,
}

impl Record for Jail {
    const TYPE: &'static str = "jail";
}

/// Why a jail cannot be written for this host.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{0}")]
    Value(#[from] ValueError),
    #[error("--jail {jail}: {message}")]
    Host { jail: &'static str, message: String },
    #[error("--banaction: no firewall found under {root} (no ufw, nftables or iptables); name the ban action, e.g. --banaction nftables-multiport")]
    NoFirewall { root: String },
}

/// Logs `sshd` may write to, by distribution family.
const SSH_LOGS: &[&str] = &["/var/log/auth.log", "/var/log/secure"];

pub fn resolve(req: &Request, host: &Host, root: &Root) -> Result<Vec<Jail>, ResolveError> {
    let (multiport, allports) = ban_actions(req, host, root)?;
    let mut kinds = req.jails.clone();
    kinds.sort();
    kinds.dedup();
    kinds
        .into_iter()
        .map(|kind| resolve_one(kind, req, host, root, &multiport, &allports))
        .collect()
}

fn ban_actions(req: &Request, host: &Host, root: &Root) -> Result<(String, String), ResolveError> {
    if let Some(action) = &req.banaction {
        // recidive bans every port: the allports sibling of the named action.
        let allports = match action.strip_suffix("-multiport") {
            Some(base) => format!("{base}-allports"),
            None => action.clone(),
        };
        return Ok((action.clone(), allports));
    }
    match &host.firewall {
        Some((fw, _)) => Ok((
            fw.multiport_action().to_string(),
            fw.allports_action().to_string(),
        )),
        None => Err(ResolveError::NoFirewall {
            root: root.dir().display().to_string(),
        }),
    }
}

fn resolve_one(
    kind: JailKind,
    req: &Request,
    host: &Host,
    root: &Root,
    multiport: &str,
    allports: &str,
) -> Result<Jail, ResolveError> {
    let mut times = req.times.clone();
    if kind == JailKind::Recidive {
        // Repeat offenders: five bans in a day earn a week on every port.
        times = Times {
            maxretry: 5,
            findtime: Duration::parse("recidive", "1d")?,
            bantime: Duration::parse("recidive", "1w")?,
        };
    }
    for (jail, o) in &req.overrides {
        if *jail == kind {
            if let Some(m) = o.maxretry {
                times.maxretry = m;
            }
            if let Some(f) = &o.findtime {
                times.findtime = f.clone();
            }
            if let Some(b) = &o.bantime {
                times.bantime = b.clone();
            }
        }
    }
    let (backend, logpath, journalmatch) = match kind {
        JailKind::Sshd => ssh_source(req, host, root)?,
        JailKind::Recidive => recidive_source(root)?,
        JailKind::NginxLimitReq | JailKind::NginxBotsearch | JailKind::NginxHttpAuth => {
            file_source(
                kind,
                root,
                &req.nginx_error_log,
                "set --nginx-error-log to nginx's error_log",
            )?
        }
        JailKind::ApiAbuse => file_source(
            kind,
            root,
            &req.nginx_access_log,
            "set --nginx-access-log to nginx's access_log",
        )?,
    };
    let port = match kind {
        JailKind::Sshd => req
            .ssh_ports
            .iter()
            .map(Port::to_string)
            .collect::<Vec<_>>()
            .join(","),
        JailKind::Recidive => "0:65535".to_string(),
        _ => "http,https".to_string(),
    };
    let banaction = if kind == JailKind::Recidive {
        allports
    } else {
        multiport
    };
    Ok(Jail {
        name: kind.name().to_string(),
        enabled: true,
        filter: kind.filter().to_string(),
        port,
        maxretry: times.maxretry,
        findtime: times.findtime.to_string(),
        findtime_seconds: times.findtime.seconds(),
        bantime: times.bantime.to_string(),
        bantime_seconds: times.bantime.seconds(),
        backend,
        logpath,
        journalmatch,
        banaction: banaction.to_string(),
        ignoreip: req.ignoreip.iter().map(IgnoreNet::to_string).collect(),
        bantime_increment: req.increment.is_some(),
        bantime_factor: req.increment.as_ref().map(|i| i.factor.clone()),
        bantime_maxtime: req.increment.as_ref().map(|i| i.maxtime.to_string()),
    })
}

type Source = (String, Vec<String>, Option<String>);

fn ssh_source(req: &Request, host: &Host, root: &Root) -> Result<Source, ResolveError> {
    let found = SSH_LOGS.iter().find(|p| host::log_exists(root, p));
    let journal = || {
        // fail2ban's stock sshd filter matches `sshd.service`; Debian's unit
        // is `ssh.service`, so the stock match never sees a line there.
        (
            "systemd".to_string(),
            Vec::new(),
            Some(host.ssh_journalmatch()),
        )
    };
    match (req.ssh_backend, found) {
        (BackendChoice::Systemd, _) | (BackendChoice::Auto, None) => Ok(journal()),
        (_, Some(path)) => Ok(("auto".to_string(), vec![path.to_string()], None)),
        (BackendChoice::File, None) => Err(ResolveError::Host {
            jail: "sshd",
            message: format!(
                "--ssh-backend file: none of {} exists under {} (Debian 12 logs to the journal; use --ssh-backend systemd)",
                SSH_LOGS.join(", "),
                root.dir().display()
            ),
        }),
    }
}

/// recidive reads fail2ban's own log: where fail2ban.conf's `logtarget`
/// sends it (a file, or the journal with `SYSTEMD-JOURNAL`).
fn recidive_source(root: &Root) -> Result<Source, ResolveError> {
    let config = crate::fail2ban_config::load(root, "fail2ban");
    let target = config
        .get("Definition", "logtarget")
        .ok()
        .flatten()
        .unwrap_or_else(|| "/var/log/fail2ban.log".to_string());
    match target.trim() {
        "SYSTEMD-JOURNAL" => Ok((
            "systemd".to_string(),
            Vec::new(),
            // The stock recidive filter's match: fail2ban's NOTICE lines (bans).
            Some("_SYSTEMD_UNIT=fail2ban.service PRIORITY=5".to_string()),
        )),
        path if path.starts_with('/') => file_source(
            JailKind::Recidive,
            root,
            path,
            "fail2ban writes it once it has started",
        ),
        other => Err(ResolveError::Host {
            jail: "recidive",
            message: format!(
                "fail2ban logs to {other} (logtarget in fail2ban.conf); recidive needs a log file or SYSTEMD-JOURNAL"
            ),
        }),
    }
}

fn file_source(
    kind: JailKind,
    root: &Root,
    path: &str,
    hint: &str,
) -> Result<Source, ResolveError> {
    if host::log_exists(root, path) {
        Ok(("auto".to_string(), vec![path.to_string()], None))
    } else {
        Err(ResolveError::Host {
            jail: kind.name(),
            message: format!(
                "{path} does not exist under {}; fail2ban refuses to start a jail without its log ({hint})",
                root.dir().display()
            ),
        })
    }
}
