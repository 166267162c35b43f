//! logscan's output: hardkit's [`Reporter`] for findings, errors, text and
//! the closing summary, plus a fast path for `event` records, which are
//! rendered by hand ([`crate::event::Event::write_json`]) straight into the
//! same buffered stdout, so the order of records is kept and a scan of
//! millions of lines does not pay for a serde round trip per line.

use std::io::{self, BufWriter, Stdout};

use hardkit_core::output::Palette;
use hardkit_core::record::Record;
use hardkit_core::{ErrorRecord, ExitStatus, Finding, Format, Reporter, Severity};

use crate::progress::ReadProgress;
use crate::TOOL;

pub struct Output {
    reporter: Reporter<BufWriter<Stdout>>,
    progress: ReadProgress,
}

impl Output {
    pub fn stdout(format: Format, quiet: bool) -> Self {
        Output {
            reporter: Reporter::stdout(TOOL, format, quiet),
            progress: ReadProgress::default(),
        }
    }

    /// Show how far the reading got on `progress` (off by default).
    pub fn show_progress(&mut self, progress: ReadProgress) {
        self.progress = progress;
    }

    /// The progress line the scan updates.
    pub fn progress(&self) -> ReadProgress {
        self.progress.clone()
    }

    pub fn is_json(&self) -> bool {
        self.reporter.is_json()
    }

    pub fn palette(&self) -> Palette {
        self.reporter.palette()
    }

    /// Write pre-rendered record lines (JSON mode) and count them.
    pub fn raw_records(&mut self, kind: &str, bytes: &[u8], n: u64) -> io::Result<()> {
        self.reporter.emit_prerendered(kind, bytes, n)
    }

    pub fn emit<R: Record>(&mut self, record: &R) -> io::Result<()> {
        self.reporter.emit(record)
    }

    pub fn finding(&mut self, finding: Finding) -> io::Result<()> {
        self.reporter.finding(finding)
    }

    /// An error on stderr (and in the stream), with the progress line
    /// out of its way.
    pub fn error(&mut self, error: ErrorRecord) -> io::Result<()> {
        let reporter = &mut self.reporter;
        self.progress.suspend(|| reporter.error(error))
    }

    pub fn text(&mut self, text: &str) -> io::Result<()> {
        self.reporter.text(text)
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.reporter.flush()
    }

    /// End the run: the summary record (JSON) or the held findings (text).
    pub fn finish(mut self, fail_on: Severity) -> io::Result<ExitStatus> {
        self.reporter.finish(fail_on, ExitStatus::Clean)
    }
}
