//! The baseline file: versioned, sorted, streamed in and out, its end
//! marked, and its whole content covered by a keyed BLAKE3 MAC (or, without
//! a key, a plain BLAKE3 checksum that catches damage but not an intruder).
//!
//! ```text
//! {"format":"hardkit-fim-baseline","version":1,...}   header
//! {"path":"/etc","ftype":"dir",...}                   entries, in path_order
//! {"end":true,"entries":N,"digest":"<hex>"}           end marker
//! ```
//! The digest covers every byte before the end line. Readers verify it in
//! a first pass over the open file before trusting any entry, then read the
//! same descriptor again, checking the digest a second time and the order
//! of the paths as they go.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use hardkit_core::bytes_path::display_path;
use hardkit_core::dirfd::{self, TrustedDir};
use hardkit_core::BytesPath;
use serde::{Deserialize, Serialize};

use crate::entry::{path_order, Entry};

pub const FORMAT: &str = "hardkit-fim-baseline";
pub const VERSION: u32 = 1;
/// The BLAKE3 key-derivation context for the MAC key: fixed, globally
/// unique, and never used for anything else.
pub const KEY_CONTEXT: &str = "hardkit fim 2026-11-22 baseline MAC key v1";
/// The longest line a reader accepts (an entry with many large xattrs
/// stays far below this; a hostile file cannot make us buffer gigabytes).
const MAX_LINE: usize = 8 << 20;

/// The MAC key, derived from the key file's 32 bytes.
#[derive(Clone)]
pub struct MacKey([u8; 32]);

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("key {}: {message}", display_path(.path))]
    Key { path: PathBuf, message: String },
    #[error("baseline {}: {source}", display_path(.path))]
    Io { path: PathBuf, source: io::Error },
    #[error("baseline {}: not found: make one with fim init (or give --db)", display_path(.0))]
    Missing(PathBuf),
    #[error("baseline {}: refused: {message}", display_path(.path))]
    Refused { path: PathBuf, message: String },
}

/// Read a key file: exactly 32 bytes, or 64 hex digits (and a newline).
/// A key that group or others can read or write is refused: whoever can
/// read it can forge a baseline.
pub fn load_key(path: &Path) -> Result<MacKey, BaselineError> {
    let err = |message: String| BaselineError::Key {
        path: path.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(err(format!(
            "mode {:04o} lets group or others read it; chmod 600 it (and keep it off the monitored machine)",
            meta.mode() & 0o7777
        )));
    }
    let raw = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let material: Vec<u8> = if raw.len() == 32 {
        raw
    } else {
        let text = String::from_utf8_lossy(&raw);
        let hex = text.trim_end_matches(['\n', '\r']);
        decode_hex(hex).filter(|k| k.len() == 32).ok_or_else(|| {
            err(format!(
                "{} bytes; a key is 32 random bytes or 64 hex digits (head -c 32 /dev/urandom > KEY)",
                raw.len()
            ))
        })?
    };
    Ok(MacKey(blake3::derive_key(KEY_CONTEXT, &material)))
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The first line: what this file is and how it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub created: String,
    /// `keyed-blake3` (a MAC made with `--key`) or `blake3` (a checksum).
    pub protection: String,
    /// The walk roots.
    pub paths: Vec<BytesPath>,
    /// The rule text the baseline was made with; `check` uses it unless
    /// rules are given on its command line.
    pub rules: String,
    pub one_filesystem: bool,
    /// Counts the baselines made with a key (see [`crate::generation`]);
    /// absent (0) in unkeyed baselines and in those made before it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub generation: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

pub const KEYED: &str = "keyed-blake3";
pub const UNKEYED: &str = "blake3";

impl Header {
    pub fn is_keyed(&self) -> bool {
        self.protection == KEYED
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EndMarker {
    end: bool,
    entries: u64,
    digest: String,
}

fn hasher_for(key: Option<&MacKey>) -> blake3::Hasher {
    match key {
        Some(k) => blake3::Hasher::new_keyed(&k.0),
        None => blake3::Hasher::new(),
    }
}

/// A baseline being written: to an unnamed temporary file in the target's
/// directory, linked into place only when complete, so an interrupted run
/// leaves neither a half-written baseline nor a stray file.
pub struct BaselineWriter {
    path: PathBuf,
    out: BufWriter<File>,
    /// The baseline's directory, opened through core's dirfd (no link
    /// another user controls followed, refused if another user can write
    /// in it): every later step is relative to it.
    dir: std::sync::Arc<TrustedDir>,
    temp_name: TempName,
    hasher: blake3::Hasher,
    count: u64,
    last: Option<Vec<u8>>,
    line: Vec<u8>,
}

impl BaselineWriter {
    pub fn create(
        path: &Path,
        header: &Header,
        key: Option<&MacKey>,
    ) -> Result<BaselineWriter, BaselineError> {
        let io_err = |source| BaselineError::Io {
            path: path.to_path_buf(),
            source,
        };
        let parent = path.parent().unwrap_or(Path::new("/"));
        let parent = if parent.is_relative() {
            std::env::current_dir().map_err(io_err)?.join(parent)
        } else {
            parent.to_path_buf()
        };
        let dir = std::sync::Arc::new(dirfd::create_dirs(&parent, 0o700).map_err(|e| {
            BaselineError::Io {
                path: path.to_path_buf(),
                source: io::Error::new(io::ErrorKind::PermissionDenied, e.to_string()),
            }
        })?);
        let (file, temp_name) = match unnamed_in(&dir) {
            Ok(file) => (file, None),
            Err(_) => {
                // No O_TMPFILE on this filesystem: a named temporary file.
                let temp = temp_path(path);
                let name = temp.file_name().unwrap_or_default().to_os_string();
                let file = dir.create_new(&name, 0o600).map_err(io_err)?;
                (file, Some(name))
            }
        };
        let mut writer = BaselineWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(256 << 10, file),
            dir: dir.clone(),
            temp_name: TempName(temp_name, dir),
            hasher: hasher_for(key),
            count: 0,
            last: None,
            line: Vec::with_capacity(512),
        };
        let mut line = serde_json::to_vec(header).map_err(|e| io_err(io::Error::other(e)))?;
        line.push(b'\n');
        writer.write_line(&line)?;
        Ok(writer)
    }

    fn write_line(&mut self, line: &[u8]) -> Result<(), BaselineError> {
        self.hasher.update(line);
        self.out
            .write_all(line)
            .map_err(|source| BaselineError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// Append one entry; entries must come in [`path_order`].
    pub fn push(&mut self, entry: &Entry) -> Result<(), BaselineError> {
        let path = entry.path.as_bytes();
        if let Some(last) = &self.last {
            if path_order(last, path) != std::cmp::Ordering::Less {
                return Err(BaselineError::Refused {
                    path: self.path.clone(),
                    message: format!(
                        "internal error: entries out of order at {}",
                        display_path(entry.path.as_path())
                    ),
                });
            }
        }
        self.last = Some(path.to_vec());
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        serde_json::to_writer(&mut line, entry).map_err(|e| BaselineError::Io {
            path: self.path.clone(),
            source: io::Error::other(e),
        })?;
        line.push(b'\n');
        let result = self.write_line(&line);
        self.line = line;
        self.count += 1;
        result
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Write the end marker, make the file durable and put it in place.
    /// Returns the number of entries and the digest (the MAC with a key).
    pub fn finish(mut self) -> Result<(u64, String), BaselineError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| BaselineError::Io { path, source }
        };
        let digest = self.hasher.finalize().to_hex().to_string();
        let end = EndMarker {
            end: true,
            entries: self.count,
            digest: digest.clone(),
        };
        let mut line =
            serde_json::to_vec(&end).map_err(|e| io_err(&self.path)(io::Error::other(e)))?;
        line.push(b'\n');
        self.out.write_all(&line).map_err(io_err(&self.path))?;
        let file = self
            .out
            .into_inner()
            .map_err(|e| io_err(&self.path)(e.into_error()))?;
        file.sync_all().map_err(io_err(&self.path))?;
        let temp = match self.temp_name.0.take() {
            Some(temp) => temp,
            None => {
                let temp = temp_path(&self.path);
                let temp = temp.file_name().unwrap_or_default().to_os_string();
                link_unnamed(&file, &self.dir, &temp).map_err(io_err(&self.path))?;
                temp
            }
        };
        let name = self.path.file_name().unwrap_or_default();
        if let Err(e) = self.dir.rename(&temp, name) {
            let _ = self.dir.unlink(&temp);
            return Err(io_err(&self.path)(e));
        }
        let _ = self.dir.sync();
        Ok((self.count, digest))
    }
}

/// A named temporary baseline, removed unless finish() took the name.
struct TempName(Option<std::ffi::OsString>, std::sync::Arc<TrustedDir>);

impl Drop for TempName {
    fn drop(&mut self) {
        if let Some(temp) = &self.0 {
            let _ = self.1.unlink(temp);
        }
    }
}

/// An unnamed file in `dir` (`O_TMPFILE`), mode 0600.
fn unnamed_in(dir: &TrustedDir) -> io::Result<File> {
    use std::os::fd::FromRawFd;
    // SAFETY: a valid directory descriptor and a NUL-terminated name.
    let fd = unsafe {
        libc::openat(
            dir.raw(),
            c".".as_ptr(),
            libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and belongs to nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// Give an O_TMPFILE file a name (linkat through /proc/self/fd needs no
/// privilege, unlike AT_EMPTY_PATH).
fn link_unnamed(file: &File, dir: &TrustedDir, name: &std::ffi::OsStr) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let proc_path = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .map_err(io::Error::other)?;
    let c_name = std::ffi::CString::new(name.as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: both paths are NUL-terminated strings we own; the directory
    // descriptor is open.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            proc_path.as_ptr(),
            dir.raw(),
            c_name.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `.NAME.tmp.PID` next to the baseline (the walk never records it).
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".tmp.{}", std::process::id()));
    path.with_file_name(name)
}

/// The prefix every temporary baseline name starts with.
pub fn temp_prefix(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".tmp.");
    path.with_file_name(name)
}

/// A baseline being read, already verified once as a whole.
pub struct BaselineReader {
    path: PathBuf,
    input: BufReader<File>,
    header: Header,
    hasher: blake3::Hasher,
    expected_digest: String,
    count: u64,
    last: Option<Vec<u8>>,
    line: Vec<u8>,
    done: bool,
}

impl BaselineReader {
    /// Open and verify. `key` must be given exactly when the baseline was
    /// made with one: a keyed baseline cannot be read without its key, and
    /// an unkeyed one is refused when a key is given (an intruder without
    /// the key could otherwise replace a protected baseline with an
    /// unprotected one).
    pub fn open(path: &Path, key: Option<&MacKey>) -> Result<BaselineReader, BaselineError> {
        let refused = |message: String| BaselineError::Refused {
            path: path.to_path_buf(),
            message,
        };
        let io_err = |source| BaselineError::Io {
            path: path.to_path_buf(),
            source,
        };
        // Not through a symlink: under --root its target could be a host file.
        let file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(BaselineError::Missing(path.to_path_buf()))
            }
            Err(e) => return Err(io_err(e)),
        };
        let mut input = BufReader::with_capacity(256 << 10, file);
        let mut line = Vec::new();

        // Pass 1: structure and digest, before any entry is trusted.
        if !read_line(&mut input, &mut line).map_err(io_err)? {
            return Err(refused("empty file, not a fim baseline".into()));
        }
        let header = parse_header(&line).map_err(&refused)?;
        match (header.is_keyed(), key) {
            (true, None) => {
                return Err(refused(
                    "it is protected by a key: give the same --key it was made with".into(),
                ))
            }
            (false, Some(_)) => {
                return Err(refused(
                    "--key was given but this baseline carries no MAC: it may have been replaced by someone without the key (make a new one with fim init --key)".into(),
                ))
            }
            _ => {}
        }
        let mut hasher = hasher_for(key);
        hasher.update(&line);
        let mut entries = 0u64;
        let end = loop {
            if !read_line(&mut input, &mut line).map_err(io_err)? {
                return Err(refused("truncated: the end marker is missing".into()));
            }
            if line.starts_with(b"{\"end\":") {
                break serde_json::from_slice::<EndMarker>(trim_newline(&line))
                    .map_err(|e| refused(format!("bad end marker: {e}")))?;
            }
            if line.last() != Some(&b'\n') {
                return Err(refused("truncated: the last line is incomplete".into()));
            }
            hasher.update(&line);
            entries += 1;
        };
        if line.last() != Some(&b'\n') || read_line(&mut input, &mut line).map_err(io_err)? {
            return Err(refused("data after the end marker".into()));
        }
        let digest = hasher.finalize();
        if !digest_matches(&digest, &end.digest) {
            return Err(refused(if key.is_some() {
                "the MAC does not match: the baseline was modified, or it was made with another key"
                    .into()
            } else {
                "the checksum does not match: the baseline is damaged".into()
            }));
        }
        if !end.end || end.entries != entries {
            return Err(refused(format!(
                "the end marker counts {} entries, the file has {entries}",
                end.entries
            )));
        }

        // Pass 2 starts: the same descriptor from the beginning.
        input.seek(SeekFrom::Start(0)).map_err(io_err)?;
        read_line(&mut input, &mut line).map_err(io_err)?;
        let mut hasher = hasher_for(key);
        hasher.update(&line);
        Ok(BaselineReader {
            path: path.to_path_buf(),
            input,
            header,
            hasher,
            expected_digest: end.digest,
            count: 0,
            last: None,
            line,
            done: false,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The digest (the MAC with a key) the end marker carries, verified.
    pub fn digest(&self) -> &str {
        &self.expected_digest
    }

    fn refused(&self, message: String) -> BaselineError {
        BaselineError::Refused {
            path: self.path.clone(),
            message,
        }
    }

    /// The next entry, or None after the end marker was checked again.
    pub fn next_entry(&mut self) -> Result<Option<Entry>, BaselineError> {
        if self.done {
            return Ok(None);
        }
        let more =
            read_line(&mut self.input, &mut self.line).map_err(|source| BaselineError::Io {
                path: self.path.clone(),
                source,
            })?;
        if !more {
            return Err(self.refused("changed while being read: the end marker is gone".into()));
        }
        if self.line.starts_with(b"{\"end\":") {
            self.done = true;
            let digest = self.hasher.finalize();
            if !digest_matches(&digest, &self.expected_digest) {
                return Err(
                    self.refused("changed while being read: the digest no longer matches".into())
                );
            }
            return Ok(None);
        }
        self.hasher.update(&self.line);
        let entry: Entry = serde_json::from_slice(trim_newline(&self.line))
            .map_err(|e| self.refused(format!("entry {}: {e}", self.count + 1)))?;
        let path = entry.path.as_bytes();
        if let Some(last) = &self.last {
            if path_order(last, path) != std::cmp::Ordering::Less {
                return Err(self.refused(format!(
                    "entries out of order at {} (entry {})",
                    display_path(entry.path.as_path()),
                    self.count + 1
                )));
            }
        }
        self.last = Some(path.to_vec());
        self.count += 1;
        Ok(Some(entry))
    }
}

fn digest_matches(digest: &blake3::Hash, hex: &str) -> bool {
    // blake3::Hash's equality is constant-time.
    blake3::Hash::from_hex(hex).is_ok_and(|expected| *digest == expected)
}

fn parse_header(line: &[u8]) -> Result<Header, String> {
    #[derive(Deserialize)]
    struct Probe {
        format: Option<String>,
        version: Option<u32>,
    }
    let probe: Probe = serde_json::from_slice(trim_newline(line))
        .map_err(|_| "not a fim baseline (the first line is not its header)".to_string())?;
    if probe.format.as_deref() != Some(FORMAT) {
        return Err("not a fim baseline (the first line is not its header)".into());
    }
    if probe.version != Some(VERSION) {
        return Err(format!(
            "format version {:?}; this fim reads version {VERSION}",
            probe.version
        ));
    }
    serde_json::from_slice(trim_newline(line)).map_err(|e| format!("bad header: {e}"))
}

fn trim_newline(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// Read one line (with its newline, if any) into `line`; false at EOF.
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<bool> {
    line.clear();
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(!line.is_empty());
        }
        let (take, found) = match memchr::memchr(b'\n', available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if line.len() + take > MAX_LINE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a line longer than {MAX_LINE} bytes"),
            ));
        }
        line.extend_from_slice(&available[..take]);
        input.consume(take);
        if found {
            return Ok(true);
        }
    }
}
