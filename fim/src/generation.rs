//! Replay protection: a validly signed baseline stays valid forever, so an
//! intruder who kept an old one (from before their change) could put it
//! back and `check --key` would pass. Each keyed baseline therefore carries
//! a generation number in its (MAC-covered) header, and every `init` and
//! `update` with a key records the generation and the MAC of the baseline
//! it wrote beside the key file (`KEY.generation`, mode 0600). `check`,
//! `update` and `show` with that key refuse any baseline but the one the
//! record names. Whoever can write beside the key can also forge
//! baselines, so the record needs no protection of its own beyond the
//! key's.

use std::io;
use std::path::{Path, PathBuf};

use hardkit_core::bytes_path::display_path;

use crate::baseline::BaselineError;

/// The latest baseline made with a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    pub number: u64,
    /// The baseline's MAC, lowercase hex.
    pub digest: String,
}

/// Where the record of a key file lives: beside it, `KEY.generation`.
pub fn record_path(key: &Path) -> PathBuf {
    let mut name = key.file_name().unwrap_or_default().to_os_string();
    name.push(".generation");
    key.with_file_name(name)
}

fn bad(path: &Path, message: String) -> BaselineError {
    BaselineError::Key {
        path: path.to_path_buf(),
        message,
    }
}

/// The record for a key, or None when no keyed baseline was written with
/// this fim since replay protection came in.
pub fn read(key: &Path) -> Result<Option<Generation>, BaselineError> {
    let path = record_path(key);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(&path, format!("reading its generation record: {e}"))),
    };
    let malformed = || {
        bad(
            &path,
            "malformed generation record: expected 'generation N' and 'mac HEX' lines".into(),
        )
    };
    let mut number = None;
    let mut digest = None;
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("generation", n)) => number = Some(n.parse().map_err(|_| malformed())?),
            Some(("mac", hex)) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                digest = Some(hex.to_ascii_lowercase())
            }
            _ if line.is_empty() || line.starts_with('#') => {}
            _ => return Err(malformed()),
        }
    }
    match (number, digest) {
        (Some(number), Some(digest)) => Ok(Some(Generation { number, digest })),
        _ => Err(malformed()),
    }
}

/// Record the baseline just written with `key`: a temporary file beside
/// it, synced and renamed over the old record.
pub fn write(key: &Path, generation: &Generation) -> Result<(), BaselineError> {
    let path = record_path(key);
    let fail = |e: io::Error| {
        bad(
            &path,
            format!(
                "writing its generation record: {e} (the new baseline is written, but checks with this key will refuse it until {} says generation {} mac {})",
                display_path(&path),
                generation.number,
                generation.digest
            ),
        )
    };
    let text = format!(
        "# fim: the latest baseline made with this key; older ones are refused\ngeneration {}\nmac {}\n",
        generation.number, generation.digest
    );
    // Through core's writer: the key's directory opened without following
    // a link another user controls, a new file made O_EXCL beside the
    // record, synced and renamed.
    let opts = hardkit_core::atomic::WriteOptions {
        mode: 0o600,
        owner: None,
        backup: false,
    };
    hardkit_core::atomic::replace_file(&path, text.as_bytes(), &opts)
        .map_err(|e| fail(io::Error::other(e.to_string())))?;
    Ok(())
}

/// Whether the baseline with this generation and MAC is the one the
/// record names; the refusal says which one it is.
pub fn verify(
    record: Option<&Generation>,
    number: u64,
    digest: &str,
    db: &Path,
) -> Result<(), BaselineError> {
    let Some(record) = record else {
        return Ok(());
    };
    let refused = |message: String| BaselineError::Refused {
        path: db.to_path_buf(),
        message,
    };
    if number < record.number {
        return Err(refused(format!(
            "it is generation {number}, but generation {} was made with this key since: an older baseline was put back",
            record.number
        )));
    }
    if number != record.number || !digest.eq_ignore_ascii_case(&record.digest) {
        return Err(refused(format!(
            "it is not the latest baseline made with this key (the key's record names generation {}, mac {}; this is generation {number}, mac {digest})",
            record.number, record.digest
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn record_round_trips_and_older_generations_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("fim.key");
        assert_eq!(read(&key).unwrap(), None);
        let g = Generation {
            number: 7,
            digest: "ab".repeat(32),
        };
        write(&key, &g).unwrap();
        let mode = std::fs::metadata(record_path(&key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = read(&key).unwrap().unwrap();
        assert_eq!(back, g);
        let db = Path::new("/db");
        verify(Some(&back), 7, &"AB".repeat(32), db).unwrap();
        let old = verify(Some(&back), 6, &"cd".repeat(32), db).unwrap_err();
        assert!(
            old.to_string().contains("older baseline was put back"),
            "{old}"
        );
        let other = verify(Some(&back), 7, &"cd".repeat(32), db).unwrap_err();
        assert!(other.to_string().contains("not the latest"), "{other}");
        verify(None, 0, "", db).unwrap();
        std::fs::write(record_path(&key), "generation x\n").unwrap();
        assert!(read(&key).unwrap_err().to_string().contains("malformed"));
    }
}
