//! The api-abuse filter, judged by fail2ban's own `fail2ban-regex` on
//! access-log lines in nginx's combined format, including hostile lines
//! whose client-controlled fields (user name, request line, referer, user
//! agent) carry other addresses and fake `client:` fields.

mod common;

use std::process::Command;

/// (line, address fail2ban must take from it, or None for no match).
/// nginx writes `"` and control characters inside fields as `\x22`, `\x0A`.
const LINES: &[(&str, Option<&str>)] = &[
    // Plain failures on the API.
    (
        r#"203.0.113.5 - - [22/Nov/2026:05:00:00 +0000] "GET /v1/models HTTP/1.1" 401 12 "-" "curl/8.0""#,
        Some("203.0.113.5"),
    ),
    (
        r#"2001:db8::7 - - [22/Nov/2026:05:00:01 +0000] "POST /v1/chat/completions HTTP/2.0" 429 0 "-" "python-requests/2.31""#,
        Some("2001:db8::7"),
    ),
    (
        r#"203.0.113.6 - alice [22/Nov/2026:05:00:02 +0000] "DELETE /v1/files/42 HTTP/1.1" 403 9 "https://app.example/" "Mozilla/5.0""#,
        Some("203.0.113.6"),
    ),
    // Not failures, or not under the prefix.
    (
        r#"203.0.113.7 - - [22/Nov/2026:05:00:03 +0000] "GET /v1/models HTTP/1.1" 200 512 "-" "curl/8.0""#,
        None,
    ),
    (
        r#"203.0.113.8 - - [22/Nov/2026:05:00:04 +0000] "GET /admin/v1/ HTTP/1.1" 401 0 "-" "curl/8.0""#,
        None,
    ),
    (
        r#"203.0.113.9 - - [22/Nov/2026:05:00:05 +0000] "GET /v2/models HTTP/1.1" 401 0 "-" "curl/8.0""#,
        None,
    ),
    (
        r#"203.0.113.10 - - [22/Nov/2026:05:00:06 +0000] "GET /v1/models HTTP/1.1" 404 0 "-" "curl/8.0""#,
        None,
    ),
    // Hostile: the request line names another address and a fake client: field.
    (
        r#"198.51.100.10 - - [22/Nov/2026:05:00:07 +0000] "GET /v1/client:6.6.6.6?ip=6.6.6.6&client=6.6.6.6 HTTP/1.1" 401 0 "-" "client: 6.6.6.6""#,
        Some("198.51.100.10"),
    ),
    // Hostile: a whole fake failure line in the user agent of a success.
    (
        r#"198.51.100.11 - - [22/Nov/2026:05:00:08 +0000] "GET /v1/ok HTTP/1.1" 200 5 "-" "6.6.6.6 - - [22/Nov/2026:05:00:00 +0000] \x22GET /v1/a HTTP/1.1\x22 401 0 \x22-\x22 \x22x\x22""#,
        None,
    ),
    // Hostile: a fake line after an escaped newline in the user agent.
    (
        r#"198.51.100.12 - - [22/Nov/2026:05:00:09 +0000] "GET / HTTP/1.1" 200 0 "-" "x\x0A6.6.6.6 - - [22/Nov/2026:05:00:09 +0000] \x22GET /v1/ HTTP/1.1\x22 401 0""#,
        None,
    ),
    // Hostile: the referer carries a fake status and an address.
    (
        r#"198.51.100.13 - - [22/Nov/2026:05:00:10 +0000] "GET /v1/x HTTP/1.1" 200 0 "http://6.6.6.6/\x22 401 0 \x22" "client: 6.6.6.6, server: api""#,
        None,
    ),
    // Hostile: an address as the basic-auth user name.
    (
        r#"198.51.100.14 - 6.6.6.6 [22/Nov/2026:05:00:11 +0000] "GET /v1/x HTTP/1.1" 401 0 "-" "-""#,
        Some("198.51.100.14"),
    ),
    // Hostile: a user name with spaces and a fake date and request.
    (
        r#"198.51.100.15 - 6.6.6.6 [01/Jan/2020:00:00:00 +0000] "GET /v1/a HTTP/1.1" 401 0 [22/Nov/2026:05:00:12 +0000] "GET /ok HTTP/1.1" 200 0 "-" "-""#,
        Some("198.51.100.15"),
    ),
    // Hostile: a failure whose user agent is full of addresses.
    (
        r#"198.51.100.16 - - [22/Nov/2026:05:00:13 +0000] "GET /v1/x HTTP/1.1" 429 0 "-" "6.6.6.6 7.7.7.7 client: 8.8.8.8 [::1]""#,
        Some("198.51.100.16"),
    ),
];

const PLANTED: &[&str] = &["6.6.6.6", "7.7.7.7", "8.8.8.8", "::1"];

fn fail2ban_regex(log: &std::path::Path, regex: &str, extra: &[&str]) -> Vec<(String, String)> {
    let out = Command::new("fail2ban-regex")
        .args(extra)
        .args(["-o", "<ip>|<msg>"])
        .arg(log)
        .arg(regex)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fail2ban-regex failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('|'))
        .map(|(ip, msg)| (ip.to_string(), msg.to_string()))
        .collect()
}

#[test]
fn api_abuse_filter_bans_only_the_client_address() {
    if hardkit_core::oracle::oracle(
        "jailgen::api_abuse_filter_bans_only_the_client_address",
        "fail2ban-regex",
    )
    .is_none()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let filter = tmp.path().join("hardkit-api-abuse.conf");
    std::fs::write(
        &filter,
        jailgen::filter_api_abuse::render("/v1/", &[401, 403, 429]),
    )
    .unwrap();
    let log = tmp.path().join("access.log");
    let text: String = LINES.iter().map(|(l, _)| format!("{l}\n")).collect();
    std::fs::write(&log, text).unwrap();

    let matched = fail2ban_regex(&log, filter.to_str().unwrap(), &[]);
    let expected: Vec<(String, String)> = LINES
        .iter()
        .filter_map(|(line, ip)| ip.map(|ip| (ip.to_string(), line.to_string())))
        .collect();
    assert_eq!(matched, expected);
    for (ip, msg) in &matched {
        assert!(
            !PLANTED.contains(&ip.as_str()),
            "banned planted {ip}: {msg}"
        );
        assert_eq!(
            Some(ip.as_str()),
            msg.split(' ').next(),
            "not the first field: {msg}"
        );
    }
}

#[test]
fn the_hostile_lines_do_fool_a_loose_filter() {
    // Proof that the lines above are really hostile: the kind of loose
    // failregex often written for access logs bans an address that is not
    // the client's (here a fragment of the planted text).
    if hardkit_core::oracle::oracle(
        "jailgen::the_hostile_lines_do_fool_a_loose_filter",
        "fail2ban-regex",
    )
    .is_none()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("access.log");
    let text: String = LINES.iter().map(|(l, _)| format!("{l}\n")).collect();
    std::fs::write(&log, text).unwrap();
    let loose = r"^.*<HOST> .*\s(?:401|403|429)\s";
    let matched = fail2ban_regex(&log, loose, &["-d", r"^[^\[]*\[({DATE})"]);
    assert!(
        matched
            .iter()
            .any(|(ip, msg)| Some(ip.as_str()) != msg.split(' ').next()),
        "the loose filter was not fooled: {matched:?}"
    );
}

#[test]
fn statuses_and_prefix_come_from_the_flags() {
    if hardkit_core::oracle::oracle(
        "jailgen::statuses_and_prefix_come_from_the_flags",
        "fail2ban-regex",
    )
    .is_none()
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let filter = tmp.path().join("f.conf");
    std::fs::write(
        &filter,
        jailgen::filter_api_abuse::render("/api.v2/", &[429]),
    )
    .unwrap();
    let log = tmp.path().join("access.log");
    std::fs::write(
        &log,
        concat!(
            "192.0.2.1 - - [22/Nov/2026:05:00:00 +0000] \"GET /api.v2/x HTTP/1.1\" 429 0 \"-\" \"-\"\n",
            "192.0.2.2 - - [22/Nov/2026:05:00:00 +0000] \"GET /api.v2/x HTTP/1.1\" 401 0 \"-\" \"-\"\n",
            "192.0.2.3 - - [22/Nov/2026:05:00:00 +0000] \"GET /apixv2/x HTTP/1.1\" 429 0 \"-\" \"-\"\n",
        ),
    )
    .unwrap();
    let ips: Vec<String> = fail2ban_regex(&log, filter.to_str().unwrap(), &[])
        .into_iter()
        .map(|(ip, _)| ip)
        .collect();
    assert_eq!(ips, ["192.0.2.1"]);
}
