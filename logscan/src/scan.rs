//! Turning lines into events: the per-line [`Scanner`] (prefix, year,
//! zone, classifier, fail2ban's per-connection verdict) and the driver that
//! feeds it every input, reporting unreadable ones without stopping.

use std::borrow::Cow;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use hardkit_core::BytesPath;

use crate::classify::{classify, daemon_of, Mode};
use crate::connection::{Connections, Match};
use crate::event::Event;
use crate::format::{parse_prefix_with, LineTime, TimeMemo};
use crate::lines::{looks_binary, open_file, LineReader, OpenError};
use crate::progress::ReadProgress;
use crate::time::{CivilTime, LocalZone, Timestamp};

/// What a scan needs to know besides the lines.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    pub mode: Mode,
    /// Unix time the missing years of classic syslog are inferred from.
    pub now: i64,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            mode: Mode::Normal,
            now: crate::time::now_unix(),
            since: None,
            until: None,
        }
    }
}

/// Turns one line at a time into an event; holds the state that spans lines.
pub struct Scanner {
    opts: ScanOptions,
    zone: LocalZone,
    connections: Connections,
    now_year: i64,
    /// The last (year, month, day) converted, and its day count.
    last_date: ((i64, u32, u32), i64),
    /// The last classic syslog timestamp's text and value.
    memo: TimeMemo,
    /// The last line time resolved, and the result.
    last_time: Option<(LineTime, Timestamp)>,
}

impl Scanner {
    pub fn new(opts: ScanOptions) -> Self {
        let (now_year, _, _) = crate::time::civil_from_days(opts.now.div_euclid(86400));
        Scanner {
            opts,
            zone: LocalZone::default(),
            connections: Connections::default(),
            now_year,
            last_date: ((1970, 1, 1), 0),
            memo: TimeMemo::default(),
            last_time: None,
        }
    }

    pub fn options(&self) -> &ScanOptions {
        &self.opts
    }

    /// Seconds since the epoch of a wall-clock time read as UTC; the day
    /// count of the last date is kept (consecutive lines share their date).
    fn utc_seconds(&mut self, c: &CivilTime) -> i64 {
        let key = (c.year, c.month, c.day);
        if self.last_date.0 != key {
            self.last_date = (key, crate::time::days_from_civil(c.year, c.month, c.day));
        }
        self.last_date.1 * 86400 + c.hour as i64 * 3600 + c.minute as i64 * 60 + c.second as i64
    }

    /// Classic syslog has no year: take the current one, or the previous one
    /// when that would put the line more than two days in the future (a
    /// December line read in January).
    fn resolve_time(&mut self, t: &LineTime) -> Timestamp {
        if let Some((last, ts)) = self.last_time {
            if last == *t {
                return ts;
            }
        }
        let ts = self.resolve_time_uncached(t);
        self.last_time = Some((*t, ts));
        ts
    }

    fn resolve_time_uncached(&mut self, t: &LineTime) -> Timestamp {
        let mut civil = t.civil;
        if !t.has_year {
            civil.year = self.now_year;
            if !civil.is_valid() || self.utc_seconds(&civil) > self.opts.now + 2 * 86400 {
                civil.year = self.now_year - 1;
            }
            if !civil.is_valid() {
                // Feb 29 in a year without one: the last leap year before.
                civil = CivilTime {
                    year: (civil.year - 4).div_euclid(4) * 4 + 4,
                    ..civil
                };
                while !civil.is_valid() {
                    civil.year -= 4;
                }
            }
        }
        let utc = self.utc_seconds(&civil);
        let offset = match t.offset {
            Some(off) => off,
            None => self.zone.offset_at(&civil, utc),
        };
        Timestamp {
            unix: utc - offset as i64,
            micros: civil.micros,
            offset,
        }
    }

    /// The event a line records, if logscan understands it.
    pub fn scan_line<'a>(&mut self, line: &'a [u8]) -> Option<Event<'a>> {
        self.scan(line, false)
    }

    /// A line cut at [`crate::lines::MAX_LINE`]: classified, but no address
    /// is taken from it. Where the daemon wrote the address (the end of the
    /// line, for sshd) is gone, and the cut tail is client text that may
    /// read like a daemon's (`... from 10.1.0.10 port 22 ssh2`). An address
    /// the connection logged before still counts.
    pub fn scan_cut_line<'a>(&mut self, line: &'a [u8]) -> Option<Event<'a>> {
        self.scan(line, true)
    }

    fn scan<'a>(&mut self, line: &'a [u8], cut: bool) -> Option<Event<'a>> {
        let prefix = parse_prefix_with(line, &mut self.memo);
        let daemon = daemon_of(&prefix);
        let mut c = classify(daemon, &prefix)?;
        if cut {
            c.ip = None;
            c.alt_ip = None;
        }
        let time = prefix.time.map(|t| self.resolve_time(&t));
        let mode = self.opts.mode.bit();
        let mut ip: Option<Cow<'a, [u8]>> = c.ip.map(Cow::Borrowed);
        let failure = if c.rule.matched & mode == 0 {
            false
        } else if c.rule.per_connection {
            let key = self
                .connections
                .key(prefix.host, prefix.program, prefix.pid);
            let mut line_ip = c.ip;
            if let Some(alt) = c.alt_ip {
                if self.connections.remembered(key) == Some(alt) {
                    line_ip = Some(alt);
                    ip = Some(Cow::Borrowed(alt));
                }
            }
            let verdict = self.connections.merge(
                key,
                Match {
                    ip: line_ip,
                    user: c.user,
                    nofail: c.rule.nofail & mode != 0,
                    forget: c.rule.forget & mode != 0,
                    gained: c.rule.gained,
                },
            );
            if let Some(remembered) = verdict.remembered_ip {
                ip = Some(Cow::Owned(remembered));
            }
            verdict.failure
        } else {
            c.rule.nofail & mode == 0 && c.ip.is_some()
        };
        if let Some(t) = time {
            if self.opts.since.is_some_and(|s| t.unix < s)
                || self.opts.until.is_some_and(|u| t.unix > u)
            {
                return None;
            }
        }
        let service: &'a [u8] = if prefix.program.is_empty() {
            match daemon {
                crate::classify::Daemon::Nginx => b"nginx",
                _ => b"",
            }
        } else {
            prefix.program
        };
        Some(Event {
            kind: c.kind,
            failure,
            time,
            ip,
            port: c.port,
            user: c.user,
            service,
            pid: prefix.pid,
            host: prefix.host,
            method: c.method,
            count: c.count,
            detail: c.detail,
        })
    }
}

/// Receives what a scan finds.
pub trait Sink {
    /// A new input starts (`path` as it will appear in `source.path`).
    fn begin_input(&mut self, _path: &BytesPath) -> io::Result<()> {
        Ok(())
    }
    fn event(&mut self, event: &Event<'_>, line_no: u64) -> io::Result<()>;
    /// A line logscan did not understand (for the corpus checks).
    fn unknown(&mut self, _line: &[u8], _line_no: u64) -> io::Result<()> {
        Ok(())
    }
    /// A problem with one input; the scan goes on with the next.
    fn input_error(&mut self, path: &BytesPath, message: String) -> io::Result<()>;
}

/// One input named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
    /// A system path under `--root`: opened at `host`, named `system`.
    Under {
        host: PathBuf,
        system: PathBuf,
    },
}

impl Input {
    pub fn parse(arg: &Path) -> Input {
        if arg.as_os_str() == "-" {
            Input::Stdin
        } else {
            Input::File(arg.to_path_buf())
        }
    }

    pub fn source_path(&self) -> BytesPath {
        match self {
            Input::Stdin => BytesPath::from("<stdin>"),
            Input::File(p) | Input::Under { system: p, .. } => BytesPath::from(p.as_path()),
        }
    }

    /// Where to open it.
    pub fn host_path(&self) -> Option<&Path> {
        match self {
            Input::Stdin => None,
            Input::File(p) | Input::Under { host: p, .. } => Some(p),
        }
    }
}

/// Line counters of a scan.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub lines: u64,
    pub events: u64,
    pub truncated: u64,
}

/// Scan every line of a reader.
pub fn scan_reader<R: Read>(
    scanner: &mut Scanner,
    reader: &mut LineReader<R>,
    sink: &mut dyn Sink,
    line_no: &mut u64,
    totals: &mut Totals,
) -> io::Result<()> {
    while let Some(line) = reader.next_line()? {
        *line_no += 1;
        totals.lines += 1;
        if line.truncated {
            totals.truncated += 1;
        }
        let bytes = line.bytes;
        if bytes.first() == Some(&b'{') {
            match crate::journal::read_entry(bytes) {
                Some(crate::journal::JournalLine::Trusted(synth)) => {
                    match scanner.scan_line(&synth) {
                        Some(ev) => {
                            totals.events += 1;
                            sink.event(&ev, *line_no)?;
                        }
                        None => sink.unknown(&synth, *line_no)?,
                    }
                    continue;
                }
                Some(crate::journal::JournalLine::Untrusted) => {
                    sink.unknown(bytes, *line_no)?;
                    continue;
                }
                None => {}
            }
        }
        let ev = if line.truncated {
            scanner.scan_cut_line(bytes)
        } else {
            scanner.scan_line(bytes)
        };
        match ev {
            Some(ev) => {
                totals.events += 1;
                sink.event(&ev, *line_no)?;
            }
            None => sink.unknown(bytes, *line_no)?,
        }
    }
    Ok(())
}

/// Errors reading an input are reported to the sink, not returned: only
/// output errors (a closed pipe) stop the scan.
#[derive(Debug, thiserror::Error)]
#[error("writing output: {0}")]
pub struct OutputError(#[from] pub io::Error);

/// Why a log could not be opened. A missing one gets its usual causes: a
/// shell pattern that matched nothing reaches us as it is (`auth.log*`),
/// and a system without a syslog daemon (Debian 12's default) has no
/// auth.log at all, sshd logging only to the journal.
fn open_error_message(path: &Path, e: &io::Error) -> String {
    if e.kind() != io::ErrorKind::NotFound {
        return e.to_string();
    }
    let pattern = path
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .any(|b| matches!(b, b'*' | b'?' | b'['));
    let what = if pattern {
        "no file matches this pattern (the shell passes a pattern that matched nothing as it is)"
    } else {
        "no such file"
    };
    format!(
        "{what}; without a syslog daemon (Debian 12's default) sshd logs only to the journal: \
         journalctl -o json _UID=0 _COMM=sshd _COMM=sshd-session _COMM=sudo | logscan summary"
    )
}

/// Scan every input in order, showing how far the reading got on
/// `progress`.
pub fn scan_inputs(
    scanner: &mut Scanner,
    inputs: &[Input],
    sink: &mut dyn Sink,
    progress: &ReadProgress,
) -> Result<Totals, OutputError> {
    let totals = scan_each_input(scanner, inputs, sink, progress);
    progress.finish();
    totals
}

fn scan_each_input(
    scanner: &mut Scanner,
    inputs: &[Input],
    sink: &mut dyn Sink,
    progress: &ReadProgress,
) -> Result<Totals, OutputError> {
    let mut totals = Totals::default();
    for (index, input) in inputs.iter().enumerate() {
        let path = input.source_path();
        progress.begin_input(
            index,
            inputs.len(),
            &hardkit_core::bytes_path::display_path(path.as_path()),
        );
        let reader: Box<dyn Read + Send> = match input.host_path() {
            None => progress.track(io::stdin(), None),
            Some(p) => match open_file(p, progress, matches!(input, Input::Under { .. })) {
                Ok(r) => r,
                Err(OpenError::Directory) => {
                    sink.input_error(&path, "is a directory, not a log file".into())?;
                    continue;
                }
                Err(e @ OpenError::NotRegular) => {
                    sink.input_error(&path, e.to_string())?;
                    continue;
                }
                Err(OpenError::Io(e)) => {
                    sink.input_error(&path, open_error_message(p, &e))?;
                    continue;
                }
            },
        };
        sink.begin_input(&path)?;
        let mut lines = LineReader::new(reader);
        match lines.peek(8192) {
            Ok(head) if looks_binary(head) => {
                sink.input_error(&path, "binary data, not a text log (skipped)".into())?;
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                sink.input_error(&path, read_error_message(&e))?;
                continue;
            }
        }
        let mut line_no = 0;
        let before = totals.truncated;
        match scan_reader(scanner, &mut lines, sink, &mut line_no, &mut totals) {
            Ok(()) => {}
            Err(e) if is_output_error(&e) => return Err(OutputError(e)),
            Err(e) => {
                sink.input_error(
                    &path,
                    format!("after line {line_no}: {}", read_error_message(&e)),
                )?;
            }
        }
        if totals.truncated > before {
            let n = totals.truncated - before;
            sink.input_error(
                &path,
                format!(
                    "{n} line(s) longer than {} bytes: only their first {} bytes were read",
                    crate::lines::MAX_LINE,
                    crate::lines::MAX_LINE
                ),
            )?;
        }
    }
    Ok(totals)
}

/// Sinks mark their own write failures so that they are not mistaken for
/// a bad input.
pub fn output_error(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), OutputMarker(e))
}

#[derive(Debug)]
struct OutputMarker(io::Error);

impl std::fmt::Display for OutputMarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for OutputMarker {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

fn is_output_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<OutputMarker>())
}

fn read_error_message(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "truncated or corrupt compressed data".to_string(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            format!("corrupt compressed data: {e}")
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{days_from_civil, rfc3339};

    fn at(y: i64, m: u32, d: u32) -> i64 {
        days_from_civil(y, m, d) * 86400 + 12 * 3600
    }

    fn time_of(now: i64, line: &str) -> String {
        let mut s = Scanner::new(ScanOptions {
            now,
            ..ScanOptions::default()
        });
        let ev = s.scan_line(line.as_bytes()).expect("an event");
        rfc3339(&ev.time.expect("a time"))
    }

    #[test]
    fn syslog_year_is_inferred_across_new_year() {
        let jan2 = at(2025, 1, 2);
        let l = |d: &str| format!("{d} h sshd[1]: Invalid user a from 192.0.2.1 port 1");
        // Zone-less syslog times are local: pin the expectation to offsets.
        assert!(time_of(jan2, &l("Dec 31 23:59:59")).starts_with("2024-12-31T23:59:59"));
        assert!(time_of(jan2, &l("Jan  1 00:00:01")).starts_with("2025-01-01T00:00:01"));
        assert!(time_of(jan2, &l("Jan  3 10:00:00")).starts_with("2025-01-03"));
        assert!(time_of(at(2025, 8, 14), &l("Nov 11 23:33:27")).starts_with("2024-11-11"));
        // Feb 29 read in a year without one belongs to the last leap year.
        assert!(time_of(at(2027, 3, 1), &l("Feb 29 10:00:00")).starts_with("2024-02-29"));
    }

    #[test]
    fn zoned_times_keep_their_offset() {
        let now = at(2025, 1, 2);
        let t = time_of(now, "<38>1 2019-07-08T17:40:16.954167-04:00 h sshd 57915 - - Failed unknown for invalid user r from 192.0.2.1 port 59197 ssh2");
        assert_eq!(t, "2019-07-08T17:40:16.954167-04:00");
        let t = time_of(
            now,
            "2024-03-01T10:00:00+0100 h sshd[1]: Invalid user a from 192.0.2.1",
        );
        assert_eq!(t, "2024-03-01T10:00:00+01:00");
    }

    #[test]
    fn a_user_name_ending_in_a_fake_address_loses_to_the_connection_address() {
        let mut s = Scanner::new(ScanOptions::default());
        let pre = "Nov 20 10:00:00 h sshd[77]: ";
        // The client's user name is `test from 127.0.0.1 port 58946 ssh2:`.
        let first = format!(
            "{pre}Invalid user test from 127.0.0.1 port 58946 ssh2: from 203.0.113.9 port 4242"
        );
        let ev = s.scan_line(first.as_bytes()).unwrap();
        assert_eq!(ev.ip.as_deref(), Some(&b"203.0.113.9"[..]));
        let failed = format!("{pre}Failed password for invalid user test from 127.0.0.1 port 58946 ssh2: from 203.0.113.9 port 4242 ssh2");
        let ev = s.scan_line(failed.as_bytes()).unwrap();
        assert_eq!(ev.ip.as_deref(), Some(&b"203.0.113.9"[..]));
        assert!(ev.failure);
        // Without that history the line reads as fail2ban reads it.
        let mut fresh = Scanner::new(ScanOptions::default());
        let other = failed.replace("[77]", "[78]");
        let ev = fresh.scan_line(other.as_bytes()).unwrap();
        assert_eq!(ev.ip.as_deref(), Some(&b"127.0.0.1"[..]));
    }

    #[test]
    fn since_and_until_filter_events() {
        let mut s = Scanner::new(ScanOptions {
            now: at(2025, 1, 2),
            since: Some(at(2024, 6, 1)),
            until: Some(at(2024, 6, 30)),
            ..ScanOptions::default()
        });
        let line = |d: &str| format!("{d}T10:00:00Z h sshd[1]: Invalid user a from 192.0.2.1");
        assert!(s.scan_line(line("2024-05-31").as_bytes()).is_none());
        assert!(s.scan_line(line("2024-06-15").as_bytes()).is_some());
        assert!(s.scan_line(line("2024-07-01").as_bytes()).is_none());
    }
}
