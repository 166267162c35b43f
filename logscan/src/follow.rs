//! `--follow`: keep reading files as they grow, like `tail -F`. Each file is
//! read from its end (its lines counted, so line numbers stay true); every 200 ms logscan checks whether the path now names
//! another file (rotation: the old file is read to its end first, then the
//! new one from its start) or the file got shorter (truncation: read again
//! from the start). A file that does not exist yet is waited for.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use hardkit_core::BytesPath;

use crate::event_stream::EventWriter;
use crate::lines::LineReader;
use crate::report::Output;
use crate::scan::{scan_reader, Input, OutputError, ScanOptions, Scanner, Sink, Totals};

const POLL: Duration = Duration::from_millis(200);

struct Followed {
    path: PathBuf,
    source: BytesPath,
    reader: Option<LineReader<File>>,
    inode: Option<(u64, u64)>,
    offset_hint: u64,
    line_no: u64,
    reported_missing: bool,
}

impl Followed {
    fn open(&mut self, from_end: bool) -> io::Result<()> {
        let mut file = File::open(&self.path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::other("is a directory, not a log file"));
        }
        self.line_no = 0;
        if from_end {
            // Skip what is there, but count its lines so that `source.line`
            // stays the line number in the file.
            let mut buf = vec![0u8; 1 << 16];
            let mut read = 0u64;
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                read += n as u64;
                self.line_no += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            }
            self.offset_hint = read;
        } else {
            self.offset_hint = 0;
        }
        self.inode = Some((meta.dev(), meta.ino()));
        self.reader = Some(LineReader::new(file).hold_partial_lines());
        Ok(())
    }

    /// Read what is new; true when anything was read.
    fn drain(
        &mut self,
        scanner: &mut Scanner,
        sink: &mut EventWriter<'_>,
        totals: &mut Totals,
    ) -> io::Result<bool> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(false);
        };
        let before = totals.lines;
        reader.clear_eof();
        sink.begin_input(&self.source)?;
        scan_reader(scanner, reader, sink, &mut self.line_no, totals)?;
        if let Ok(pos) = reader.get_mut().stream_position() {
            self.offset_hint = pos;
        }
        Ok(totals.lines > before)
    }

    /// Rotation or truncation: reopen or rewind. Returns a message to report.
    fn check(
        &mut self,
        scanner: &mut Scanner,
        sink: &mut EventWriter<'_>,
        totals: &mut Totals,
    ) -> io::Result<()> {
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) => {
                if self.reader.is_none() && !self.reported_missing {
                    self.reported_missing = true;
                    sink.input_error(&self.source, format!("{e}; waiting for it to appear"))?;
                }
                return Ok(());
            }
        };
        let id = (meta.dev(), meta.ino());
        if self.reader.is_none() || self.inode != Some(id) {
            // Finish the old file, then start the new one from its beginning.
            self.drain(scanner, sink, totals)?;
            let first_open = self.reader.is_none() && !self.reported_missing;
            match self.open(first_open) {
                Ok(()) => self.reported_missing = false,
                Err(e) => {
                    if !self.reported_missing {
                        self.reported_missing = true;
                        sink.input_error(&self.source, e.to_string())?;
                    }
                }
            }
            return Ok(());
        }
        if meta.len() < self.offset_hint {
            if let Some(r) = self.reader.as_mut() {
                r.get_mut().seek(SeekFrom::Start(0))?;
                r.reset();
                self.offset_hint = 0;
                self.line_no = 0;
            }
        }
        Ok(())
    }
}

pub fn follow(inputs: &[Input], opts: ScanOptions, out: &mut Output) -> Result<(), OutputError> {
    let mut files: Vec<Followed> = inputs
        .iter()
        .filter_map(|i| {
            i.host_path().map(|p| Followed {
                path: p.to_path_buf(),
                source: i.source_path(),
                reader: None,
                inode: None,
                offset_hint: 0,
                line_no: 0,
                reported_missing: false,
            })
        })
        .collect();
    let mut scanner = Scanner::new(opts);
    let mut sink = EventWriter::new(out);
    let mut totals = Totals::default();
    for f in &mut files {
        f.check(&mut scanner, &mut sink, &mut totals)?;
    }
    sink.flush_events()?;
    sink.flush_output()?;
    loop {
        let mut any = false;
        for f in &mut files {
            any |= f.drain(&mut scanner, &mut sink, &mut totals)?;
        }
        sink.flush_events()?;
        sink.flush_output()?;
        if !any {
            std::thread::sleep(POLL);
            for f in &mut files {
                f.check(&mut scanner, &mut sink, &mut totals)?;
            }
        }
    }
}
