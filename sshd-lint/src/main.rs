use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = sshd_lint::cli::Cli::parse();
    hardkit_core::exit::run(sshd_lint::TOOL, || sshd_lint::cli::run(cli))
}
