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
