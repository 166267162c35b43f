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
        secupdates::cli::Cli::command(),
        aistack::cli::Cli::command(),
        hardkit_write::cli::Cli::command(),
    ]
}

/// Environment variables a tool reads, with what they change. The test
/// `every_variable_a_tool_reads_is_documented` checks this against the
/// sources (the tool's own, and the core modules it uses).
fn environment(tool: &str) -> Vec<(&'static str, &'static str)> {
    let mut vars = vec![(
        "NO_COLOR",
        "When set to a non-empty value, human output is not coloured (unless --color always).",
    )];
    if matches!(tool, "fim" | "logscan") {
        vars.push((
            "TERM",
            "dumb: no progress line (it is drawn on stderr only when stderr is a terminal, never with --json or -q).",
        ));
    }
    let programs = match tool {
        "jailgen" => Some("fail2ban-client, to check a written jail"),
        "sshd-lint" => Some("unshare, to check a candidate fix with sshd -t before it is written"),
        "fwplan" => Some("nft, ip, unshare, systemd-run, ufw, iptables-restore"),
        "svcacct" => Some("groupadd, useradd, usermod, gpasswd, visudo, logrotate, systemctl"),
        _ => None,
    };
    if let Some(programs) = programs {
        vars.push(("PATH", programs));
    }
    match tool {
        "fwplan" => vars.push((
            "SSH_CONNECTION",
            "The SSH client of this session: apply refuses a ruleset that would not admit it (unless --force).",
        )),
        "logscan" => vars.push((
            "TZ",
            "The time zone of classic syslog timestamps, which carry none (as for the programs that wrote them).",
        )),
        _ => {}
    }
    vars
}

/// What exit status 1 also means for a tool, besides findings.
fn findings_status_note(tool: &str) -> Option<&'static str> {
    match tool {
        "fim" => Some("for check and update: the system changed since the baseline"),
        "svcacct" => Some("for plan and apply --check: some action would change the system"),
        _ => None,
    }
}

/// The examples of a command's help (its `after_help`, without the
/// `Examples:` heading), one command line each.
fn examples(cmd: &Command) -> Vec<String> {
    let Some(text) = cmd.get_after_help() else {
        return Vec::new();
    };
    let text = text.to_string();
    let mut lines = text.lines();
    if let Some(first) = lines.clone().next() {
        if first.trim_end().ends_with(':') {
            lines.next();
        }
    }
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect()
}

/// One manual page: clap_mangen's sections for what clap knows (name,
/// synopsis, description, options), then sections clap has no place for.
/// Examples are set without filling (`.nf`): filled, a long command line
/// is joined, justified and hyphenated into something nobody can paste.
fn render_page(
    cmd: &Command,
    title: &str,
    source: &str,
    pages: &[(String, String)],
    see_also: &[String],
) -> io::Result<Vec<u8>> {
    use clap_mangen::roff::{bold, roman, Roff};
    let tool = source.split(' ').next().unwrap_or_default();
    let man = clap_mangen::Man::new(cmd.clone())
        .title(title)
        .source(source.to_string());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut page)?;
    }
    let mut roff = Roff::new();
    // Only the subcommands that have a page (not clap's `help`).
    if !pages.is_empty() {
        roff.control("SH", ["SUBCOMMANDS"]);
        for (name, about) in pages {
            roff.control("TP", []);
            roff.text([bold(format!("{name}(1)"))]);
            roff.text([roman(about.clone())]);
        }
    }
    let examples = examples(cmd);
    if !examples.is_empty() {
        roff.control("SH", ["EXAMPLES"]);
        roff.control("nf", []);
        for line in examples {
            roff.text([roman(line)]);
        }
        roff.control("fi", []);
    }
    roff.control("SH", ["EXIT STATUS"]);
    for status in hardkit_core::ExitStatus::ALL {
        roff.control("TP", []);
        roff.text([bold(status.code().to_string())]);
        let mut meaning = status.meaning().to_string();
        if status == hardkit_core::ExitStatus::Findings {
            if let Some(note) = findings_status_note(tool) {
                meaning = format!("{meaning}; {note}");
            }
        }
        roff.text([roman(meaning)]);
    }
    roff.control("SH", ["ENVIRONMENT"]);
    for (var, what) in environment(tool) {
        roff.control("TP", []);
        roff.text([bold(var)]);
        roff.text([roman(match var {
            "PATH" => format!("Where the programs this tool runs are found: {what}."),
            _ => what.to_string(),
        })]);
    }
    if !see_also.is_empty() {
        roff.control("SH", ["SEE ALSO"]);
        let refs: Vec<String> = see_also.iter().map(|p| format!("{p}(1)")).collect();
        roff.text([roman(refs.join(", "))]);
    }
    roff.to_writer(&mut page)?;
    if cmd.get_version().is_some() {
        man.render_version_section(&mut page)?;
    }
    Ok(page)
}

/// The pages of one tool: TOOL.1, and TOOL-SUB.1 for each subcommand a
/// user can run (not hidden ones, not clap's `help`, which has no page).
fn write_man_pages(cmd: &Command, all_tools: &[String], dir: &Path) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let name = cmd.get_name().to_string();
    let subs: Vec<&Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect();
    let sub_pages: Vec<(String, String)> = subs
        .iter()
        .map(|s| {
            let about = s.get_about().map(|a| a.to_string()).unwrap_or_default();
            (format!("{name}-{}", s.get_name()), about)
        })
        .collect();
    let mut see_also: Vec<String> = sub_pages.iter().map(|(p, _)| p.clone()).collect();
    see_also.extend(all_tools.iter().filter(|t| **t != name).cloned());
    // The footer of every page of the tool: `fim 0.1.0`.
    let source = format!("{name} {}", cmd.get_version().unwrap_or_default());
    let page = render_page(cmd, &name, &source, &sub_pages, &see_also)?;
    let path = dir.join(format!("{name}.1"));
    fs::write(&path, page)?;
    written.push(path);
    for sub in subs {
        let full = format!("{name}-{}", sub.get_name());
        let sub = sub.clone().bin_name(format!("{name} {}", sub.get_name()));
        let page = render_page(&sub, &full, &source, &[], std::slice::from_ref(&name))?;
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
    let names: Vec<String> = tools().iter().map(|c| c.get_name().to_string()).collect();
    for cmd in tools() {
        let mut cmd = cmd;
        cmd.build();
        count += write_man_pages(&cmd, &names, &out.join("man/man1"))?.len();
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

    /// A page as `man` shows it on an 80-column terminal, and its warnings.
    fn man_rendered(page: &Path) -> (String, String) {
        let out = std::process::Command::new("man")
            .args(["--warnings", "-E", "UTF-8", "-l"])
            .arg(page)
            .env("MANWIDTH", "80")
            .env("MAN_KEEP_FORMATTING", "")
            .output()
            .expect("man(1) (man-db) is needed to check the pages");
        assert!(out.status.success(), "man -l {}", page.display());
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `name(1)` references in roff source (`fim\-init(1)`).
    fn page_references(source: &str) -> Vec<String> {
        let text = source.replace("\\-", "-");
        let mut refs = Vec::new();
        for (i, _) in text.match_indices("(1)") {
            let name: String = text[..i]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if !name.is_empty() {
                refs.push(name);
            }
        }
        refs
    }

    #[test]
    fn man_pages_have_their_sections_real_references_and_no_warnings() {
        let tmp = tempfile::tempdir().unwrap();
        dist(tmp.path()).unwrap();
        let dir = tmp.path().join("man/man1");
        let mut pages: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        pages.sort();
        let names: Vec<String> = tools().iter().map(|c| c.get_name().to_string()).collect();
        assert!(pages.len() > names.len(), "{pages:?}");
        for page in &pages {
            let file = page.file_name().unwrap().to_string_lossy().into_owned();
            let source = fs::read_to_string(page).unwrap();
            let mut sections = vec![
                "NAME",
                "SYNOPSIS",
                "DESCRIPTION",
                "OPTIONS",
                "EXIT STATUS",
                "ENVIRONMENT",
                "SEE ALSO",
            ];
            let is_tool_page = names.iter().any(|n| file == format!("{n}.1"));
            if is_tool_page {
                sections.push("EXAMPLES");
            }
            for section in sections {
                let heading = if section.contains(' ') {
                    format!(".SH \"{section}\"\n")
                } else {
                    format!(".SH {section}\n")
                };
                assert!(source.contains(&heading), "{file}: no {section} section");
            }
            for status in ["130", "2", "1", "0"] {
                assert!(
                    source.contains(&format!(".TP\n\\fB{status}\\fR\n")),
                    "{file}: exit {status}"
                );
            }
            assert!(source.contains("NO_COLOR"), "{file}");
            // Every reference to a hardkit page is a page that was written
            // (clap's own `help` subcommand has none).
            for reference in page_references(&source) {
                if names.iter().any(|n| reference.starts_with(n.as_str())) {
                    assert!(
                        dir.join(format!("{reference}.1")).is_file(),
                        "{file} refers to {reference}(1), which does not exist"
                    );
                }
            }
            assert!(!source.contains("help(1)"), "{file}");
            let (shown, warnings) = man_rendered(page);
            assert!(warnings.trim().is_empty(), "{file}: {warnings}");
            assert!(shown.contains("EXIT STATUS"), "{file}: {shown}");
        }
    }

    #[test]
    fn examples_are_shown_one_command_per_line_as_written() {
        let tmp = tempfile::tempdir().unwrap();
        dist(tmp.path()).unwrap();
        let mut checked = 0;
        for cmd in tools() {
            let name = cmd.get_name().to_string();
            let mut pages = vec![(format!("{name}.1"), cmd.clone())];
            for sub in cmd.get_subcommands() {
                pages.push((format!("{name}-{}.1", sub.get_name()), sub.clone()));
            }
            for (file, cmd) in pages {
                let page = tmp.path().join("man/man1").join(&file);
                if !page.is_file() {
                    continue;
                }
                let (shown, _) = man_rendered(&page);
                let lines: Vec<&str> = shown.lines().map(str::trim).collect();
                for example in examples(&cmd) {
                    assert!(
                        lines.contains(&example.as_str()),
                        "{file}: example not shown whole on one line: {example}\n{shown}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked >= 20, "only {checked} examples");
    }

    /// `NAME` of every `env::var("NAME")` / `var_os("NAME")` in the `.rs`
    /// files under `dir` (tests excluded).
    fn variables_read(dir: &Path) -> Vec<String> {
        let mut vars = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let path = e.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "rs") {
                    let text = fs::read_to_string(&path).unwrap();
                    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
                    for pattern in ["var(\"", "var_os(\""] {
                        for (i, _) in text.match_indices(pattern) {
                            let rest = &text[i + pattern.len()..];
                            if let Some(end) = rest.find('"') {
                                vars.push(rest[..end].to_string());
                            }
                        }
                    }
                }
            }
        }
        vars
    }

    #[test]
    fn every_variable_a_tool_reads_is_documented() {
        let top = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        // Core modules a tool may use, and the variables they read; the
        // test helpers (oracle, rng) are not used by the tools.
        let core = top.join("core/src");
        for cmd in tools() {
            let name = cmd.get_name().to_string();
            let src = top.join(name.trim_start_matches("hardkit-")).join("src");
            let documented: Vec<&str> = environment(&name).iter().map(|(v, _)| *v).collect();
            let mut read = variables_read(&src);
            let tool_text = {
                let mut all = String::new();
                let mut stack = vec![src.clone()];
                while let Some(d) = stack.pop() {
                    for e in fs::read_dir(&d).unwrap() {
                        let p = e.unwrap().path();
                        if p.is_dir() {
                            stack.push(p);
                        } else {
                            all.push_str(&fs::read_to_string(&p).unwrap_or_default());
                        }
                    }
                }
                all
            };
            for (module, used) in [
                ("output.rs", true),
                ("progress.rs", tool_text.contains("progress::wanted")),
                ("program.rs", tool_text.contains("find_program")),
            ] {
                if used {
                    let text = fs::read_to_string(core.join(module)).unwrap();
                    let dir = tempfile::tempdir().unwrap();
                    fs::write(dir.path().join(module), text).unwrap();
                    read.extend(variables_read(dir.path()));
                }
            }
            assert!(
                read.contains(&"NO_COLOR".to_string()),
                "the scan finds nothing"
            );
            for var in read {
                assert!(
                    documented.contains(&var.as_str()),
                    "{name} reads {var}, but its man page's ENVIRONMENT does not say so"
                );
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
