//! Command-line options every tool shares (flattened into each tool's clap
//! definition), so `--json`, `--fail-on`, `--root` and `-q` mean the same
//! thing everywhere.

use std::path::PathBuf;

use clap::Args;

use crate::output::Format;
use crate::root::{Root, RootError};
use crate::severity::Severity;

#[derive(Args, Debug, Clone, PartialEq, Eq)]
pub struct CommonArgs {
    /// Write JSON Lines (one record per line, ending with a summary) instead of text
    #[arg(long, global = true)]
    pub json: bool,

    /// Exit 1 when a finding at or above this severity is reported
    /// [possible values: info, low, medium, high, critical]
    #[arg(long, value_name = "SEVERITY", default_value = "high", global = true)]
    pub fail_on: Severity,

    /// Examine the system under DIR (a mounted image or a test tree): every
    /// system path is resolved under DIR
    #[arg(long, value_name = "DIR", default_value = "/", global = true)]
    pub root: PathBuf,

    /// Print nothing but findings and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
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
}
