//! Progress while logscan reads big logs: which file (`[2/5] auth.log.2.gz`),
//! bytes read of its size, rate and time left, on stderr (only when
//! [`hardkit_core::progress::wanted`] says so).
//!
//! The count is taken under the line reader, on the file's own reads (for
//! gzip, the compressed bytes, which is what the size measures), and handed
//! to indicatif once per MiB: nothing is added per line, so the scan keeps
//! its speed (docs/performance.md).

use std::io::{self, Read};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Bytes read between two updates of the progress line.
const UPDATE_EVERY: u64 = 1 << 20;

const SIZED: &str =
    "{spinner} logscan: [{prefix}] {wide_msg} {bytes}/{total_bytes} ({binary_bytes_per_sec}, {eta} left)";
const UNSIZED: &str = "{spinner} logscan: [{prefix}] {wide_msg} {bytes} ({binary_bytes_per_sec})";

/// The progress line of one run, shared by the inputs it reads in turn;
/// does nothing when progress is off.
#[derive(Clone, Default)]
pub struct ReadProgress {
    bar: Option<ProgressBar>,
}

impl ReadProgress {
    pub fn new(show: bool) -> Self {
        // Nothing is drawn before the first input is opened (track).
        let bar = show.then(|| ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()));
        ReadProgress { bar }
    }

    /// Input `index` (0-based) of `count` starts: `name` as the user gave
    /// it, already escaped for a terminal.
    pub fn begin_input(&self, index: usize, count: usize, name: &str) {
        if let Some(bar) = &self.bar {
            bar.reset();
            bar.set_prefix(format!("{}/{count}", index + 1));
            bar.set_message(name.to_string());
        }
    }

    /// Count what is read from `inner`, an input of `len` bytes (None: not
    /// known, as for standard input). Without progress, `inner` as it is.
    pub fn track<R: Read + Send + 'static>(
        &self,
        inner: R,
        len: Option<u64>,
    ) -> Box<dyn Read + Send> {
        let Some(bar) = &self.bar else {
            return Box::new(inner);
        };
        let style = |template| {
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_spinner())
        };
        match len {
            Some(len) => {
                bar.set_style(style(SIZED));
                bar.set_length(len);
            }
            None => {
                bar.set_style(style(UNSIZED));
                bar.unset_length();
            }
        }
        if bar.is_hidden() {
            bar.set_draw_target(ProgressDrawTarget::stderr());
            // Drawn at once, so even a short run shows what it is reading
            // (tick draws only before the steady ticker takes over).
            bar.tick();
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        Box::new(Counted {
            inner,
            pending: 0,
            bar: bar.clone(),
        })
    }

    /// Run `f` (which prints to the terminal) with the progress line
    /// cleared, so the two do not write over each other.
    pub fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Take the line off the screen (every input was read).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A reader that tells the progress line how far it got, once per MiB.
struct Counted<R> {
    inner: R,
    pending: u64,
    bar: ProgressBar,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pending += n as u64;
        if self.pending >= UPDATE_EVERY || n == 0 {
            self.bar.inc(self.pending);
            self.pending = 0;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_byte_read_in_updates_of_a_mib() {
        let progress = ReadProgress {
            bar: Some(ProgressBar::hidden()),
        };
        let data = vec![b'x'; 3 * (1 << 20) + 5];
        let len = data.len() as u64;
        let mut reader = progress.track(io::Cursor::new(data), Some(len));
        let mut buf = vec![0; 64 * 1024];
        let bar = progress.bar.as_ref().unwrap();
        let mut read = 0;
        while read < (1 << 20) - buf.len() {
            read += reader.read(&mut buf).unwrap();
        }
        // Less than a MiB read: not told yet (no update per read).
        assert_eq!(bar.position(), 0);
        io::copy(&mut reader, &mut io::sink()).unwrap();
        assert_eq!(bar.position(), len);
        assert_eq!(bar.length(), Some(len));
    }

    #[test]
    fn without_progress_the_reader_is_unchanged() {
        let progress = ReadProgress::new(false);
        let mut reader = progress.track(io::Cursor::new(b"abc"), Some(3));
        let mut s = String::new();
        reader.read_to_string(&mut s).unwrap();
        assert_eq!(s, "abc");
        assert!(progress.bar.is_none());
    }
}
