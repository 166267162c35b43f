use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = svcacct::cli::Cli::parse();
    hardkit_core::exit::run(svcacct::cli::TOOL, || svcacct::cli::run(cli))
}
