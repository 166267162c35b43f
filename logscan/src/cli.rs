//! The command line: `logscan [FILE...]` (events), `logscan summary`,
//! `logscan offenders`, and running them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use hardkit_core::root::RootError;
use hardkit_core::{CommonArgs, ErrorRecord, ExitStatus, Root};

use crate::classify::Mode;
use crate::progress::ReadProgress;
use crate::report::Output;
use crate::scan::{Input, OutputError, ScanOptions, Scanner};

const EXAMPLES: &str = "\
Examples:
  logscan /var/log/auth.log                     # understood lines, as a table
  logscan --json /var/log/auth.log.2.gz /var/log/auth.log | jq 'select(.failure)'
  journalctl -u ssh -o json | logscan --json -
  logscan summary --since 24h /var/log/auth.log
  logscan offenders --maxretry 5 --findtime 10m --json /var/log/auth.log | fwplan render --block-from -
  logscan --follow /var/log/auth.log";

/// Read auth, sudo, nginx and fail2ban logs: one `event` per understood
/// line, a summary with findings, or the addresses fail2ban would ban.
#[derive(Parser, Debug)]
#[command(name = "logscan", version, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub scan: ScanArgs,

    /// Keep reading the files as they grow, like `tail -F` (survives
    /// rotation and truncation); starts at the end of each file
    #[arg(long, short = 'f')]
    pub follow: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Per-address failures and successes, accepted logins, sudo activity,
    /// and findings (a brute force that succeeded, root and password
    /// logins, logins from new addresses)
    Summary(ScanArgs),
    /// The addresses fail2ban would ban with these settings, as `offender`
    /// records (fwplan --block-from reads them)
    Offenders(OffenderArgs),
    /// What the accounts svcacct's audit rules watch ran and wrote, from
    /// auditd's log (`agent_exec`, `agent_write` records), and findings for
    /// shells, downloads and writes to system paths
    Audit(AuditArgs),
}

#[derive(Args, Debug, Clone)]
pub struct AuditArgs {
    /// auditd's logs (plain or gzip), oldest first; default
    /// /var/log/audit/audit.log (under --root); `-`: standard input
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only events at or after this time: RFC 3339 or a duration back from
    /// now (`24h`, `30m`, `7d`)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ScanArgs {
    /// Log files (plain or gzip); `-` or none: standard input. Give rotated
    /// files oldest first
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// fail2ban's sshd filter mode deciding what counts as a failure:
    /// normal, ddos, extra or aggressive (ddos + extra)
    #[arg(long, value_name = "MODE", default_value = "normal", value_parser = parse_mode())]
    pub mode: Mode,

    /// Only lines at or after this time: RFC 3339 or a duration back from
    /// now (`24h`, `30m`, `7d`)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only lines at or before this time (same forms as --since)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct OffenderArgs {
    #[command(flatten)]
    pub scan: ScanArgs,

    /// Failures within --findtime that make fail2ban ban an address
    #[arg(long, default_value = "5")]
    pub maxretry: u32,

    /// fail2ban's findtime (`600`, `10m`, `1h`)
    #[arg(long, default_value = "10m", value_parser = parse_duration_arg)]
    pub findtime: i64,

    /// fail2ban's bantime; while banned, an address is not banned again
    /// (`-1`: for ever)
    #[arg(long, default_value = "10m", value_parser = parse_bantime_arg, allow_hyphen_values = true)]
    pub bantime: i64,
}

/// `--mode`: its values listed for `--help` and shell completion.
fn parse_mode() -> impl clap::builder::TypedValueParser<Value = Mode> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Mode::NAMES)
        .try_map(|s: String| Mode::parse(&s).ok_or_else(|| format!("'{s}' is not a mode")))
}

fn parse_duration_arg(s: &str) -> Result<i64, String> {
    crate::time::parse_duration(s)
        .filter(|&d| d > 0)
        .ok_or_else(|| {
            format!("'{s}' is not a duration: use seconds (600) or units (10m, 1h, 1d, 1w)")
        })
}

fn parse_bantime_arg(s: &str) -> Result<i64, String> {
    if s.trim() == "-1" {
        return Ok(-1);
    }
    parse_duration_arg(s)
}

/// Why logscan could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("--{flag}: '{value}' is not a time: use RFC 3339 (2026-11-22T05:00:00Z) or a duration back from now (24h)")]
    BadTime { flag: &'static str, value: String },
    #[error("--follow needs files (standard input cannot be followed after rotation)")]
    FollowStdin,
    #[error(transparent)]
    Root(#[from] RootError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
}

impl ScanArgs {
    pub fn options(&self, now: i64) -> Result<ScanOptions, CliError> {
        let bound = |flag: &'static str, v: &Option<String>| -> Result<Option<i64>, CliError> {
            v.as_deref()
                .map(|t| {
                    crate::time::parse_time_bound(t, now).ok_or_else(|| CliError::BadTime {
                        flag,
                        value: t.to_string(),
                    })
                })
                .transpose()
        };
        Ok(ScanOptions {
            mode: self.mode,
            now,
            since: bound("since", &self.since)?,
            until: bound("until", &self.until)?,
        })
    }

    /// The inputs; absolute paths are system paths, resolved under `--root`.
    pub fn inputs(&self, root: &Root) -> Result<Vec<Input>, CliError> {
        if self.files.is_empty() {
            return Ok(vec![Input::Stdin]);
        }
        self.files
            .iter()
            .map(|f| match Input::parse(f) {
                Input::File(p) if p.is_absolute() && !root.is_host() => Ok(Input::Under {
                    host: root.resolve(&p)?,
                    system: p,
                }),
                other => Ok(other),
            })
            .collect()
    }
}

pub fn run(cli: Cli) -> Result<ExitStatus, CliError> {
    let now = crate::time::now_unix();
    let common = cli.common;
    let root = common.root()?;
    let mut out = Output::stdout(common.format(), common.quiet);
    // Events printed as text to a terminal stream past as they are read: a
    // progress line there would be drawn over them, and --follow never ends.
    let events_on_terminal = cli.command.is_none()
        && (cli.follow || std::io::IsTerminal::is_terminal(&std::io::stdout()));
    if hardkit_core::progress::wanted(&common) && !events_on_terminal {
        out.show_progress(ReadProgress::new(true));
    }
    let status = match cli.command {
        None => {
            let opts = cli.scan.options(now)?;
            let inputs = cli.scan.inputs(&root)?;
            if cli.follow {
                if inputs.contains(&Input::Stdin) {
                    return Err(CliError::FollowStdin);
                }
                crate::follow::follow(&inputs, opts, &mut out)?;
            } else {
                let mut scanner = Scanner::new(opts);
                crate::event_stream::scan_to_output(&mut scanner, &inputs, &mut out)?;
            }
            out.finish(common.fail_on)?
        }
        Some(Command::Summary(args)) => {
            let opts = args.options(now)?;
            crate::summary::run(opts, &args.inputs(&root)?, &mut out)?;
            out.finish(common.fail_on)?
        }
        Some(Command::Audit(args)) => {
            run_audit(&args, &root, now, &mut out)?;
            out.finish(common.fail_on)?
        }
        Some(Command::Offenders(args)) => {
            let opts = args.scan.options(now)?;
            let settings = crate::offenders::Settings {
                maxretry: args.maxretry.max(1),
                findtime: args.findtime,
                bantime: args.bantime,
            };
            crate::offenders::run(opts, settings, &args.scan.inputs(&root)?, &mut out)?;
            out.finish(common.fail_on)?
        }
    };
    Ok(status)
}

fn run_audit(args: &AuditArgs, root: &Root, now: i64, out: &mut Output) -> Result<(), CliError> {
    let since = args
        .since
        .as_deref()
        .map(|t| {
            crate::time::parse_time_bound(t, now).ok_or_else(|| CliError::BadTime {
                flag: "since",
                value: t.to_string(),
            })
        })
        .transpose()?;
    let files = if args.files.is_empty() {
        vec![PathBuf::from("/var/log/audit/audit.log")]
    } else {
        args.files.clone()
    };
    let scan = ScanArgs {
        files,
        mode: Mode::Normal,
        since: None,
        until: None,
    };
    for input in scan.inputs(root)? {
        let name = input.source_path();
        let reader: Box<dyn std::io::Read + Send> = match input.host_path() {
            None => Box::new(std::io::stdin()),
            Some(p) => match crate::lines::open_file(
                p,
                &out.progress(),
                matches!(input, Input::Under { .. }),
            ) {
                Ok(r) => r,
                Err(e) => {
                    input_error(out, &name, format!("{e}"))?;
                    continue;
                }
            },
        };
        let events = crate::audit_log::read(reader, since)?;
        let log = hardkit_core::bytes_path::display_path(name.as_path());
        for e in &events.execs {
            out.emit(e)?;
            if !out.is_json() {
                out.text(&format!(
                    "{} ran {}\n",
                    hardkit_core::output::escape_untrusted(&e.account),
                    hardkit_core::output::escape_untrusted(&e.argv.join(" "))
                ))?;
            }
        }
        for w in &events.writes {
            out.emit(w)?;
        }
        for f in crate::audit_log::findings(&events, &log) {
            out.finding(f)?;
        }
    }
    Ok(())
}

/// Report a per-input problem as an `error` record.
pub fn input_error(
    out: &mut Output,
    path: &hardkit_core::BytesPath,
    message: String,
) -> std::io::Result<()> {
    out.error(ErrorRecord {
        path: Some(path.clone()),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_subcommands_and_durations() {
        let c = Cli::try_parse_from([
            "logscan",
            "offenders",
            "--maxretry",
            "3",
            "--findtime",
            "1h",
            "--bantime",
            "-1",
            "a.log",
        ])
        .unwrap();
        match c.command {
            Some(Command::Offenders(o)) => {
                assert_eq!((o.maxretry, o.findtime, o.bantime), (3, 3600, -1));
                assert_eq!(o.scan.files, vec![PathBuf::from("a.log")]);
            }
            other => panic!("{other:?}"),
        }
        let c = Cli::try_parse_from(["logscan", "--mode", "aggressive", "x"]).unwrap();
        assert_eq!(c.scan.mode, Mode::Aggressive);
        assert!(Cli::try_parse_from(["logscan", "--mode", "paranoid"]).is_err());
        assert!(Cli::try_parse_from(["logscan", "offenders", "--findtime", "soon"]).is_err());
    }
}
