//! The example lines in docs/protocol.md's svcacct sections are real records:
//! they must parse back with unknown fields denied.

use hardkit_core::record::{decode_strict, Action};
use svcacct::exposure::Exposure;

#[test]
fn documented_svcacct_examples_parse() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/protocol.md"))
        .unwrap();
    let section = doc
        .split("### exposure (svcacct)")
        .nth(1)
        .expect("svcacct section");
    let lines: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("{\"type\":") && l.contains("\"tool\":\"svcacct\""))
        .collect();
    let exposures = lines
        .iter()
        .filter(|l| l.contains("\"type\":\"exposure\""))
        .count();
    assert_eq!(exposures, 1);
    for line in lines {
        if line.contains("\"type\":\"exposure\"") {
            let e = decode_strict::<Exposure>(line).unwrap().body;
            assert_eq!(
                e.level,
                svcacct::exposure::level_of({
                    let (a, b) = e.score.split_once('.').unwrap();
                    a.parse::<u64>().unwrap() * 10 + b.parse::<u64>().unwrap()
                })
            );
        } else if line.contains("\"type\":\"profile\"") {
            decode_strict::<svcacct::profile::ProfileRecord>(line).unwrap();
        } else {
            decode_strict::<Action>(line).unwrap();
        }
    }
}
