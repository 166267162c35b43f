//! The remote address of a message: which tokens may be one, and the small
//! normalisations that keep one host one key (an IPv4-mapped `::ffff:1.2.3.4`
//! is `1.2.3.4`; an IPv6 zone `%eth0` and brackets are dropped).
//!
//! Like fail2ban's `<HOST>`, a host is an IPv4 or IPv6 address or a DNS name
//! (what sshd writes with `UseDNS yes`). Nothing here searches a message for
//! an address: classifiers decide *where* the daemon wrote it, this module
//! only checks that the token there is one.

fn is_ipv4(t: &[u8]) -> bool {
    // Four groups of 1-3 digits (leading zeros allowed, as sshd may print them).
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
