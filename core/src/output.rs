//! Writing results: JSON Lines for pipes, short text for humans.
//!
//! A [`Reporter`] is what a tool writes through. In JSON mode every record is
//! streamed as one line and a `summary` record ends the run. In human mode
//! findings are held back and printed at the end, counts first and the worst
//! first, one line each with location and fix; other text goes straight out.
//! Colour follows `--color` ([`ColourChoice`]): by default only on a
//! terminal and never under `NO_COLOR`; never in `--json`. Errors go to
//! stderr in both formats, and into the stream as well under `--json`.
//! Text that came from the system (file names, log lines, config values) is
//! escaped before it reaches a terminal: control characters could rewrite the
//! screen and bidi overrides could make `evil` read as `live`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};

use crate::exit::ExitStatus;
use crate::record::{encode, ErrorRecord, Finding, Record};
use crate::severity::Severity;
use crate::tally::Tally;

/// Unicode bidirectional controls (embeddings, overrides, isolates, marks).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped_char(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\\' => out.push_str("\\\\"),
        c if (c as u32) < 0x20 || c == '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if ('\u{80}'..='\u{9f}').contains(&c) || is_bidi_control(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Escape control and bidi characters in untrusted text for a terminal.
pub fn escape_untrusted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        push_escaped_char(&mut out, c);
    }
    out
}

/// Like [`escape_untrusted`] for raw bytes: invalid UTF-8 becomes `\xNN`.
pub fn escape_untrusted_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped_char(&mut out, c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Output format chosen on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

/// `--color WHEN`: when human output may be coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColourChoice {
    /// On a terminal, unless `NO_COLOR` is set
    #[default]
    Auto,
    /// Always, even into a pipe or a file (`| less -R`)
    Always,
    /// Never
    Never,
}

/// The `--color` of this run. A process-wide setting, like `NO_COLOR`
/// itself: it is decided once from the command line (by
/// [`crate::exit::run`]) and every reporter the tool opens follows it, so
/// no tool has to thread it to each place it prints.
static COLOUR_CHOICE: AtomicU8 = AtomicU8::new(0);

pub fn set_colour_choice(choice: ColourChoice) {
    COLOUR_CHOICE.store(choice as u8, Ordering::Relaxed);
}

fn colour_choice() -> ColourChoice {
    match COLOUR_CHOICE.load(Ordering::Relaxed) {
        1 => ColourChoice::Always,
        2 => ColourChoice::Never,
        _ => ColourChoice::Auto,
    }
}

/// Whether human output on stdout may use colour: with `--color auto`
/// only on a terminal and never when `NO_COLOR` is set to a non-empty value
/// (no-color.org); `--color always` and `never` decide alone (a flag given
/// for this one run outranks the environment, as no-color.org asks). JSON is
/// never coloured.
pub fn colour_wanted(format: Format) -> bool {
    colour_allowed(format, colour_choice(), io::stdout().is_terminal())
}

fn colour_allowed(format: Format, choice: ColourChoice, on_terminal: bool) -> bool {
    if format != Format::Human {
        return false;
    }
    match choice {
        ColourChoice::Always => true,
        ColourChoice::Never => false,
        ColourChoice::Auto => {
            on_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// ANSI styling that is a no-op when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    pub enabled: bool,
}

impl Palette {
    pub fn severity(&self, sev: Severity, text: &str) -> String {
        let code = match sev {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        self.paint(code, text)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn ok(&self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn bad(&self, text: &str) -> String {
        self.paint("1;31", text)
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// `3 findings: 1 critical, 2 high` (or `no findings`).
pub fn severity_counts_line(counts: &BTreeMap<Severity, u64>) -> String {
    let total: u64 = counts.values().sum();
    if total == 0 {
        return "no findings".to_string();
    }
    let parts: Vec<String> = Severity::ALL
        .iter()
        .rev()
        .filter_map(|sev| counts.get(sev).map(|n| format!("{n} {sev}")))
        .collect();
    let noun = if total == 1 { "finding" } else { "findings" };
    format!("{total} {noun}: {}", parts.join(", "))
}

/// One finding for humans: severity, id, location, title; then the fix.
pub fn format_finding(finding: &Finding, palette: Palette) -> String {
    let sev = format!("{:<8}", finding.severity.as_str().to_uppercase());
    let mut line = format!(
        "{} {}",
        palette.severity(finding.severity, &sev),
        escape_untrusted(&finding.id)
    );
    if let Some(loc) = &finding.location {
        line.push_str("  ");
        line.push_str(&crate::bytes_path::display_path(loc.path.as_path()));
        if let Some(n) = loc.line {
            let _ = write!(line, ":{n}");
        }
    }
    line.push_str("\n         ");
    line.push_str(&escape_untrusted(&finding.title));
    if let Some(fix) = &finding.fix {
        line.push_str("\n         fix: ");
        line.push_str(&escape_untrusted(fix));
    }
    line.push('\n');
    line
}

/// The one writer a tool reports through.
pub struct Reporter<W: Write> {
    tool: &'static str,
    format: Format,
    quiet: bool,
    palette: Palette,
    out: W,
    tally: Tally,
    held_findings: Vec<Finding>,
    had_error: bool,
}

impl Reporter<io::BufWriter<io::Stdout>> {
    /// A reporter on stdout; colour decided by [`colour_wanted`].
    pub fn stdout(tool: &'static str, format: Format, quiet: bool) -> Self {
        let palette = Palette {
            enabled: colour_wanted(format),
        };
        let mut reporter = Reporter::new(
            tool,
            format,
            quiet,
            palette,
            io::BufWriter::new(io::stdout()),
        );
        // If the run stops on an error before finish, the closing summary
        // (crate::tally) counts what this reporter wrote.
        reporter.tally.open_stream = format == Format::Json;
        reporter
    }
}

impl Reporter<io::BufWriter<io::Stderr>> {
    /// A reporter on stderr, for a tool whose stdout carries a generated
    /// file (`jailgen > hardkit.local`); colour is decided for stderr.
    pub fn stderr(tool: &'static str, format: Format, quiet: bool) -> Self {
        let palette = Palette {
            enabled: colour_allowed(format, colour_choice(), io::stderr().is_terminal()),
        };
        Reporter::new(
            tool,
            format,
            quiet,
            palette,
            io::BufWriter::new(io::stderr()),
        )
    }
}

impl<W: Write> Reporter<W> {
    pub fn new(tool: &'static str, format: Format, quiet: bool, palette: Palette, out: W) -> Self {
        Reporter {
            tool,
            format,
            quiet,
            palette,
            out,
            tally: Tally::default(),
            held_findings: Vec::new(),
            had_error: false,
        }
    }

    pub fn tool(&self) -> &'static str {
        self.tool
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub fn palette(&self) -> Palette {
        self.palette
    }

    /// Emit any record. In JSON mode it is written now; in human mode it is
    /// only counted (the tool prints its own text with [`Reporter::text`]).
    pub fn emit<R: Record>(&mut self, record: &R) -> io::Result<()> {
        self.tally.count(R::TYPE, 1);
        if self.is_json() {
            encode(&mut self.out, self.tool, record)?;
        }
        Ok(())
    }

    /// Write `n` record lines of type `kind` that the tool rendered itself
    /// (JSON mode only; they must be the bytes [`encode`] would write). For
    /// a hot path, such as logscan's millions of events, that cannot afford
    /// serde per record; they are counted in the summary like any other.
    pub fn emit_prerendered(&mut self, kind: &str, lines: &[u8], n: u64) -> io::Result<()> {
        self.tally.count(kind, n);
        if self.is_json() {
            self.out.write_all(lines)?;
        }
        Ok(())
    }

    /// Flush what has been written so far (for `--follow` style output).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Emit a finding: streamed in JSON mode, held for the sorted report in
    /// human mode.
    pub fn finding(&mut self, finding: Finding) -> io::Result<()> {
        *self.tally.severities.entry(finding.severity).or_insert(0) += 1;
        if self.is_json() {
            self.emit(&finding)
        } else {
            self.tally.count(Finding::TYPE, 1);
            self.held_findings.push(finding);
            Ok(())
        }
    }

    /// Report a problem that did not stop the run; it makes the exit status 2.
    /// A human sees `tool: path: message` on stderr in both formats (stdout
    /// is the report, or the JSON stream); under `--json` the stream also
    /// carries it as an `error` record.
    pub fn error(&mut self, error: ErrorRecord) -> io::Result<()> {
        self.had_error = true;
        if self.is_json() {
            self.emit(&error)?;
        } else {
            self.tally.count(ErrorRecord::TYPE, 1);
        }
        let mut line = format!("{}: ", self.tool);
        if let Some(path) = &error.path {
            line.push_str(&crate::bytes_path::display_path(path.as_path()));
            line.push_str(": ");
        }
        line.push_str(&escape_untrusted(&error.message));
        // What was written before the error reaches the terminal first.
        self.out.flush()?;
        eprintln!("{line}");
        Ok(())
    }

    /// Write human text (ignored in JSON mode and under `--quiet`).
    pub fn text(&mut self, text: &str) -> io::Result<()> {
        if self.format == Format::Human && !self.quiet {
            self.out.write_all(text.as_bytes())?;
        }
        Ok(())
    }

    pub fn had_error(&self) -> bool {
        self.had_error
    }

    pub fn worst_severity(&self) -> Option<Severity> {
        self.tally.severities.keys().next_back().copied()
    }

    pub fn severity_counts(&self) -> &BTreeMap<Severity, u64> {
        &self.tally.severities
    }

    /// The exit status this run would end with for `fail_on`.
    pub fn status(&self, fail_on: Severity) -> ExitStatus {
        let status = ExitStatus::for_findings(self.worst_severity(), fail_on);
        if self.had_error {
            status.worst(ExitStatus::Error)
        } else {
            status
        }
    }

    /// End the run: print held findings (human) or the summary record (JSON),
    /// flush, and return the exit status. `extra` lets a tool raise the
    /// status for reasons of its own (fim's drift).
    pub fn finish(&mut self, fail_on: Severity, extra: ExitStatus) -> io::Result<ExitStatus> {
        let status = self.status(fail_on).worst(extra);
        self.tally.open_stream = false;
        match self.format {
            Format::Json => {
                let summary = self.tally.summary(status);
                encode(&mut self.out, self.tool, &summary)?;
            }
            Format::Human => {
                self.print_held_findings()?;
                self.held_findings.clear();
            }
        }
        self.out.flush()?;
        Ok(status)
    }

    /// The underlying writer (tests read their output back this way).
    pub fn into_inner(self) -> W {
        self.out
    }

    fn print_held_findings(&mut self) -> io::Result<()> {
        if self.held_findings.is_empty() {
            return Ok(());
        }
        // Worst first; within a severity keep the order the tool found them.
        self.held_findings
            .sort_by_key(|f| std::cmp::Reverse(f.severity));
        let header = severity_counts_line(&self.tally.severities);
        writeln!(self.out, "{}", self.palette.bold(&header))?;
        for finding in &self.held_findings {
            self.out
                .write_all(format_finding(finding, self.palette).as_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{decode_strict, Location, Summary};

    fn reporter(format: Format) -> Reporter<Vec<u8>> {
        Reporter::new("fim", format, false, Palette { enabled: false }, Vec::new())
    }

    #[test]
    fn escapes_controls_and_bidi_but_keeps_plain_text() {
        assert_eq!(escape_untrusted("root@host ok"), "root@host ok");
        assert_eq!(escape_untrusted("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(escape_untrusted("x\u{202E}gnp.exe"), "x\\u{202e}gnp.exe");
        assert_eq!(escape_untrusted("line\nnext"), "line\\nnext");
        assert_eq!(escape_untrusted("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape_untrusted_bytes(b"ok\xc3"), "ok\\xc3");
    }

    #[test]
    fn json_mode_streams_records_and_errors_make_status_2() {
        let mut r = reporter(Format::Json);
        r.finding(Finding::new("fim/x", Severity::High, "t", "d"))
            .unwrap();
        r.error(ErrorRecord {
            path: Some("/etc/shadow".into()),
            message: "permission denied".into(),
        })
        .unwrap();
        assert_eq!(r.status(Severity::High), ExitStatus::Error);
        let text = String::from_utf8(r.into_inner()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(decode_strict::<Finding>(lines[0]).unwrap().body.id, "fim/x");
        assert!(decode_strict::<ErrorRecord>(lines[1]).is_ok());
    }

    #[test]
    fn prerendered_lines_are_written_and_counted() {
        let mut r = reporter(Format::Json);
        let mut line = Vec::new();
        encode(
            &mut line,
            "fim",
            &ErrorRecord {
                path: None,
                message: "m".into(),
            },
        )
        .unwrap();
        let twice = [line.clone(), line].concat();
        r.emit_prerendered("error", &twice, 2).unwrap();
        let mut buf = Vec::new();
        finish_into(r, Severity::High, &mut buf);
        let text = String::from_utf8(buf).unwrap();
        let summary = decode_strict::<Summary>(text.lines().last().unwrap())
            .unwrap()
            .body;
        assert_eq!(summary.counts.get("error"), Some(&2));
        assert_eq!(text.lines().count(), 3);
    }

    #[test]
    fn finish_writes_summary_counts() {
        let mut r = reporter(Format::Json);
        r.finding(Finding::new("a/b", Severity::Low, "t", "d"))
            .unwrap();
        r.finding(Finding::new("a/c", Severity::Medium, "t", "d"))
            .unwrap();
        let mut buf = Vec::new();
        let status = finish_into(r, Severity::Medium, &mut buf);
        assert_eq!(status, ExitStatus::Findings);
        let text = String::from_utf8(buf).unwrap();
        let last = text.lines().last().unwrap();
        let summary = decode_strict::<Summary>(last).unwrap().body;
        assert_eq!(summary.counts.get("finding"), Some(&2));
        assert_eq!(summary.severity.get(&Severity::Low), Some(&1));
        assert_eq!(summary.exit, 1);
    }

    #[test]
    fn human_mode_prints_counts_first_and_worst_first() {
        let mut r = reporter(Format::Human);
        r.finding(Finding::new("a/low", Severity::Low, "low one", "d"))
            .unwrap();
        r.finding(
            Finding::new("a/crit", Severity::Critical, "crit one", "d")
                .at(Location::new("/etc/x", Some(4)))
                .fix("do this"),
        )
        .unwrap();
        let mut buf = Vec::new();
        let status = finish_into(r, Severity::High, &mut buf);
        assert_eq!(status, ExitStatus::Findings);
        let text = String::from_utf8(buf).unwrap();
        assert!(
            text.starts_with("2 findings: 1 critical, 1 low\n"),
            "{text}"
        );
        let crit = text.find("a/crit  /etc/x:4").unwrap();
        let low = text.find("a/low").unwrap();
        assert!(crit < low, "{text}");
        assert!(text.contains("fix: do this"));
    }

    #[test]
    fn colour_follows_the_choice_and_never_reaches_json() {
        use ColourChoice::*;
        for terminal in [false, true] {
            assert!(colour_allowed(Format::Human, Always, terminal));
            assert!(!colour_allowed(Format::Human, Never, terminal));
            assert!(!colour_allowed(Format::Json, Always, terminal));
            assert!(!colour_allowed(Format::Json, Auto, terminal));
        }
        assert!(!colour_allowed(Format::Human, Auto, false));
    }

    fn finish_into(mut r: Reporter<Vec<u8>>, fail_on: Severity, sink: &mut Vec<u8>) -> ExitStatus {
        let status = r.finish(fail_on, ExitStatus::Clean).unwrap();
        sink.extend(r.into_inner());
        status
    }
}
