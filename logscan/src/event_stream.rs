//! `logscan [FILE...]`: every understood line as an `event` record (JSON
//! Lines) or as one line of text.

use std::io;

use hardkit_core::output::escape_untrusted_bytes;
use hardkit_core::BytesPath;

use crate::event::{source_path_json, Event, TimeCache};
use crate::report::Output;
use crate::scan::{output_error, scan_inputs, Input, OutputError, Scanner, Sink, Totals};

/// How many bytes of events are handed to the output at a time.
const BATCH: usize = 1 << 16;

/// Batches rendered events and hands them to the output in large writes.
pub struct EventWriter<'o> {
    out: &'o mut Output,
    json: bool,
    source_json: Vec<u8>,
    source_name: String,
    /// Text mode: the rendered lines. JSON mode: a buffer kept at its full
    /// length, of which `used` bytes are rendered records, so that each
    /// record is written in place without growing a vector piece by piece.
    buf: Vec<u8>,
    used: usize,
    pending: u64,
    times: TimeCache,
}

impl<'o> EventWriter<'o> {
    pub fn new(out: &'o mut Output) -> Self {
        let json = out.is_json();
        EventWriter {
            out,
            json,
            source_json: b"\"<stdin>\"".to_vec(),
            source_name: "<stdin>".into(),
            buf: if json {
                vec![0; BATCH + 4096]
            } else {
                Vec::with_capacity(BATCH)
            },
            used: 0,
            pending: 0,
            times: TimeCache::default(),
        }
    }

    pub fn flush_events(&mut self) -> io::Result<()> {
        if self.json {
            if self.used > 0 {
                self.out
                    .raw_records("event", &self.buf[..self.used], self.pending)?;
                self.used = 0;
                self.pending = 0;
            }
            return Ok(());
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        self.out.raw_records("event", b"", self.pending)?;
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        self.out.text(&text)?;
        self.buf.clear();
        self.pending = 0;
        Ok(())
    }

    /// Push everything written so far to stdout (`--follow`).
    pub fn flush_output(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn write_text(&mut self, ev: &Event<'_>, line_no: u64) {
        use std::io::Write;
        let mut time = String::new();
        match &ev.time {
            Some(t) => crate::time::write_rfc3339(&mut time, t),
            None => time.push('-'),
        }
        let flag = if ev.failure { "FAIL" } else { "    " };
        let ip = ev
            .ip
            .as_deref()
            .map(escape_untrusted_bytes)
            .unwrap_or_else(|| "-".into());
        let _ = write!(
            self.buf,
            "{time:<25} {flag} {:<22} {ip:<20}",
            ev.kind.as_str()
        );
        if let Some(u) = ev.user {
            // Quote a user name with spaces, so `user="x 10.0.0.1"` cannot
            // read as an address.
            let u = escape_untrusted_bytes(u);
            if u.contains(' ') || u.is_empty() {
                let _ = write!(self.buf, " user=\"{}\"", u.replace('"', "\\\""));
            } else {
                let _ = write!(self.buf, " user={u}");
            }
        }
        if let Some(m) = ev.method {
            let _ = write!(self.buf, " method={}", escape_untrusted_bytes(m));
        }
        if ev.count > 1 {
            let _ = write!(self.buf, " x{}", ev.count);
        }
        let _ = writeln!(self.buf, "  {}:{line_no}", self.source_name);
    }
}

impl Sink for EventWriter<'_> {
    fn begin_input(&mut self, path: &BytesPath) -> io::Result<()> {
        self.source_json = source_path_json(path)?;
        self.source_name = hardkit_core::bytes_path::display_path(path.as_path());
        Ok(())
    }

    fn event(&mut self, ev: &Event<'_>, line_no: u64) -> io::Result<()> {
        if self.json {
            let time_len = ev.time.as_ref().map_or(0, |t| self.times.get(t).len());
            let bound = ev.json_bound(&self.source_json, time_len);
            if self.buf.len() - self.used < bound {
                self.flush_events().map_err(output_error)?;
                if self.buf.len() < bound {
                    self.buf.resize(bound, 0);
                }
            }
            self.used += ev.write_json_into(
                &mut self.buf[self.used..],
                &self.source_json,
                line_no,
                &mut self.times,
            );
            self.pending += 1;
            if self.used >= BATCH {
                self.flush_events().map_err(output_error)?;
            }
            return Ok(());
        }
        self.write_text(ev, line_no);
        self.pending += 1;
        if self.buf.len() >= BATCH {
            self.flush_events().map_err(output_error)?;
        }
        Ok(())
    }

    fn input_error(&mut self, path: &BytesPath, message: String) -> io::Result<()> {
        self.flush_events().map_err(output_error)?;
        crate::cli::input_error(self.out, path, message).map_err(output_error)
    }
}

pub fn scan_to_output(
    scanner: &mut Scanner,
    inputs: &[Input],
    out: &mut Output,
) -> Result<Totals, OutputError> {
    let progress = out.progress();
    let mut w = EventWriter::new(out);
    let totals = scan_inputs(scanner, inputs, &mut w, &progress)?;
    w.flush_events()?;
    Ok(totals)
}
