//! The `event` record: one understood log line.
//!
//! [`Event`] borrows the line it came from, so a scan allocates nothing for
//! lines that are not events and very little for those that are; it is
//! written as JSON by hand (the hot path of `logscan --json`). [`EventRecord`]
//! is the owned form with `deny_unknown_fields`, used to read events back
//! (tests, and tools that consume logscan's stream).

use std::borrow::Cow;
use std::io::{self, Write};

use hardkit_core::{BytesPath, Record};
use serde::{Deserialize, Serialize};

use crate::time::{write_rfc3339, Timestamp};

macro_rules! kinds {
    ($($variant:ident => $name:literal,)*) => {
        /// What a line says happened. The documented list is docs/logscan.md.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Kind { $($variant,)* }

        impl Kind {
            pub const ALL: &'static [Kind] = &[$(Kind::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Kind::$variant => $name,)* }
            }
        }
    };
}

kinds! {
    AuthFailure => "auth_failure",
    InvalidUser => "invalid_user",
    InvalidUserRequest => "invalid_user_request",
    UserNotAllowed => "user_not_allowed",
    RootLoginRefused => "root_login_refused",
    RefusedConnect => "refused_connect",
    MaxAuthExceeded => "max_auth_exceeded",
    ChangeOfUser => "change_of_user",
    AuthSuccess => "auth_success",
    AuthPostponed => "auth_postponed",
    PamAuthFailure => "pam_auth_failure",
    PamCheckPass => "pam_check_pass",
    PamMoreFailures => "pam_more_failures",
    PamMaxRetries => "pam_max_retries",
    SessionOpen => "session_open",
    SessionClose => "session_close",
    PreauthDisconnect => "preauth_disconnect",
    ConnectionClosed => "connection_closed",
    ConnectionOpen => "connection_open",
    ClientDisconnect => "client_disconnect",
    AuthFailDisconnect => "auth_fail_disconnect",
    NoAuthMethods => "no_auth_methods",
    NoIdentification => "no_identification",
    BadProtocol => "bad_protocol",
    ProtocolError => "protocol_error",
    NegotiationFailure => "negotiation_failure",
    LoginTimeout => "login_timeout",
    PenaltyDrop => "penalty_drop",
    ReverseMapping => "reverse_mapping",
    SudoCommand => "sudo_command",
    SudoAuthFailure => "sudo_auth_failure",
    SudoNotInSudoers => "sudo_not_in_sudoers",
    SudoCommandDenied => "sudo_command_denied",
    SuSuccess => "su_success",
    SuFailure => "su_failure",
    NginxLimitReq => "nginx_limit_req",
    NginxLimitConn => "nginx_limit_conn",
    NginxHttpAuthFailure => "nginx_http_auth_failure",
    NginxBotProbe => "nginx_bot_probe",
    NginxSslError => "nginx_ssl_error",
    F2bBan => "f2b_ban",
    F2bUnban => "f2b_unban",
    F2bFound => "f2b_found",
}

/// Where an event came from: a file (or `<stdin>`) and its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub path: BytesPath,
    pub line: u64,
}

/// One understood line, borrowing the line's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    pub kind: Kind,
    pub failure: bool,
    pub time: Option<Timestamp>,
    pub ip: Option<Cow<'a, [u8]>>,
    pub port: Option<u16>,
    pub user: Option<&'a [u8]>,
    pub service: &'a [u8],
    pub pid: Option<u32>,
    pub host: Option<&'a [u8]>,
    pub method: Option<&'a [u8]>,
    pub count: u32,
    /// Extra text worth keeping: the sudo command, the key fingerprint,
    /// the fail2ban jail.
    pub detail: Option<&'a [u8]>,
}

/// The owned, serde form of an event record (docs/protocol.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRecord {
    pub kind: String,
    pub failure: bool,
    pub time: Option<String>,
    pub ip: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub service: String,
    pub pid: Option<u32>,
    pub host: Option<String>,
    pub method: Option<String>,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub source: Source,
}

impl Record for EventRecord {
    const TYPE: &'static str = "event";
}

/// Append `s` as a JSON string. Bytes that are not UTF-8 become U+FFFD: log
/// text is not a path, and JSON consumers need valid strings.
pub fn push_json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b >= 0x20 && b != b'"' && b != b'\\' && b < 0x80 {
            i += 1;
            continue;
        }
        out.extend_from_slice(&s[start..i]);
        if b < 0x80 {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                _ => {
                    let _ = write!(out, "\\u{b:04x}");
                }
            }
            i += 1;
        } else {
            // A run of non-ASCII: copy what is valid UTF-8, replace the rest.
            let end = s[i..]
                .iter()
                .position(|&c| c < 0x80)
                .map_or(s.len(), |p| i + p);
            for chunk in s[i..end].utf8_chunks() {
                out.extend_from_slice(chunk.valid().as_bytes());
                if !chunk.invalid().is_empty() {
                    out.extend_from_slice("\u{fffd}".as_bytes());
                }
            }
            i = end;
        }
        start = i;
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

fn push_opt_str(out: &mut Vec<u8>, key: &[u8], v: Option<&[u8]>) {
    out.extend_from_slice(key);
    match v {
        Some(v) => push_json_str(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// Decimal digits without the formatting machinery (the hot path).
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn push_opt_num(out: &mut Vec<u8>, key: &[u8], v: Option<u64>) {
    out.extend_from_slice(key);
    match v {
        Some(v) => push_u64(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

/// The last formatted time: consecutive events mostly share their second.
#[derive(Debug, Default)]
pub struct TimeCache {
    key: Option<Timestamp>,
    text: String,
}

impl TimeCache {
    pub fn get(&mut self, ts: &Timestamp) -> &str {
        if self.key != Some(*ts) {
            self.text.clear();
            write_rfc3339(&mut self.text, ts);
            self.key = Some(*ts);
        }
        &self.text
    }
}

impl Event<'_> {
    /// Append this event as one JSON Lines record (same bytes as
    /// `hardkit_core::record::encode` of the [`EventRecord`]).
    pub fn write_json(
        &self,
        out: &mut Vec<u8>,
        source_json: &[u8],
        line: u64,
        times: &mut TimeCache,
    ) {
        out.extend_from_slice(b"{\"type\":\"event\",\"tool\":\"logscan\",\"kind\":\"");
        out.extend_from_slice(self.kind.as_str().as_bytes());
        out.extend_from_slice(if self.failure {
            b"\",\"failure\":true,\"time\":"
        } else {
            b"\",\"failure\":false,\"time\":"
        });
        match &self.time {
            Some(ts) => {
                out.push(b'"');
                out.extend_from_slice(times.get(ts).as_bytes());
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        push_opt_str(out, b",\"ip\":", self.ip.as_deref());
        push_opt_num(out, b",\"port\":", self.port.map(u64::from));
        push_opt_str(out, b",\"user\":", self.user);
        out.extend_from_slice(b",\"service\":");
        push_json_str(out, self.service);
        push_opt_num(out, b",\"pid\":", self.pid.map(u64::from));
        push_opt_str(out, b",\"host\":", self.host);
        push_opt_str(out, b",\"method\":", self.method);
        out.extend_from_slice(b",\"count\":");
        push_u64(out, u64::from(self.count));
        if let Some(d) = self.detail {
            out.extend_from_slice(b",\"detail\":");
            push_json_str(out, d);
        }
        out.extend_from_slice(b",\"source\":{\"path\":");
        out.extend_from_slice(source_json);
        out.extend_from_slice(b",\"line\":");
        push_u64(out, line);
        out.extend_from_slice(b"}}\n");
    }

    pub fn ip_str(&self) -> Option<&[u8]> {
        self.ip.as_deref()
    }
}

/// The JSON form of a source path (a string, or `{"bytes":...}`), computed
/// once per file.
pub fn source_path_json(path: &BytesPath) -> io::Result<Vec<u8>> {
    serde_json::to_vec(path).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escaping_is_valid_and_lossy_only_for_invalid_utf8() {
        let mut out = Vec::new();
        push_json_str(&mut out, b"a\"b\\c\n\x01\xc3\xa9\xff");
        let s = String::from_utf8(out).unwrap();
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "a\"b\\c\n\u{1}\u{e9}\u{fffd}");
    }

    #[test]
    fn hand_written_json_decodes_with_unknown_fields_denied() {
        let ev = Event {
            kind: Kind::AuthFailure,
            failure: true,
            time: Some(Timestamp {
                unix: 0,
                micros: 0,
                offset: 0,
            }),
            ip: Some(Cow::Borrowed(b"192.0.2.1")),
            port: Some(22),
            user: Some(b"ro\"ot"),
            service: b"sshd",
            pid: Some(7),
            host: None,
            method: Some(b"password"),
            count: 1,
            detail: None,
        };
        let path = BytesPath::from("/var/log/auth.log");
        let mut out = Vec::new();
        ev.write_json(
            &mut out,
            &source_path_json(&path).unwrap(),
            3,
            &mut TimeCache::default(),
        );
        let line = String::from_utf8(out).unwrap();
        let rec = hardkit_core::record::decode::<EventRecord>(line.trim_end()).unwrap();
        assert_eq!(rec.tool, "logscan");
        assert_eq!(rec.body.user.as_deref(), Some("ro\"ot"));
        assert_eq!(rec.body.time.as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(rec.body.source.line, 3);
        // Same bytes as the shared encoder would write.
        let mut enc = Vec::new();
        hardkit_core::record::encode(&mut enc, "logscan", &rec.body).unwrap();
        assert_eq!(String::from_utf8(enc).unwrap(), line);
    }
}
