//! Reading lines: files (gzip detected by its magic bytes), standard input,
//! any bytes (not only UTF-8), a last line without a newline, and lines of
//! any length in bounded memory: a line longer than [`MAX_LINE`] is cut
//! there and the rest of it skipped without being buffered.

use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use crate::progress::ReadProgress;

/// Longest line kept whole; no log message a classifier reads is longer.
pub const MAX_LINE: usize = 64 * 1024;
const BUFFER: usize = 256 * 1024;

/// One line: its bytes (without `\n` or `\r\n`) and whether it was cut.
pub struct Line<'a> {
    pub bytes: &'a [u8],
    pub truncated: bool,
}

pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    skipping: bool,
    hold_partial: bool,
}

impl<R: Read> LineReader<R> {
    pub fn new(inner: R) -> Self {
        LineReader {
            inner,
            buf: vec![0; BUFFER],
            start: 0,
            end: 0,
            eof: false,
            skipping: false,
            hold_partial: false,
        }
    }

    /// For a file that is still being written: at the end of input, keep a
    /// line without its newline until the rest of it arrives.
    pub fn hold_partial_lines(mut self) -> Self {
        self.hold_partial = true;
        self
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Drop buffered bytes (the file was truncated or replaced).
    pub fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
        self.eof = false;
        self.skipping = false;
    }

    /// The bytes read but not yet returned (for sniffing a file's type).
    pub fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.end - self.start < n && !self.eof {
            self.fill()?;
        }
        Ok(&self.buf[self.start..self.end.min(self.start + n)])
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            return Ok(());
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Whether the reader reached the end of its input (for `--follow`).
    pub fn at_eof(&self) -> bool {
        self.eof && self.start == self.end
    }

    /// Forget the end of input so that a growing file can be read on.
    pub fn clear_eof(&mut self) {
        self.eof = false;
    }

    /// The next line, or None at the end of the input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            if self.skipping {
                match memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                    Some(i) => {
                        self.start += i + 1;
                        self.skipping = false;
                    }
                    None => {
                        self.start = self.end;
                        if self.eof {
                            self.skipping = false;
                            return Ok(None);
                        }
                        self.fill()?;
                        continue;
                    }
                }
            }
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                if i <= MAX_LINE {
                    let s = self.start;
                    self.start += i + 1;
                    return Ok(Some(Line {
                        bytes: strip_cr(&self.buf[s..s + i]),
                        truncated: false,
                    }));
                }
            }
            let pending = self.end - self.start;
            if pending > MAX_LINE {
                let s = self.start;
                self.start += MAX_LINE;
                self.skipping = true;
                return Ok(Some(Line {
                    bytes: &self.buf[s..s + MAX_LINE],
                    truncated: true,
                }));
            }
            if self.eof {
                if pending == 0 || self.hold_partial {
                    return Ok(None);
                }
                let s = self.start;
                self.start = self.end;
                return Ok(Some(Line {
                    bytes: strip_cr(&self.buf[s..self.end]),
                    truncated: false,
                }));
            }
            self.fill()?;
        }
    }
}

fn strip_cr(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\r").unwrap_or(b)
}

/// Why a file could not be read as a log.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("is a directory")]
    Directory,
    #[error("not a regular file (a FIFO, device or socket in the tree is never read)")]
    NotRegular,
}

/// Open a file for reading, decompressing gzip (by its magic bytes, so a
/// rotated `auth.log.2.gz` and a renamed one both work); `progress` counts
/// the file's bytes as they are read.
///
/// A file under `--root` (`regular_only`) must be a regular file: an image
/// may put a FIFO where a log is expected (whose open or read would wait
/// forever) or a device; it is opened without blocking and refused. A path
/// of this machine may be a pipe (`logscan summary <(journalctl ...)`).
pub fn open_file(
    path: &Path,
    progress: &ReadProgress,
    regular_only: bool,
) -> Result<Box<dyn Read + Send>, OpenError> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = if regular_only {
        libc::O_NONBLOCK | libc::O_NOCTTY
    } else {
        0
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(OpenError::Directory);
    }
    if regular_only && !meta.is_file() {
        return Err(OpenError::NotRegular);
    }
    let len = meta.is_file().then_some(meta.len());
    let mut reader = BufReader::with_capacity(64 * 1024, progress.track(file, len));
    let magic = reader.fill_buf()?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

/// True when the start of an input is binary data rather than text (a wtmp
/// file, a journal file, an image, random garbage): its first bytes hold a
/// NUL or another control byte, and its head as a whole is NUL- or
/// control-heavy. Clients choose bytes inside a log's lines (a user name of
/// NULs), never a log's first bytes, which the daemon writes (a date, a host
/// name, `{` for journal JSON); so a few NULs later on never make a log
/// skipped: such a line is text with its bad bytes.
pub fn looks_binary(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let is_control = |b: &u8| *b < 0x09 || (0x0e..0x20).contains(b) || *b == 0x7f;
    let start = &head[..head.len().min(32)];
    let start = match memchr::memchr(b'\n', start) {
        Some(i) => &start[..i],
        None => start,
    };
    if !start.iter().any(is_control) {
        return false;
    }
    let nul = memchr::memchr_iter(0, head).count();
    let control = head.iter().filter(|b| is_control(b)).count();
    nul * 100 > head.len() || control * 10 > head.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<(Vec<u8>, bool)> {
        let mut r = LineReader::new(input);
        let mut out = Vec::new();
        while let Some(l) = r.next_line().unwrap() {
            out.push((l.bytes.to_vec(), l.truncated));
        }
        out
    }

    #[test]
    fn last_line_without_newline_and_crlf() {
        let v = all(b"a\r\nb\n\nc");
        let lines: Vec<&[u8]> = v.iter().map(|(l, _)| l.as_slice()).collect();
        assert_eq!(lines, vec![&b"a"[..], b"b", b"", b"c"]);
    }

    #[test]
    fn long_lines_are_cut_and_skipped_in_bounded_memory() {
        let mut input = vec![b'x'; MAX_LINE * 10 + 7];
        input.extend_from_slice(b"\nshort\n");
        let v = all(&input);
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].0.len(), v[0].1), (MAX_LINE, true));
        assert_eq!((v[1].0.as_slice(), v[1].1), (&b"short"[..], false));
    }

    #[test]
    fn binary_sniffing() {
        assert!(looks_binary(&[0u8, 1, 2, 3, 0, 0, 7, 8]));
        assert!(!looks_binary(b"Jan  1 00:00:00 host sshd[1]: ok\n"));
        assert!(!looks_binary("caf\u{e9} \u{fffd}".as_bytes()));
        let mut nuls = b"Jan  1 00:00:00 host sshd[1]: Invalid user ".to_vec();
        nuls.extend([0u8; 200]);
        assert!(!looks_binary(&nuls));
        assert!(looks_binary(b"LPKSHHRH\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"));
    }
}
