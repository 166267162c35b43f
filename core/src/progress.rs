//! Whether a tool may draw progress for long work (fim hashing a tree,
//! logscan reading big logs). The drawing itself is each tool's (with
//! indicatif); the rule is shared so that it is the same everywhere.
//!
//! Progress goes to stderr, so stdout stays the report or the JSON stream,
//! and only when stderr is a terminal: never into a file or a pipe, where
//! its redraws would be garbage. Never with `--json` (a program is reading,
//! nobody is watching) and never under `-q`. Never on a terminal that says
//! it cannot move the cursor (`TERM=dumb`).

use std::io::{self, IsTerminal};

use crate::cli::CommonArgs;

/// Whether this run may draw progress on stderr.
pub fn wanted(common: &CommonArgs) -> bool {
    allowed(common, io::stderr().is_terminal(), std::env::var_os("TERM"))
}

fn allowed(
    common: &CommonArgs,
    stderr_is_terminal: bool,
    term: Option<std::ffi::OsString>,
) -> bool {
    !common.json && !common.quiet && stderr_is_terminal && term.is_none_or(|t| t != "dumb")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        common: CommonArgs,
    }

    fn common(args: &[&str]) -> CommonArgs {
        Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .unwrap()
            .common
    }

    #[test]
    fn only_on_a_terminal_and_never_for_json_or_quiet() {
        let xterm = || Some("xterm".into());
        assert!(allowed(&common(&[]), true, xterm()));
        assert!(allowed(&common(&[]), true, None));
        assert!(!allowed(&common(&[]), false, xterm()));
        assert!(!allowed(&common(&["--json"]), true, xterm()));
        assert!(!allowed(&common(&["-q"]), true, xterm()));
        assert!(!allowed(&common(&[]), true, Some("dumb".into())));
    }
}
