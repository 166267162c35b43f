//! Progress while `fim init` / `fim check` / `fim update` walk and hash a
//! tree: paths examined, files hashed, bytes and rate, on stderr (only when
//! [`hardkit_core::progress::wanted`] says so).
//!
//! Counting is per scanned path on the thread that receives the outcomes:
//! two relaxed atomic adds and indicatif's own counter, which only redraws
//! a few times a second. A steady tick keeps the line alive while one big
//! file is being hashed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::entry::Entry;
use crate::scan::Outcome;

const TEMPLATE: &str =
    "{spinner} fim: {paths} paths, {files} files hashed, {bytes} ({binary_bytes_per_sec}), {elapsed}";

/// The progress line of one scan; does nothing when progress is off.
pub struct ScanProgress {
    bar: Option<ProgressBar>,
    paths: Arc<AtomicU64>,
    files: Arc<AtomicU64>,
}

impl ScanProgress {
    pub fn new(show: bool) -> Self {
        let paths = Arc::new(AtomicU64::new(0));
        let files = Arc::new(AtomicU64::new(0));
        let bar = show.then(|| {
            let (p, f) = (paths.clone(), files.clone());
            let style = ProgressStyle::with_template(TEMPLATE)
                .unwrap_or_else(|_| ProgressStyle::default_spinner())
                .with_key("paths", move |_: &_, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", p.load(Ordering::Relaxed));
                })
                .with_key("files", move |_: &_, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", f.load(Ordering::Relaxed));
                });
            let bar =
                ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(style);
            // Drawn at once, so even a short run shows what it is doing
            // (tick draws only before the steady ticker takes over).
            bar.tick();
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        ScanProgress { bar, paths, files }
    }

    /// Count one scanned path.
    pub fn outcome(&self, outcome: &Outcome) {
        if let Some(bar) = &self.bar {
            self.paths.fetch_add(1, Ordering::Relaxed);
            if let Outcome::Entry { entry, .. } = outcome {
                self.hashed(bar, entry);
            }
        }
    }

    fn hashed(&self, bar: &ProgressBar, entry: &Entry) {
        if entry.blake3.is_some() {
            self.files.fetch_add(1, Ordering::Relaxed);
            bar.inc(entry.size);
        }
    }

    /// Run `f` (which prints to the terminal) with the progress line
    /// cleared, so the two do not write over each other.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Take the line off the screen before the report is printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for ScanProgress {
    /// An error ends the scan early: the line still goes away.
    fn drop(&mut self) {
        self.finish();
    }
}
