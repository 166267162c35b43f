use std::process::ExitCode;

fn main() -> ExitCode {
    let cli: logscan::cli::Cli = hardkit_core::cli::parse(logscan::TOOL);
    hardkit_core::exit::run(logscan::TOOL, || logscan::cli::run(cli))
}
