//! `journalctl -o json` lines: one JSON object per entry. The entry is
//! rewritten as the equivalent RFC 3339 syslog line
//! (`2024-01-02T03:04:05.123456Z host prog[pid]: message`) and parsed as one.
//!
//! Any local user can write a journal entry with any `SYSLOG_IDENTIFIER`
//! and message (`logger -t sshd "Failed password for alice from ..."`), and
//! `_COMM` is a program name the user picks by copying `logger` to a file
//! named `sshd`. Only the fields journald itself derives from the sending
//! process and that a user cannot choose are trusted: an entry counts when
//! it was sent by root (`_UID=0`: sshd, sshd-session and sudo log as root)
//! or by a process of a system service (`_SYSTEMD_UNIT=NAME.service`, not a
//! user's `user@UID.service`; nginx's workers run as www-data). Any other
//! entry (an unprivileged user's, or one without these fields) is read as
//! text no daemon wrote: it is never classified.

use serde::Deserialize;

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "MESSAGE")]
    message: Option<serde_json::Value>,
    #[serde(rename = "__REALTIME_TIMESTAMP")]
    realtime: Option<String>,
    #[serde(rename = "_HOSTNAME")]
    hostname: Option<String>,
    #[serde(rename = "SYSLOG_IDENTIFIER")]
    identifier: Option<String>,
    #[serde(rename = "_COMM")]
    comm: Option<String>,
    #[serde(rename = "_PID")]
    pid: Option<String>,
    #[serde(rename = "SYSLOG_PID")]
    syslog_pid: Option<String>,
    #[serde(rename = "_UID")]
    uid: Option<String>,
    #[serde(rename = "_SYSTEMD_UNIT")]
    unit: Option<String>,
    #[serde(rename = "_SYSTEMD_USER_UNIT")]
    user_unit: Option<String>,
}

impl Entry {
    /// Sent by root or by a system service (fields journald sets itself).
    fn trusted(&self) -> bool {
        if self.uid.as_deref() == Some("0") {
            return true;
        }
        self.user_unit.is_none()
            && self
                .unit
                .as_deref()
                .is_some_and(|u| u.ends_with(".service") && !u.starts_with("user@"))
    }
}

/// What a journal JSON line holds.
pub enum JournalLine {
    /// A trusted entry, rewritten as a syslog line.
    Trusted(Vec<u8>),
    /// An entry a local user could have written: not classified.
    Untrusted,
}

/// The message bytes: journald writes a string, or an array of bytes when
/// the message is not UTF-8.
fn message_bytes(v: &serde_json::Value) -> Option<Vec<u8>> {
    match v {
        serde_json::Value::String(s) => Some(s.as_bytes().to_vec()),
        serde_json::Value::Array(a) => a
            .iter()
            .map(|b| b.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect(),
        _ => None,
    }
}

/// Read a journald JSON line; None when it is not one.
pub fn read_entry(line: &[u8]) -> Option<JournalLine> {
    let entry: Entry = serde_json::from_slice(line).ok()?;
    entry.message.as_ref()?;
    if !entry.trusted() {
        return Some(JournalLine::Untrusted);
    }
    to_syslog(entry).map(JournalLine::Trusted)
}

/// Rewrite a journald JSON line as a syslog line, whoever sent it; None
/// when it is not one.
pub fn to_syslog_line(line: &[u8]) -> Option<Vec<u8>> {
    to_syslog(serde_json::from_slice(line).ok()?)
}

fn to_syslog(entry: Entry) -> Option<Vec<u8>> {
    let msg = message_bytes(entry.message.as_ref()?)?;
    let mut out = Vec::with_capacity(msg.len() + 64);
    if let Some(us) = entry.realtime.and_then(|s| s.parse::<i64>().ok()) {
        let ts = crate::time::Timestamp {
            unix: us.div_euclid(1_000_000),
            micros: us.rem_euclid(1_000_000) as u32,
            offset: 0,
        };
        out.extend_from_slice(crate::time::rfc3339(&ts).as_bytes());
        out.push(b' ');
    }
    if let Some(h) = entry.hostname {
        out.extend_from_slice(h.as_bytes());
        out.push(b' ');
    }
    let prog = entry
        .identifier
        .or(entry.comm)
        .unwrap_or_else(|| "journal".into());
    out.extend_from_slice(prog.replace([' ', '[', ']', ':'], "_").as_bytes());
    if let Some(pid) = entry.syslog_pid.or(entry.pid) {
        if pid.bytes().all(|b| b.is_ascii_digit()) {
            out.push(b'[');
            out.extend_from_slice(pid.as_bytes());
            out.push(b']');
        }
    }
    out.extend_from_slice(b": ");
    // A message with a newline would end the line early.
    out.extend(msg.into_iter().map(|b| if b == b'\n' { b' ' } else { b }));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_entry_becomes_a_syslog_line() {
        let j = br#"{"__REALTIME_TIMESTAMP":"1700000000123456","_HOSTNAME":"srv","SYSLOG_IDENTIFIER":"sshd","_PID":"42","MESSAGE":"Invalid user x from 192.0.2.1 port 22"}"#;
        let line = to_syslog_line(j).unwrap();
        assert_eq!(
            String::from_utf8(line).unwrap(),
            "2023-11-14T22:13:20.123456Z srv sshd[42]: Invalid user x from 192.0.2.1 port 22"
        );
        let bytes = br#"{"MESSAGE":[104,105,255],"_COMM":"sshd"}"#;
        assert_eq!(to_syslog_line(bytes).unwrap(), b"sshd: hi\xff");
        assert!(to_syslog_line(b"{not json").is_none());
    }

    #[test]
    fn only_root_and_system_services_are_trusted() {
        let t = |j: &str| matches!(read_entry(j.as_bytes()), Some(JournalLine::Trusted(_)));
        assert!(t(r#"{"_UID":"0","_COMM":"sshd","MESSAGE":"x"}"#));
        assert!(t(
            r#"{"_UID":"33","_SYSTEMD_UNIT":"nginx.service","MESSAGE":"x"}"#
        ));
        assert!(!t(
            r#"{"_UID":"1000","_COMM":"sshd","SYSLOG_IDENTIFIER":"sshd","MESSAGE":"x"}"#
        ));
        assert!(!t(
            r#"{"_UID":"1000","_SYSTEMD_UNIT":"user@1000.service","_SYSTEMD_USER_UNIT":"a.service","MESSAGE":"x"}"#
        ));
        assert!(!t(
            r#"{"_UID":"1000","_SYSTEMD_UNIT":"session-3.scope","MESSAGE":"x"}"#
        ));
        assert!(!t(r#"{"SYSLOG_IDENTIFIER":"sshd","MESSAGE":"x"}"#));
    }
}
