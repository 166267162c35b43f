//! The `event` record: one understood log line.
//!
//! [`Event`] borrows the line it came from, so a scan allocates nothing for
//! lines that are not events and very little for those that are; it is
//! written as JSON by hand (the hot path of `logscan --json`). [`EventRecord`]
//! is the owned form with `deny_unknown_fields`, used to read events back
//! (tests, and tools that consume logscan's stream).

use std::borrow::Cow;
use std::io;

use hardkit_core::{BytesPath, Record};
use serde::{Deserialize, Serialize};

use crate::time::{format_rfc3339, write_rfc3339, Timestamp, RFC3339_MAX};

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
    PamLockout => "pam_lockout",
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
    NginxForbidden => "nginx_forbidden",
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
    let old = out.len();
    out.resize(old + json_str_bound(s), 0);
    let mut c = Cursor::new(&mut out[old..]);
    c.json_str(s);
    let n = c.pos;
    out.truncate(old + n);
}

/// Decimal digits without the formatting machinery (the hot path).
pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    let old = out.len();
    out.resize(old + 20, 0);
    let mut c = Cursor::new(&mut out[old..]);
    c.u64(v);
    let n = c.pos;
    out.truncate(old + n);
}

/// The most bytes [`Cursor::json_str`] writes for `s`: quotes, and six
/// bytes per input byte (`\u001f`; U+FFFD is three bytes for one or more).
pub fn json_str_bound(s: &[u8]) -> usize {
    2 + 6 * s.len()
}

/// Every byte of the word is printable ASCII other than `"` and `\`.
#[inline]
fn plain_word(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    #[inline]
    fn has_zero(v: u64) -> u64 {
        v.wrapping_sub(ONES) & !v & HIGH
    }
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = has_zero(w ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(w ^ (ONES * u64::from(b'\\')));
    ((w | control) & HIGH) | quote | backslash == 0
}

/// Every byte of `s` is plain: checked a word at a time, short strings as
/// one or two overlapping half-words (bytes repeated do not change the
/// answer).
#[inline]
fn all_plain(s: &[u8]) -> bool {
    let n = s.len();
    let word = |b: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        u64::from_le_bytes(w)
    };
    let half = |b: &[u8]| {
        let mut w = [0u8; 4];
        w.copy_from_slice(b);
        u64::from(u32::from_le_bytes(w))
    };
    if n >= 8 {
        let mut i = 0;
        while i + 8 <= n {
            if !plain_word(word(&s[i..i + 8])) {
                return false;
            }
            i += 8;
        }
        plain_word(word(&s[n - 8..]))
    } else if n >= 4 {
        plain_word(half(&s[..4]) | half(&s[n - 4..]) << 32)
    } else {
        s.iter().all(|&b| plain_byte(b))
    }
}

#[inline]
fn plain_byte(b: u8) -> bool {
    (0x20..0x80).contains(&b) && b != b'"' && b != b'\\'
}

/// Writes into a buffer the caller made large enough (the bounds above):
/// no capacity checks or calls per piece, which is most of what rendering
/// an event costs.
pub struct Cursor<'b> {
    buf: &'b mut [u8],
    pub pos: usize,
}

impl<'b> Cursor<'b> {
    pub fn new(buf: &'b mut [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    /// Fixed text (inlined to a few moves for literals).
    #[inline(always)]
    fn lit(&mut self, s: &[u8]) {
        self.buf[self.pos..self.pos + s.len()].copy_from_slice(s);
        self.pos += s.len();
    }

    /// Short text of any length, copied a word at a time.
    #[inline]
    fn bytes(&mut self, s: &[u8]) {
        let mut chunks = s.chunks_exact(8);
        for c in &mut chunks {
            self.buf[self.pos..self.pos + 8].copy_from_slice(c);
            self.pos += 8;
        }
        for &b in chunks.remainder() {
            self.buf[self.pos] = b;
            self.pos += 1;
        }
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) {
        self.buf[self.pos] = b;
        self.pos += 1;
    }

    pub fn u64(&mut self, mut v: u64) {
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        if v < 10 {
            self.byte(b'0' + v as u8);
            return;
        }
        let digits = if v < 10_000 {
            if v < 100 {
                2
            } else if v < 1000 {
                3
            } else {
                4
            }
        } else if v < 1_000_000 {
            if v < 100_000 {
                5
            } else {
                6
            }
        } else {
            v.ilog10() as usize + 1
        };
        let end = self.pos + digits;
        let mut i = end;
        while v >= 100 {
            let r = (v % 100) as usize * 2;
            v /= 100;
            i -= 2;
            self.buf[i..i + 2].copy_from_slice(&PAIRS[r..r + 2]);
        }
        if v >= 10 {
            let r = v as usize * 2;
            self.buf[i - 2..i].copy_from_slice(&PAIRS[r..r + 2]);
        } else {
            self.buf[i - 1] = b'0' + v as u8;
        }
        self.pos = end;
    }

    pub fn json_str(&mut self, s: &[u8]) {
        self.byte(b'"');
        if all_plain(s) {
            self.copy_plain(s);
        } else {
            self.json_str_escaped(s);
        }
        self.byte(b'"');
    }

    /// Copy `s` with word-sized moves, the last one overlapping the one
    /// before it (the usual trick for short copies of any length).
    #[inline]
    fn copy_plain(&mut self, s: &[u8]) {
        let n = s.len();
        let at = self.pos;
        if n >= 8 {
            let mut i = 0;
            while i + 8 <= n {
                self.buf[at + i..at + i + 8].copy_from_slice(&s[i..i + 8]);
                i += 8;
            }
            self.buf[at + n - 8..at + n].copy_from_slice(&s[n - 8..]);
        } else if n >= 4 {
            self.buf[at..at + 4].copy_from_slice(&s[..4]);
            self.buf[at + n - 4..at + n].copy_from_slice(&s[n - 4..]);
        } else {
            for (d, &b) in self.buf[at..at + n].iter_mut().zip(s) {
                *d = b;
            }
        }
        self.pos += n;
    }

    fn json_str_escaped(&mut self, s: &[u8]) {
        let mut i = 0;
        while i < s.len() {
            if let Some(w) = s.get(i..i + 8) {
                let mut word = [0u8; 8];
                word.copy_from_slice(w);
                if plain_word(u64::from_le_bytes(word)) {
                    self.buf[self.pos..self.pos + 8].copy_from_slice(w);
                    self.pos += 8;
                    i += 8;
                    continue;
                }
            }
            let b = s[i];
            if plain_byte(b) {
                self.byte(b);
                i += 1;
            } else {
                i = self.escape(s, i);
            }
        }
    }

    /// The byte at `i` is not plain: write its escape, or for a run of
    /// non-ASCII bytes the valid UTF-8 in it with U+FFFD for the rest.
    /// Returns where the plain text resumes.
    #[cold]
    fn escape(&mut self, s: &[u8], i: usize) -> usize {
        let b = s[i];
        if b < 0x80 {
            match b {
                b'"' => self.lit(b"\\\""),
                b'\\' => self.lit(b"\\\\"),
                b'\n' => self.lit(b"\\n"),
                b'\r' => self.lit(b"\\r"),
                b'\t' => self.lit(b"\\t"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.lit(b"\\u00");
                    self.byte(HEX[usize::from(b >> 4)]);
                    self.byte(HEX[usize::from(b & 15)]);
                }
            }
            return i + 1;
        }
        let end = s[i..]
            .iter()
            .position(|&c| c < 0x80)
            .map_or(s.len(), |p| i + p);
        for chunk in s[i..end].utf8_chunks() {
            self.bytes(chunk.valid().as_bytes());
            if !chunk.invalid().is_empty() {
                self.lit("\u{fffd}".as_bytes());
            }
        }
        end
    }

    fn opt_str(&mut self, key: &[u8], v: Option<&[u8]>) {
        self.lit(key);
        match v {
            Some(v) => self.json_str(v),
            None => self.lit(b"null"),
        }
    }

    fn opt_num(&mut self, key: &[u8], v: Option<u64>) {
        self.lit(key);
        match v {
            Some(v) => self.u64(v),
            None => self.lit(b"null"),
        }
    }
}

/// The last formatted time: consecutive events mostly share their second.
#[derive(Debug)]
pub struct TimeCache {
    key: Option<Timestamp>,
    text: [u8; RFC3339_MAX],
    len: usize,
    /// Times [`format_rfc3339`] does not take (years past 9999).
    long: String,
}

impl Default for TimeCache {
    fn default() -> Self {
        TimeCache {
            key: None,
            text: [0; RFC3339_MAX],
            len: 0,
            long: String::new(),
        }
    }
}

impl TimeCache {
    pub fn get(&mut self, ts: &Timestamp) -> &[u8] {
        if self.key != Some(*ts) {
            match format_rfc3339(ts, &mut self.text) {
                Some(n) => self.len = n,
                None => {
                    self.long.clear();
                    write_rfc3339(&mut self.long, ts);
                    self.len = usize::MAX;
                }
            }
            self.key = Some(*ts);
        }
        if self.len == usize::MAX {
            self.long.as_bytes()
        } else {
            &self.text[..self.len]
        }
    }
}

/// Room for everything of an event but its strings, time and source path:
/// the keys and punctuation (under 200 bytes), the kind, four numbers.
const FIXED_BOUND: usize = 320;

impl Event<'_> {
    /// The most bytes [`Event::write_json_into`] writes for this event.
    pub fn json_bound(&self, source_json: &[u8], time_text: usize) -> usize {
        let opt = |v: Option<&[u8]>| v.map_or(4, json_str_bound);
        FIXED_BOUND
            + time_text
            + source_json.len()
            + opt(self.ip.as_deref())
            + opt(self.user)
            + json_str_bound(self.service)
            + opt(self.host)
            + opt(self.method)
            + opt(self.detail)
    }

    /// Append this event as one JSON Lines record (same bytes as
    /// `hardkit_core::record::encode` of the [`EventRecord`]).
    pub fn write_json(
        &self,
        out: &mut Vec<u8>,
        source_json: &[u8],
        line: u64,
        times: &mut TimeCache,
    ) {
        let time_len = self.time.as_ref().map_or(0, |t| times.get(t).len());
        let old = out.len();
        out.resize(old + self.json_bound(source_json, time_len), 0);
        let n = self.write_json_into(&mut out[old..], source_json, line, times);
        out.truncate(old + n);
    }

    /// Write this event's record at the start of `buf`, which must hold at
    /// least [`Event::json_bound`] bytes; returns the length written.
    pub fn write_json_into(
        &self,
        buf: &mut [u8],
        source_json: &[u8],
        line: u64,
        times: &mut TimeCache,
    ) -> usize {
        let mut c = Cursor::new(buf);
        c.lit(b"{\"type\":\"event\",\"tool\":\"logscan\",\"kind\":\"");
        c.bytes(self.kind.as_str().as_bytes());
        c.lit(if self.failure {
            b"\",\"failure\":true,\"time\":"
        } else {
            b"\",\"failure\":false,\"time\":"
        });
        match &self.time {
            Some(ts) => {
                c.byte(b'"');
                c.bytes(times.get(ts));
                c.byte(b'"');
            }
            None => c.lit(b"null"),
        }
        c.opt_str(b",\"ip\":", self.ip.as_deref());
        c.opt_num(b",\"port\":", self.port.map(u64::from));
        c.opt_str(b",\"user\":", self.user);
        c.lit(b",\"service\":");
        c.json_str(self.service);
        c.opt_num(b",\"pid\":", self.pid.map(u64::from));
        c.opt_str(b",\"host\":", self.host);
        c.opt_str(b",\"method\":", self.method);
        c.lit(b",\"count\":");
        c.u64(u64::from(self.count));
        if let Some(d) = self.detail {
            c.lit(b",\"detail\":");
            c.json_str(d);
        }
        c.lit(b",\"source\":{\"path\":");
        c.bytes(source_json);
        c.lit(b",\"line\":");
        c.u64(line);
        c.lit(b"}}\n");
        c.pos
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

    /// The straightforward escaper the word-at-a-time one must equal.
    fn reference_json_str(s: &[u8]) -> Vec<u8> {
        let mut out = vec![b'"'];
        for chunk in s.utf8_chunks() {
            for ch in chunk.valid().chars() {
                match ch {
                    '"' => out.extend_from_slice(b"\\\""),
                    '\\' => out.extend_from_slice(b"\\\\"),
                    '\n' => out.extend_from_slice(b"\\n"),
                    '\r' => out.extend_from_slice(b"\\r"),
                    '\t' => out.extend_from_slice(b"\\t"),
                    c if (c as u32) < 0x20 => {
                        out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                    }
                    c => out.extend_from_slice(c.to_string().as_bytes()),
                }
            }
            if !chunk.invalid().is_empty() {
                out.extend_from_slice("\u{fffd}".as_bytes());
            }
        }
        out.push(b'"');
        out
    }

    #[test]
    fn word_at_a_time_escaping_equals_the_reference() {
        // Every byte value at every position of words and tails.
        let alphabet: Vec<u8> = (0..=255u8).collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..40 {
            for round in 0..200 {
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        // Mostly plain text, sometimes any byte.
                        if round % 2 == 0 && state % 5 != 0 {
                            b'a' + (state % 26) as u8
                        } else {
                            alphabet[(state >> 8) as usize % 256]
                        }
                    })
                    .collect();
                let mut out = Vec::new();
                push_json_str(&mut out, &s);
                assert_eq!(out, reference_json_str(&s), "{s:?}");
            }
        }
        for b in 0..=255u8 {
            let s = [b'x', b'y', b'z', b'w', b'v', b'u', b't', b, b'a', b'b'];
            let mut out = Vec::new();
            push_json_str(&mut out, &s);
            assert_eq!(out, reference_json_str(&s), "{b}");
        }
        let mut out = Vec::new();
        push_u64(&mut out, u64::MAX);
        push_u64(&mut out, 0);
        assert_eq!(out, b"184467440737095516150");
        let mut v = 1u64;
        while let Some(next) = v.checked_mul(3) {
            for x in [v - 1, v, v + 1, v * 2] {
                let mut out = Vec::new();
                push_u64(&mut out, x);
                assert_eq!(out, x.to_string().as_bytes());
            }
            v = next;
        }
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
