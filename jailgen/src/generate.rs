//! `jailgen [options]`: resolve the requested jails for the host, render
//! them, and print, check or install them.

use std::io::Write as _;

use hardkit_core::input::InputSource;
use hardkit_core::{Action, ExitStatus, Finding, Reporter, Root, Severity};

use crate::cli::GenerateArgs;
use crate::fail2ban_program::Judge;
use crate::host::Host;
use crate::jails::{self, BackendChoice, Increment, JailKind, Override, Request, Times};
use crate::release::Release;
use crate::values::{self, Duration, ValueError};
use crate::write::{self, NewFile};
use crate::{filter_api_abuse, overridden, render, JailgenError, TOOL};

/// Turn the flags into a validated request (every error names its flag).
pub fn request(args: &GenerateArgs) -> Result<Request, JailgenError> {
    let mut jails = Vec::new();
    for name in &args.jail {
        jails.push(JailKind::parse("--jail", name)?);
    }
    if jails.is_empty() {
        jails.push(JailKind::Sshd);
    }
    let ssh_ports = match (&args.sshd, args.ssh_port.is_empty()) {
        (Some(path), _) => crate::sshd_input::read_ports(&InputSource::parse(path))?,
        (None, false) => {
            let mut ports = Vec::new();
            for value in &args.ssh_port {
                ports.extend(values::parse_ports("--ssh-port", value)?);
            }
            ports.sort();
            ports.dedup();
            ports
        }
        (None, true) => vec![values::Port::parse("--ssh-port", "22")?],
    };
    let times = Times {
        maxretry: values::parse_count("--maxretry", args.maxretry.as_deref().unwrap_or("3"), 1000)?,
        findtime: Duration::parse("--findtime", args.findtime.as_deref().unwrap_or("10m"))?,
        bantime: Duration::parse("--bantime", args.bantime.as_deref().unwrap_or("1h"))?,
    };
    let increment = if args.bantime_increment
        || args.bantime_factor.is_some()
        || args.bantime_maxtime.is_some()
    {
        Some(Increment {
            factor: values::parse_factor(
                "--bantime-factor",
                args.bantime_factor.as_deref().unwrap_or("2"),
            )?,
            maxtime: Duration::parse(
                "--bantime-maxtime",
                args.bantime_maxtime.as_deref().unwrap_or("1w"),
            )?,
        })
    } else {
        None
    };
    let mut overrides = Vec::new();
    for item in &args.set {
        overrides.push(parse_override(item)?);
    }
    let banaction = match &args.banaction {
        Some(name) => Some(values::parse_name("--banaction", name)?),
        None => None,
    };
    let ssh_backend = match args.ssh_backend.as_str() {
        "auto" => BackendChoice::Auto,
        "systemd" => BackendChoice::Systemd,
        "file" => BackendChoice::File,
        other => {
            return Err(ValueError::new(
                "--ssh-backend",
                format!("{other:?} is not one of auto, systemd, file"),
            )
            .into())
        }
    };
    Ok(Request {
        jails,
        ssh_ports,
        times,
        overrides,
        increment,
        ignoreip: values::parse_ignore_list("--ignoreip", &args.ignoreip)?,
        banaction,
        ssh_backend,
        nginx_access_log: log_path("--nginx-access-log", &args.nginx_access_log)?,
        nginx_error_log: log_path("--nginx-error-log", &args.nginx_error_log)?,
    })
}

fn log_path(flag: &str, value: &str) -> Result<String, ValueError> {
    values::check_plain(flag, value)?;
    if !value.starts_with('/') || value.contains(' ') {
        return Err(ValueError::new(
            flag,
            format!("{value:?} is not an absolute path without spaces"),
        ));
    }
    Ok(value.to_string())
}

/// `--set JAIL.KEY=VALUE`.
fn parse_override(item: &str) -> Result<(JailKind, Override), ValueError> {
    const FLAG: &str = "--set";
    let bad = || {
        ValueError::new(
            FLAG,
            format!("{item:?} is not JAIL.KEY=VALUE with KEY one of maxretry, findtime, bantime"),
        )
    };
    let (target, value) = item.split_once('=').ok_or_else(bad)?;
    let (jail, key) = target.split_once('.').ok_or_else(bad)?;
    let kind = JailKind::parse(FLAG, jail)?;
    let flag = format!("--set {jail}.{key}");
    let mut o = Override::default();
    match key {
        "maxretry" => o.maxretry = Some(values::parse_count(&flag, value, 1000)?),
        "findtime" => o.findtime = Some(Duration::parse(&flag, value)?),
        "bantime" => o.bantime = Some(Duration::parse(&flag, value)?),
        _ => return Err(bad()),
    }
    Ok((kind, o))
}

/// Comment lines recording what was decided from the host. Only decisions,
/// not the evidence behind them: the evidence can change (nftables from
/// installed to enabled) without changing a jail, and the file must then
/// stay byte for byte the same (`changed: false`).
fn facts(req: &Request, host: &Host, source: &str) -> Vec<String> {
    let ports = req
        .ssh_ports
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut lines = Vec::new();
    if req.jails.contains(&JailKind::Sshd) {
        lines.push(format!(
            "SSH port(s) {ports} ({source}); SSH unit {}",
            host.ssh_unit_or_default()
        ));
    }
    match (&req.banaction, &host.firewall) {
        (Some(action), _) => lines.push(format!("ban action {action} (--banaction)")),
        (None, Some((fw, _why))) => lines.push(format!("firewall {}", fw.as_str())),
        (None, None) => {}
    }
    lines
}

pub fn run(
    args: &GenerateArgs,
    root: &Root,
    release: &Release,
    fail_on: Severity,
    reporter: &mut Reporter<impl std::io::Write>,
) -> Result<ExitStatus, JailgenError> {
    let req = request(args)?;
    let host = Host::inspect(root);
    let resolved = jails::resolve(&req, &host, root)?;
    let source = if args.sshd.is_some() {
        "from sshd-lint"
    } else if args.ssh_port.is_empty() {
        "default"
    } else {
        "--ssh-port"
    };
    let text = render::render(&resolved, &facts(&req, &host, source));
    let mut files = Vec::new();
    if req.jails.contains(&JailKind::ApiAbuse) {
        let statuses = values::parse_statuses("--api-status", &args.api_status)?;
        let prefix = values::parse_api_path("--api-path", &args.api_path)?;
        files.push(NewFile {
            system_path: render::filter_file(),
            contents: filter_api_abuse::render(&prefix, &statuses),
        });
    }
    files.push(NewFile {
        system_path: render::JAIL_FILE.to_string(),
        contents: text.clone(),
    });

    // Every input is valid now (a refusal is one line on stderr).
    crate::announce_release(release, reporter)?;
    for net in &req.ignoreip {
        if net.too_wide() {
            reporter.finding(
                Finding::new(
                    "jailgen/ignoreip-too-wide",
                    Severity::Medium,
                    format!("ignoreip {net} exempts a large part of the internet from bans"),
                    "Addresses in ignoreip are never banned; a public range wider than /16 (or the whole internet) turns the jails off for everyone in it.",
                )
                .evidence("ignoreip", net.to_string())
                .fix("list only your own addresses or networks"),
            )?;
        }
    }
    for jail in &resolved {
        reporter.emit(jail)?;
    }

    // The configuration as fail2ban will read it, with the new files in place.
    let copy = if host.fail2ban_installed {
        let copy = write::copy_with(root, &files)?;
        for finding in overridden::check(&copy, &resolved) {
            reporter.finding(finding)?;
        }
        Some(copy)
    } else {
        None
    };

    if args.write || args.check {
        let Some(copy) = copy else {
            return Err(JailgenError::NotInstalled(root.dir().display().to_string()));
        };
        let validated = match Judge::for_root(root) {
            Some(judge) => {
                write::validate_copy(&judge, root, &copy).map_err(|e| with_hint(e, &req))?;
                format!("validated by {} -t", judge.describe(root))
            }
            None => "NOT validated: fail2ban-client is not installed here".to_string(),
        };
        let mut wrote_any = false;
        for file in &files {
            let diff = if args.diff {
                let old = root
                    .resolve(&file.system_path)
                    .ok()
                    .and_then(|p| std::fs::read(p).ok())
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                Some(hardkit_core::diff::unified(
                    &file.system_path,
                    &old,
                    &file.contents,
                ))
                .filter(|d| !d.is_empty())
            } else {
                None
            };
            let changed = if args.write {
                write::install(root, std::slice::from_ref(file))?
                    .into_iter()
                    .all(|(_, outcome)| outcome.changed)
            } else {
                write::would_change(root, file)
            };
            let action = Action {
                op: "write".into(),
                path: file.system_path.as_str().into(),
                mode: Some("0644".into()),
                owner: None,
                changed,
                diff: diff.clone(),
            };
            reporter.emit(&action)?;
            wrote_any |= changed;
            let verb = match (args.write, changed) {
                (true, true) => "wrote",
                (true, false) => "unchanged",
                (false, true) => "would write",
                (false, false) => "unchanged",
            };
            reporter.text(&format!("{verb} {} ({validated})\n", file.system_path))?;
            if let Some(diff) = &diff {
                reporter.text(diff)?;
            }
        }
        if args.write && wrote_any {
            reporter.text("fail2ban reads it on reload: fail2ban-client reload\n")?;
        }
    } else if !reporter.is_json() {
        // The preview: the jail file itself, ready to redirect.
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .map_err(JailgenError::Output)?;
        out.flush().map_err(JailgenError::Output)?;
        if req.jails.contains(&JailKind::ApiAbuse) {
            eprintln!(
                "{TOOL}: api-abuse also needs {}; --write installs both",
                render::filter_file()
            );
        }
    }
    Ok(reporter.finish(fail_on, ExitStatus::Clean)?)
}

/// Debian's package enables an sshd jail that reads /var/log/auth.log; on a
/// host without it fail2ban rejects every configuration until the sshd jail
/// is fixed, which is exactly what `--jail sshd` does.
fn with_hint(err: write::WriteError, req: &Request) -> write::WriteError {
    match err {
        write::WriteError::Rejected(message)
            if message.contains("for sshd jail") && !req.jails.contains(&JailKind::Sshd) =>
        {
            write::WriteError::Rejected(format!(
                "{message}\nhint: the enabled sshd jail cannot start; add --jail sshd so jailgen writes one that can"
            ))
        }
        other => other,
    }
}
