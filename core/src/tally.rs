//! What a `summary` counts, and how a JSON Lines stream still ends with one
//! when the run stops on an error.
//!
//! The rule (docs/protocol.md, "Errors"): every error reaches a human as
//! `tool: context: cause` on stderr, and under `--json` also the reader of
//! the stream, as an `error` record on stdout. A run that stops on an error
//! (bad `--root`, an unreadable baseline, a usage error) therefore ends its
//! stream with that `error` record and a `summary` with `exit` 2, so the
//! stream's last line is a summary whatever happened. That summary also
//! counts the records a reporter wrote before the failure: a JSON reporter
//! on stdout that is dropped without [`crate::Reporter::finish`] leaves its
//! counts here.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Mutex;

use crate::exit::ExitStatus;
use crate::record::{encode, ErrorRecord, Summary};
use crate::severity::Severity;

/// Records written, by type, and findings, by severity.
#[derive(Debug, Default)]
pub struct Tally {
    pub counts: BTreeMap<String, u64>,
    pub severities: BTreeMap<Severity, u64>,
    /// Set for a JSON reporter on the process's stdout until it finishes:
    /// dropped while set, it leaves its counts for the closing summary.
    pub(crate) open_stream: bool,
}

impl Tally {
    pub fn count(&mut self, kind: &str, n: u64) {
        *self.counts.entry(kind.to_string()).or_insert(0) += n;
    }

    pub fn summary(&self, exit: ExitStatus) -> Summary {
        Summary {
            counts: self.counts.clone(),
            severity: self.severities.clone(),
            exit: exit.code(),
        }
    }

    fn absorb(&mut self, other: &Tally) {
        for (kind, n) in &other.counts {
            self.count(kind, *n);
        }
        for (sev, n) in &other.severities {
            *self.severities.entry(*sev).or_insert(0) += n;
        }
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        if self.open_stream {
            if let Ok(mut left) = UNFINISHED.lock() {
                left.absorb(self);
            }
        }
    }
}

/// Counts of JSON reporters on stdout that never finished.
static UNFINISHED: Mutex<Tally> = Mutex::new(Tally {
    counts: BTreeMap::new(),
    severities: BTreeMap::new(),
    open_stream: false,
});

/// End the JSON stream on stdout of a run that stopped on an error: the
/// `error` record and the closing `summary` (exit 2). A closed pipe is
/// ignored: nobody is reading.
pub fn close_stream_with_error(tool: &str, message: &str) {
    let mut tally = match UNFINISHED.lock() {
        Ok(mut left) => std::mem::take(&mut *left),
        Err(_) => Tally::default(),
    };
    let _ = write_closing(&mut io::stdout().lock(), tool, message, &mut tally);
}

fn write_closing(
    out: &mut impl Write,
    tool: &str,
    message: &str,
    tally: &mut Tally,
) -> io::Result<()> {
    let error = ErrorRecord {
        path: None,
        message: message.to_string(),
    };
    encode(&mut *out, tool, &error)?;
    tally.count("error", 1);
    encode(&mut *out, tool, &tally.summary(ExitStatus::Error))?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::decode;

    #[test]
    fn the_closing_summary_counts_what_came_before_and_the_error() {
        let mut earlier = Tally::default();
        earlier.count("finding", 2);
        earlier.severities.insert(Severity::High, 2);
        let mut out = Vec::new();
        write_closing(
            &mut out,
            "fim",
            "--root /x: No such file or directory",
            &mut earlier,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let error = decode::<ErrorRecord>(lines[0]).unwrap();
        assert_eq!(error.tool, "fim");
        assert_eq!(error.body.message, "--root /x: No such file or directory");
        let summary = decode::<Summary>(lines[1]).unwrap().body;
        assert_eq!(summary.exit, 2);
        assert_eq!(summary.counts.get("error"), Some(&1));
        assert_eq!(summary.counts.get("finding"), Some(&2));
        assert_eq!(summary.severity.get(&Severity::High), Some(&2));
    }
}
