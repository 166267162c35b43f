use std::process::ExitCode;

use fim::cli::Cli;

fn main() -> ExitCode {
    let cli: Cli = hardkit_core::cli::parse(fim::TOOL);
    let common = cli.common.clone();
    hardkit_core::exit::run(fim::TOOL, &common, || fim::commands::run(cli))
}
