use std::process::ExitCode;

fn main() -> ExitCode {
    let cli: svcacct::cli::Cli = hardkit_core::cli::parse(svcacct::cli::TOOL);
    let common = cli.common.clone();
    hardkit_core::exit::run(svcacct::cli::TOOL, &common, || svcacct::cli::run(cli))
}
