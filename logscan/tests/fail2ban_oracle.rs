//! `logscan offenders` against fail2ban's own FailManager and BanManager
//! (the installed fail2ban's Python classes), fed the same failures with
//! the same times: the banned addresses, their first ban time and their
//! number of bans must match exactly.

use hardkit_core::rng::Rng;
use std::io::Write;
use std::process::Command;

use hardkit_core::record::decode_strict;
use logscan::offenders::Offender;

/// Replays (ip, unix time) failures through fail2ban 1.0's classes the way
/// its filter and actions threads do when lines arrive in real time:
/// cleanup and unban run before each line, a ban at maxretry.
const REPLAY: &str = r#"
import sys, json
from fail2ban.server.mytime import MyTime
from fail2ban.server.failmanager import FailManager, FailManagerEmpty
from fail2ban.server.banmanager import BanManager
from fail2ban.server.ticket import FailTicket, BanTicket
maxretry, findtime, bantime = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
fm = FailManager(); fm.setMaxRetry(maxretry); fm.setMaxTime(findtime)
bm = BanManager(); bm.setBanTime(bantime)
bans = {}
for line in sys.stdin:
    ip, t = line.split()
    t = int(t)
    MyTime.setTime(t)
    bm.unBanList(t)
    fm.cleanup(t)
    attempts = fm.addFailure(FailTicket(ip, t))
    if attempts >= maxretry:
        try:
            ticket = fm.toBan(ip)
        except FailManagerEmpty:
            continue
        if bm.addBanTicket(BanTicket.wrap(ticket)):
            first, n = bans.get(ip, (t, 0))
            bans[ip] = (first, n + 1)
print(json.dumps({ip: [first, n] for ip, (first, n) in bans.items()}))
"#;

#[test]
fn offenders_match_fail2ban_ban_manager() {
    let Some(server) =
        hardkit_core::oracle::oracle("offenders_match_fail2ban_ban_manager", "fail2ban-server")
    else {
        return;
    };
    // fail2ban's modules live with the interpreter its server runs on
    // (`#!/usr/bin/python3`), which may not be the python3 first in PATH.
    let shebang = std::fs::read_to_string(&server).unwrap_or_default();
    let python = shebang
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("#!"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .unwrap_or_default();
    let (python, python_args) = match python.as_slice() {
        [env, prog, ..] if env.ends_with("/env") => (prog.to_string(), vec![]),
        [prog, rest @ ..] => (
            prog.to_string(),
            rest.iter().map(|s| s.to_string()).collect(),
        ),
        [] => ("python3".to_string(), vec![]),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
    // 2024-03-01T00:00:00Z; RFC 3339 lines so no zone or year is guessed.
    let start = 1_709_251_200i64;
    let mut t = start;
    let mut failures = Vec::new();
    for _ in 0..3000 {
        t += (rng.next_u64() % 90) as i64;
        let ip = format!("192.0.2.{}", rng.next_u64() % 12);
        failures.push((ip, t));
    }
    let log = dir.path().join("auth.log");
    let mut f = std::fs::File::create(&log).unwrap();
    for (i, (ip, t)) in failures.iter().enumerate() {
        let ts = logscan::time::rfc3339_utc(*t);
        writeln!(f, "{ts} h sshd[{i}]: Invalid user u{i} from {ip} port 22").unwrap();
    }
    drop(f);
    let input: String = failures
        .iter()
        .map(|(ip, t)| format!("{ip} {t}\n"))
        .collect();
    for (maxretry, findtime, bantime) in [
        (5, 600, 600),
        (3, 300, 3600),
        (10, 3600, 600),
        (4, 900, -1),
        (2, 60, 120),
    ] {
        let mut py = Command::new(&python)
            .args(&python_args)
            .args([
                "-c",
                REPLAY,
                &maxretry.to_string(),
                &findtime.to_string(),
                &bantime.to_string(),
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        py.stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = py.wait_with_output().unwrap();
        assert!(out.status.success(), "fail2ban replay failed");
        let want: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&out.stdout).unwrap();

        let out = Command::new(env!("CARGO_BIN_EXE_logscan"))
            .args(["offenders", "--json", "--maxretry", &maxretry.to_string()])
            .args([
                "--findtime",
                &findtime.to_string(),
                "--bantime",
                &bantime.to_string(),
            ])
            .arg(&log)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let got: Vec<Offender> = text
            .lines()
            .filter(|l| l.starts_with("{\"type\":\"offender\""))
            .map(|l| decode_strict::<Offender>(l).unwrap().body)
            .collect();
        let settings = format!("maxretry={maxretry} findtime={findtime} bantime={bantime}");
        assert_eq!(
            got.len(),
            want.len(),
            "{settings}: logscan {got:#?} fail2ban {want:?}"
        );
        assert!(!got.is_empty(), "{settings}: the sample should ban someone");
        for o in &got {
            let w = want
                .get(&o.ip)
                .unwrap_or_else(|| panic!("{settings}: fail2ban does not ban {}", o.ip));
            let first = w[0].as_i64().unwrap();
            let n = w[1].as_u64().unwrap();
            assert_eq!(
                o.banned_at,
                logscan::time::rfc3339_utc(first),
                "{settings}: {}",
                o.ip
            );
            assert_eq!(o.bans, n, "{settings}: {}", o.ip);
        }
        eprintln!(
            "fail2ban ban replay {settings}: {} offenders, same bans",
            got.len()
        );
    }
}
