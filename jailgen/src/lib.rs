//! jailgen: fail2ban jails that match the real server, validated by
//! fail2ban before they are written, and an audit of the jails already there.
//!
//! - [`release`]: which fail2ban release's rules apply (`--fail2ban`, dpkg, `--version`);
//! - [`options`]: fail2ban's jail options, one row each, per release;
//! - [`view`]: each enabled jail as `fail2ban-client -d` sends it;
//! - [`values`]: typed, validated fail2ban values (durations, ports, networks, names);
//! - [`host`]: what the host under `--root` has (logs, SSH unit, firewall);
//! - [`sshd_input`]: the SSH ports from sshd-lint's `setting` records;
//! - [`jails`]: the catalogue of jails and their resolution into `jail` records;
//! - [`render`]: the `jail.d/hardkit.local` text;
//! - [`filter_api_abuse`]: the anchored filter of the api-abuse jail;
//! - [`fail2ban_config`]: reading fail2ban's configuration as fail2ban does;
//! - [`fail2ban_actions`]: a jail's `action` value split as fail2ban splits it;
//! - [`fail2ban_program`]: the target's own fail2ban-client, run in the sandbox;
//! - [`fail2ban_values`]: times and ports as fail2ban computes them;
//! - [`audit`]: findings about the jails fail2ban would run;
//! - [`overridden`]: whether the jails written are the jails fail2ban runs;
//! - [`write`]: validation with `fail2ban-client -t` and atomic installation;
//! - [`diff`]: unified diffs for `--diff`.

pub mod audit;
pub mod cli;
pub mod fail2ban_actions;
pub mod fail2ban_config;
pub mod fail2ban_program;
pub mod fail2ban_values;
pub mod filter_api_abuse;
pub mod generate;
pub mod host;
pub mod jails;
pub mod options;
pub mod overridden;
pub mod release;
pub mod render;
pub mod sshd_input;
pub mod values;
pub mod view;
pub mod write;

use hardkit_core::{ExitStatus, Format, Reporter};

pub const TOOL: &str = "jailgen";

#[derive(Debug, thiserror::Error)]
pub enum JailgenError {
    #[error("{0}")]
    Value(#[from] values::ValueError),
    #[error("{0}")]
    Sshd(#[from] sshd_input::SshdInputError),
    #[error("{0}")]
    Resolve(#[from] jails::ResolveError),
    #[error("{0}")]
    Write(#[from] write::WriteError),
    #[error("{0}")]
    Root(#[from] hardkit_core::root::RootError),
    #[error("fail2ban is not installed under {0} (no /etc/fail2ban/jail.conf): install it first, jailgen validates against its configuration")]
    NotInstalled(String),
    #[error("{0}")]
    Usage(String),
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

/// Run one invocation.
pub fn run(cli: &cli::Cli) -> Result<ExitStatus, JailgenError> {
    let root = cli.common.root()?;
    let format = cli.common.format();
    let preview = cli.command.is_none()
        && format == Format::Human
        && !cli.generate.write
        && !cli.generate.check;
    if preview {
        // stdout carries the jail file itself (`jailgen > hardkit.local`);
        // findings about it go to stderr.
        let mut reporter = Reporter::stderr(TOOL, format, cli.common.quiet);
        let release = release::Release::detect(&root, cli.fail2ban.as_deref())?;
        return generate::run(
            &cli.generate,
            &root,
            &release,
            cli.common.fail_on,
            &mut reporter,
        );
    }
    let mut reporter = Reporter::stdout(TOOL, format, cli.common.quiet);
    let release = release::Release::detect(&root, cli.fail2ban.as_deref())?;
    match &cli.command {
        Some(cli::Command::Audit(args)) => {
            audit::run(args, &root, &release, cli.common.fail_on, &mut reporter)
        }
        None => generate::run(
            &cli.generate,
            &root,
            &release,
            cli.common.fail_on,
            &mut reporter,
        ),
    }
}

/// Say, once, whose rules apply (a `release` record in JSON, one line
/// otherwise: on stderr for the preview, whose stdout is the jail file),
/// after the input was found valid (a refusal is one line).
pub fn announce_release(
    release: &release::Release,
    reporter: &mut Reporter<impl std::io::Write>,
) -> Result<(), JailgenError> {
    reporter.emit(&release.record)?;
    reporter.text(&release.human())?;
    if let Some(finding) = release.unmodelled() {
        reporter.finding(finding)?;
    }
    Ok(())
}
