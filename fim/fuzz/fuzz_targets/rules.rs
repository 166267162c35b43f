//! Fuzz the rules language: the input is a rules file (selectors, regexes,
//! groups, attribute specs), then each NUL-separated part after the first
//! is a path decided by it (and a `--attrs` spec). Any panic is a bug.
#![no_main]

use fim::rules::Rules;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let text = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let Ok(mut rules) = Rules::parse(&text, "fim.rules") else {
        return;
    };
    let _ = rules.walk_roots();
    for path in parts {
        let _ = rules.decide(path);
        let _ = rules.selects_below(path);
        if let Ok(spec) = std::str::from_utf8(path) {
            let _ = rules.parse_spec(spec).map(|s| s.describe());
        }
        rules.select_path(path);
    }
    let _ = rules.decide(b"/etc/passwd");
    let _ = rules.set_all_attrs("all-mtime");
});
