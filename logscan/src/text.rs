//! Byte-string helpers for the hand-anchored matchers.

//! The needles are short literals and the haystacks one log line, so a
//! search looks for the needle's first non-space byte with memchr and
//! compares; building a memmem searcher per call would cost more.

/// The offset of the byte to look for first: spaces are everywhere in a line.
fn anchor(needle: &[u8]) -> usize {
    needle.iter().position(|&c| c != b' ').unwrap_or(0)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

#[inline(always)]
fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

/// The high bit of each byte of `w` that equals the byte repeated in
/// `pattern` (exact per byte, no carries between bytes).
#[inline(always)]
fn equal_bytes(w: u64, pattern: u64) -> u64 {
    let x = w ^ pattern;
    !(((x & !HIGH) + !HIGH) | x) & HIGH
}

/// How far [`byte`] and [`rbyte`] look a word at a time before handing a
/// long haystack to memchr.
const INLINE: usize = 128;

/// The first position of byte `c` in `hay`. Most searches end within a few
/// dozen bytes (a token, a tag, a field of a message), where testing a word
/// at a time beats memchr's call and setup; longer ones go to memchr.
#[inline]
pub fn byte(c: u8, hay: &[u8]) -> Option<usize> {
    let pattern = ONES * u64::from(c);
    let n = hay.len().min(INLINE);
    let mut i = 0;
    while i + 8 <= n {
        let m = equal_bytes(word(&hay[i..]), pattern);
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while i < n {
        if hay[i] == c {
            return Some(i);
        }
        i += 1;
    }
    if hay.len() > n {
        memchr::memchr(c, &hay[n..]).map(|p| p + n)
    } else {
        None
    }
}

/// The last position of byte `c` in `hay` (see [`byte`]).
#[inline]
pub fn rbyte(c: u8, hay: &[u8]) -> Option<usize> {
    let pattern = ONES * u64::from(c);
    let stop = hay.len().saturating_sub(INLINE);
    let mut end = hay.len();
    while end >= stop + 8 {
        let m = equal_bytes(word(&hay[end - 8..]), pattern);
        if m != 0 {
            return Some(end - 1 - (m.leading_zeros() / 8) as usize);
        }
        end -= 8;
    }
    while end > stop {
        end -= 1;
        if hay[end] == c {
            return Some(end);
        }
    }
    if stop > 0 {
        memchr::memrchr(c, &hay[..stop])
    } else {
        None
    }
}

/// Whether two short byte strings are equal, compared a word at a time.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        if n >= 4 {
            let half = |s: &[u8]| {
                let mut w = [0u8; 4];
                w.copy_from_slice(&s[..4]);
                u32::from_le_bytes(w)
            };
            return half(a) == half(b) && half(&a[n - 4..]) == half(&b[n - 4..]);
        }
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut i = 0;
    while i + 8 <= n {
        if word(&a[i..]) != word(&b[i..]) {
            return false;
        }
        i += 8;
    }
    word(&a[n - 8..]) == word(&b[n - 8..])
}

/// The first position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    find_all(hay, needle).next()
}

/// The last position of `needle` in `hay`.
pub fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    let k = anchor(needle);
    let mut limit = hay.len() - needle.len() + k + 1;
    while let Some(p) = rbyte(needle[k], &hay[..limit]) {
        if p < k {
            return None;
        }
        let s = p - k;
        if same(&hay[s..s + needle.len()], needle) {
            return Some(s);
        }
        limit = p;
    }
    None
}

/// Every position of `needle` in `hay`, first to last (overlaps included).
pub fn find_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> FindAll<'a> {
    let ok = !needle.is_empty() && needle.len() <= hay.len();
    let k = if ok { anchor(needle) } else { 0 };
    let limit = if ok {
        hay.len() - needle.len() + k + 1
    } else {
        0
    };
    FindAll {
        hay,
        needle,
        k,
        first: if ok { needle[k] } else { 0 },
        pos: 0,
        limit,
    }
}

/// The iterator of [`find_all`].
pub struct FindAll<'a> {
    hay: &'a [u8],
    needle: &'a [u8],
    /// The needle's anchor byte `first` is at offset `k` in it.
    k: usize,
    first: u8,
    /// Where the anchor byte is looked for next, and where it can end.
    pos: usize,
    limit: usize,
}

impl Iterator for FindAll<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.pos < self.limit {
            let Some(i) = byte(self.first, &self.hay[self.pos..self.limit]) else {
                self.pos = self.limit;
                return None;
            };
            let p = self.pos + i;
            self.pos = p + 1;
            if p >= self.k {
                let s = p - self.k;
                if same(&self.hay[s..s + self.needle.len()], self.needle) {
                    return Some(s);
                }
            }
        }
        None
    }
}

/// The text up to the first space, and the rest after it.
pub fn token(b: &[u8]) -> (&[u8], &[u8]) {
    match byte(b' ', b) {
        Some(i) => (&b[..i], &b[i..]),
        None => (b, &b[b.len()..]),
    }
}

pub fn trim_end(mut b: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t' | b'\r'] = b {
        b = rest;
    }
    b
}

pub fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| matches!(c, b' ' | b'\t')).count();
    &b[n..]
}

/// A decimal number at the start of `b` and the rest.
pub fn number(b: &[u8]) -> Option<(u64, &[u8])> {
    let mut v = 0u64;
    let mut n = 0;
    while let Some(&c) = b.get(n) {
        if !c.is_ascii_digit() {
            break;
        }
        if n == 19 {
            return None;
        }
        v = v * 10 + u64::from(c - b'0');
        n += 1;
    }
    if n == 0 {
        return None;
    }
    Some((v, &b[n..]))
}

/// A whole token that is a TCP port.
pub fn port(b: &[u8]) -> Option<u16> {
    match number(b) {
        Some((v, [])) => u16::try_from(v).ok(),
        _ => None,
    }
}

/// What sshd may write after an address: ` port N`, ` on ADDR [port N]`,
/// ` sshN`, ` [preauth]`, in any order, then spaces. Returns the port
/// written, when the whole of `rest` is such a tail.
pub fn sshd_tail(rest: &[u8], allow_ssh: bool) -> Option<Option<u16>> {
    let mut r = rest;
    let mut port_seen = None;
    loop {
        let t = trim_end(r);
        if t.is_empty() {
            return Some(port_seen);
        }
        if let Some(after) = r.strip_prefix(b" port ") {
            let (p, rest) = number(after)?;
            if port_seen.is_none() {
                port_seen = u16::try_from(p).ok();
            }
            r = rest;
        } else if let Some(after) = r.strip_prefix(b" on ") {
            let (tok, rest) = token(after);
            if tok.is_empty() {
                return None;
            }
            r = skip_local_port(rest);
        } else if let Some(after) = r.strip_prefix(b" [preauth]") {
            r = after;
        } else if allow_ssh && r.starts_with(b" ssh") {
            let after = &r[4..];
            let n = after.iter().take_while(|c| c.is_ascii_digit()).count();
            let after = &after[n..];
            if !(after.is_empty() || after.starts_with(b" ")) {
                return None;
            }
            r = after;
        } else {
            return None;
        }
    }
}

/// ` port N` after ` on ADDR` is the server's own port, not the client's.
fn skip_local_port(r: &[u8]) -> &[u8] {
    match r.strip_prefix(b" port ").and_then(number) {
        Some((_, rest)) => rest,
        None => r,
    }
}

/// Like [`sshd_tail`] but stops at the first text that is not part of the
/// tail grammar, returning the port and the remainder.
pub fn sshd_tail_prefix(rest: &[u8]) -> (Option<u16>, &[u8]) {
    let mut r = rest;
    let mut port_seen = None;
    loop {
        if let Some(after) = r.strip_prefix(b" port ") {
            match number(after) {
                Some((p, rest)) => {
                    if port_seen.is_none() {
                        port_seen = u16::try_from(p).ok();
                    }
                    r = rest;
                }
                None => return (port_seen, r),
            }
        } else if let Some(after) = r.strip_prefix(b" on ") {
            let (tok, rest) = token(after);
            if tok.is_empty() {
                return (port_seen, r);
            }
            r = skip_local_port(rest);
        } else {
            return (port_seen, r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searching() {
        assert_eq!(find(b"a from b from c", b" from "), Some(1));
        assert_eq!(rfind(b"a from b from c", b" from "), Some(8));
        assert_eq!(
            find_all(b"a from b from c", b" from ").collect::<Vec<_>>(),
            vec![1, 8]
        );
        assert_eq!(find(b"ab", b"abc"), None);
        assert_eq!(rfind(b"", b"x"), None);
        assert_eq!(find(b"   ", b"  "), Some(0));
        assert_eq!(rfind(b"   ", b"  "), Some(1));
        assert_eq!(find(b"xyz", b"z"), Some(2));
        assert_eq!(rfind(b"  a", b" a"), Some(1));
        assert_eq!(rfind(b"a from", b" from"), Some(1));
        assert_eq!(rfind(b"from", b" from"), None);
        // Past the inline head and tail of the byte search.
        let long = [&b"x"[..]; 40].concat();
        let hay = [&long[..], b" from ", &long[..], b" from ", &long[..]].concat();
        assert_eq!(find_all(&hay, b" from ").collect::<Vec<_>>(), vec![40, 86]);
        assert_eq!(rfind(&hay, b" from "), Some(86));
        for (a, b) in [
            (&b"abcdefghij"[..], &b"abcdefghij"[..]),
            (b"abcdefghij", b"abcdefghiJ"),
            (b"abcdefghij", b"Abcdefghij"),
            (b"abcdefghijklmnopq", b"abcdefghijklmnopQ"),
            (b"abc", b"abc"),
            (b"abc", b"abd"),
            (b"", b""),
        ] {
            assert_eq!(same(a, b), a == b);
        }
        let mut hay = hay;
        hay.extend_from_slice(&[b'x'; 300]);
        hay.extend_from_slice(b" from \x80\xff\x00\x7f");
        hay.extend_from_slice(&[b'y'; 150]);
        for i in 0..hay.len() {
            for c in [b' ', b'f', b'x', b'q', 0x80, 0xff, 0, 0x7f, 0x01, 0xfe] {
                assert_eq!(byte(c, &hay[i..]), hay[i..].iter().position(|&b| b == c));
                assert_eq!(rbyte(c, &hay[..i]), hay[..i].iter().rposition(|&b| b == c));
                assert_eq!(byte(c, &hay[..i]), hay[..i].iter().position(|&b| b == c));
                assert_eq!(rbyte(c, &hay[i..]), hay[i..].iter().rposition(|&b| b == c));
            }
        }
    }

    #[test]
    fn sshd_tails() {
        assert_eq!(sshd_tail(b"", true), Some(None));
        assert_eq!(sshd_tail(b" port 22 ssh2", true), Some(Some(22)));
        assert_eq!(sshd_tail(b" port 22 [preauth]  ", false), Some(Some(22)));
        assert_eq!(sshd_tail(b" on 10.0.0.1 port 22", false), Some(None));
        assert_eq!(sshd_tail(b" port 22 ssh2", false), None);
        assert_eq!(sshd_tail(b" from 1.2.3.4", true), None);
        assert_eq!(sshd_tail(b" port x", true), None);
        assert_eq!(sshd_tail_prefix(b" port 5: x"), (Some(5), &b": x"[..]));
    }
}
