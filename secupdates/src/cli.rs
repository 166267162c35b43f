//! The command line: `secupdates audit`, `pending`, `apply`, `dump`.

use std::io;

use clap::{Args, Parser, Subcommand};

use hardkit_core::output::escape_untrusted;
use hardkit_core::{CommonArgs, ErrorRecord, ExitStatus, Reporter};

use crate::apply::{self, Options, RebootTime};
use crate::aptconf::AptConfig;
use crate::audit;
use crate::target::Target;

pub const TOOL: &str = "secupdates";

#[derive(Parser, Debug)]
#[command(
    name = "secupdates",
    version,
    about = "Are security updates installed by themselves? unattended-upgrades and apt's daily job audited and switched on, and the security updates still pending",
    after_help = "Examples:\n  \
        secupdates audit                      # exit 1 when security updates are not applied by themselves\n  \
        secupdates audit --root /mnt/image --json\n  \
        secupdates apply --check --diff       # what apply would write\n  \
        secupdates apply                      # write /etc/apt/apt.conf.d/52hardkit-security-updates\n  \
        secupdates pending --json | jq -r .package\n  \
        secupdates dump Unattended-Upgrade    # the configuration as apt-config dump prints it"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check that security updates are fetched and installed by themselves
    Audit,
    /// List the security updates apt knows of that are not installed
    Pending,
    /// Switch automatic security updates on: one file of apt.conf.d
    /// (security archive only, no reboot unless --reboot-at)
    Apply(ApplyArgs),
    /// Print apt's configuration under KEY as `apt-config dump KEY` does
    Dump(DumpArgs),
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Write nothing; report what would change (exit 1 if something would)
    #[arg(long)]
    pub check: bool,
    /// Show the change as a unified diff
    #[arg(long)]
    pub diff: bool,
    /// Keep the origins already configured (e.g. point releases) and add
    /// the security archive; default: the security archive only
    #[arg(long)]
    pub keep_origins: bool,
    /// Reboot by itself at HH:MM when an update needs it (default: never)
    #[arg(long, value_name = "HH:MM")]
    pub reboot_at: Option<RebootTime>,
}

#[derive(Args, Debug)]
pub struct DumpArgs {
    /// Configuration trees to print (e.g. APT::Periodic)
    #[arg(value_name = "KEY", required = true)]
    pub keys: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Root(#[from] hardkit_core::root::RootError),
    #[error(transparent)]
    Apply(#[from] apply::ApplyError),
    #[error(transparent)]
    Config(#[from] crate::aptconf::ConfigError),
    #[error("writing output")]
    Output(#[from] io::Error),
}

pub fn run(cli: Cli) -> Result<ExitStatus, CliError> {
    let common = cli.common;
    let root = common.root()?;
    let mut reporter = Reporter::stdout(TOOL, common.format(), common.quiet);
    let extra = match cli.command {
        Command::Audit => run_audit(&Target::load(&root), &mut reporter)?,
        Command::Pending => run_pending(&Target::load(&root), &mut reporter)?,
        Command::Apply(a) => {
            let opts = Options {
                check: a.check,
                diff: a.diff,
                keep_origins: a.keep_origins,
                reboot_at: a.reboot_at,
            };
            let actions = apply::apply(&root, &opts)?;
            let mut status = ExitStatus::Clean;
            for action in &actions {
                reporter.emit(action)?;
                if !reporter.is_json() {
                    let mark = if action.changed { "change" } else { "ok" };
                    let mut line = format!(
                        "{mark:<7} {:<8} {}\n",
                        action.op,
                        hardkit_core::bytes_path::display_path(action.path.as_path())
                    );
                    if let Some(d) = &action.diff {
                        line.push_str(d);
                    }
                    reporter.text(&line)?;
                }
                // (the file's write is this tool's; install and enable
                // are the caller's steps)
                if a.check && action.changed && action.op == "write" {
                    status = ExitStatus::Findings;
                }
            }
            status
        }
        Command::Dump(d) => {
            let config = AptConfig::load(&root)?;
            let mut text = String::new();
            for key in &d.keys {
                text.push_str(&config.dump(key));
            }
            reporter.text(&text)?;
            ExitStatus::Clean
        }
    };
    Ok(reporter.finish(common.fail_on, extra)?)
}

fn run_audit<W: io::Write>(
    target: &Target,
    reporter: &mut Reporter<W>,
) -> Result<ExitStatus, CliError> {
    if target.packages.is_none() {
        reporter
            .text("secupdates: no dpkg status file: not a Debian system, nothing to check\n")?;
        return Ok(ExitStatus::Clean);
    }
    reporter.emit(&target.release)?;
    reporter.text(&format!(
        "secupdates: {}\n",
        target.release.human("unattended-upgrades")
    ))?;
    reporter.text(&format!("{}\n", facts_line(target)))?;
    // The pending updates behind secupdates/pending, as records (monitor
    // ages them from this one run).
    for p in &target.pending().0 {
        reporter.emit(p)?;
    }
    for finding in audit::audit(target) {
        reporter.finding(finding)?;
    }
    Ok(ExitStatus::Clean)
}

/// One line of what was found, for a human reader.
fn facts_line(t: &Target) -> String {
    let release = match (&t.os, t.debian) {
        (_, Some(r)) => format!("Debian {} ({})", r.version, r.codename),
        (Some(o), None) if !o.pretty_name.is_empty() => escape_untrusted(&o.pretty_name),
        _ => "release unknown (no os-release)".to_string(),
    };
    let package = match t.installed("unattended-upgrades") {
        Some(p) => format!(
            "unattended-upgrades {} installed",
            escape_untrusted(&p.version)
        ),
        None => "unattended-upgrades not installed".to_string(),
    };
    let security = match t.security_sources().first() {
        None => "no security source".to_string(),
        Some(s) => format!("security source {}", escape_untrusted(&s.suite)),
    };
    format!("{release}; {security}; {package}")
}

fn run_pending<W: io::Write>(
    target: &Target,
    reporter: &mut Reporter<W>,
) -> Result<ExitStatus, CliError> {
    let (pending, unreadable) = target.pending();
    for (path, error) in unreadable {
        reporter.error(ErrorRecord {
            message: format!("{path}: {error}"),
            path: None,
        })?;
    }
    for p in pending {
        reporter.emit(p)?;
        if !reporter.is_json() {
            reporter.text(&format!(
                "{}:{} {} -> {} ({})\n",
                escape_untrusted(&p.package),
                escape_untrusted(&p.arch),
                escape_untrusted(&p.installed),
                escape_untrusted(&p.candidate),
                escape_untrusted(&p.archive)
            ))?;
        }
    }
    if !reporter.is_json() && pending.is_empty() {
        reporter.text("no security update pending (as far as apt's lists know)\n")?;
    }
    Ok(ExitStatus::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
