use std::process::ExitCode;

fn main() -> ExitCode {
    let cli: svcacct::cli::Cli = hardkit_core::cli::parse(svcacct::cli::TOOL);
    hardkit_core::exit::run(svcacct::cli::TOOL, || svcacct::cli::run(cli))
}
