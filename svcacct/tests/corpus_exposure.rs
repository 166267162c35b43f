//! The corpus agreement test: svcacct's own exposure score against the
//! scores each release's `systemd-analyze security --offline=true` printed
//! for 160 real Debian 12 units (tests/corpus/systemd-units): 252.38 in
//! expected-exposure.tsv, 257.13 and 262 in expected-exposure-RELEASE.tsv.

use std::path::{Path, PathBuf};

use hardkit_core::Root;
use svcacct::exposure::release::{template_instance, Systemd};

fn corpus() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/corpus/systemd-units"
    ))
    .to_path_buf()
}

fn scores_as(release: Systemd, tsv: &str) {
    let dir = corpus();
    let tsv = std::fs::read_to_string(dir.join(tsv)).expect("corpus tsv");
    // Drop-ins are looked up in an empty root, as for a bare unit file.
    let empty = tempfile::tempdir().unwrap();
    let root = Root::new(empty.path()).unwrap();
    let mut total = 0;
    let mut mismatches = Vec::new();
    for line in tsv.lines().filter(|l| !l.trim().is_empty()) {
        let (name, expected) = line.split_once('\t').expect("name<TAB>score");
        let unit =
            svcacct::unit_file::load_file(&root, &dir.join(name), template_instance(release))
                .expect(name);
        // systemd-analyze scored it, so systemd loads it.
        assert!(
            svcacct::unit_file::refusal(&unit).is_none(),
            "{name}: systemd loads it, svcacct says {:?}",
            svcacct::unit_file::refusal(&unit).map(|r| r.0)
        );
        let got = svcacct::exposure::exposure_of(&unit, release);
        total += 1;
        if got.score != expected.trim() {
            mismatches.push(format!("{name}: expected {expected}, got {}", got.score));
        }
    }
    let agree = total - mismatches.len();
    eprintln!(
        "exposure agreement with systemd {release}: {agree}/{total} units ({:.1}%)",
        agree as f64 * 100.0 / total as f64
    );
    assert_eq!(total, 160, "corpus size");
    assert!(
        mismatches.is_empty(),
        "systemd {release}: {} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn every_corpus_unit_scores_as_systemd_252() {
    scores_as(Systemd(252), "expected-exposure.tsv");
}

#[test]
fn every_corpus_unit_scores_as_systemd_257() {
    scores_as(Systemd(257), "expected-exposure-257.tsv");
}

#[test]
fn every_corpus_unit_scores_as_systemd_262() {
    scores_as(Systemd(262), "expected-exposure-262.tsv");
}

/// No input makes the parsers panic: unit files and sudoers made of random
/// pieces of syntax, multibyte characters and stray bytes.
#[test]
fn random_input_never_panics() {
    let pieces = [
        "[Service]",
        "[Unit]",
        "\n",
        "=",
        "~",
        "\\",
        "\\\n",
        "#",
        ";",
        "%",
        "%i",
        "%I",
        "\\x",
        "\\xé",
        "\\x€",
        "é",
        "€",
        "\"",
        "'",
        " ",
        "User=",
        "SystemCallFilter=",
        "@system-service",
        ":EPERM",
        "RestrictAddressFamilies=",
        "AF_INET",
        "IPAddressAllow=",
        "/",
        "::1/200",
        "DeviceAllow=",
        "char-",
        "CapabilityBoundingSet=",
        "CAP_",
        "UMask=",
        "9",
        "ALL",
        "(",
        ")",
        ",",
        ":",
        "NOPASSWD:",
        "@includedir",
        "Cmnd_Alias",
        "User_Alias",
        "%sudo",
        "#1",
        "!",
    ];
    let mut state: u64 = 0x0123_4567_89ab_cdef;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let tmp = tempfile::tempdir().unwrap();
    let root = Root::new(tmp.path()).unwrap();
    std::fs::create_dir_all(tmp.path().join("etc/sudoers.d")).unwrap();
    for i in 0..400 {
        let mut text = String::new();
        for _ in 0..(next() % 60) {
            text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
        }
        let unit = svcacct::unit_file::Unit {
            name: format!(
                "x{i}@a{}b.service",
                pieces[(next() % pieces.len() as u64) as usize]
            ),
            fragment: "/x".into(),
            dropins: vec![],
            files_read: vec![],
            assignments: svcacct::unit_file::parse(&text, Path::new("/x")),
            user: false,
        };
        for r in svcacct::exposure::release::MODELLED {
            let _ = svcacct::exposure::exposure_of(&unit, *r);
        }
        std::fs::write(tmp.path().join("etc/sudoers"), &text).unwrap();
        let s = svcacct::sudoers::Sudoers::load(&root);
        for rule in &s.rules {
            for (cmd, _) in &rule.commands {
                let _ = svcacct::sudoers::judge(cmd);
            }
        }
    }
}
