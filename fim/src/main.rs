use std::process::ExitCode;

use fim::cli::Cli;

fn main() -> ExitCode {
    let cli: Cli = hardkit_core::cli::parse(fim::TOOL);
    hardkit_core::exit::run(fim::TOOL, || fim::commands::run(cli))
}
