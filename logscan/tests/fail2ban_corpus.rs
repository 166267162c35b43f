//! Fidelity with fail2ban on its own annotated test logs
//! (tests/corpus/fail2ban-logs, see tests/corpus/README.md): in every mode a
//! section applies to, each line annotated `match: true` must give a failure
//! event blaming the annotated host, and every other line must give none.
//! The per-filter agreement is printed; the test demands 100%.

use std::collections::HashMap;
use std::path::PathBuf;

use logscan::classify::Mode;
use logscan::scan::{ScanOptions, Scanner};
use serde_json::Value;

fn corpus() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/corpus/fail2ban-logs"
    ))
}

/// fail2ban's filter options to logscan's mode (`auth` is nginx-http-auth's
/// normal mode; its `fallback`, TLS garbage, is part of aggressive).
fn mode_of(opts: &Value) -> Mode {
    match opts.get("mode").and_then(Value::as_str) {
        None | Some("normal") | Some("auth") => Mode::Normal,
        Some("ddos") => Mode::Ddos,
        Some("extra") => Mode::Extra,
        Some("aggressive") | Some("fallback") => Mode::Aggressive,
        Some(other) => panic!("unknown mode {other}"),
    }
}

/// The only constraints the corpus uses.
fn constraint_holds(expr: &str, opts: &Value) -> bool {
    let mode = opts.get("mode").and_then(Value::as_str);
    match expr.trim() {
        "name == 'sshd'" | "name=='sshd'" => true,
        "opts.get('mode') == 'aggressive'" => mode == Some("aggressive"),
        "opts.get('mode') != 'aggressive'" => mode != Some("aggressive"),
        other => panic!("unknown constraint {other}"),
    }
}

#[derive(Default, Debug)]
struct Tally {
    checked: u64,
    time_checked: u64,
    agreed: u64,
    mismatches: Vec<String>,
}

fn run_filter(name: &str) -> Tally {
    let mut files = vec![name.to_string()];
    let mut scanners: HashMap<String, Scanner> = HashMap::new();
    let mut tally = Tally::default();
    let mut i = 0;
    while i < files.len() {
        let file = files[i].clone();
        i += 1;
        let raw = std::fs::read(corpus().join(&file)).unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let mut common = Value::Object(Default::default());
        let mut configs: Vec<Value> = vec![Value::Object(Default::default())];
        let mut ignore_block = false;
        let mut faildata: Option<Value> = None;
        for (n, line) in text.lines().enumerate() {
            let lineno = n + 1;
            if let Some(rest) = line.strip_prefix("# ") {
                if let Some(j) = rest.strip_prefix("fileOptions:") {
                    common = serde_json::from_str(j).unwrap();
                    continue;
                }
                if let Some(j) = rest.strip_prefix("filterOptions:") {
                    let v: Value = serde_json::from_str(j).unwrap();
                    let list = match v {
                        Value::Array(a) => a,
                        o => vec![o],
                    };
                    configs.clear();
                    ignore_block = false;
                    for mut o in list {
                        if let (Value::Object(c), Value::Object(m)) = (&common, &mut o) {
                            for (k, v) in c {
                                m.entry(k.clone()).or_insert(v.clone());
                            }
                        }
                        if let Some(cond) = o.get("test.condition").and_then(Value::as_str) {
                            ignore_block = !constraint_holds(cond, &o);
                        }
                        if !ignore_block {
                            configs.push(o);
                        }
                    }
                    continue;
                }
                if let Some(j) = rest.strip_prefix("addFILE:") {
                    files.push(serde_json::from_str::<String>(j).unwrap());
                    continue;
                }
                if let Some(j) = rest.strip_prefix("failJSON:") {
                    faildata = Some(serde_json::from_str(j).unwrap());
                    continue;
                }
            }
            if line.starts_with('#') || line.trim().is_empty() || ignore_block {
                continue;
            }
            let data = faildata.take().unwrap_or(Value::Object(Default::default()));
            let expect = data.get("match").and_then(Value::as_bool).unwrap_or(false);
            let host = ["host", "ip4", "ip6"]
                .iter()
                .find_map(|k| data.get(*k).and_then(Value::as_str))
                .map(str::to_string);
            for opts in &configs {
                if let Some(c) = data.get("constraint").and_then(Value::as_str) {
                    if !constraint_holds(c, opts) {
                        continue;
                    }
                }
                let key = format!("{opts}");
                let mode = mode_of(opts);
                let scanner = scanners.entry(key.clone()).or_insert_with(|| {
                    Scanner::new(ScanOptions {
                        mode,
                        now: 1_124_013_600,
                        since: None,
                        until: None,
                    })
                });
                let ev = scanner.scan_line(line.as_bytes());
                let got = ev.as_ref().filter(|e| e.failure);
                let got_ip = got
                    .and_then(|e| e.ip.as_deref())
                    .map(|b| String::from_utf8_lossy(b).into_owned());
                let mut ok = match (expect, &got) {
                    (true, Some(_)) => host.is_none() || got_ip == host,
                    (false, None) => true,
                    _ => false,
                };
                // Classic syslog lines carry no year: fail2ban's harness runs
                // at 2005-08-14, and its expected times show the year it
                // infers (2004 for a November line). The wall-clock part of
                // logscan's time must be the same.
                if let (Some(want), Some(e), true) = (
                    data.get("time").and_then(Value::as_str),
                    got,
                    line.starts_with(|c: char| c.is_ascii_uppercase()),
                ) {
                    let have = e
                        .time
                        .map(|t| logscan::time::rfc3339(&t))
                        .unwrap_or_default();
                    tally.time_checked += 1;
                    if !have.starts_with(want) {
                        ok = false;
                        eprintln!("  TIME {file}:{lineno}: fail2ban {want}, logscan {have}");
                    }
                }
                tally.checked += 1;
                if ok {
                    tally.agreed += 1;
                } else {
                    tally.mismatches.push(format!(
                        "{file}:{lineno} [{key}] expected match={expect} host={host:?}, logscan: {:?}\n    {line}",
                        ev.as_ref().map(|e| (e.kind.as_str(), e.failure, got_ip.clone()))
                    ));
                }
            }
        }
    }
    tally
}

#[test]
fn agrees_with_fail2ban_on_its_own_test_logs() {
    let mut all_ok = true;
    let mut total = (0, 0);
    for name in [
        "sshd",
        "pam-generic",
        "nginx-limit-req",
        "nginx-http-auth",
        "nginx-botsearch",
        "nginx-forbidden",
        "recidive",
    ] {
        let t = run_filter(name);
        let pct = 100.0 * t.agreed as f64 / t.checked.max(1) as f64;
        eprintln!(
            "fail2ban corpus {name:<16} {}/{} line-mode checks agree ({pct:.1}%), {} syslog times checked",
            t.agreed, t.checked, t.time_checked
        );
        for m in &t.mismatches {
            eprintln!("  MISMATCH {m}");
        }
        total.0 += t.agreed;
        total.1 += t.checked;
        all_ok &= t.mismatches.is_empty() && t.checked > 0;
    }
    eprintln!("fail2ban corpus total: {}/{} agree", total.0, total.1);
    assert!(
        all_ok,
        "logscan disagrees with fail2ban's annotations (see above)"
    );
}
