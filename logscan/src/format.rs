//! Recognising a line's shape and splitting off its prefix, per line and
//! without allocating: classic syslog (`Mon dd HH:MM:SS host prog[pid]: msg`),
//! RFC 3339 / high-precision rsyslog and journalctl `short-iso` timestamps,
//! RFC 5424, lines without a timestamp (`host prog[pid]: msg`), nginx error
//! and access logs, and fail2ban's own log. journald JSON (`journalctl -o
//! json`) is decoded by [`crate::journal`] and then handed back here.

use crate::text::{byte, rbyte};
use crate::time::CivilTime;

/// The time a line carries, before a year or a zone is supplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTime {
    pub civil: CivilTime,
    /// False for classic syslog, which omits the year.
    pub has_year: bool,
    /// Seconds east of UTC when the line wrote a zone; None means local time.
    pub offset: Option<i32>,
}

/// What kind of log a line came from; classifiers are chosen by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// syslog-like: a tag names the program.
    Syslog,
    NginxError,
    NginxAccess,
    Fail2banLog,
}

/// A line split into prefix fields and message; everything borrows the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix<'a> {
    pub shape: Shape,
    pub time: Option<LineTime>,
    pub host: Option<&'a [u8]>,
    pub program: &'a [u8],
    pub pid: Option<u32>,
    pub msg: &'a [u8],
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn month_of(name: &[u8]) -> Option<u32> {
    let &[a, b, c] = name else {
        return None;
    };
    // The second letter narrows it to at most three names.
    let candidates: &[u32] = match b {
        b'a' => &[1, 3, 5],
        b'e' => &[2, 9, 12],
        b'p' => &[4],
        b'u' => &[6, 7, 8],
        b'c' => &[10],
        b'o' => &[11],
        _ => return None,
    };
    candidates
        .iter()
        .copied()
        .find(|&m| *MONTHS[m as usize - 1] == [a, b, c])
}

fn digits(bytes: &[u8], n: usize) -> Option<u32> {
    if bytes.len() < n {
        return None;
    }
    let mut v = 0u32;
    for &b in &bytes[..n] {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (b - b'0') as u32;
    }
    Some(v)
}

/// `HH:MM:SS` then an optional `.ffffff`/`,fff` fraction.
fn parse_clock(b: &[u8]) -> Option<(u32, u32, u32, u32, &[u8])> {
    let h = digits(b, 2)?;
    if b.get(2) != Some(&b':') {
        return None;
    }
    let m = digits(&b[3..], 2)?;
    if b.get(5) != Some(&b':') {
        return None;
    }
    let s = digits(&b[6..], 2)?;
    let mut rest = &b[8..];
    let mut micros = 0;
    if let [b'.' | b',', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n > 0 {
            let mut v = 0u32;
            for (i, &c) in tail[..n].iter().enumerate() {
                if i < 6 {
                    v = v * 10 + (c - b'0') as u32;
                }
            }
            for _ in n..6 {
                v *= 10;
            }
            micros = v;
            rest = &tail[n..];
        }
    }
    Some((h, m, s, micros, rest))
}

/// The date given at the clock (`HH:MM:SS[.frac]`) that starts `b`, and
/// what follows the clock; None unless both make a real time.
#[inline]
fn at_clock(year: i64, month: u32, day: u32, b: &[u8]) -> Option<(CivilTime, &[u8])> {
    let (hour, minute, second, micros, rest) = parse_clock(b)?;
    let civil = CivilTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        micros,
    };
    civil.is_valid().then_some((civil, rest))
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.frac]` at the start of `b`.
pub fn parse_iso_datetime(b: &[u8]) -> Option<(CivilTime, &[u8])> {
    let year = digits(b, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let month = digits(&b[5..], 2)?;
    let day = digits(&b[8..], 2)?;
    if !matches!(b.get(10), Some(b'T' | b' ')) {
        return None;
    }
    at_clock(year as i64, month, day, &b[11..])
}

/// An optional zone: `Z`, `+HH:MM`, `+HHMM`, ` +0000` is not taken here.
pub fn parse_zone(b: &[u8]) -> (Option<i32>, &[u8]) {
    match b {
        [b'Z' | b'z', rest @ ..] => (Some(0), rest),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let Some(h) = digits(rest, 2) else {
                return (None, b);
            };
            let (m, tail) = if rest.get(2) == Some(&b':') {
                match digits(&rest[3..], 2) {
                    Some(m) => (m, &rest[5..]),
                    None => return (None, b),
                }
            } else {
                match digits(&rest[2..], 2) {
                    Some(m) => (m, &rest[4..]),
                    None => return (None, b),
                }
            };
            if h > 23 || m > 59 {
                return (None, b);
            }
            let off = (h * 3600 + m * 60) as i32;
            (Some(if *sign == b'-' { -off } else { off }), tail)
        }
        _ => (None, b),
    }
}

/// `Mon dd HH:MM:SS[.frac]` (day padded with a space or a zero, or not).
fn parse_bsd_time(b: &[u8]) -> Option<(LineTime, &[u8])> {
    let month = month_of(b.get(..3)?)?;
    let mut i = 3;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    if i == 3 {
        return None;
    }
    let nd = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if nd == 0 || nd > 2 {
        return None;
    }
    let day = digits(&b[i..], nd)?;
    i += nd;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    // 2000: a leap year, so Feb 29 is accepted; the scanner supplies the year.
    let (civil, rest) = at_clock(2000, month, day, &b[i + 1..])?;
    // Some writers add a year after the time (`Jan 02 03:04:05 2024`): rare, ignored.
    Some((
        LineTime {
            civil,
            has_year: false,
            offset: None,
        },
        rest,
    ))
}

fn skip_spaces(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    &b[n..]
}

fn token(b: &[u8]) -> (&[u8], &[u8]) {
    match byte(b' ', b) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[b.len()..]),
    }
}

/// Whether a token is a syslog tag: `prog:`, `prog[pid]:`, `prog[pid]`,
/// `[prog]:`, `[prog]`.
fn is_tag(t: &[u8]) -> bool {
    match t {
        [] | [b':'] => false,
        [.., b':'] => {
            // A `[` inside must open a trailing `[...]`.
            let inner = &t[..t.len() - 1];
            !inner.is_empty() && (inner.ends_with(b"]") || byte(b'[', inner).is_none())
        }
        [.., b']'] => byte(b'[', t).is_some(),
        _ => false,
    }
}

/// Split a tag into program and pid.
fn split_tag(t: &[u8]) -> (&[u8], Option<u32>) {
    let t = t.strip_suffix(b":").unwrap_or(t);
    if let [b'[', inner @ .., b']'] = t {
        return (inner, None);
    }
    // The usual `prog[1234]`: read the digits back from `]` to `[`.
    if let [head @ .., b']'] = t {
        let mut pid = 0u64;
        let mut i = head.len();
        while i > 0 && head[i - 1].is_ascii_digit() && head.len() - i < 19 {
            i -= 1;
        }
        if i > 0 && i < head.len() && head[i - 1] == b'[' {
            for &d in &head[i..] {
                pid = pid * 10 + u64::from(d - b'0');
            }
            return (&head[..i - 1], u32::try_from(pid).ok());
        }
    }
    if let Some(open) = rbyte(b'[', t) {
        if t.ends_with(b"]") {
            let pid = match crate::text::number(&t[open + 1..t.len() - 1]) {
                Some((v, [])) => u32::try_from(v).ok(),
                _ => None,
            };
            return (&t[..open], pid);
        }
    }
    (t, None)
}

/// Strip what some systems put between the tag and the message: Solaris'
/// `[ID 800047 auth.info] ` and a kernel timestamp `kernel:[  970.69]: `.
fn strip_message_noise(mut msg: &[u8]) -> &[u8] {
    msg = skip_spaces(msg);
    if msg.starts_with(b"[ID ") {
        if let Some(end) = byte(b']', msg) {
            msg = skip_spaces(&msg[end + 1..]);
        }
    }
    if let Some(rest) = msg.strip_prefix(b"kernel:") {
        let rest = rest.strip_prefix(b" ").unwrap_or(rest);
        if let Some(inner) = rest.strip_prefix(b"[") {
            if let Some(end) = byte(b']', inner) {
                let stamp = &inner[..end];
                if stamp
                    .iter()
                    .all(|&c| c == b' ' || c == b'.' || c.is_ascii_digit())
                {
                    let after = &inner[end + 1..];
                    let after = after.strip_prefix(b":").unwrap_or(after);
                    msg = skip_spaces(after);
                }
            }
        }
    }
    msg
}

/// After the timestamp: `[<10.5>] [host] [facility.level] tag msg`, or no tag.
fn split_syslog_body<'a>(
    rest: &'a [u8],
    time: Option<LineTime>,
    depth: u8,
    memo: &mut TimeMemo,
) -> Prefix<'a> {
    let mut rest = skip_spaces(rest);
    // FreeBSD syslogd -v writes `<facility.level>` before the host.
    if let [b'<', ..] = rest {
        let (t, after) = token(rest);
        if t.ends_with(b">") {
            rest = skip_spaces(after);
        }
    }
    if let Some((host, program, pid, msg)) = host_tag_fast(rest) {
        return Prefix {
            shape: Shape::Syslog,
            time,
            host: Some(host),
            program,
            pid,
            msg: strip_message_noise(msg),
        };
    }
    split_host_tag(rest, time, depth, memo)
}

/// What [`split_host_tag`] makes of the usual `host prog[pid]: msg`,
/// found in one pass over the two tokens: a host that cannot be a tag (it
/// ends in neither `:` nor `]`) and a tag of a program not starting with
/// `[`, 1 to 19 digits of pid, `]:` and a space. None for anything else.
type HostTag<'a> = (&'a [u8], &'a [u8], Option<u32>, &'a [u8]);

#[inline]
fn host_tag_fast(rest: &[u8]) -> Option<HostTag<'_>> {
    let sp1 = byte(b' ', rest)?;
    let host = &rest[..sp1];
    if matches!(host.last(), None | Some(b':' | b']')) {
        return None;
    }
    let after1 = &rest[sp1 + 1..];
    let sp2 = byte(b' ', after1)?;
    let tag = &after1[..sp2];
    let [head @ .., b']', b':'] = tag else {
        return None;
    };
    if tag[0] == b'[' {
        return None;
    }
    let mut i = head.len();
    let mut pid = 0u64;
    let mut scale = 1u64;
    while i > 0 && head[i - 1].is_ascii_digit() {
        if head.len() - i == 19 {
            return None;
        }
        i -= 1;
        pid += u64::from(head[i] - b'0') * scale;
        scale = scale.wrapping_mul(10);
    }
    if i == head.len() || i < 2 || head[i - 1] != b'[' {
        return None;
    }
    Some((
        host,
        &head[..i - 1],
        u32::try_from(pid).ok(),
        &after1[sp2 + 1..],
    ))
}

/// The host and tag after the timestamp, in all the shapes syslog writers
/// use.
fn split_host_tag<'a>(
    rest: &'a [u8],
    time: Option<LineTime>,
    depth: u8,
    memo: &mut TimeMemo,
) -> Prefix<'a> {
    let bare = || Prefix {
        shape: Shape::Syslog,
        time,
        host: None,
        program: b"",
        pid: None,
        msg: strip_message_noise(rest),
    };
    let (t1, after1) = token(rest);
    let (host, tag, msg) = if is_tag(t1) {
        (None, t1, after1)
    } else {
        let (t2, after2) = token(after1);
        if is_tag(t2) {
            (Some(t1), t2, after2)
        } else {
            let (t3, after3) = token(after2);
            // busybox writes the facility: `host auth.info sshd[1]: msg`
            if byte(b'.', t2).is_some() && is_tag(t3) {
                (Some(t1), t3, after3)
            } else {
                return bare();
            }
        }
    };
    // A bare sshd message (`error: PAM: ...`, `fatal: ...`) is not a tag.
    if host.is_none()
        && matches!(
            tag,
            b"error:" | b"fatal:" | b"debug1:" | b"debug2:" | b"debug3:" | b"verbose:"
        )
    {
        return bare();
    }
    let (program, pid) = split_tag(tag);
    // socklog: `2015-05-27T04:31:28.10040 auth.info: May 27 04:31:28 sshd[1]: msg`
    if depth == 0
        && host.is_none()
        && pid.is_none()
        && byte(b'.', program).is_some()
        && program.iter().all(|c| c.is_ascii_lowercase() || *c == b'.')
    {
        let inner = parse_prefix_depth(skip_spaces(msg), depth + 1, memo);
        return Prefix {
            time: inner.time.or(time),
            ..inner
        };
    }
    Prefix {
        shape: Shape::Syslog,
        time,
        host,
        program,
        pid,
        msg: strip_message_noise(msg),
    }
}

/// RFC 5424 after the version: `TS HOST APP PROCID MSGID SD MSG`.
fn parse_rfc5424(b: &[u8]) -> Option<Prefix<'_>> {
    let (civil, rest) = parse_iso_datetime(b)?;
    let (offset, rest) = parse_zone(rest);
    let rest = rest.strip_prefix(b" ")?;
    let (host, rest) = token(rest);
    let (app, rest) = token(rest);
    let (procid, rest) = token(rest);
    let (_msgid, rest) = token(rest);
    if !(procid == b"-" || procid.iter().all(u8::is_ascii_digit)) || procid.is_empty() {
        return None;
    }
    let rest = skip_structured_data(rest)?;
    let pid = std::str::from_utf8(procid)
        .ok()
        .and_then(|s| s.parse().ok());
    Some(Prefix {
        shape: Shape::Syslog,
        time: Some(LineTime {
            civil,
            has_year: true,
            offset,
        }),
        host: (host != b"-").then_some(host),
        program: if app == b"-" { b"" } else { app },
        pid,
        msg: strip_message_noise(rest),
    })
}

/// STRUCTURED-DATA: `-` or `[id k="v" ...]...` (quoted values may contain `]`).
fn skip_structured_data(b: &[u8]) -> Option<&[u8]> {
    if let Some(rest) = b.strip_prefix(b"-") {
        return Some(rest.strip_prefix(b" ").unwrap_or(rest));
    }
    let mut i = 0;
    if b.first() != Some(&b'[') {
        return None;
    }
    while b.get(i) == Some(&b'[') {
        let mut in_quote = false;
        i += 1;
        loop {
            match b.get(i)? {
                b'\\' if in_quote => i += 1,
                b'"' => in_quote = !in_quote,
                b']' if !in_quote => break,
                _ => {}
            }
            i += 1;
        }
        i += 1;
    }
    let rest = &b[i..];
    Some(rest.strip_prefix(b" ").unwrap_or(rest))
}

/// `YYYY/MM/DD HH:MM:SS` (nginx error log).
pub fn parse_slash_datetime(b: &[u8]) -> Option<(CivilTime, &[u8])> {
    let year = digits(b, 4)?;
    if b.get(4) != Some(&b'/') || b.get(7) != Some(&b'/') || b.get(10) != Some(&b' ') {
        return None;
    }
    let month = digits(&b[5..], 2)?;
    let day = digits(&b[8..], 2)?;
    at_clock(year as i64, month, day, &b[11..])
}

/// `[20/Jan/2015:19:53:28 +0100]` of the access log.
fn parse_clf_time(b: &[u8]) -> Option<LineTime> {
    let day = digits(b, 2)?;
    if b.get(2) != Some(&b'/') || b.get(6) != Some(&b'/') || b.get(11) != Some(&b':') {
        return None;
    }
    let month = month_of(&b[3..6])?;
    let year = digits(&b[7..], 4)?;
    let (civil, rest) = at_clock(year as i64, month, day, &b[12..])?;
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let (offset, _) = parse_zone(rest);
    Some(LineTime {
        civil,
        has_year: true,
        offset,
    })
}

/// nginx access log (combined): `ADDR - USER [time] "REQUEST" STATUS ...`.
fn parse_access(line: &[u8]) -> Option<Prefix<'_>> {
    let (addr, rest) = token(line);
    if addr.is_empty()
        || !addr
            .iter()
            .all(|c| c.is_ascii_hexdigit() || b".:".contains(c))
    {
        return None;
    }
    let rest = rest.strip_prefix(b"- ")?;
    let (_user, rest) = token(rest);
    let rest = rest.strip_prefix(b"[")?;
    let time = parse_clf_time(rest)?;
    Some(Prefix {
        shape: Shape::NginxAccess,
        time: Some(time),
        host: None,
        program: b"nginx",
        pid: None,
        msg: line,
    })
}

/// Split one line (without its newline) into prefix and message.
pub fn parse_prefix(line: &[u8]) -> Prefix<'_> {
    parse_prefix_depth(line, 0, &mut TimeMemo::default())
}

/// [`parse_prefix`] for a stream of lines: the classic syslog timestamp of
/// the previous line is remembered, and a line that starts with the same
/// bytes (not followed by more of a fraction) has the same time.
pub fn parse_prefix_with<'a>(line: &'a [u8], memo: &mut TimeMemo) -> Prefix<'a> {
    parse_prefix_depth(line, 0, memo)
}

/// The last classic syslog timestamp parsed: its text and its value.
#[derive(Debug, Clone, Default)]
pub struct TimeMemo {
    text: [u8; 32],
    len: usize,
    time: Option<LineTime>,
}

impl TimeMemo {
    fn bsd<'a>(&mut self, b: &'a [u8]) -> Option<(LineTime, &'a [u8])> {
        let n = self.len;
        if let Some(time) = self.time {
            if b.len() >= n
                && same_start(b, &self.text[..n])
                && !matches!(b.get(n), Some(b'.' | b',' | b'0'..=b'9'))
            {
                return Some((time, &b[n..]));
            }
        }
        let (time, rest) = parse_bsd_time(b)?;
        let used = b.len() - rest.len();
        if used <= self.text.len() {
            self.text[..used].copy_from_slice(&b[..used]);
            self.len = used;
            self.time = Some(time);
        }
        Some((time, rest))
    }
}

/// `b` starts with `key` (at least 8 bytes long, or compared bytewise),
/// compared as overlapping words.
#[inline]
fn same_start(b: &[u8], key: &[u8]) -> bool {
    let n = key.len();
    if b.len() < n {
        return false;
    }
    if n < 8 {
        return b[..n] == *key;
    }
    let word = |s: &[u8]| {
        let mut w = [0u8; 8];
        w.copy_from_slice(s);
        u64::from_le_bytes(w)
    };
    let mut i = 0;
    while i + 8 <= n {
        if word(&b[i..i + 8]) != word(&key[i..i + 8]) {
            return false;
        }
        i += 8;
    }
    word(&b[n - 8..n]) == word(&key[n - 8..n])
}

fn parse_prefix_depth<'a>(line: &'a [u8], depth: u8, memo: &mut TimeMemo) -> Prefix<'a> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match line.first() {
        Some(b'<') => {
            // <PRI>: RFC 5424 when a version follows, else BSD syslog.
            if let Some(end) = crate::text::byte(b'>', &line[..line.len().min(6)]) {
                let after = &line[end + 1..];
                if let Some(rest) = after.strip_prefix(b"1 ") {
                    if let Some(p) = parse_rfc5424(rest) {
                        return p;
                    }
                }
                if depth == 0 {
                    return parse_prefix_depth(after, depth + 1, memo);
                }
            }
        }
        Some(c) if c.is_ascii_digit() => {
            if let Some((civil, rest)) = parse_iso_datetime(line) {
                let (offset, rest) = parse_zone(rest);
                // macOS `2018-12-20 10:09:05.180218+0000`; fail2ban `,388`
                let time = Some(LineTime {
                    civil,
                    has_year: true,
                    offset,
                });
                let body = skip_spaces(rest);
                if body.starts_with(b"fail2ban.") {
                    return Prefix {
                        shape: Shape::Fail2banLog,
                        time,
                        host: None,
                        program: b"fail2ban",
                        pid: None,
                        msg: body,
                    };
                }
                if let Some(p) = parse_rfc5424(line) {
                    if !p.program.is_empty() && looks_like_5424_body(rest) {
                        return p;
                    }
                }
                return split_syslog_body(rest, time, depth, memo);
            }
            if let Some((civil, rest)) = parse_slash_datetime(line) {
                return Prefix {
                    shape: Shape::NginxError,
                    time: Some(LineTime {
                        civil,
                        has_year: true,
                        offset: None,
                    }),
                    host: None,
                    program: b"nginx",
                    pid: None,
                    msg: skip_spaces(rest),
                };
            }
            if let Some(p) = parse_access(line) {
                return p;
            }
        }
        Some(b'A'..=b'Z') => {
            if let Some((time, rest)) = memo.bsd(line) {
                return split_syslog_body(rest, Some(time), depth, memo);
            }
        }
        Some(c) if c.is_ascii_hexdigit() || *c == b':' => {
            if let Some(p) = parse_access(line) {
                return p;
            }
        }
        _ => {}
    }
    split_syslog_body(line, None, depth, memo)
}

/// RFC 5424 without `<PRI>` (sysklogd): `TS HOST APP PROCID MSGID -|[SD] MSG`.
fn looks_like_5424_body(rest: &[u8]) -> bool {
    let rest = skip_spaces(rest);
    let (_host, rest) = token(rest);
    let (app, rest) = token(rest);
    let (procid, rest) = token(rest);
    let (msgid, rest) = token(rest);
    !app.ends_with(b":")
        && !procid.is_empty()
        && (procid == b"-" || procid.iter().all(u8::is_ascii_digit))
        && !msgid.is_empty()
        && (rest.starts_with(b"- ") || rest == b"-" || rest.starts_with(b"["))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Prefix<'_> {
        parse_prefix(line.as_bytes())
    }

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    #[test]
    fn remembered_timestamps_parse_like_fresh_ones() {
        let lines = [
            "Dec 10 06:55:46 h sshd[1]: x",
            "Dec 10 06:55:46.5 h sshd[1]: x",
            "Dec 10 06:55:46,12 h sshd[1]: x",
            "Dec 10 06:55:46.123 h sshd[1]: x",
            "Dec 10 06:55:46.1234 h sshd[1]: x",
            "Dec 10 06:55:46. h sshd[1]: x",
            "Dec 10 06:55:461 h sshd[1]: x",
            "Dec 10 06:55:46",
            "Dec 10 06:55:46 ",
            "Dec 10 06:55:4",
            "Dec  1 06:55:46 h sshd[1]: x",
            "Dec 1 06:55:46 h sshd[1]: x",
            "Dec 01 06:55:46 h sshd[1]: x",
            "Dec 10 06:55:47 h sshd[1]: x",
            "Dec 10 06:55:46h sshd[1]: x",
            "Dec 10 06:55:46.000000000000000000001 h sshd[1]: x",
        ];
        for a in lines {
            for b in lines {
                let mut memo = TimeMemo::default();
                parse_prefix_with(a.as_bytes(), &mut memo);
                assert_eq!(
                    parse_prefix_with(b.as_bytes(), &mut memo),
                    parse_prefix(b.as_bytes()),
                    "{a:?} then {b:?}"
                );
            }
        }
    }

    /// split_tag before its fast path for `prog[pid]`.
    fn split_tag_reference(t: &[u8]) -> (&[u8], Option<u32>) {
        let t = t.strip_suffix(b":").unwrap_or(t);
        if let [b'[', inner @ .., b']'] = t {
            return (inner, None);
        }
        if let Some(open) = t.iter().rposition(|&c| c == b'[') {
            if t.ends_with(b"]") {
                let pid = match crate::text::number(&t[open + 1..t.len() - 1]) {
                    Some((v, [])) => u32::try_from(v).ok(),
                    _ => None,
                };
                return (&t[..open], pid);
            }
        }
        (t, None)
    }

    #[test]
    fn tags_split_like_the_reference() {
        for t in [
            "sshd[1]:",
            "sshd[24200]:",
            "sshd[4294967295]",
            "sshd[4294967296]:",
            "sshd[1234567890123456789]",
            "sshd[12345678901234567890]",
            "sshd[]:",
            "sshd[x1]:",
            "[sshd]:",
            "[1]",
            "[]",
            "a[1][2]",
            "a[1]2]",
            "1]",
            "]",
            "sshd:",
            "sshd",
            "sshd-session[9]:",
            "su(pam_unix)[77]:",
        ] {
            assert_eq!(
                split_tag(t.as_bytes()),
                split_tag_reference(t.as_bytes()),
                "{t}"
            );
        }
    }

    #[test]
    fn the_fast_host_and_tag_equal_the_general_reading() {
        let hosts = [
            "h",
            "LabSZ",
            "a:",
            "a]",
            "[a]",
            "",
            "h.example.com",
            "1.2.3.4",
            "x[1]",
        ];
        let tags = [
            "sshd[1]:",
            "sshd[24200]:",
            "sshd[4294967296]:",
            "sshd[1234567890123456789]:",
            "sshd[12345678901234567890]:",
            "s[1]:",
            "[1]:",
            "[s[1]:",
            "[]:",
            "s[]:",
            "s[1]",
            "s[x]:",
            "s[[1]:",
            "s]1]:",
            "sshd:",
            "auth.info",
            "sshd[1]::",
            "s[1]2]:",
        ];
        let msgs = ["x y", "", " x", "[ID 1 auth.info] x", "kernel: [ 1.5]: x"];
        for h in hosts {
            for t in tags {
                for m in msgs {
                    for sep in [" ", "  "] {
                        let rest = format!("{h}{sep}{t} {m}");
                        let b = rest.as_bytes();
                        let fast = host_tag_fast(b).map(|(host, program, pid, msg)| Prefix {
                            shape: Shape::Syslog,
                            time: None,
                            host: Some(host),
                            program,
                            pid,
                            msg: strip_message_noise(msg),
                        });
                        let general = split_host_tag(b, None, 0, &mut TimeMemo::default());
                        if let Some(f) = fast {
                            assert_eq!(f, general, "{rest:?}");
                        }
                    }
                }
            }
        }
        // The usual line takes the fast path.
        assert!(host_tag_fast(b"LabSZ sshd[24200]: Failed").is_some());
    }

    #[test]
    fn month_names() {
        for a in 0..=255u8 {
            for b in b'A'..=b'z' {
                for c in [
                    b'a', b'b', b'c', b'g', b'l', b'n', b'p', b'r', b't', b'v', b'y', b'x',
                ] {
                    let name = [a, b, c];
                    let want = MONTHS
                        .iter()
                        .position(|m| **m == name)
                        .map(|i| i as u32 + 1);
                    assert_eq!(month_of(&name), want);
                }
            }
        }
        assert_eq!(month_of(b"Ja"), None);
        assert_eq!(month_of(b"Janu"), None);
    }

    #[test]
    fn classic_syslog() {
        let x = p("Feb 25 14:34:10 belka sshd[31602]: Failed password for x");
        assert_eq!(x.host, Some(&b"belka"[..]));
        assert_eq!(s(x.program), "sshd");
        assert_eq!(x.pid, Some(31602));
        assert_eq!(s(x.msg), "Failed password for x");
        let t = x.time.unwrap();
        assert_eq!((t.civil.month, t.civil.day, t.civil.hour), (2, 25, 14));
        assert!(!t.has_year);
        let x = p("Jul  3 14:59:17 host sshd-session[1571]: m");
        assert_eq!(s(x.program), "sshd-session");
        let x = p("Feb 7 16:01:07 linux-m899 sshd[5106]: m");
        assert_eq!(x.time.unwrap().civil.day, 7);
    }

    #[test]
    fn tags_without_host_or_colon() {
        let x = p("Mar  3 00:17:22 [sshd]: User root from 1.2.3.4 not allowed");
        assert_eq!((x.host, s(x.program)), (None, "sshd"));
        let x = p("Jun 25 23:53:34 [sshd] User root");
        assert_eq!((s(x.program), s(x.msg)), ("sshd", "User root"));
        let x = p("Nov 23 21:50:19 sshd[8148]: Disconnecting");
        assert_eq!((x.host, x.pid), (None, Some(8148)));
        let x = p("2020-05-29T11:28:56.058908+02:00 bastion sshd[20974] error: PAM: x");
        assert_eq!((s(x.program), s(x.msg)), ("sshd", "error: PAM: x"));
        assert_eq!(x.time.unwrap().offset, Some(7200));
        let x = p("Jun 20 02:18:39 vps auth.info sshd[13482]: Invalid user admin");
        assert_eq!((x.host, s(x.program)), (Some(&b"vps"[..]), "sshd"));
        let x = p("Jan  1 00:00:00 <10.5> foxtrot sshd[1234]: Invalid user admin");
        assert_eq!((x.host, s(x.program)), (Some(&b"foxtrot"[..]), "sshd"));
    }

    #[test]
    fn solaris_and_kernel_noise() {
        let x = p("Mar 29 05:59:23 dusky sshd[20878]: [ID 800047 auth.info] Failed k");
        assert_eq!(s(x.msg), "Failed k");
        let x = p("srv sshd[20878]: kernel:[  970.699396]: Failed k");
        assert_eq!((s(x.program), s(x.msg)), ("sshd", "Failed k"));
        let x = p("srv sshd[20879]: kernel: [  970.699397] Failed p");
        assert_eq!(s(x.msg), "Failed p");
    }

    #[test]
    fn rfc5424_with_and_without_pri() {
        let x = p("<38>1 2019-07-08T17:40:17.954167-04:00 h.example.com sshd 55555 - [timeQuality tzKnown=\"1\"][x@1 t=\"[b]\"] Failed unknown");
        assert_eq!(
            (s(x.program), x.pid, s(x.msg)),
            ("sshd", Some(55555), "Failed unknown")
        );
        let x = p("2022-02-24T21:00:42.021457+00:00 evse dropbear 6052 - - Bad password attempt");
        assert_eq!(
            (s(x.program), s(x.msg)),
            ("dropbear", "Bad password attempt")
        );
    }

    #[test]
    fn socklog_and_bare_messages() {
        let x =
            p("2015-05-27T04:31:28.10040 auth.info: May 27 04:31:28 sshd[30993]: Invalid user a");
        assert_eq!((s(x.program), s(x.msg)), ("sshd", "Invalid user a"));
        let x = p("2015-05-27T04:31:28.10040 auth.info: sshd[30993]:  Invalid user a");
        assert_eq!((s(x.program), s(x.msg)), ("sshd", "Invalid user a"));
        let x = p("2018-06-26 13:22:02.108781500 Failed password for woold from 1.2.3.4");
        assert_eq!(
            (s(x.program), s(x.msg)),
            ("", "Failed password for woold from 1.2.3.4")
        );
        let x = p("Invalid user inexu from 6.6.6.0");
        assert_eq!(
            (x.time, s(x.msg)),
            (None, "Invalid user inexu from 6.6.6.0")
        );
    }

    #[test]
    fn nginx_and_fail2ban_shapes() {
        let x = p("2015/10/29 20:01:02 [error] 256554#0: *99927 limiting requests");
        assert_eq!(
            (x.shape, s(x.msg)),
            (
                Shape::NginxError,
                "[error] 256554#0: *99927 limiting requests"
            )
        );
        let x = p("12.34.56.78 - - [20/Jan/2015:19:53:28 +0100] \"GET / HTTP/1.1\" 404 47");
        assert_eq!(x.shape, Shape::NginxAccess);
        assert_eq!(x.time.unwrap().offset, Some(3600));
        let x = p("2006-02-13 15:52:30,388 fail2ban.actions: NOTICE [sendmail] Ban 1.2.3.4");
        assert_eq!(x.shape, Shape::Fail2banLog);
        assert_eq!(x.time.unwrap().civil.micros, 388_000);
    }

    #[test]
    fn garbage_never_panics() {
        for line in [
            "",
            "<",
            "<1",
            "<12>1 ",
            "2024-",
            "Jan",
            "Jan 1",
            "[",
            "a[",
            ":",
            "1.2 - [",
            "\u{0}\u{ff}",
        ] {
            let _ = p(line);
        }
    }
}
