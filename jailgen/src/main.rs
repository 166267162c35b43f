use std::process::ExitCode;

use clap::Parser;
use jailgen::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    hardkit_core::exit::run(jailgen::TOOL, || jailgen::run(&cli))
}
