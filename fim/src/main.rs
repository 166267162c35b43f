use std::process::ExitCode;

use clap::Parser;
use fim::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    hardkit_core::exit::run(fim::TOOL, || fim::commands::run(cli))
}
