//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use hardkit_core::CommonArgs;

/// fim: a BLAKE3 file-integrity monitor. Records a baseline of the files
/// that matter on a server and reports what changed since.
#[derive(Parser, Debug)]
#[command(
    name = "fim",
    version,
    after_help = "Examples:\n  \
        fim init --key /root/fim.key                  # baseline of /etc, /boot, /usr/bin, ...\n  \
        fim check --key /root/fim.key                 # exit 0 clean, 1 changed, 2 error\n  \
        fim check --key /root/fim.key --json | jq -r 'select(.type==\"change\") | .path'\n  \
        fim init --root /mnt/image /etc /usr          # baseline in /mnt/image/var/lib/hardkit\n  \
        fim show --db /var/lib/hardkit/fim.db --key /root/fim.key --json\n  \
        fim rules --builtin > /etc/hardkit/fim.conf   # a config to edit\n  \
        fim verify-packages --root /mnt/image         # package files vs dpkg's checksums"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Walk the selected paths and write the baseline
    Init(InitArgs),
    /// Compare the system with the baseline (exit 0 clean, 1 changed, 2 error)
    Check(CheckArgs),
    /// Check, then replace the baseline atomically (with the same key)
    Update(CheckArgs),
    /// Verify the baseline and list its entries
    Show(ShowArgs),
    /// Print the rules `fim init` would use (checked), to start a config from
    Rules(RulesArgs),
    /// Check every installed package's files against dpkg's own checksums
    /// (like `dpkg --verify` and `debsums`): for a server with no baseline
    VerifyPackages(VerifyPackagesArgs),
    /// Inventory of dangerous permissions (world-writable files and
    /// directories, set-uid programs and capabilities no package installed,
    /// files without an owner): for a server with no baseline
    Perms(PermsArgs),
}

#[derive(Args, Debug)]
pub struct PermsArgs {
    /// Stay on the filesystem of each PATH
    #[arg(short = 'x', long = "one-file-system")]
    pub one_filesystem: bool,
    /// Trees to look at (system paths under --root); default /etc /usr
    /// /opt /var/lib /srv
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct VerifyPackagesArgs {
    /// Only these packages (repeatable); default: every installed one
    #[arg(long = "package", value_name = "NAME")]
    pub packages: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RulesArgs {
    /// The built-in rules, whatever the config says
    #[arg(long, conflicts_with = "config")]
    pub builtin: bool,
    /// Rule file to check and print, a path on this machine; default:
    /// /etc/hardkit/fim.conf under --root if it exists, else the built-in rules
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Where the baseline is and how it is protected.
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// The baseline, a system path resolved under --root
    #[arg(long, value_name = "FILE", default_value = crate::DEFAULT_DB)]
    pub db: PathBuf,

    /// 32-byte key (raw or 64 hex digits, mode 0600) for the baseline's MAC;
    /// keep it off the monitored machine. A path on this machine, not under --root
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

/// Which rules decide what is watched.
#[derive(Args, Debug, Clone, Default)]
pub struct RuleArgs {
    /// Rule file (docs/fim.md), a path on this machine; default: /etc/hardkit/fim.conf
    /// under --root if it exists, else the built-in rules
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Exclude a path prefix ("/var/cache") or an anchored regex ("~.*\.swp"); repeatable
    #[arg(long, value_name = "SELECTOR")]
    pub exclude: Vec<String>,

    /// Compare only these attributes for every selected path, e.g. "blake3+mode" or "all-mtime"
    #[arg(long, value_name = "SPEC")]
    pub attrs: Option<String>,

    /// Stay on the filesystem of each selected path
    #[arg(short = 'x', long = "one-file-system")]
    pub one_filesystem: bool,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Paths to watch instead of the rules' own selection (system paths)
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Rules for this run instead of the ones stored in the baseline
    #[command(flatten)]
    pub rules: RuleArgs,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    #[command(flatten)]
    pub db: DbArgs,
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
    fn parses_the_documented_forms() {
        let cli =
            Cli::try_parse_from(["fim", "init", "-x", "--exclude", "/etc/x", "/etc"]).unwrap();
        match cli.command {
            Command::Init(a) => {
                assert!(a.rules.one_filesystem);
                assert_eq!(a.paths, vec![PathBuf::from("/etc")]);
                assert_eq!(a.db.db, PathBuf::from(crate::DEFAULT_DB));
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(["fim", "check", "--root", "/tmp", "--json"]).unwrap();
        assert!(cli.common.json);
        assert!(Cli::try_parse_from(["fim", "frobnicate"]).is_err());
    }
}
