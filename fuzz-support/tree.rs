//! Shared by the fuzz targets of jailgen, svcacct and fwplan (each a
//! workspace of its own, so they include this file by path).
//! A scratch root tree for one fuzz process: the input is cut at NUL bytes
//! into the files of a small configuration, written fresh each run.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The process's own root under /dev/shm (memory, so runs stay fast).
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("hardkit-fuzz-{}", std::process::id()));
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.join(dir.file_name().expect("name"))
        } else {
            dir
        };
        fs::create_dir_all(&dir).expect("fuzz root");
        dir
    })
}

/// Write `chunks[i]` to `paths[i]` (system paths under the scratch root);
/// paths without a chunk are removed, so each run sees only its own files.
pub fn write(paths: &[&str], data: &[u8]) {
    let root = scratch();
    let mut chunks = data.split(|&b| b == 0);
    for path in paths {
        let host = root.join(path.trim_start_matches('/'));
        match chunks.next() {
            Some(chunk) => {
                fs::create_dir_all(host.parent().expect("parent")).expect("mkdir");
                fs::write(&host, chunk).expect("write");
            }
            None => {
                let _ = fs::remove_file(&host);
            }
        }
    }
}
