//! What a unit that already exists carries that the regenerated one must
//! keep: the arguments of its ExecStart= (when `--exec` names the same
//! program without any), and its Environment= values. Those are moved into
//! the env file (0600 root:root, read with EnvironmentFile=) rather than
//! dropped: a unit file is world-readable, and so would be its backup.

use std::path::Path;

use hardkit_core::input::{read_regular_file, MAX_FILE_BYTES};
use hardkit_core::Root;

use crate::plan::ServiceSpec;
use crate::unit_file;

/// Carried over from the existing unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carried {
    /// The existing ExecStart= value, when it runs `--exec`'s program and
    /// `--exec` gave no arguments.
    pub exec_line: Option<String>,
    /// Environment= assignments, in order, as (name, value).
    pub environment: Vec<(String, String)>,
    /// The last EnvironmentFile= (without systemd's `-`): a later apply
    /// without --env-file keeps reading it.
    pub env_file: Option<String>,
}

/// Read `/etc/systemd/system/NAME.service` under `root`, if it is there.
pub fn carried(root: &Root, spec: &ServiceSpec) -> Result<Carried, hardkit_core::root::RootError> {
    let system = format!("/etc/systemd/system/{}", spec.unit_name());
    let host = root.resolve_parent(&system)?;
    // A link, FIFO or device here carries nothing (and is never read through).
    let Ok(bytes) = read_regular_file(&host, MAX_FILE_BYTES) else {
        return Ok(Carried::default());
    };
    let assignments = unit_file::parse(&String::from_utf8_lossy(&bytes), Path::new(&system));
    let service = || assignments.iter().filter(|a| a.section == "Service");
    let mut carried = Carried::default();
    for a in service().filter(|a| a.key == "Environment") {
        if a.value.is_empty() {
            // An empty assignment resets the list, as systemd does.
            carried.environment.clear();
        }
        for (k, v) in split_environment(&a.value) {
            carried.environment.retain(|(old, _)| *old != k);
            carried.environment.push((k, v));
        }
    }
    carried.env_file = service()
        .rfind(|a| a.key == "EnvironmentFile" && !a.value.is_empty())
        .map(|a| a.value.trim_start_matches('-').to_string());
    let given_args = spec.exec.line.split_whitespace().nth(1).is_some();
    if !given_args {
        let program = spec.exec.program.as_path().to_string_lossy().into_owned();
        carried.exec_line = service()
            .rfind(|a| a.key == "ExecStart" && !a.value.is_empty())
            .filter(|a| {
                let first = a.value.split_whitespace().next().unwrap_or("");
                first.trim_start_matches(['@', '-', ':', '+', '!']) == program
            })
            .map(|a| a.value.clone());
    }
    Ok(carried)
}

/// Words as systemd splits a setting (and a shell, Compose's `command:`,
/// a simple command line): whitespace separates, double or single quotes
/// group (and are removed), a backslash escapes the next character.
pub fn split_words(value: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (_, '\\') => {
                if let Some(n) = chars.next() {
                    word.push(n);
                }
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Environment= words as systemd splits them ([`split_words`]); a word
/// without `=` is ignored, as systemd ignores it.
pub fn split_environment(value: &str) -> Vec<(String, String)> {
    split_words(value)
        .into_iter()
        .filter_map(|w| {
            let (k, v) = w.split_once('=')?;
            (!k.is_empty()).then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// One line of an EnvironmentFile=: `NAME="value"`, with `\` and `"`
/// escaped (systemd unescapes them inside double quotes).
pub fn env_file_line(name: &str, value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("{name}=\"{escaped}\"")
}

/// The variable names an env file already sets.
pub fn env_file_names(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim_start)
        .filter(|l| !l.starts_with('#') && !l.starts_with(';'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k.trim().trim_start_matches("export ").trim().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_splits_like_systemd() {
        assert_eq!(
            split_environment(r#"A=1 "B=two words" C='x y' D=a\ b noequals"#),
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x y".into()),
                ("D".into(), "a b".into()),
            ]
        );
        assert_eq!(env_file_line("K", r#"a"b\c"#), r#"K="a\"b\\c""#);
        assert_eq!(
            env_file_names("# c\nA=1\nexport B=2\n\n"),
            vec!["A".to_string(), "B".to_string()]
        );
    }
}
