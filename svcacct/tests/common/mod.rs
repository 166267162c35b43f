//! Shared by svcacct's integration tests: temp trees built from copies of
//! the host's account files (copies only: the host's are never written), the
//! binary, and snapshots that prove "nothing was written".

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hardkit_core::record::{decode_strict, envelope, Action, ErrorRecord, Summary};
use hardkit_core::release::ReleaseRecord;
use hardkit_core::Finding;
use svcacct::exposure::Exposure;

pub const BIN: &str = env!("CARGO_BIN_EXE_svcacct");

/// A temp root with copies of /etc/passwd, group, shadow, gshadow.
pub fn tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let etc = tmp.path().join("etc");
    fs::create_dir_all(&etc).unwrap();
    for f in ["passwd", "group", "shadow", "gshadow"] {
        let src = Path::new("/etc").join(f);
        if src.exists() {
            fs::copy(&src, etc.join(f)).unwrap();
        }
    }
    tmp
}

pub fn svcacct(root: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--root")
        .arg(root)
        .output()
        .expect("run svcacct")
}

/// Every file under `dir` with its bytes, mode, owner (for "nothing changed").
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32, u32, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let m = fs::symlink_metadata(&p).unwrap();
            let bytes = if m.is_file() {
                fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            out.insert(p.clone(), (bytes, m.mode(), m.uid(), m.gid()));
            if m.is_dir() {
                stack.push(p);
            }
        }
    }
    out
}

/// Decoded JSON output: actions, the release record, exposures, findings, and the summary.
#[derive(Default)]
pub struct Stream {
    pub actions: Vec<Action>,
    pub releases: Vec<ReleaseRecord>,
    pub exposures: Vec<Exposure>,
    pub findings: Vec<Finding>,
    pub errors: Vec<ErrorRecord>,
    pub profiles: Vec<svcacct::profile::ProfileRecord>,
    pub summary: Option<Summary>,
}

/// Parse every line back with unknown fields denied.
pub fn parse(stdout: &[u8]) -> Stream {
    let mut s = Stream::default();
    for line in String::from_utf8_lossy(stdout).lines() {
        let (kind, tool) = envelope(line).unwrap();
        assert_eq!(tool, "svcacct");
        match kind.as_str() {
            "action" => s.actions.push(decode_strict::<Action>(line).unwrap().body),
            "release" => s
                .releases
                .push(decode_strict::<ReleaseRecord>(line).unwrap().body),
            "exposure" => s
                .exposures
                .push(decode_strict::<Exposure>(line).unwrap().body),
            "finding" => s
                .findings
                .push(decode_strict::<Finding>(line).unwrap().body),
            "error" => s
                .errors
                .push(decode_strict::<ErrorRecord>(line).unwrap().body),
            "profile" => s.profiles.push(
                decode_strict::<svcacct::profile::ProfileRecord>(line)
                    .unwrap()
                    .body,
            ),
            "summary" => s.summary = Some(decode_strict::<Summary>(line).unwrap().body),
            other => panic!("undocumented record type {other}: {line}"),
        }
    }
    s
}

/// Score of `unit` under `root` in the real systemd-analyze, in tenths.
pub fn systemd_score(program: &Path, root: &Path, unit: &str) -> u64 {
    let out = Command::new(program)
        .args(["security", "--offline=true", "--no-pager"])
        .arg(format!("--root={}", root.display()))
        .arg(unit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let score = text
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for "))
        .and_then(|(_, r)| r.split_once(": "))
        .and_then(|(_, r)| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no score: {text}{}", String::from_utf8_lossy(&out.stderr)))
        .to_string();
    let (whole, tenth) = score.split_once('.').unwrap();
    whole.parse::<u64>().unwrap() * 10 + tenth.parse::<u64>().unwrap()
}
