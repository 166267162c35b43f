//! The records of the hardkit protocol (see docs/protocol.md).
//!
//! Every JSON Lines object is flat and starts with `"type"` and `"tool"`. The
//! record structs below carry only their own fields; [`encode`] adds the two
//! envelope fields in front, and [`decode`] strips them again. Tools define
//! their own record types (setting, event, offender, ...) the same way by
//! implementing [`Record`].
//!
//! Two ways to read a record back, for two jobs. A reader of another tool's
//! records uses [`decode`], which ignores fields it does not know: a writer
//! may add a field (documented in docs/protocol.md) without breaking the
//! pipes that read its records, as ripgrep's JSON readers do. A tool's own
//! tests use [`decode_strict`], which refuses any field the struct does not
//! have, so its output and docs/protocol.md cannot drift apart unnoticed.
//! The structs here therefore do not deny unknown fields themselves; the
//! strictness is the caller's choice.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::bytes_path::BytesPath;
use crate::severity::Severity;

/// A protocol record: a serializable struct with a fixed `type` name.
pub trait Record: Serialize {
    const TYPE: &'static str;
}

/// Where a finding was decided: a file and, when it is a line, its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub path: BytesPath,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

impl Location {
    pub fn new(path: impl Into<BytesPath>, line: Option<u64>) -> Self {
        Location {
            path: path.into(),
            line,
        }
    }
}

/// Something unsafe or wrong, with the evidence and the fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable identifier, `tool-area/what`, e.g. `sshd/permit-root-login`.
    pub id: String,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Machine-readable facts behind the finding (a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Benchmark references such as `CIS-5.2.10`, `dev-sec:sshd-07`, `lynis:SSH-7408`.
    #[serde(default)]
    pub refs: Vec<String>,
}

impl Finding {
    pub fn new(
        id: impl Into<String>,
        severity: Severity,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Finding {
            id: id.into(),
            severity,
            title: title.into(),
            detail: detail.into(),
            location: None,
            evidence: None,
            fix: None,
            refs: Vec::new(),
        }
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub fn refs<I, S>(mut self, refs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.refs = refs.into_iter().map(Into::into).collect();
        self
    }

    /// Add one evidence field; `value` is anything serde can turn into JSON.
    pub fn evidence(mut self, key: &str, value: impl Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.evidence
            .get_or_insert_with(serde_json::Map::new)
            .insert(key.to_string(), value);
        self
    }
}

impl Record for Finding {
    const TYPE: &'static str = "finding";
}

/// One step of a plan, for tools that change a system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// What the step does: `write`, `mkdir`, `useradd`, `validate`, `reload`, ...
    pub op: String,
    pub path: BytesPath,
    /// Octal permission bits, e.g. `"0644"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `user:group`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// False when the system already matched and nothing was (or would be) done.
    pub changed: bool,
    /// Unified diff of the file, when asked for with `--diff`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

impl Record for Action {
    const TYPE: &'static str = "action";
}

/// A per-item problem that did not stop the run (an unreadable file, say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<BytesPath>,
    pub message: String,
}

impl Record for ErrorRecord {
    const TYPE: &'static str = "error";
}

/// The last line of every run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Summary {
    /// Number of records written, by type (the summary itself not counted).
    pub counts: BTreeMap<String, u64>,
    /// Number of findings by severity (only severities that occurred).
    pub severity: BTreeMap<Severity, u64>,
    /// The exit status the tool is about to return.
    pub exit: i32,
}

impl Record for Summary {
    const TYPE: &'static str = "summary";
}

/// Write one record as a JSON Lines object: `{"type":T,"tool":tool,...fields}\n`.
///
/// The struct is serialized straight into `out` behind the envelope: its
/// opening brace is dropped and a comma put in its place unless the struct
/// is empty. No intermediate buffer or map on the hot path (logscan writes
/// millions of events). An I/O error keeps its kind through serde_json, so
/// a closed pipe is still recognised as one.
pub fn encode<R: Record, W: Write>(out: &mut W, tool: &str, record: &R) -> io::Result<()> {
    out.write_all(b"{\"type\":")?;
    serde_json::to_writer(&mut *out, R::TYPE)?;
    out.write_all(b",\"tool\":")?;
    serde_json::to_writer(&mut *out, tool)?;
    let mut body = SpliceBody {
        out: &mut *out,
        state: Splice::ExpectOpen,
    };
    serde_json::to_writer(&mut body, record)?;
    if body.state != Splice::Passing {
        return Err(io::Error::other(format!(
            "record type {} does not serialize to a JSON object",
            R::TYPE
        )));
    }
    out.write_all(b"\n")
}

#[derive(Debug, PartialEq, Eq)]
enum Splice {
    ExpectOpen,
    AfterOpen,
    Passing,
}

/// Rewrites a serialized object's `{` into the envelope's continuation.
struct SpliceBody<'a, W: Write> {
    out: &'a mut W,
    state: Splice,
}

impl<W: Write> Write for SpliceBody<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            match self.state {
                Splice::ExpectOpen => {
                    if rest[0] != b'{' {
                        return Err(io::Error::other("record is not a JSON object"));
                    }
                    self.state = Splice::AfterOpen;
                    rest = &rest[1..];
                }
                Splice::AfterOpen => {
                    if rest[0] != b'}' {
                        self.out.write_all(b",")?;
                    }
                    self.state = Splice::Passing;
                }
                Splice::Passing => {
                    self.out.write_all(rest)?;
                    rest = &[];
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Why a line could not be read back as a record.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("not a JSON object: {0}")]
    Json(#[from] serde_json::Error),
    #[error("record has no string field '{0}'")]
    MissingEnvelope(&'static str),
    #[error("expected a '{expected}' record, got '{got}'")]
    WrongType { expected: &'static str, got: String },
    #[error("'{kind}' record has fields this reader does not know: {}", .fields.join(", "))]
    UnknownFields {
        kind: &'static str,
        fields: Vec<String>,
    },
}

/// A record read back from a line: the envelope and the typed body.
#[derive(Debug)]
pub struct Decoded<T> {
    pub tool: String,
    pub body: T,
}

/// Peek at a line's `type` and `tool` without committing to a body type.
pub fn envelope(line: &str) -> Result<(String, String), DecodeError> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "type")]
        kind: Option<String>,
        tool: Option<String>,
    }
    let env: Envelope = serde_json::from_str(line)?;
    let kind = env.kind.ok_or(DecodeError::MissingEnvelope("type"))?;
    let tool = env.tool.ok_or(DecodeError::MissingEnvelope("tool"))?;
    Ok((kind, tool))
}

/// Parse one line as a record of type `R`, ignoring the fields `R` does
/// not have: how a tool reads another tool's records (docs/protocol.md: a
/// reader ignores fields it does not know).
pub fn decode<R: Record + DeserializeOwned>(line: &str) -> Result<Decoded<R>, DecodeError> {
    let (tool, object) = split_envelope::<R>(line)?;
    let body = R::deserialize(serde_json::Value::Object(object))?;
    Ok(Decoded { tool, body })
}

/// Parse one line as a record of type `R`, refusing every field `R` does
/// not have, at any depth (named by path, `location.column`): how a tool's
/// tests read its own output, so an undocumented field fails a test.
pub fn decode_strict<R: Record + DeserializeOwned>(line: &str) -> Result<Decoded<R>, DecodeError> {
    let (tool, object) = split_envelope::<R>(line)?;
    let mut unknown = Vec::new();
    let body: R = serde_ignored::deserialize(serde_json::Value::Object(object), |path| {
        // serde_ignored writes a step through an Option as `?`; a field
        // name cannot hold one, so dropping it leaves the JSON path.
        unknown.push(path.to_string().replace(".?", ""))
    })?;
    if !unknown.is_empty() {
        return Err(DecodeError::UnknownFields {
            kind: R::TYPE,
            fields: unknown,
        });
    }
    Ok(Decoded { tool, body })
}

/// Check the envelope for type `R` and return the tool and the body's fields.
fn split_envelope<R: Record>(
    line: &str,
) -> Result<(String, serde_json::Map<String, serde_json::Value>), DecodeError> {
    let mut object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)?;
    let kind = match object.remove("type") {
        Some(serde_json::Value::String(s)) => s,
        _ => return Err(DecodeError::MissingEnvelope("type")),
    };
    if kind != R::TYPE {
        return Err(DecodeError::WrongType {
            expected: R::TYPE,
            got: kind,
        });
    }
    let tool = match object.remove("tool") {
        Some(serde_json::Value::String(s)) => s,
        _ => return Err(DecodeError::MissingEnvelope("tool")),
    };
    Ok((tool, object))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_of<R: Record>(record: &R) -> String {
        let mut buf = Vec::new();
        encode(&mut buf, "sshd-lint", record).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn envelope_comes_first_and_line_ends_in_newline() {
        let f = Finding::new("sshd/x", Severity::High, "t", "d");
        let line = line_of(&f);
        assert!(
            line.starts_with("{\"type\":\"finding\",\"tool\":\"sshd-lint\",\"id\":\"sshd/x\""),
            "{line}"
        );
        assert!(line.ends_with("}\n"));
        assert_eq!(line.matches('\n').count(), 1);
    }

    #[test]
    fn finding_round_trips_with_unknown_fields_denied() {
        let f = Finding::new("sshd/x", Severity::Critical, "title", "detail")
            .at(Location::new("/etc/ssh/sshd_config", Some(3)))
            .fix("PermitRootLogin no")
            .refs(["CIS-5.2.10"])
            .evidence("value", "yes");
        let back = decode_strict::<Finding>(line_of(&f).trim_end()).unwrap();
        assert_eq!(back.tool, "sshd-lint");
        assert_eq!(back.body, f);
    }

    #[test]
    fn decode_ignores_unknown_fields_and_strict_decode_names_them() {
        let extra = r#"{"type":"error","tool":"fim","message":"m","surprise":1}"#;
        assert_eq!(decode::<ErrorRecord>(extra).unwrap().body.message, "m");
        let e = decode_strict::<ErrorRecord>(extra).unwrap_err().to_string();
        assert!(e.contains("surprise"), "{e}");
        // Nested: a new field of a location is the reader's to ignore too.
        let nested = r#"{"type":"finding","tool":"x","id":"a/b","severity":"low","title":"t","detail":"d","location":{"path":"/p","line":2,"column":7},"refs":[]}"#;
        let f = decode::<Finding>(nested).unwrap().body;
        assert_eq!(f.location.unwrap().line, Some(2));
        let e = decode_strict::<Finding>(nested).unwrap_err().to_string();
        assert!(e.contains("location.column"), "{e}");
        let clean = r#"{"type":"error","tool":"fim","message":"m"}"#;
        assert!(decode_strict::<ErrorRecord>(clean).is_ok());
    }

    #[test]
    fn decode_rejects_wrong_types_and_missing_envelopes() {
        let wrong = r#"{"type":"finding","tool":"fim","message":"m"}"#;
        for result in [
            decode::<ErrorRecord>(wrong),
            decode_strict::<ErrorRecord>(wrong),
        ] {
            assert!(matches!(result, Err(DecodeError::WrongType { .. })));
        }
        assert!(decode::<ErrorRecord>(r#"{"tool":"fim","message":"m"}"#).is_err());
        assert!(decode::<ErrorRecord>(r#"{"type":"error","message":"m"}"#).is_err());
        // A field it needs is still required.
        assert!(decode::<ErrorRecord>(r#"{"type":"error","tool":"fim"}"#).is_err());
    }

    #[test]
    fn empty_struct_encodes_to_envelope_only() {
        #[derive(Serialize)]
        struct Nothing {}
        impl Record for Nothing {
            const TYPE: &'static str = "nothing";
        }
        assert_eq!(
            line_of(&Nothing {}),
            "{\"type\":\"nothing\",\"tool\":\"sshd-lint\"}\n"
        );
    }

    #[test]
    fn a_closed_pipe_stays_a_broken_pipe() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let f = Finding::new("a/b", Severity::Low, "t", "d");
        let err = encode(&mut Closed, "fim", &f).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        // Also when the failing write is inside serde_json's serializer.
        let mut envelope_only = LimitedWriter(64);
        let long = Finding::new("a/b", Severity::Low, "x".repeat(500), "d");
        let err = encode(&mut envelope_only, "fim", &long).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    /// Accepts `n` bytes, then behaves like a closed pipe.
    struct LimitedWriter(usize);
    impl Write for LimitedWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            let n = buf.len().min(self.0);
            self.0 -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn non_object_records_are_refused() {
        #[derive(Serialize)]
        struct Bare(u32);
        impl Record for Bare {
            const TYPE: &'static str = "bare";
        }
        assert!(encode(&mut Vec::new(), "fim", &Bare(3)).is_err());
    }

    #[test]
    fn summary_and_action_round_trip() {
        let mut s = Summary {
            exit: 1,
            ..Summary::default()
        };
        s.counts.insert("finding".into(), 2);
        s.severity.insert(Severity::High, 2);
        assert_eq!(
            decode_strict::<Summary>(line_of(&s).trim_end())
                .unwrap()
                .body,
            s
        );

        let a = Action {
            op: "write".into(),
            path: "/etc/ssh/sshd_config.d/00-hardkit.conf".into(),
            mode: Some("0644".into()),
            owner: Some("root:root".into()),
            changed: true,
            diff: None,
        };
        assert_eq!(
            decode_strict::<Action>(line_of(&a).trim_end())
                .unwrap()
                .body,
            a
        );
    }
}
