//! `logscan [FILE...]`: every understood line as an `event` record (JSON
//! Lines) or as one line of text.

use std::io;

use hardkit_core::output::escape_untrusted_bytes;
use hardkit_core::BytesPath;

use crate::event::{source_path_json, Event, TimeCache};
use crate::report::Output;
use crate::scan::{output_error, scan_inputs, Input, OutputError, Scanner, Sink, Totals};

/// Batches rendered events and hands them to the output in large writes.
pub struct EventWriter<'o> {
    out: &'o mut Output,
    json: bool,
    source_json: Vec<u8>,
    source_name: String,
    buf: Vec<u8>,
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
            buf: Vec::with_capacity(1 << 16),
            pending: 0,
            times: TimeCache::default(),
        }
    }

    pub fn flush_events(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if self.json {
            self.out.raw_records("event", &self.buf, self.pending)?;
        } else {
            self.out.raw_records("event", b"", self.pending)?;
            let text = String::from_utf8_lossy(&self.buf).into_owned();
            self.out.text(&text)?;
        }
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
            ev.write_json(&mut self.buf, &self.source_json, line_no, &mut self.times);
        } else {
            self.write_text(ev, line_no);
        }
        self.pending += 1;
        if self.buf.len() >= 1 << 16 {
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
    let mut w = EventWriter::new(out);
    let totals = scan_inputs(scanner, inputs, &mut w)?;
    w.flush_events()?;
    Ok(totals)
}
