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

    /// What bash completes for the last word of `words`, with the tool's
    /// generated completion script sourced (as a user's shell does).
    fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
        let program = format!(
            "source {script:?}
             fn=$(complete -p {tool} | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p')
             COMP_WORDS=({words})
             COMP_CWORD={cword}
             COMP_LINE=\"${{COMP_WORDS[*]}}\"
             COMP_POINT=${{#COMP_LINE}}
             \"$fn\" {tool} \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            tool = words[0],
            words = words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            cword = words.len() - 1,
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "-c", &program])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut got: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .map(String::from)
            .collect();
        got.sort();
        got
    }

    #[test]
    fn bash_completes_the_values_of_value_flags_not_file_names() {
        let tmp = tempfile::tempdir().unwrap();
        dist(tmp.path()).unwrap();
        let sorted = |v: &[&str]| {
            let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        };
        let severities = sorted(&["info", "low", "medium", "high", "critical"]);
        let colours = sorted(&["auto", "always", "never"]);
        for cmd in tools() {
            let name = cmd.get_name().to_string();
            let script = tmp.path().join(format!("completions/bash/{name}.bash"));
            assert_eq!(
                bash_completes(&script, &[&name, "--fail-on", ""]),
                severities,
                "{name} --fail-on"
            );
            assert_eq!(
                bash_completes(&script, &[&name, "--fail-on", "cr"]),
                ["critical"],
                "{name}"
            );
            assert_eq!(
                bash_completes(&script, &[&name, "--color", ""]),
                colours,
                "{name} --color"
            );
        }
        let script = |tool: &str| tmp.path().join(format!("completions/bash/{tool}.bash"));
        assert_eq!(
            bash_completes(&script("fim"), &["fim", "check", "--fail-on", ""]),
            severities
        );
        assert_eq!(
            bash_completes(&script("logscan"), &["logscan", "summary", "--mode", ""]),
            sorted(&["normal", "ddos", "extra", "aggressive"])
        );
        assert_eq!(
            bash_completes(&script("jailgen"), &["jailgen", "--ssh-backend", ""]),
            sorted(&["auto", "systemd", "file"])
        );
        assert_eq!(
            bash_completes(&script("fwplan"), &["fwplan", "render", "--backend", ""]),
            sorted(&["nft", "ufw", "iptables"])
        );
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
