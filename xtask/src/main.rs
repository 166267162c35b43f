//! `cargo xtask dist [--out DIR]`: man pages and shell completions for every
//! tool, generated from the same clap definitions the binaries parse with, so
//! they cannot drift from `--help`. scripts/install copies them into place.
//!
//! Layout written under DIR (default target/dist):
//!   man/man1/TOOL.1 and TOOL-SUBCOMMAND.1
//!   completions/bash/TOOL.bash, completions/zsh/_TOOL, completions/fish/TOOL.fish

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Command, CommandFactory};
use clap_complete::Shell;

/// Every tool's command definition, by binary name.
fn tools() -> Vec<Command> {
    vec![
        sshd_lint::cli::Cli::command(),
        jailgen::cli::Cli::command(),
        fwplan::cli::Cli::command(),
        svcacct::cli::Cli::command(),
        fim::cli::Cli::command(),
        logscan::cli::Cli::command(),
    ]
}

fn write_man_pages(cmd: &Command, dir: &Path) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let name = cmd.get_name().to_string();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    let path = dir.join(format!("{name}.1"));
    fs::write(&path, page)?;
    written.push(path);
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let full = format!("{name}-{}", sub.get_name());
        let mut page = Vec::new();
        clap_mangen::Man::new(sub.clone())
            .title(full.clone())
            .render(&mut page)?;
        let path = dir.join(format!("{full}.1"));
        fs::write(&path, page)?;
        written.push(path);
    }
    Ok(written)
}

fn write_completions(cmd: &Command, dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (shell, sub) in [
        (Shell::Bash, "bash"),
        (Shell::Zsh, "zsh"),
        (Shell::Fish, "fish"),
    ] {
        let out = dir.join(sub);
        fs::create_dir_all(&out)?;
        let mut cmd = cmd.clone();
        let name = cmd.get_name().to_string();
        let path = clap_complete::generate_to(shell, &mut cmd, name, &out)?;
        written.push(path);
    }
    Ok(written)
}

fn dist(out: &Path) -> io::Result<usize> {
    let mut count = 0;
    for cmd in tools() {
        let mut cmd = cmd;
        cmd.build();
        count += write_man_pages(&cmd, &out.join("man/man1"))?.len();
        count += write_completions(&cmd, &out.join("completions"))?.len();
    }
    Ok(count)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: cargo xtask dist [--out DIR]";
    let out = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["dist"] => PathBuf::from("target/dist"),
        ["dist", "--out", dir] => PathBuf::from(dir),
        ["-h"] | ["--help"] => {
            println!("{usage}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("xtask: {usage}");
            return ExitCode::from(2);
        }
    };
    match dist(&out) {
        Ok(n) => {
            eprintln!("xtask: wrote {n} files under {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask: {}: {e}", out.display());
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_gets_man_pages_and_three_completions() {
        let tmp = tempfile::tempdir().unwrap();
        dist(tmp.path()).unwrap();
        for cmd in tools() {
            let name = cmd.get_name().to_string();
            let page = fs::read_to_string(tmp.path().join(format!("man/man1/{name}.1"))).unwrap();
            assert!(page.contains(".TH") && page.contains(&name), "{name}.1");
            for path in [
                format!("completions/bash/{name}.bash"),
                format!("completions/zsh/_{name}"),
                format!("completions/fish/{name}.fish"),
            ] {
                assert!(tmp.path().join(&path).is_file(), "{path} missing");
            }
        }
    }

    /// scripts/tests/examples.sh runs the examples of `--help`; the man
    /// pages are covered by it only while they carry the same lines.
    #[test]
    fn man_pages_carry_every_help_example() {
        let tmp = tempfile::tempdir().unwrap();
        dist(tmp.path()).unwrap();
        for cmd in tools() {
            let name = cmd.get_name().to_string();
            let page = fs::read_to_string(tmp.path().join(format!("man/man1/{name}.1"))).unwrap();
            // roff escapes `-`, `'` and `\`; undo that to compare text.
            let page = page
                .replace("\\-", "-")
                .replace("\\*(Aq", "'")
                .replace("\\&", "")
                .replace("\\(rs", "\\")
                .replace("\\\\", "\\");
            let help = cmd
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            let examples: Vec<&str> = help
                .lines()
                .skip_while(|l| !l.starts_with("Examples:"))
                .skip(1)
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            assert!(examples.len() >= 3, "{name}: no examples in --help");
            for example in examples {
                assert!(
                    page.contains(example),
                    "{name}.1 lacks the help example {example:?}"
                );
            }
        }
    }

    #[test]
    fn every_tool_definition_is_consistent() {
        for cmd in tools() {
            cmd.debug_assert();
        }
    }
}
