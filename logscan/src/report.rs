//! logscan's output: hardkit's [`Reporter`] for findings, errors, text and
//! the closing summary, plus a fast path for `event` records, which are
//! rendered by hand ([`crate::event::Event::write_json`]) straight into the
//! same buffered stdout, so the order of records is kept and a scan of
//! millions of lines does not pay for a serde round trip per line.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Stdout, Write};
use std::rc::Rc;

use hardkit_core::output::Palette;
use hardkit_core::record::{encode, Record, Summary};
use hardkit_core::{ErrorRecord, ExitStatus, Finding, Format, Reporter, Severity};

use crate::TOOL;

/// stdout shared by the reporter and the event fast path.
#[derive(Clone)]
pub struct SharedStdout(Rc<RefCell<BufWriter<Stdout>>>);

impl Write for SharedStdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.borrow_mut().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

pub struct Output {
    reporter: Reporter<SharedStdout>,
    out: SharedStdout,
    counts: BTreeMap<String, u64>,
}

impl Output {
    pub fn stdout(format: Format, quiet: bool) -> Self {
        let palette = Palette {
            enabled: hardkit_core::output::colour_wanted(format),
        };
        let out = SharedStdout(Rc::new(RefCell::new(BufWriter::with_capacity(
            1 << 16,
            io::stdout(),
        ))));
        Output {
            reporter: Reporter::new(TOOL, format, quiet, palette, out.clone()),
            out,
            counts: BTreeMap::new(),
        }
    }

    pub fn is_json(&self) -> bool {
        self.reporter.is_json()
    }

    pub fn palette(&self) -> Palette {
        self.reporter.palette()
    }

    fn count(&mut self, kind: &str) {
        *self.counts.entry(kind.to_string()).or_insert(0) += 1;
    }

    /// Write pre-rendered record lines (JSON mode) and count them.
    pub fn raw_records(&mut self, kind: &str, bytes: &[u8], n: u64) -> io::Result<()> {
        *self.counts.entry(kind.to_string()).or_insert(0) += n;
        self.out.write_all(bytes)
    }

    pub fn emit<R: Record>(&mut self, record: &R) -> io::Result<()> {
        self.count(R::TYPE);
        self.reporter.emit(record)
    }

    pub fn finding(&mut self, finding: Finding) -> io::Result<()> {
        self.count(Finding::TYPE);
        self.reporter.finding(finding)
    }

    pub fn error(&mut self, error: ErrorRecord) -> io::Result<()> {
        self.count(ErrorRecord::TYPE);
        self.reporter.error(error)
    }

    pub fn text(&mut self, text: &str) -> io::Result<()> {
        self.reporter.text(text)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// End the run: the summary record (JSON) or the held findings (text).
    pub fn finish(mut self, fail_on: Severity) -> io::Result<ExitStatus> {
        if !self.reporter.is_json() {
            return self.reporter.finish(fail_on, ExitStatus::Clean);
        }
        let status = self.reporter.status(fail_on);
        let summary = Summary {
            counts: self.counts.clone(),
            severity: self.reporter.severity_counts().clone(),
            exit: status.code(),
        };
        encode(&mut self.out, TOOL, &summary)?;
        self.out.flush()?;
        Ok(status)
    }
}
