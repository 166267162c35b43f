//! Helpers shared by fim's integration tests: running the binary and
//! reading its JSON Lines back with unknown fields denied.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fim::entry::{Change, Entry};
use hardkit_core::record::{decode_strict, envelope};
use hardkit_core::{ErrorRecord, Summary};

pub fn fim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fim"))
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out: Output = fim().args(args).output().expect("running fim");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("fim writes UTF-8"),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every record of a JSON run, parsed with unknown fields denied.
#[derive(Default, Debug)]
pub struct Records {
    pub entries: Vec<Entry>,
    pub changes: Vec<Change>,
    pub errors: Vec<ErrorRecord>,
    pub summary: Option<Summary>,
}

pub fn records(stdout: &str) -> Records {
    let mut r = Records::default();
    for line in stdout.lines() {
        let (kind, tool) = envelope(line).expect("envelope");
        assert_eq!(tool, "fim");
        match kind.as_str() {
            "entry" => r
                .entries
                .push(decode_strict::<Entry>(line).expect(line).body),
            "change" => r
                .changes
                .push(decode_strict::<Change>(line).expect(line).body),
            "error" => r
                .errors
                .push(decode_strict::<ErrorRecord>(line).expect(line).body),
            "summary" => r.summary = Some(decode_strict::<Summary>(line).expect(line).body),
            other => panic!("unexpected record type {other}: {line}"),
        }
    }
    assert!(r.summary.is_some(), "no summary in {stdout}");
    r
}

pub fn bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

pub fn path_of(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

/// Set a path's mtime (and atime) without following a symlink.
pub fn set_mtime(path: &Path, secs: i64) {
    let status = Command::new("touch")
        .arg("-h")
        .arg("-d")
        .arg(format!("@{secs}"))
        .arg(path)
        .status()
        .expect("touch");
    assert!(status.success());
}

/// A fresh 32-byte key file with mode 0600.
pub fn key_file(dir: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    let mut key = [0u8; 32];
    let mut f = std::fs::File::open("/dev/urandom").unwrap();
    std::io::Read::read_exact(&mut f, &mut key).unwrap();
    std::fs::write(&path, key).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}
