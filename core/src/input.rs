//! Inputs named on the command line: a path, or `-` for standard input.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSource {
    Stdin,
    File(PathBuf),
}

impl InputSource {
    /// `-` is standard input; anything else is a path.
    pub fn parse(arg: &Path) -> InputSource {
        if arg.as_os_str() == "-" {
            InputSource::Stdin
        } else {
            InputSource::File(arg.to_path_buf())
        }
    }

    /// How to name this input in messages: the path, or `<stdin>`.
    pub fn display_name(&self) -> String {
        match self {
            InputSource::Stdin => "<stdin>".to_string(),
            InputSource::File(p) => crate::bytes_path::display_path(p),
        }
    }

    /// Open for streaming. A directory is refused here, with its name, rather
    /// than failing later with a bare EISDIR from read(2).
    pub fn open(&self) -> Result<Box<dyn Read + Send>, InputError> {
        match self {
            InputSource::Stdin => Ok(Box::new(io::stdin())),
            InputSource::File(path) => {
                let file = File::open(path).map_err(|source| InputError::Open {
                    path: path.clone(),
                    source,
                })?;
                let meta = file.metadata().map_err(|source| InputError::Open {
                    path: path.clone(),
                    source,
                })?;
                if meta.is_dir() {
                    return Err(InputError::IsDirectory(path.clone()));
                }
                Ok(Box::new(file))
            }
        }
    }

    /// Open with a buffer in front.
    pub fn open_buffered(&self) -> Result<BufReader<Box<dyn Read + Send>>, InputError> {
        Ok(BufReader::with_capacity(1 << 16, self.open()?))
    }

    /// Read the whole input, refusing more than `limit` bytes (configs are
    /// small; a runaway input should be an error, not an OOM).
    pub fn read_limited(&self, limit: u64) -> Result<Vec<u8>, InputError> {
        let mut data = Vec::new();
        self.open()?
            .take(limit + 1)
            .read_to_end(&mut data)
            .map_err(|source| InputError::Read {
                name: self.display_name(),
                source,
            })?;
        if data.len() as u64 > limit {
            return Err(InputError::TooLarge {
                name: self.display_name(),
                limit,
            });
        }
        Ok(data)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{}: {source}", crate::bytes_path::display_path(.path))]
    Open { path: PathBuf, source: io::Error },
    #[error("{}: is a directory", crate::bytes_path::display_path(.0))]
    IsDirectory(PathBuf),
    #[error("{name}: {source}")]
    Read { name: String, source: io::Error },
    #[error("{name}: larger than {limit} bytes")]
    TooLarge { name: String, limit: u64 },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_is_stdin() {
        assert_eq!(InputSource::parse(Path::new("-")), InputSource::Stdin);
        assert_eq!(InputSource::Stdin.display_name(), "<stdin>");
    }

    #[test]
    fn directories_and_missing_files_are_named_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = InputSource::parse(tmp.path());
        let err = dir.open().err().unwrap().to_string();
        assert!(err.ends_with("is a directory"), "{err}");
        let missing = InputSource::parse(&tmp.path().join("nope"));
        let err = missing.open().err().unwrap().to_string();
        assert!(
            err.contains("nope") && err.contains("No such file"),
            "{err}"
        );
    }

    #[test]
    fn read_limited_refuses_oversized_input() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("big");
        std::fs::write(&path, vec![b'x'; 100]).unwrap();
        let src = InputSource::parse(&path);
        assert_eq!(src.read_limited(100).unwrap().len(), 100);
        assert!(matches!(
            src.read_limited(99),
            Err(InputError::TooLarge { .. })
        ));
    }
}

/// The most a tool reads of one configuration, account or unit file: a
/// larger one is not one (and a tree could offer `/dev/zero`).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Read a regular file of at most `limit` bytes, as an untrusted tree may
/// offer it: opened without blocking (a FIFO would wait for a writer
/// forever) and without following a final symbolic link, then refused
/// unless it is a regular file, and never read past `limit`. The errors
/// keep their kind (NotFound stays NotFound) and say what was refused; the
/// caller names the file.
pub fn read_regular_file(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a symbolic link where a file was expected: not followed",
                )
            } else {
                e
            }
        })?;
    read_opened_regular(file, limit)
}

/// The rest of [`read_regular_file`] for a file the caller opened (through
/// a directory descriptor, say): refused unless a regular file, never read
/// past `limit`.
pub fn read_opened_regular(file: std::fs::File, limit: u64) -> io::Result<Vec<u8>> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device or socket is never read)",
        ));
    }
    // A file whose size already says it is too big is refused before any
    // of it is read (a sparse file of terabytes costs nothing to make).
    // (/proc's tables say 0 and are read up to the limit.)
    if meta.len() > limit {
        return Err(too_large(limit));
    }
    let mut data = Vec::new();
    file.take(limit + 1).read_to_end(&mut data)?;
    if data.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(data)
}

fn too_large(limit: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("larger than {} MiB: not read", limit >> 20),
    )
}

#[cfg(test)]
mod read_regular_tests {
    use super::*;

    #[test]
    fn fifos_devices_links_and_huge_files_are_refused_without_hanging() {
        let t = tempfile::tempdir().unwrap();
        let fifo = t.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a C string path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let e = read_regular_file(&fifo, MAX_FILE_BYTES).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = read_regular_file(Path::new("/dev/zero"), MAX_FILE_BYTES).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let link = t.path().join("link");
        std::os::unix::fs::symlink("/etc/hostname", &link).unwrap();
        let e = read_regular_file(&link, MAX_FILE_BYTES).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let big = t.path().join("big");
        std::fs::write(&big, vec![b'x'; 2 << 20]).unwrap();
        let e = read_regular_file(&big, 1 << 20).unwrap_err();
        assert!(e.to_string().contains("larger than 1 MiB"), "{e}");
        let e = read_regular_file(&t.path().join("missing"), 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        std::fs::write(&big, b"ok").unwrap();
        assert_eq!(read_regular_file(&big, 2).unwrap(), b"ok");
    }
}
