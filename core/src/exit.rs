//! Exit codes shared by every tool, and the `main` wrapper that applies them.
//!
//! 0  clean: nothing at or above `--fail-on`, nothing to do, no drift
//! 1  findings at or above `--fail-on` (for fim: changes; for planners: drift)
//! 2  operational error: bad arguments, bad input, unreadable file
//! 130 interrupted by Ctrl-C (SIGINT), as a shell reports a killed job
//!
//! A closed output pipe (`tool | head`) is not an error: the tool stops
//! quietly with status 0, as ripgrep does.

use std::fmt::Display;
use std::io;
use std::process::ExitCode;

use crate::severity::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExitStatus {
    Clean,
    Findings,
    Error,
    Interrupted,
}

impl ExitStatus {
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Clean => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Error => 2,
            ExitStatus::Interrupted => 130,
        }
    }

    /// Every status, in code order (for the man pages' EXIT STATUS).
    pub const ALL: [ExitStatus; 4] = [
        ExitStatus::Clean,
        ExitStatus::Findings,
        ExitStatus::Error,
        ExitStatus::Interrupted,
    ];

    /// What the status means, in the words of docs/protocol.md.
    pub fn meaning(self) -> &'static str {
        match self {
            ExitStatus::Clean => "clean: no finding at or above --fail-on, nothing changed, nothing to do",
            ExitStatus::Findings => "findings at or above --fail-on",
            ExitStatus::Error => {
                "operational error: bad arguments, unreadable or invalid input (named by flag or file:line), or an error record was written"
            }
            ExitStatus::Interrupted => "interrupted (Ctrl-C); no half-written file is left behind",
        }
    }

    /// The status of a run that found findings up to `worst` (None: no findings).
    pub fn for_findings(worst: Option<Severity>, fail_on: Severity) -> ExitStatus {
        match worst {
            Some(sev) if sev >= fail_on => ExitStatus::Findings,
            _ => ExitStatus::Clean,
        }
    }

    /// Combine two outcomes of one run: an operational error outranks
    /// findings, which outrank a clean result.
    pub fn worst(self, other: ExitStatus) -> ExitStatus {
        self.max(other)
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        // Every code we use fits in a u8.
        ExitCode::from(status.code() as u8)
    }
}

/// True when `err` or anything in its source chain is a broken pipe.
pub fn is_broken_pipe(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(io_err) = e.downcast_ref::<io::Error>() {
            if io_err.kind() == io::ErrorKind::BrokenPipe {
                return true;
            }
        }
        current = e.source();
    }
    false
}

/// Run a tool's body and turn its outcome into the process exit code:
/// `tool: message` on stderr and 2 for an error (under `--json` the stream
/// on stdout also ends with an `error` record and a `summary`, see
/// [`crate::tally`]), silence and 0 for a broken pipe. Also installs the Ctrl-C handler (exit 130, no half-written file)
/// and applies the shared options that hold for the whole run (`--color`).
pub fn run<E>(
    tool: &str,
    common: &crate::CommonArgs,
    body: impl FnOnce() -> Result<ExitStatus, E>,
) -> ExitCode
where
    E: std::error::Error + 'static,
{
    crate::signals::install_interrupt_handler();
    crate::output::set_colour_choice(common.color);
    match body() {
        Ok(status) => status.into(),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let message = render_error(&err);
            eprintln!("{tool}: {message}");
            if common.json {
                crate::tally::close_stream_with_error(tool, &message);
            }
            ExitStatus::Error.into()
        }
    }
}

/// `context: cause: cause` for an error and its sources, skipping a source
/// whose text the outer message already contains.
pub fn render_error(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut current = err.source();
    while let Some(e) = current {
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        current = e.source();
    }
    text
}

/// Convenience for errors that are only a message.
pub fn message(err: impl Display) -> String {
    err.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_at_or_above_fail_on_give_1() {
        assert_eq!(
            ExitStatus::for_findings(Some(Severity::High), Severity::High),
            ExitStatus::Findings
        );
        assert_eq!(
            ExitStatus::for_findings(Some(Severity::Critical), Severity::Low),
            ExitStatus::Findings
        );
        assert_eq!(
            ExitStatus::for_findings(Some(Severity::Medium), Severity::High),
            ExitStatus::Clean
        );
        assert_eq!(
            ExitStatus::for_findings(None, Severity::Info),
            ExitStatus::Clean
        );
    }

    #[test]
    fn errors_outrank_findings_outrank_clean() {
        use ExitStatus::*;
        assert_eq!(Clean.worst(Findings), Findings);
        assert_eq!(Findings.worst(Error), Error);
        assert_eq!(Error.worst(Clean), Error);
        assert_eq!(
            [Clean, Findings, Error, Interrupted].map(ExitStatus::code),
            [0, 1, 2, 130]
        );
    }

    #[derive(Debug, thiserror::Error)]
    #[error("writing output")]
    struct Wrapped(#[source] io::Error);

    #[test]
    fn broken_pipe_is_found_through_the_source_chain() {
        let err = Wrapped(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&err));
        let other = Wrapped(io::Error::from(io::ErrorKind::NotFound));
        assert!(!is_broken_pipe(&other));
    }

    #[test]
    fn rendered_errors_carry_their_causes() {
        let err = Wrapped(io::Error::new(io::ErrorKind::NotFound, "no such file"));
        assert_eq!(render_error(&err), "writing output: no such file");
    }
}
