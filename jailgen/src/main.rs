use std::process::ExitCode;

use jailgen::cli::Cli;

fn main() -> ExitCode {
    let cli: Cli = hardkit_core::cli::parse(jailgen::TOOL);
    hardkit_core::exit::run(jailgen::TOOL, &cli.common, || jailgen::run(&cli))
}
