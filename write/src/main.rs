//! hardkit-write's entry point: parse the command line and hand it to the library.

use std::process::ExitCode;

use hardkit_write::cli::{run, Cli};

fn main() -> ExitCode {
    let cli: Cli = hardkit_core::cli::parse(hardkit_write::TOOL);
    let common = cli.common.clone();
    hardkit_core::exit::run(hardkit_write::TOOL, &common, || run(cli))
}
