use std::process::ExitCode;

fn main() -> ExitCode {
    let cli: secupdates::cli::Cli = hardkit_core::cli::parse(secupdates::cli::TOOL);
    let common = cli.common.clone();
    hardkit_core::exit::run(secupdates::cli::TOOL, &common, || secupdates::cli::run(cli))
}
