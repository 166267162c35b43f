//! `--block-from FILE|-`: addresses and networks to drop.
//!
//! Accepts plain lists (one address or CIDR per line, `#` comments, blank
//! lines) and logscan's JSON Lines, from which the `ip` of each `offender`
//! record is taken and every other record type skipped. The two may be mixed,
//! so `cat static.txt; logscan offenders --json` works as one input.
//!
//! Which addresses deserve a ban is logscan's decision (`logscan offenders`
//! replays fail2ban's maxretry/findtime logic); fwplan does not count
//! failures itself. So a stream of logscan `event` records with no
//! `offender` record is refused: it is what `logscan --json` writes, and
//! skipping it would block nothing without a word.
//!
//! One bad entry (a host name in an offender record, a typo in a list) is
//! reported with its file:line and skipped: refusing the whole list would
//! leave every real attacker in it unblocked.

use std::io::BufRead;
use std::path::Path;

use hardkit_core::input::{InputError, InputSource};
use hardkit_core::record::envelope;
use serde::Deserialize;

use crate::policy::{parse_source, BlockEntry, Origin, PolicyError};

#[derive(Debug, thiserror::Error)]
pub enum BlocklistError {
    #[error("--block-from: {0}")]
    Input(#[from] InputError),
    #[error("--block-from {name}: {source}")]
    Read {
        name: String,
        source: std::io::Error,
    },
    #[error("--block-from {name}:{line}: {message}")]
    Line {
        name: String,
        line: u64,
        message: String,
    },
    #[error(transparent)]
    Entry(#[from] PolicyError),
    #[error("--block-from {name}: {events} logscan 'event' record(s) and no 'offender' record: fwplan blocks the offenders logscan decides, not single events; pipe `logscan offenders --json --maxretry N --findtime D LOG` instead of `logscan --json LOG`")]
    EventsNotOffenders { name: String, events: u64 },
}

/// The part of logscan's `offender` record fwplan uses.
#[derive(Deserialize)]
struct Offender {
    ip: String,
}

/// The entries of a block list and, for each entry that is not an address
/// or network, why it was skipped (`--block-from FILE:LINE: ...`).
pub fn read_blocklist(arg: &Path) -> Result<(Vec<BlockEntry>, Vec<String>), BlocklistError> {
    let source = InputSource::parse(arg);
    let name = source.display_name();
    let reader = source.open_buffered()?;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let mut events = 0u64;
    let mut offenders = 0u64;
    for (n, line) in reader.lines().enumerate() {
        let line_no = n as u64 + 1;
        let line = line.map_err(|source| BlocklistError::Read {
            name: name.clone(),
            source,
        })?;
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let origin = Origin::Line {
            file: format!("--block-from {name}"),
            line: line_no,
        };
        let addr = if text.starts_with('{') {
            let at = |message: String| BlocklistError::Line {
                name: name.clone(),
                line: line_no,
                message,
            };
            let (kind, _) = envelope(text).map_err(|e| at(format!("not a hardkit record: {e}")))?;
            match kind.as_str() {
                "offender" => offenders += 1,
                "event" => {
                    events += 1;
                    continue;
                }
                _ => continue,
            }
            let offender: Offender = serde_json::from_str(text)
                .map_err(|e| at(format!("offender record without a string 'ip': {e}")))?;
            offender.ip
        } else {
            // A plain line: the first word; the rest may be a note.
            text.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string()
        };
        match parse_source(&addr, &origin) {
            Ok(net) => out.push(BlockEntry { net, origin }),
            Err(e) => skipped.push(format!("{e} (entry skipped)")),
        }
    }
    if events > 0 && offenders == 0 {
        return Err(BlocklistError::EventsNotOffenders { name, events });
    }
    Ok((out, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_and_offender_records_mix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("block");
        std::fs::write(
            &path,
            concat!(
                "# static\n203.0.113.7\n198.51.100.0/24  scanner net\n\n2001:db8::/32\n",
                r#"{"type":"event","tool":"logscan","ip":"192.0.2.200"}"#,
                "\n",
                r#"{"type":"offender","tool":"logscan","ip":"192.0.2.99","failures":7}"#,
                "\n",
            ),
        )
        .unwrap();
        let got: Vec<String> = read_blocklist(&path)
            .unwrap()
            .0
            .iter()
            .map(|b| b.net.to_string())
            .collect();
        assert_eq!(
            got,
            [
                "203.0.113.7/32",
                "198.51.100.0/24",
                "2001:db8::/32",
                "192.0.2.99/32"
            ]
        );
    }

    #[test]
    fn events_without_offenders_are_refused_with_the_working_pipe() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events");
        std::fs::write(
            &path,
            concat!(
                r#"{"type":"event","tool":"logscan","ip":"192.0.2.200","failure":true}"#,
                "\n",
                r#"{"type":"summary","tool":"logscan","counts":{"event":1},"severity":{},"exit":0}"#,
                "\n",
            ),
        )
        .unwrap();
        let e = read_blocklist(&path).unwrap_err().to_string();
        assert!(
            e.contains("--block-from ")
                && e.contains("'event'")
                && e.contains("logscan offenders --json"),
            "{e}"
        );
        // A plain list with no records at all stays fine, and so does an
        // offenders stream that found nobody (a summary only).
        std::fs::write(
            &path,
            concat!(
                r#"{"type":"summary","tool":"logscan","counts":{},"severity":{},"exit":0}"#,
                "\n"
            ),
        )
        .unwrap();
        assert!(read_blocklist(&path).unwrap().0.is_empty());
    }

    #[test]
    fn bad_entries_name_the_line_and_the_rest_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("block");
        std::fs::write(&path, "203.0.113.7\nnot-an-ip\n198.51.100.9\n").unwrap();
        let (got, skipped) = read_blocklist(&path).unwrap();
        assert_eq!(got.len(), 2);
        let e = skipped.join("\n");
        assert!(
            e.contains("--block-from ") && e.contains("block:2") && e.contains("not-an-ip"),
            "{e}"
        );
    }
}
