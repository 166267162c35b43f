//! Garbage in, no panic out: random bytes, and every real corpus line cut at
//! every position and with bytes flipped, through the scanner in every mode;
//! every event it makes must render as valid JSON. (The same path is fuzzed
//! without bounds by fuzz/fuzz_targets/scan_line.rs.)

use hardkit_core::rng::Rng;
use logscan::classify::Mode;
use logscan::event::TimeCache;
use logscan::scan::{ScanOptions, Scanner};

fn check(s: &mut Scanner, line: &[u8]) {
    if let Some(ev) = s.scan_line(line) {
        let mut out = Vec::new();
        ev.write_json(&mut out, b"\"f\"", 1, &mut TimeCache::default());
        let text = String::from_utf8(out).expect("event JSON is UTF-8");
        let v: serde_json::Value = serde_json::from_str(&text).expect("event JSON parses");
        assert_eq!(v["type"], "event");
    }
}

fn scanners() -> Vec<Scanner> {
    [Mode::Normal, Mode::Ddos, Mode::Extra, Mode::Aggressive]
        .into_iter()
        .map(|mode| {
            Scanner::new(ScanOptions {
                mode,
                now: 1_700_000_000,
                since: None,
                until: None,
            })
        })
        .collect()
}

#[test]
fn random_bytes_and_mutated_real_lines_never_panic() {
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/corpus");
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for f in [
        "fail2ban-logs/sshd",
        "fail2ban-logs/nginx-http-auth",
        "fail2ban-logs/pam-generic",
        "fail2ban-logs/recidive",
        "fail2ban-logs/testcase01.log",
        "sshguard/parser-tests.txt",
    ] {
        let data = std::fs::read(format!("{corpus}/{f}")).unwrap();
        lines.extend(
            data.split(|&b| b == b'\n')
                .filter(|l| !l.starts_with(b"#"))
                .map(<[u8]>::to_vec),
        );
    }
    let mut scanners = scanners();
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut count = 0u64;
    for line in &lines {
        for s in scanners.iter_mut() {
            for cut in 0..line.len() {
                check(s, &line[..cut]);
                check(s, &line[cut..]);
            }
            let mut m = line.clone();
            for _ in 0..8 {
                if m.is_empty() {
                    break;
                }
                let i = (rng.next_u64() as usize) % m.len();
                m[i] = rng.next_u64() as u8;
                check(s, &m);
            }
            count += 1;
        }
    }
    for _ in 0..20_000 {
        let len = (rng.next_u64() % 300) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        for s in scanners.iter_mut() {
            check(s, &bytes);
        }
        let _ = logscan::journal::to_syslog_line(&bytes);
    }
    assert!(count > 1000);
}
