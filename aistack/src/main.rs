use std::process::ExitCode;

fn main() -> ExitCode {
    let cli: aistack::cli::Cli = hardkit_core::cli::parse(aistack::cli::TOOL);
    let common = cli.common.clone();
    hardkit_core::exit::run(aistack::cli::TOOL, &common, || aistack::cli::run(cli))
}
