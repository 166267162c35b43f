//! Command-line options every tool shares (flattened into each tool's clap
//! definition), so `--json`, `--fail-on`, `--root` and `-q` mean the same
//! thing everywhere.

use std::path::PathBuf;

use clap::Args;

use crate::output::{ColourChoice, Format};
use crate::root::{Root, RootError};
use crate::severity::Severity;

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct CommonArgs {
    /// Write JSON Lines (one record per line, ending with a summary) instead of text
    #[arg(long, global = true)]
    pub json: bool,

    /// Exit 1 when a finding at or above this severity is reported
    #[arg(
        long,
        value_name = "SEVERITY",
        value_enum,
        ignore_case = true,
        default_value_t = Severity::High,
        global = true
    )]
    pub fail_on: Severity,

    /// Examine the system under DIR (a mounted image or a test tree): every
    /// system path is resolved under DIR
    #[arg(long, value_name = "DIR", default_value = "/", global = true)]
    pub root: PathBuf,

    /// Print nothing but findings and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Colour human output: auto (on a terminal, unless NO_COLOR is set),
    /// always (also into a pipe), never. JSON is never coloured
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColourChoice::Auto, global = true)]
    pub color: ColourChoice,
}

impl CommonArgs {
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else {
            Format::Human
        }
    }

    pub fn root(&self) -> Result<Root, RootError> {
        Root::new(&self.root)
    }
}

/// Parse the command line as clap does, but report a usage error the way
/// every hardkit error reads, `tool: ...` (clap says `error: ...`), with
/// clap's usage lines and exit status 2. `--help` and `--version` print
/// and exit 0 as usual.
pub fn parse<T: clap::Parser>(tool: &str) -> T {
    match T::try_parse() {
        Ok(cli) => cli,
        Err(e) => match usage_error_text(tool, &e) {
            // (help, version, and the help clap shows for a missing
            // subcommand: clap prints them as it always does)
            None => e.exit(),
            Some(text) => {
                eprint!("{text}");
                if asks_for_json(std::env::args_os().skip(1)) {
                    let first = text.lines().next().unwrap_or_default();
                    let message = first.strip_prefix(&format!("{tool}: ")).unwrap_or(first);
                    crate::tally::close_stream_with_error(tool, message);
                }
                std::process::exit(crate::ExitStatus::Error.code());
            }
        },
    }
}

/// Whether a command line clap could not parse still asked for `--json`
/// (before any `--`): its reader then gets the usage error as a record too.
fn asks_for_json(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    args.take_while(|a| a != "--").any(|a| a == "--json")
}

/// clap's message for a usage error, with the tool's name in place of
/// `error`; None when clap's output is not an error message.
pub fn usage_error_text(tool: &str, e: &clap::Error) -> Option<String> {
    if !e.use_stderr() {
        return None;
    }
    let text = e.render().to_string();
    text.strip_prefix("error: ")
        .map(|rest| format!("{tool}: {rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[derive(Parser, Debug)]
    #[command(
        name = "demo",
        version,
        after_help = "Example:\n  demo --json --fail-on medium"
    )]
    struct Demo {
        #[command(flatten)]
        common: CommonArgs,
    }

    #[test]
    fn clap_definition_is_consistent() {
        Demo::command().debug_assert();
    }

    #[test]
    fn defaults_and_parsing() {
        let d = Demo::try_parse_from(["demo"]).unwrap();
        assert_eq!(d.common.fail_on, Severity::High);
        assert_eq!(d.common.root, PathBuf::from("/"));
        assert_eq!(d.common.format(), Format::Human);
        let d = Demo::try_parse_from(["demo", "--json", "--fail-on", "low", "-q"]).unwrap();
        assert!(d.common.json && d.common.quiet);
        assert_eq!(d.common.fail_on, Severity::Low);
        assert_eq!(d.common.color, ColourChoice::Auto);
        let d = Demo::try_parse_from(["demo", "--color", "never"]).unwrap();
        assert_eq!(d.common.color, ColourChoice::Never);
        assert!(Demo::try_parse_from(["demo", "--color", "sometimes"]).is_err());
    }

    #[test]
    fn bad_fail_on_names_the_accepted_values() {
        let err = Demo::try_parse_from(["demo", "--fail-on", "severe"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(
            text.contains("--fail-on") && text.contains("critical"),
            "{text}"
        );
    }

    #[test]
    fn a_usage_error_is_a_record_when_json_was_asked_for() {
        let args = |list: &[&str]| {
            list.iter()
                .map(std::ffi::OsString::from)
                .collect::<Vec<_>>()
        };
        assert!(asks_for_json(
            args(&["--fail-on", "x", "--json"]).into_iter()
        ));
        assert!(!asks_for_json(args(&["--fail-on", "x"]).into_iter()));
        assert!(!asks_for_json(args(&["--", "--json"]).into_iter()));
    }

    #[test]
    fn value_flags_offer_their_values_to_completion() {
        let cmd = Demo::command();
        let values = |flag: &str| -> Vec<String> {
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_long() == Some(flag))
                .unwrap();
            arg.get_possible_values()
                .iter()
                .map(|v| v.get_name().to_string())
                .collect()
        };
        assert_eq!(
            values("fail-on"),
            ["info", "low", "medium", "high", "critical"]
        );
        assert_eq!(values("color"), ["auto", "always", "never"]);
        let d = Demo::try_parse_from(["demo", "--fail-on", "MEDIUM"]).unwrap();
        assert_eq!(d.common.fail_on, Severity::Medium);
    }

    #[test]
    fn usage_errors_name_the_tool() {
        #[derive(clap::Parser, Debug)]
        struct Cli {
            #[command(flatten)]
            common: CommonArgs,
        }
        let e = <Cli as clap::Parser>::try_parse_from(["t", "--fail-on", "severe"]).unwrap_err();
        assert!(e.use_stderr());
        let text = usage_error_text("sshd-lint", &e).unwrap();
        assert!(
            text.starts_with("sshd-lint: invalid value 'severe' for '--fail-on"),
            "{text}"
        );
        assert!(!text.contains("error:"), "{text}");
        let help = <Cli as clap::Parser>::try_parse_from(["t", "--help"]).unwrap_err();
        assert!(usage_error_text("t", &help).is_none());
    }
}
