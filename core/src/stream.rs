//! Reading another tool's JSON Lines (`jailgen --sshd -`, `fwplan --sshd -`):
//! keep the records of one type, skip blank lines and every other type (so
//! a whole stream, findings and summary included, can be piped in), and
//! name `input:line` when a line is not a hardkit record.

use crate::input::{InputError, InputSource};
use crate::record::envelope;

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{name}:{line}: {message}")]
    Line {
        name: String,
        line: u64,
        message: String,
    },
}

/// One kept record: its 1-based line number in the input and the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLine {
    pub line: u64,
    pub text: String,
}

/// The lines of `source` holding records of type `kind` (and, when given,
/// written by `tool`), at most `limit` bytes of input. Invalid UTF-8 is
/// replaced rather than refused: the JSON parser then names the line.
pub fn records_of_type(
    source: &InputSource,
    kind: &str,
    tool: Option<&str>,
    limit: u64,
) -> Result<Vec<StreamLine>, StreamError> {
    let data = source.read_limited(limit)?;
    records_in_text(
        &source.display_name(),
        &String::from_utf8_lossy(&data),
        kind,
        tool,
    )
}

/// The same for text already read; `name` is how errors call the input.
pub fn records_in_text(
    name: &str,
    text: &str,
    kind: &str,
    tool: Option<&str>,
) -> Result<Vec<StreamLine>, StreamError> {
    let mut kept = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let number = index as u64 + 1;
        let (line_kind, line_tool) = envelope(line).map_err(|e| StreamError::Line {
            name: name.to_string(),
            line: number,
            message: format!("not a hardkit record: {e}"),
        })?;
        if line_kind == kind && tool.is_none_or(|t| t == line_tool) {
            kept.push(StreamLine {
                line: number,
                text: line.to_string(),
            });
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn source_with(dir: &Path, text: &str) -> InputSource {
        let path = dir.join("in.jsonl");
        std::fs::write(&path, text).unwrap();
        InputSource::parse(&path)
    }

    #[test]
    fn keeps_one_type_from_one_tool_with_line_numbers() {
        let tmp = tempfile::tempdir().unwrap();
        let src = source_with(
            tmp.path(),
            concat!(
                r#"{"type":"setting","tool":"sshd-lint","key":"port","value":"22"}"#,
                "\n",
                "\n",
                r#"{"type":"finding","tool":"sshd-lint","id":"x"}"#,
                "\n",
                r#"{"type":"setting","tool":"other","key":"port","value":"1"}"#,
                "\n",
                r#"{"type":"setting","tool":"sshd-lint","key":"port","value":"2222"}"#,
                "\n",
            ),
        );
        let kept = records_of_type(&src, "setting", Some("sshd-lint"), 1 << 20).unwrap();
        assert_eq!(kept.iter().map(|l| l.line).collect::<Vec<_>>(), [1, 5]);
        let any_tool = records_of_type(&src, "setting", None, 1 << 20).unwrap();
        assert_eq!(any_tool.len(), 3);
    }

    #[test]
    fn a_line_that_is_not_a_record_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let src = source_with(
            tmp.path(),
            "{\"type\":\"setting\",\"tool\":\"a\"}\nPort 22\n",
        );
        let err = records_of_type(&src, "setting", None, 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("in.jsonl:2: not a hardkit record: not a JSON object: expected value at line 1 column 1"), "{err}");
    }
}
