//! The command line: `jailgen [generate options]` and `jailgen audit`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use hardkit_core::CommonArgs;

const EXAMPLES: &str = "\
Examples:
  sshd-lint --json | jailgen --sshd - --jail sshd --jail recidive
  jailgen --ssh-port 2222 --bantime 1h --bantime-increment --ignoreip 192.0.2.0/24 --write
  jailgen --jail sshd --jail api-abuse --api-path /v1/ --api-status 401,403,429 --check --diff
  sshd-lint --json | jailgen audit --sshd -";

/// fail2ban jails that match the real server, validated by fail2ban before
/// they are written, and an audit of the jails already there.
#[derive(Parser, Debug)]
#[command(
    name = "jailgen",
    version,
    after_help = EXAMPLES,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub generate: GenerateArgs,

    /// fail2ban release whose rules apply, e.g. 1.0.2 or 1.1 (default: the
    /// target's, from its package database, or fail2ban-client --version on this machine)
    #[arg(long, value_name = "VERSION", global = true)]
    pub fail2ban: Option<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl Cli {
    /// Were any generation options given? They mean nothing to `audit`.
    pub fn generate_flags_given(&self) -> bool {
        match Cli::try_parse_from(["jailgen"]) {
            Ok(defaults) => defaults.generate != self.generate,
            Err(_) => false,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Report what is wrong with the jails fail2ban would run under --root
    #[command(after_help = "Example:\n  sshd-lint --json | jailgen audit --sshd - --json")]
    Audit(AuditArgs),
}

#[derive(Args, Debug, Default)]
pub struct AuditArgs {
    /// sshd-lint's JSON Lines (its `setting` records for `port`), or - for stdin
    #[arg(long, value_name = "FILE|-")]
    pub sshd: Option<PathBuf>,
}

#[derive(Args, Debug, Default, PartialEq, Eq)]
pub struct GenerateArgs {
    /// sshd-lint's JSON Lines (its `setting` records for `port`), or - for stdin
    #[arg(long, value_name = "FILE|-", conflicts_with = "ssh_port")]
    pub sshd: Option<PathBuf>,

    /// SSH port(s) of the sshd jail, e.g. 2222 or 22,2222 (default: 22)
    #[arg(long, value_name = "PORTS")]
    pub ssh_port: Vec<String>,

    /// Jail to write (repeatable): sshd, recidive, nginx-limit-req,
    /// nginx-botsearch, nginx-http-auth, api-abuse (default: sshd)
    #[arg(long, value_name = "NAME")]
    pub jail: Vec<String>,

    /// Failures before a ban, for every jail but recidive [default: 3]
    #[arg(long, value_name = "N")]
    pub maxretry: Option<String>,

    /// Window in which failures are counted, fail2ban time syntax (not recidive) [default: 10m]
    #[arg(long, value_name = "DURATION")]
    pub findtime: Option<String>,

    /// How long a ban lasts, fail2ban time syntax (not recidive: 1w) [default: 1h]
    #[arg(long, value_name = "DURATION")]
    pub bantime: Option<String>,

    /// Make repeat bans longer (bantime.increment)
    #[arg(long)]
    pub bantime_increment: bool,

    /// Growth factor of repeat bans (implies --bantime-increment) [default: 2]
    #[arg(long, value_name = "FACTOR")]
    pub bantime_factor: Option<String>,

    /// Longest ban with increments (implies --bantime-increment) [default: 1w]
    #[arg(long, value_name = "DURATION")]
    pub bantime_maxtime: Option<String>,

    /// Addresses and networks never banned (commas or spaces; repeatable)
    #[arg(long, value_name = "LIST")]
    pub ignoreip: Vec<String>,

    /// Ban action (default: from the firewall in use: nftables-multiport, ufw, iptables-multiport)
    #[arg(long, value_name = "ACTION")]
    pub banaction: Option<String>,

    /// Where the sshd jail reads: auto (the log file if it exists, else the journal), systemd, file
    #[arg(long, value_name = "BACKEND", default_value = "auto", value_parser = ["auto", "systemd", "file"])]
    pub ssh_backend: String,

    /// Per-jail setting, e.g. recidive.bantime=2w (keys: maxretry, findtime, bantime; repeatable)
    #[arg(long = "set", value_name = "JAIL.KEY=VALUE")]
    pub set: Vec<String>,

    /// Path prefix of the API the api-abuse jail protects
    #[arg(long, value_name = "PREFIX", default_value = "/v1/")]
    pub api_path: String,

    /// HTTP statuses that count as failures for api-abuse
    #[arg(long, value_name = "CODES", default_value = "401,403,429")]
    pub api_status: String,

    /// nginx access log (read by api-abuse)
    #[arg(long, value_name = "PATH", default_value = "/var/log/nginx/access.log")]
    pub nginx_access_log: String,

    /// nginx error log (read by the nginx-* jails)
    #[arg(long, value_name = "PATH", default_value = "/var/log/nginx/error.log")]
    pub nginx_error_log: String,

    /// Install the files under --root after fail2ban-client -t accepted them
    #[arg(long, conflicts_with = "check")]
    pub write: bool,

    /// Validate with fail2ban-client -t and report what --write would change; write nothing
    #[arg(long)]
    pub check: bool,

    /// With --write or --check: show each file's changes as a unified diff
    #[arg(long)]
    pub diff: bool,
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
    fn audit_is_a_subcommand_and_generate_the_default() {
        let cli = Cli::try_parse_from(["jailgen", "audit", "--sshd", "-"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Audit(_))));
        let cli = Cli::try_parse_from(["jailgen", "--jail", "sshd", "--write"]).unwrap();
        assert!(cli.command.is_none() && cli.generate.write);
        assert!(Cli::try_parse_from(["jailgen", "--write", "--check"]).is_err());
        let cli = Cli::try_parse_from(["jailgen", "--root", "/tmp", "audit", "--json"]).unwrap();
        assert!(!cli.generate_flags_given());
        let cli = Cli::try_parse_from(["jailgen", "--jail", "sshd", "audit"]).unwrap();
        assert!(cli.generate_flags_given());
    }
}
