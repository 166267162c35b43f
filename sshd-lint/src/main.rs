use std::process::ExitCode;

fn main() -> ExitCode {
    let cli: sshd_lint::cli::Cli = hardkit_core::cli::parse(sshd_lint::TOOL);
    hardkit_core::exit::run(sshd_lint::TOOL, || sshd_lint::cli::run(cli))
}
