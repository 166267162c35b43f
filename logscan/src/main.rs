use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = logscan::cli::Cli::parse();
    hardkit_core::exit::run(logscan::TOOL, || logscan::cli::run(cli))
}
