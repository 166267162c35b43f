use std::process::ExitCode;

fn main() -> ExitCode {
    let cli: sshd_lint::cli::Cli = hardkit_core::cli::parse(sshd_lint::TOOL);
    let common = cli.common.clone();
    hardkit_core::exit::run(sshd_lint::TOOL, &common, || sshd_lint::cli::run(cli))
}
