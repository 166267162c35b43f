//! The remote address of a message: which tokens may be one, and the small
//! normalisations that keep one host one key (an IPv4-mapped `::ffff:1.2.3.4`
//! is `1.2.3.4`; an IPv6 zone `%eth0` and brackets are dropped).
//!
//! Like fail2ban's `<HOST>`, a host is an IPv4 or IPv6 address or a DNS name
//! (what sshd writes with `UseDNS yes`). Nothing here searches a message for
//! an address: classifiers decide *where* the daemon wrote it, this module
//! only checks that the token there is one.

fn is_ipv4(t: &[u8]) -> bool {
    // Four runs of one to three digits joined by single dots, checked on
    // the whole token at once: per-byte masks of dots and of non-digits,
    // gathered into bit masks.
    let n = t.len();
    if !(7..=15).contains(&n) {
        return false;
    }
    let (w0, w1) = if n >= 8 {
        let tail = if n == 8 {
            0
        } else {
            word(&t[n - 8..]) >> (8 * (16 - n))
        };
        (word(&t[..8]), tail)
    } else {
        (half(&t[..4]) | half(&t[3..7]) << 24, 0)
    };
    let dots = gather(equal_to(w0, b'.')) | gather(equal_to(w1, b'.')) << 8;
    let other = gather(not_digit(w0)) | gather(not_digit(w1)) << 8;
    let within = (1u32 << n) - 1;
    let dots = dots & within;
    if other & !dots & within != 0 || dots.count_ones() != 3 {
        return false;
    }
    let p1 = dots.trailing_zeros();
    let rest = dots & (dots - 1);
    let p2 = rest.trailing_zeros();
    let p3 = (rest & (rest - 1)).trailing_zeros();
    (1..=3).contains(&p1)
        && (2..=4).contains(&(p2 - p1))
        && (2..=4).contains(&(p3 - p2))
        && (1..=3).contains(&(n as u32 - 1 - p3))
}

const HIGH: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = !HIGH;

fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(b);
    u64::from_le_bytes(w)
}

fn half(b: &[u8]) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(b);
    u64::from(u32::from_le_bytes(w))
}

/// The high bit of each byte of `w` equal to `c`.
fn equal_to(w: u64, c: u8) -> u64 {
    let x = w ^ (u64::from(c) * 0x0101_0101_0101_0101);
    !(((x & LOW7) + LOW7) | x) & HIGH
}

/// The high bit of each byte of `w` that is not an ASCII digit.
fn not_digit(w: u64) -> u64 {
    let x = w ^ 0x3030_3030_3030_3030;
    // A byte is a digit when x is 0..=9: adding 0x76 to its low seven bits
    // sets the high bit exactly when they reach 10.
    (((x & LOW7) + 0x7676_7676_7676_7676) | x) & HIGH
}

/// Byte i's high bit to bit i.
fn gather(m: u64) -> u32 {
    ((m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32
}

fn is_ipv6(t: &[u8]) -> bool {
    t.len() >= 2
        && t.len() <= 45
        && crate::text::byte(b':', t).is_some()
        && std::str::from_utf8(t).is_ok_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok())
}

fn is_dns_name(t: &[u8]) -> bool {
    !t.is_empty()
        && t.len() <= 253
        && t.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
        && t.last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The host in `token`, normalised, or None when the token is not one.
pub fn host(token: &[u8]) -> Option<&[u8]> {
    // The common case first: a plain IPv4 address.
    if token.first().is_some_and(u8::is_ascii_digit) && is_ipv4(token) {
        return Some(token);
    }
    if token.last() == Some(&b':') && token.get(token.len().wrapping_sub(2)) != Some(&b':') {
        return None; // `1.2.3.4:` or `a::1:`: a colon of the message follows
    }
    let mut t = token;
    if let [b'[', inner @ .., b']'] = t {
        t = inner;
    }
    if let Some(pct) = crate::text::byte(b'%', t) {
        let (addr, zone) = (&t[..pct], &t[pct + 1..]);
        if is_ipv6(addr)
            && !zone.is_empty()
            && zone
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
        {
            return Some(addr);
        }
        return None;
    }
    for prefix in [&b"::ffff:"[..], b"::FFFF:"] {
        if let Some(v4) = t.strip_prefix(prefix) {
            if is_ipv4(v4) {
                return Some(v4);
            }
        }
    }
    let first = *t.first()?;
    if first.is_ascii_digit() && is_ipv4(t) {
        return Some(t);
    }
    if is_ipv6(t) || is_dns_name(t) {
        Some(t)
    } else {
        None
    }
}

/// True when the text is a literal IP address (not a DNS name).
pub fn is_ip_literal(t: &[u8]) -> bool {
    is_ipv4(t) || is_ipv6(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_addresses_and_names_exactly_as_written() {
        assert_eq!(host(b"192.0.2.1"), Some(&b"192.0.2.1"[..]));
        assert_eq!(host(b"192.030.0.6"), Some(&b"192.030.0.6"[..]));
        assert_eq!(
            host(b"aaaa:bbbb:cccc:1234::1:1"),
            Some(&b"aaaa:bbbb:cccc:1234::1:1"[..])
        );
        assert_eq!(host(b"example.com"), Some(&b"example.com"[..]));
        assert_eq!(host(b"::ffff:1.2.3.4"), Some(&b"1.2.3.4"[..]));
        assert_eq!(host(b"2001:db8::1%eth0"), Some(&b"2001:db8::1"[..]));
        assert_eq!(host(b"[::1]"), Some(&b"::1"[..]));
    }

    /// is_ipv4 before it tested whole words.
    fn is_ipv4_reference(t: &[u8]) -> bool {
        let (mut dots, mut run) = (0, 0);
        for &c in t {
            if c.is_ascii_digit() {
                run += 1;
                if run > 3 {
                    return false;
                }
            } else if c == b'.' && run > 0 {
                dots += 1;
                run = 0;
            } else {
                return false;
            }
        }
        dots == 3 && run > 0
    }

    #[test]
    fn ipv4_by_words_equals_the_reference() {
        for m in 0..256u64 {
            let w = (0..8).fold(0u64, |w, i| w | ((m >> i) & 1) << (8 * i + 7));
            assert_eq!(gather(w), m as u32);
        }
        // Every string of length 0..=16 over a small alphabet, sampled.
        let alphabet = [b'1', b'.', b'0', b'9', b'a', b':', b'/', 0x80, b'.', b'5'];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..=17 {
            for _ in 0..20_000 {
                let t: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        alphabet[(state % alphabet.len() as u64) as usize]
                    })
                    .collect();
                assert_eq!(is_ipv4(&t), is_ipv4_reference(&t), "{t:?}");
            }
        }
        for t in [
            "1.2.3.4",
            "255.255.255.255",
            "1.2.3.",
            ".1.2.3",
            "1..2.3",
            "1.2.3.4.5",
            "1234.1.1.1",
            "1.1.1.1234",
            "192.030.0.6",
            "1.2.3.4 ",
            "01.2.3.4",
        ] {
            assert_eq!(
                is_ipv4(t.as_bytes()),
                is_ipv4_reference(t.as_bytes()),
                "{t}"
            );
        }
        // Every combination of runs of 0 to 4 digits, three to five runs.
        for runs in 3..=5u32 {
            for code in 0..5u32.pow(runs) {
                let parts: Vec<String> = (0..runs)
                    .map(|i| "7".repeat((code / 5u32.pow(i) % 5) as usize))
                    .collect();
                let t = parts.join(".");
                assert_eq!(
                    is_ipv4(t.as_bytes()),
                    is_ipv4_reference(t.as_bytes()),
                    "{t}"
                );
            }
        }
        // Every byte value in every position of a valid address.
        let base = *b"123.45.6.78";
        for i in 0..base.len() {
            for b in 0..=255u8 {
                let mut t = base;
                t[i] = b;
                assert_eq!(is_ipv4(&t), is_ipv4_reference(&t), "{t:?}");
            }
        }
    }

    #[test]
    fn rejects_what_is_not_a_host() {
        for t in [
            &b""[..],
            b"a b",
            b"1.2.3.4:",
            b"2001:db8::1:",
            b":::",
            b"(x)",
            b"-",
            b"x%y",
            b"user@host",
            b"\"q\"",
        ] {
            assert_eq!(host(t), None, "{:?}", String::from_utf8_lossy(t));
        }
    }
}
