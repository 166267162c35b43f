//! Fuzz the baseline reader: it must refuse, never panic, on any bytes.
//! A random file almost never gets past the checksum, so when the first
//! byte is even the rest is used as the entry lines of a baseline with a
//! valid header and a correct end marker (digest and count): that reaches
//! the entry parser, the order check and the second pass.
#![no_main]

use std::sync::OnceLock;

use fim::baseline::{BaselineReader, FORMAT, UNKEYED, VERSION};
use fim::rules::AttrSet;
use libfuzzer_sys::fuzz_target;

fn path() -> &'static std::path::Path {
    static PATH: OnceLock<std::path::PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::path::Path::new("/dev/shm");
        let dir = if dir.is_dir() {
            dir.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("hardkit-fuzz-fim-{}.db", std::process::id()))
    })
}

fn with_checksum(body: &[u8]) -> Vec<u8> {
    let header = serde_json::json!({
        "format": FORMAT, "version": VERSION, "created": "2026-11-22T00:00:00Z",
        "protection": UNKEYED, "paths": ["/etc"], "rules": "/etc\n", "one_filesystem": false,
    });
    let mut out = serde_json::to_vec(&header).expect("header");
    out.push(b'\n');
    let mut entries = 0u64;
    for line in body.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        out.extend_from_slice(line);
        out.push(b'\n');
        entries += 1;
    }
    let digest = blake3::hash(&out).to_hex().to_string();
    let end = serde_json::json!({"end": true, "entries": entries, "digest": digest});
    out.extend_from_slice(&serde_json::to_vec(&end).expect("end"));
    out.push(b'\n');
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode % 2 == 0 {
        with_checksum(rest)
    } else {
        rest.to_vec()
    };
    std::fs::write(path(), bytes).expect("write");
    let Ok(mut reader) = BaselineReader::open(path(), None) else {
        return;
    };
    let _ = reader.header().is_keyed();
    let mut previous = None;
    while let Ok(Some(entry)) = reader.next_entry() {
        let _ = serde_json::to_string(&entry);
        if let Some(old) = &previous {
            let _ = fim::compare::differing_attrs(old, &entry, AttrSet::all(), false);
        }
        previous = Some(entry);
    }
});
