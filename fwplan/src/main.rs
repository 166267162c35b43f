//! fwplan's entry point: parse the command line and hand it to the library.

use std::process::ExitCode;

use fwplan::cli::{run, Cli};

fn main() -> ExitCode {
    let cli: Cli = hardkit_core::cli::parse(fwplan::TOOL);
    let common = cli.common.clone();
    hardkit_core::exit::run(fwplan::TOOL, &common, || run(cli))
}
