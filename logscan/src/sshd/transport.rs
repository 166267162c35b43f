//! The connection around a login: opened, closed, reset, disconnected,
//! timed out, failed key exchange or protocol, and address lookups; most
//! count only in fail2ban's ddos, extra and aggressive modes.

use super::{ALL_MODES, DDOS_MODES, EXTRA_MODES, NORMAL, NO_MODES};
use crate::address::host;
use crate::classify::{Classified, Rule, EXTRA};
use crate::event::Kind;
use crate::text::{find, number, port, rfind, sshd_tail, sshd_tail_prefix, token, trim_end};

/// `Received disconnect from H [port N]:CODE: TEXT`.
pub(super) fn received_disconnect(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Received disconnect from ")?;
    let (tok, _) = token(rest);
    let (ip, after) = match host(tok) {
        Some(h) => (h, &rest[tok.len()..]),
        None => {
            let colon = crate::text::byte(b':', rest)?;
            // `H:` or IPv6 `a::1:` - take up to the colon that precedes the code.
            let mut cut = None;
            let mut from = colon;
            while let Some(off) = crate::text::byte(b':', &rest[from..]) {
                let i = from + off;
                let after = crate::text::trim_start(&rest[i + 1..]);
                if number(after).is_some_and(|(_, r)| r.starts_with(b":")) {
                    if let Some(h) = host(&rest[..i]) {
                        cut = Some((h, i));
                        break;
                    }
                }
                from = i + 1;
            }
            match cut {
                Some((h, i)) => (h, &rest[i..]),
                None => (host(&rest[..colon])?, &rest[colon..]),
            }
        }
    };
    let (port, after) = sshd_tail_prefix(after);
    let after = after.strip_prefix(b":")?;
    let (code, text) = number(crate::text::trim_start(after))?;
    let text = text.strip_prefix(b":").unwrap_or(text);
    let text = trim_end(crate::text::trim_start(text));
    let c = Classified::new(Kind::ClientDisconnect, Rule::NONE)
        .ip(Some(ip))
        .port(port)
        .detail(Some(text));
    Some(match code {
        3 if text.ends_with(b"Auth fail") || text.ends_with(b"Auth fail [preauth]") => Classified {
            kind: Kind::AuthFailDisconnect,
            rule: Rule::sshd(ALL_MODES, NO_MODES, ALL_MODES, false),
            ..c
        },
        11 => Classified {
            rule: Rule::sshd(ALL_MODES, ALL_MODES, ALL_MODES, false),
            ..c
        },
        14 => {
            // fail2ban's extra mode counts only these two texts.
            let counted = text.starts_with(b"No supported authentication methods available")
                || text.starts_with(b"No authentication methods available");
            Classified {
                kind: Kind::NoAuthMethods,
                rule: if counted {
                    Rule::sshd(EXTRA_MODES, NO_MODES, EXTRA_MODES, false)
                } else {
                    Rule::NONE
                },
                ..c
            }
        }
        _ => c,
    })
}

/// `Connection closed by [invalid|authenticating user U ]H [port N] [[preauth]]`,
/// `Connection reset by ...`, `Disconnected from ...`.
pub(super) fn closed(m: &[u8]) -> Option<Classified<'_>> {
    let (verb, rest) = if let Some(r) = m.strip_prefix(b"Connection closed by ") {
        (0, r)
    } else if let Some(r) = m.strip_prefix(b"Connection reset by ") {
        (1, r)
    } else if let Some(r) = m.strip_prefix(b"Disconnected from ") {
        (2, r)
    } else {
        return None;
    };
    let body = trim_end(rest);
    let (body, preauth) = match body.strip_suffix(b" [preauth]") {
        Some(b) => (trim_end(b), true),
        None => (body, false),
    };
    // Peel ` port N` / ` on X` off the end, then the address is the last token.
    let mut core = body;
    let mut port_seen = None;
    while let Some(sp) = crate::text::rbyte(b' ', core) {
        let last = &core[sp + 1..];
        let Some(sp2) = crate::text::rbyte(b' ', &core[..sp]) else {
            break;
        };
        let word = &core[sp2 + 1..sp];
        if word == b"port" && last.iter().all(u8::is_ascii_digit) && !last.is_empty() {
            port_seen = port(last);
            core = &core[..sp2];
        } else if word == b"on" && !last.is_empty() && host(last).is_some() && sp2 > 0 {
            core = &core[..sp2];
        } else {
            break;
        }
    }
    let (user_part, tok) = match crate::text::rbyte(b' ', core) {
        Some(sp) => (Some(&core[..sp]), &core[sp + 1..]),
        None => (None, core),
    };
    let ip = host(tok)?;
    let (user, user_kind) = match user_part {
        None => (None, 0),
        Some(u) => {
            if let Some(x) = u.strip_prefix(b"invalid user ") {
                (Some(x), 1)
            } else if let Some(x) = u.strip_prefix(b"authenticating user ") {
                (Some(x), 1)
            } else if u == b"invalid user" || u == b"authenticating user" {
                (Some(&b""[..]), 1)
            } else if let Some(x) = u.strip_prefix(b"user ") {
                (Some(x), 2)
            } else {
                return None;
            }
        }
    };
    // fail2ban: normal mode remembers the address (nofail) and ends the
    // connection; ddos/aggressive count a close during preauth; extra counts
    // only `Disconnected from {invalid|authenticating} user ... [preauth]`.
    let rule = if user_kind == 2 {
        Rule::NONE
    } else if preauth {
        let extra = if verb == 2 && user_kind == 1 {
            EXTRA
        } else {
            NO_MODES
        };
        let matched = NORMAL | DDOS_MODES | extra;
        Rule::sshd(matched, NORMAL, matched, false)
    } else {
        let matched = NORMAL | DDOS_MODES;
        Rule::sshd(matched, matched, matched, false)
    };
    let kind = if preauth {
        Kind::PreauthDisconnect
    } else {
        Kind::ConnectionClosed
    };
    Some(
        Classified::new(kind, rule)
            .ip(Some(ip))
            .port(port_seen)
            .user(user),
    )
}

/// `Connection from H port N on A port P [rdomain "..."]` (LogLevel VERBOSE).
pub(super) fn connection_from(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Connection from ")?;
    let (tok, after) = token(rest);
    let ip = host(tok)?;
    let (port, _) = sshd_tail_prefix(after);
    Some(
        Classified::new(
            Kind::ConnectionOpen,
            Rule::sshd(ALL_MODES, ALL_MODES, NO_MODES, false),
        )
        .ip(Some(ip))
        .port(port),
    )
}

/// `Did not receive identification string from H [port N]`.
pub(super) fn no_ident(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Did not receive identification string from ")?;
    let (tok, after) = token(rest);
    let ip = host(tok)?;
    let port = sshd_tail(after, false)?;
    Some(
        Classified::new(
            Kind::NoIdentification,
            Rule::sshd(DDOS_MODES, NO_MODES, NO_MODES, false),
        )
        .ip(Some(ip))
        .port(port),
    )
}

/// `kex_exchange_identification: ...` (no address; fail2ban ties it to the
/// connection's `Connection from` or its closing line).
pub(super) fn kex_ident(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"kex_exchange_identification: ")?;
    let r = rest.strip_prefix(b"read: ").unwrap_or(rest);
    let scan = r.starts_with(b"client sent invalid protocol identifier")
        || r.starts_with(b"Client sent invalid protocol identifier")
        || r.starts_with(b"Connection closed by remote host")
        || r.starts_with(b"connection closed by remote host")
        || r.starts_with(b"Connection reset by peer")
        || r.starts_with(b"connection reset by peer");
    let rule = if scan {
        Rule::sshd(DDOS_MODES, NO_MODES, NO_MODES, false)
    } else {
        Rule::NONE
    };
    Some(Classified::new(Kind::NoIdentification, rule).detail(Some(trim_end(rest))))
}

/// `Bad protocol version identification '...' from H [port N]` (the quoted
/// text is the client's; the address is after the last `' from `).
pub(super) fn bad_protocol(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Bad protocol version identification ")?;
    let at = rfind(rest, b" from ")?;
    let (tok, after) = token(&rest[at + 6..]);
    let ip = host(tok)?;
    let port = sshd_tail(after, false)?;
    Some(
        Classified::new(
            Kind::BadProtocol,
            Rule::sshd(DDOS_MODES, NO_MODES, NO_MODES, false),
        )
        .ip(Some(ip))
        .port(port),
    )
}

/// `SSH: Server;Ltype: Version;Remote: H-PORT;...` (some patched sshd builds).
pub(super) fn ssh_audit(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"SSH: Server;Ltype: ")?;
    let rest = rest
        .strip_prefix(b"Authname;Remote: ")
        .or_else(|| rest.strip_prefix(b"Version;Remote: "))
        .or_else(|| rest.strip_prefix(b"Kex;Remote: "))?;
    let semi = crate::text::byte(b';', rest)?;
    let remote = &rest[..semi];
    let dash = crate::text::rbyte(b'-', remote)?;
    let ip = host(&remote[..dash])?;
    let port = port(&remote[dash + 1..])?;
    Some(
        Classified::new(
            Kind::ConnectionOpen,
            Rule::sshd(DDOS_MODES, DDOS_MODES, NO_MODES, false),
        )
        .ip(Some(ip))
        .port(Some(port)),
    )
}

/// `Read from socket failed: Connection reset by peer [preauth]`.
pub(super) fn read_failed(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Read from socket failed: ")?;
    let rule = if rest.starts_with(b"Connection reset by peer") {
        Rule::sshd(DDOS_MODES, NO_MODES, DDOS_MODES, false)
    } else {
        Rule::NONE
    };
    Some(Classified::new(Kind::ProtocolError, rule).detail(Some(trim_end(rest))))
}

/// `Read error from remote host H port N: Connection reset by peer`
/// (OpenSSH before 6.x; the same event as `Read from socket failed`).
pub(super) fn read_error(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Read error from remote host ")?;
    let (tok, after) = token(rest);
    let ip = host(tok)?;
    let (port, after) = sshd_tail_prefix(after);
    let reason = trim_end(after.strip_prefix(b": ")?);
    let rule = if reason == b"Connection reset by peer" {
        Rule::sshd(DDOS_MODES, NO_MODES, DDOS_MODES, false)
    } else {
        Rule::NONE
    };
    let mut c = Classified::new(Kind::ProtocolError, rule)
        .ip(Some(ip))
        .detail(Some(reason));
    c.port = port;
    Some(c)
}

pub(super) fn write_failed(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Write failed: ")?;
    Some(Classified::new(Kind::ProtocolError, Rule::NONE).detail(Some(trim_end(rest))))
}

/// `banner exchange: Connection from H port N: invalid format`.
pub(super) fn banner_exchange(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"banner exchange: Connection from ")?;
    let (tok, after) = token(rest);
    let ip = host(tok)?;
    let (port, after) = sshd_tail_prefix(after);
    let reason = after.strip_prefix(b": ")?;
    let rule = if trim_end(reason) == b"invalid format" {
        Rule::sshd(DDOS_MODES, NO_MODES, NO_MODES, false)
    } else {
        Rule::NONE
    };
    Some(
        Classified::new(Kind::BadProtocol, rule)
            .ip(Some(ip))
            .port(port)
            .detail(Some(trim_end(reason))),
    )
}

/// `ssh_dispatch_run_fatal: Connection from H port N: REASON [preauth]`.
pub(super) fn dispatch_fatal(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"ssh_dispatch_run_fatal: Connection from ")?;
    let rest = rest
        .strip_prefix(b"authenticating user ")
        .or_else(|| rest.strip_prefix(b"invalid user "))
        .map_or(rest, |r| {
            // user then address: address is before ` port N: `
            let p = find(r, b" port ").unwrap_or(0);
            let sp = crate::text::rbyte(b' ', &r[..p]).map_or(0, |s| s + 1);
            &r[sp..]
        });
    let (tok, after) = token(rest);
    let ip = host(tok)?;
    let (port, after) = sshd_tail_prefix(after);
    let reason = trim_end(after.strip_prefix(b": ")?);
    let preauth = reason.ends_with(b" [preauth]");
    let core = reason.strip_suffix(b" [preauth]").unwrap_or(reason);
    let scan = preauth
        && (core == b"message authentication code incorrect"
            || core == b"Connection corrupted"
            || core == b"connection corrupted");
    let rule = if scan {
        Rule::sshd(DDOS_MODES, NO_MODES, NO_MODES, false)
    } else {
        Rule::NONE
    };
    Some(
        Classified::new(Kind::ProtocolError, rule)
            .ip(Some(ip))
            .port(port)
            .detail(Some(core)),
    )
}

/// `Timeout before authentication for [connection from ]H ...`.
pub(super) fn timeout(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Timeout before authentication for ")?;
    let rest = rest.strip_prefix(b"connection from ").unwrap_or(rest);
    let (tok, after) = token(rest);
    let ip = host(tok)?;
    let (port, _) = sshd_tail_prefix(after);
    Some(
        Classified::new(
            Kind::LoginTimeout,
            Rule::sshd(DDOS_MODES, NO_MODES, NO_MODES, false),
        )
        .ip(Some(ip))
        .port(port),
    )
}

fn alg_match(b: &[u8]) -> bool {
    // `no matching <1-3 words> found`: the words are sshd's algorithm class.
    let words = b.split(|&c| c == b' ').count();
    (1..=3).contains(&words)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b' ' || *c == b'_')
}

/// `Unable to negotiate with H port N: no matching X found. Their offer: ...`,
/// `Unable to negotiate a X`.
pub(super) fn unable_to_negotiate(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Unable to negotiate ")?;
    if let Some(r) = rest.strip_prefix(b"with ") {
        let (tok, after) = token(r);
        let ip = host(tok).or_else(|| tok.strip_suffix(b":").and_then(host))?;
        let after = if host(tok).is_none() {
            &r[tok.len() - 1..]
        } else {
            after
        };
        let (port, after) = sshd_tail_prefix(after);
        let reason = after.strip_prefix(b": ")?;
        let matching = reason
            .strip_prefix(b"no matching ")
            .and_then(|x| find(x, b" found.").map(|e| &x[..e]))
            .is_some_and(alg_match);
        let rule = if matching {
            Rule::sshd(EXTRA_MODES, NO_MODES, NO_MODES, false)
        } else {
            Rule::NONE
        };
        return Some(
            Classified::new(Kind::NegotiationFailure, rule)
                .ip(Some(ip))
                .port(port)
                .detail(Some(trim_end(reason))),
        );
    }
    let r = rest.strip_prefix(b"a ")?;
    Some(
        Classified::new(
            Kind::NegotiationFailure,
            Rule::sshd(EXTRA_MODES, NO_MODES, NO_MODES, false),
        )
        .detail(Some(trim_end(r))),
    )
}

/// `no matching mac found: client ... server ...` (older OpenSSH; no address).
pub(super) fn no_matching(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"no matching ")?;
    let end = find(rest, b" found:")?;
    if !alg_match(&rest[..end]) {
        return None;
    }
    Some(
        Classified::new(
            Kind::NegotiationFailure,
            Rule::sshd(EXTRA_MODES, NO_MODES, NO_MODES, false),
        )
        .detail(Some(trim_end(m))),
    )
}

/// OpenSSH 9.8+ penalties: `drop connection #0 from [H]:P on [A]:22 penalty: REASON`.
pub(super) fn penalty_drop(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"drop connection #")?;
    let (_, rest) = number(rest)?;
    let rest = rest.strip_prefix(b" from [")?;
    let close = crate::text::byte(b']', rest)?;
    let ip = host(&rest[..close])?;
    let after = rest[close + 1..].strip_prefix(b":")?;
    let (p, after) = number(after)?;
    let reason_at = find(after, b" penalty: ")?;
    Some(
        Classified::new(
            Kind::PenaltyDrop,
            Rule::sshd(DDOS_MODES, NO_MODES, NO_MODES, false),
        )
        .ip(Some(ip))
        .port(u16::try_from(p).ok())
        .detail(Some(trim_end(&after[reason_at + 10..]))),
    )
}

/// `reverse mapping checking getaddrinfo for NAME [H] failed - POSSIBLE BREAK-IN ATTEMPT!`
pub(super) fn reverse_mapping(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"reverse mapping checking getaddrinfo for ")?;
    let end = rfind(rest, b"] failed")?;
    let open = crate::text::rbyte(b'[', &rest[..end])?;
    let ip = host(&rest[open + 1..end])?;
    Some(Classified::new(Kind::ReverseMapping, Rule::NONE).ip(Some(ip)))
}

/// `Address H maps to NAME, but this does not map back to the address ...`.
pub(super) fn address_maps(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Address ")?;
    let (tok, after) = token(rest);
    let ip = host(tok)?;
    after.strip_prefix(b" maps to ")?;
    Some(Classified::new(Kind::ReverseMapping, Rule::NONE).ip(Some(ip)))
}
