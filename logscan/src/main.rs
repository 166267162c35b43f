use std::process::ExitCode;

fn main() -> ExitCode {
    let cli: logscan::cli::Cli = hardkit_core::cli::parse(logscan::TOOL);
    let common = cli.common.clone();
    hardkit_core::exit::run(logscan::TOOL, &common, || logscan::cli::run(cli))
}
