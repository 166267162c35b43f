//! Any bytes, as one line or many, through the whole per-line path in every
//! mode, and through the journald decoder. Run: `cargo fuzz run scan_line`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use logscan::classify::Mode;
use logscan::scan::{ScanOptions, Scanner};

fuzz_target!(|data: &[u8]| {
    for mode in [Mode::Normal, Mode::Ddos, Mode::Extra, Mode::Aggressive] {
        let mut s = Scanner::new(ScanOptions {
            mode,
            now: 1_700_000_000,
            since: None,
            until: None,
        });
        for line in data.split(|&b| b == b'\n') {
            if let Some(ev) = s.scan_line(line) {
                let mut out = Vec::new();
                ev.write_json(&mut out, b"\"f\"", 1, &mut Default::default());
                assert!(serde_json_valid(&out));
            }
            let _ = logscan::journal::to_syslog_line(line);
        }
    }
});

fn serde_json_valid(line: &[u8]) -> bool {
    // The event writer must always produce one valid JSON object per line.
    line.ends_with(b"\n") && line.iter().filter(|&&b| b == b'\n').count() == 1
}
