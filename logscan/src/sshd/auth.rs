//! Login attempts: failed and accepted authentications, unknown and
//! refused users, PAM's sshd lines, and the disconnects that end an attempt.

use super::{fail_all, user_from, ALL_MODES, NO_MODES};
use crate::address::host;
use crate::classify::{Classified, Rule};
use crate::event::Kind;
use crate::text::{
    find, find_all, number, port, rfind, sshd_tail, sshd_tail_prefix, token, trim_end,
};

/// `Failed METHOD for [invalid user ]USER from HOST [port N] [ssh2][: INFO]`.
///
/// sshd writes the user name (client text, up to 100 bytes, any bytes)
/// before the address and, for keys, daemon text after `: `. fail2ban's rule
/// accepts a space-free user followed by `: INFO`, or else a user without
/// `:` with nothing containing ` from ` after the address; this reproduces
/// exactly that, so `for x from 10.0.0.1 from 192.0.2.1 port 1 ssh2` blames
/// 192.0.2.1 and `for test from 192.0.2.1 port 1 ssh2: from 10.0.0.1` blames
/// 192.0.2.1.
pub(super) fn failed(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Failed ")?;
    let (method, rest) = token(rest);
    let body = rest.strip_prefix(b" for ")?;
    // The candidates of `body` are read once for both uses below (up to
    // eight ` from `; more, and they are read again as needed).
    let mut found = [None; 8];
    let mut n = 0;
    let mut all = true;
    for c in candidates(body) {
        if n == found.len() {
            all = false;
            break;
        }
        found[n] = Some(c);
        n += 1;
    }
    let known = all.then(|| &found[..n]);
    let (user, ip, port, info, invalid) = failed_parse(body, known)?;
    // fail2ban may read `invalid user X` as the user name; report X.
    let user = user.strip_prefix(b"invalid user ").unwrap_or(user);
    let nofail = if method == b"publickey" && !invalid {
        ALL_MODES // gh-1263: a user trying several keys is not an attacker
    } else {
        NO_MODES
    };
    let mut c = Classified::new(
        Kind::AuthFailure,
        Rule::sshd(ALL_MODES, nofail, NO_MODES, false),
    )
    .ip(Some(ip))
    .port(port)
    .user(Some(user))
    .method(Some(method))
    .detail(info);
    // `for test from A port 1 ssh2: from B port 2 ssh2` reads as user `test`
    // from A with info `from B ...` (fail2ban's reading), or as a user named
    // `test from A port 1 ssh2:` from B. Keep B: if the connection already
    // logged B (`Invalid user ... from B`), B is the address.
    let alt = match known {
        Some(found) => found
            .iter()
            .flatten()
            .rev()
            .find(|c| trim_end(c.rest).is_empty())
            .map(|c| c.ip),
        None => last_plain_candidate(body),
    };
    c.alt_ip = alt.filter(|alt| *alt != ip);
    Some(c)
}

/// The last ` from HOST[ port N][ sshN]` that ends the line.
fn last_plain_candidate(body: &[u8]) -> Option<&[u8]> {
    candidates(body)
        .filter(|c| trim_end(c.rest).is_empty())
        .last()
        .map(|c| c.ip)
}

#[derive(Clone, Copy)]
struct Candidate<'a> {
    user: &'a [u8],
    ip: &'a [u8],
    port: Option<u16>,
    rest: &'a [u8],
}

/// Every ` from HOST[ port N][ on A][ sshN]` in `b`, with the user before it
/// and the text after it, first to last.
fn candidates(b: &[u8]) -> impl Iterator<Item = Candidate<'_>> {
    // A user may be empty (`for invalid user  from`): `b` then starts with `from `.
    let empty_user = b.starts_with(b"from ").then_some(usize::MAX);
    empty_user
        .into_iter()
        .chain(find_all(b, b" from "))
        .filter_map(move |at| {
            let (user, after) = if at == usize::MAX {
                (&b[..0], &b[5..])
            } else {
                (&b[..at], &b[at + 6..])
            };
            let (tok, _) = token(after);
            let (ip, after_host) = match host(tok) {
                Some(h) => (h, &after[tok.len()..]),
                None => {
                    let h = tok.strip_suffix(b":").and_then(host)?;
                    (h, &after[tok.len() - 1..])
                }
            };
            let (port, r) = sshd_tail_prefix(after_host);
            let r = match r.strip_prefix(b" ssh") {
                Some(x) => {
                    let n = x.iter().take_while(|c| c.is_ascii_digit()).count();
                    &x[n..]
                }
                None => r,
            };
            Some(Candidate {
                user,
                ip,
                port,
                rest: r,
            })
        })
}

type FailedParts<'a> = (&'a [u8], &'a [u8], Option<u16>, Option<&'a [u8]>, bool);

fn colon_ok(c: &Candidate<'_>) -> bool {
    !c.user.is_empty() && !c.user.iter().any(u8::is_ascii_whitespace) && c.rest.starts_with(b": ")
}

fn end_ok(c: &Candidate<'_>) -> bool {
    find(c.rest, b" from ").is_none()
}

fn parts<'a>(c: &Candidate<'a>, invalid: bool) -> FailedParts<'a> {
    let info = c.rest.strip_prefix(b": ").map(trim_end);
    (c.user, c.ip, c.port, info, invalid)
}

/// The alternatives of fail2ban's rule, in the order its regex tries them.
/// `known`: all of `candidates(body)`, when the caller has them.
fn failed_parse<'a>(
    body: &'a [u8],
    known: Option<&[Option<Candidate<'a>>]>,
) -> Option<FailedParts<'a>> {
    if let Some(ib) = body.strip_prefix(b"invalid user ") {
        let mut first = None;
        // The candidates of `ib` are those of `body` (the same ` from `
        // and all after it) with `invalid user ` cut from the user: the
        // one at offset 12 of `body` is `ib`'s empty user (`from ` first).
        let mut from_known;
        let mut from_scan;
        let ib_candidates: &mut dyn Iterator<Item = Candidate<'a>> = match known {
            Some(found) => {
                from_known = found.iter().flatten().map(|c| Candidate {
                    user: c.user.get(13..).unwrap_or(&ib[..0]),
                    ..*c
                });
                &mut from_known
            }
            None => {
                from_scan = candidates(ib);
                &mut from_scan
            }
        };
        for (i, c) in ib_candidates.enumerate() {
            if colon_ok(&c) {
                return Some(parts(&c, true));
            }
            if i == 0 {
                first = Some(c);
            }
        }
        if let Some(c) = first.filter(end_ok) {
            return Some(parts(&c, true));
        }
    }
    let mut last_end = None;
    let mut from_known;
    let mut from_scan;
    let body_candidates: &mut dyn Iterator<Item = Candidate<'a>> = match known {
        Some(found) => {
            from_known = found.iter().flatten().copied();
            &mut from_known
        }
        None => {
            from_scan = candidates(body);
            &mut from_scan
        }
    };
    for (i, c) in body_candidates.enumerate() {
        if i == 0 && colon_ok(&c) {
            return Some(parts(&c, false));
        }
        if !c.user.is_empty() && !c.user.contains(&b':') && end_ok(&c) {
            last_end = Some(c);
        }
    }
    last_end.map(|c| parts(&c, false))
}

/// `Accepted METHOD for USER from HOST port N ssh2[: KEY]`: a login is for a
/// real account, so the user is one token and the address follows it.
pub(super) fn accepted(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Accepted ")?;
    let (method, rest) = token(rest);
    if method.is_empty()
        || !method
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-' || *c == b'/')
    {
        return None;
    }
    let rest = rest.strip_prefix(b" for ")?;
    let (user, rest) = token(rest);
    let rest = rest.strip_prefix(b" from ")?;
    let (tok, after) = token(rest);
    let ip = host(tok)?;
    let (port, after) = sshd_tail_prefix(after);
    let key = after
        .strip_prefix(b" ssh2: ")
        .map(trim_end)
        .filter(|k| !k.is_empty());
    Some(
        Classified::new(
            Kind::AuthSuccess,
            Rule::sshd(ALL_MODES, ALL_MODES, ALL_MODES, true),
        )
        .ip(Some(ip))
        .port(port)
        .user(Some(user))
        .method(Some(method))
        .detail(key),
    )
}

/// `[aA]uthentication (failure|error|failed) for USER from HOST[ via X]` (PAM
/// errors of sshd).
pub(super) fn pam_auth_error(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m
        .strip_prefix(b"Authentication ")
        .or_else(|| m.strip_prefix(b"authentication "))?;
    let rest = rest
        .strip_prefix(b"failure for ")
        .or_else(|| rest.strip_prefix(b"error for "))
        .or_else(|| rest.strip_prefix(b"failed for "))?;
    // ` via ADDR` (macOS) after the address is daemon text.
    let core = trim_end(rest);
    let core = match rfind(core, b" via ") {
        Some(v) if !core[v + 5..].contains(&b' ') => &core[..v],
        _ => core,
    };
    let (user, ip, port) = user_from(core, false)?;
    let user = user.strip_prefix(b"illegal user ").unwrap_or(user);
    Some(
        Classified::new(Kind::AuthFailure, fail_all())
            .ip(Some(ip))
            .port(port)
            .user(Some(user))
            .method(Some(b"keyboard-interactive/pam")),
    )
}

/// `User not known to the underlying authentication module for [illegal user ]U from H`.
pub(super) fn user_not_known(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"User not known to the underlying authentication module for ")?;
    let (user, ip, port) = user_from(rest, false)?;
    Some(
        Classified::new(Kind::InvalidUser, fail_all())
            .ip(Some(ip))
            .port(port)
            .user(Some(user.strip_prefix(b"illegal user ").unwrap_or(user))),
    )
}

/// `unknown user for illegal user U from H` (PAM on some systems).
pub(super) fn unknown_user(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"unknown user for ")?;
    let (user, ip, port) = user_from(rest, false)?;
    Some(
        Classified::new(Kind::InvalidUser, fail_all())
            .ip(Some(ip))
            .port(port)
            .user(Some(user.strip_prefix(b"illegal user ").unwrap_or(user))),
    )
}

/// `Invalid user U from H [port N]` (also `Illegal`, lower case).
pub(super) fn invalid_user(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m
        .strip_prefix(b"Invalid user ")
        .or_else(|| m.strip_prefix(b"invalid user "))
        .or_else(|| m.strip_prefix(b"Illegal user "))
        .or_else(|| m.strip_prefix(b"illegal user "))?;
    // The user may be empty: `Invalid user  from H`.
    let (user, ip, port) = user_from(rest, false)?;
    Some(
        Classified::new(Kind::InvalidUser, fail_all())
            .ip(Some(ip))
            .port(port)
            .user(Some(user)),
    )
}

/// `input_userauth_request: invalid user U [preauth]` (no address).
pub(super) fn invalid_user_request(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"input_userauth_request: invalid user ")?;
    let user = trim_end(rest);
    let user = user.strip_suffix(b" [preauth]").unwrap_or(user);
    Some(Classified::new(Kind::InvalidUserRequest, Rule::NONE).user(Some(user)))
}

/// `User U from H not allowed because REASON` and
/// `User U not allowed because account is locked`.
pub(super) fn user_not_allowed(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"User ")?;
    let at = rfind(rest, b" not allowed because ")?;
    let reason = trim_end(&rest[at + 21..]);
    let reason = reason.strip_suffix(b" [preauth]").unwrap_or(reason);
    let head = &rest[..at];
    // The address is the token right before the reason, after ` from `.
    if let Some(f) = rfind(head, b" from ") {
        let tok = &head[f + 6..];
        if let Some(ip) = host(tok) {
            return Some(
                Classified::new(Kind::UserNotAllowed, fail_all())
                    .ip(Some(ip))
                    .user(Some(&head[..f]))
                    .detail(Some(reason)),
            );
        }
    }
    if reason == b"account is locked" {
        // No address: fail2ban holds the failure until the connection's
        // address appears (see crate::connection).
        return Some(
            Classified::new(Kind::UserNotAllowed, fail_all())
                .user(Some(head))
                .detail(Some(reason)),
        );
    }
    None
}

/// `ROOT LOGIN REFUSED [...] FROM H [port N] [[preauth]]`.
pub(super) fn root_login_refused(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"ROOT LOGIN REFUSED")?;
    let at = rfind(rest, b" FROM ")?;
    let (tok, after) = token(&rest[at + 6..]);
    let ip = host(tok)?;
    let port = sshd_tail(after, false)?;
    Some(
        Classified::new(Kind::RootLoginRefused, fail_all())
            .ip(Some(ip))
            .port(port)
            .user(Some(b"root")),
    )
}

/// tcp_wrappers: `refused connect from NAME (ADDR)`.
pub(super) fn refused_connect(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"refused connect from ")?;
    let (_name, after) = token(rest);
    let inner = trim_end(after).strip_prefix(b" (")?;
    let inner = inner.strip_suffix(b")")?;
    let ip = host(inner)?;
    Some(Classified::new(Kind::RefusedConnect, fail_all()).ip(Some(ip)))
}

/// `pam_X(sshd:auth): authentication failure; ... ruser=R rhost=H [user=U]`
/// and sshd's session lines.
pub(super) fn pam_sshd(m: &[u8]) -> Option<Classified<'_>> {
    let pam = crate::pam::classify(m)?;
    if pam.kind == Kind::PamAuthFailure {
        // Only `pam_X(sshd:auth):` is fail2ban's sshd helper rule.
        // (pam_unix's own text, the usual case, is checked first)
        let is_sshd_auth = m.starts_with(b"pam_unix(sshd:auth):")
            || (m.starts_with(b"pam_") && find(&m[..m.len().min(40)], b"(sshd:auth):").is_some());
        let rule = if is_sshd_auth && pam.ip.is_some() {
            Rule::sshd(ALL_MODES, ALL_MODES, NO_MODES, false)
        } else {
            Rule::NONE
        };
        return Some(Classified { rule, ..pam });
    }
    Some(Classified {
        rule: Rule::NONE,
        ..pam
    })
}

/// `PAM 2 more authentication failures; ... rhost=H` and
/// `PAM service(sshd) ignoring max retries; 6 > 3`.
pub(super) fn pam_summary(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"PAM ")?;
    if rest.starts_with(b"service(") && find(rest, b") ignoring max retries; ").is_some() {
        return Some(Classified::new(Kind::PamMaxRetries, Rule::NONE));
    }
    let (n, rest) = number(rest)?;
    if !(rest.starts_with(b" more authentication failure")) {
        return None;
    }
    let (ip, user) = crate::pam::rhost_user(rest)?;
    let mut c = Classified::new(Kind::PamMoreFailures, Rule::NONE)
        .ip(ip)
        .user(user);
    c.count = u32::try_from(n).unwrap_or(u32::MAX);
    Some(c)
}

pub(super) fn postponed(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Postponed ")?;
    let (method, rest) = token(rest);
    let rest = rest.strip_prefix(b" for ")?;
    let (user, rest) = token(rest);
    let rest = rest.strip_prefix(b" from ")?;
    let (tok, after) = token(rest);
    let ip = host(tok)?;
    let port = sshd_tail(after, true)?;
    Some(
        Classified::new(Kind::AuthPostponed, Rule::NONE)
            .ip(Some(ip))
            .port(port)
            .user(Some(user))
            .method(Some(method)),
    )
}

/// `maximum authentication attempts exceeded for [invalid user ]U from H port N ssh2 [preauth]`.
pub(super) fn max_auth(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"maximum authentication attempts exceeded for ")?;
    let (user, ip, port) = user_from(rest, true)?;
    Some(
        Classified::new(Kind::MaxAuthExceeded, fail_all())
            .ip(Some(ip))
            .port(port)
            .user(Some(user.strip_prefix(b"invalid user ").unwrap_or(user))),
    )
}

/// `Disconnecting: Too many authentication failures[ for U]` (no address),
/// `Disconnecting {invalid|authenticating} user U H port N: REASON`.
pub(super) fn disconnecting(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Disconnecting")?;
    if let Some(r) = rest.strip_prefix(b": Too many authentication failures") {
        let r = trim_end(r);
        let r = r.strip_suffix(b" [preauth]").unwrap_or(r);
        let user = r.strip_prefix(b" for ");
        return Some(Classified::new(Kind::MaxAuthExceeded, fail_all()).user(user));
    }
    let rest = rest.strip_prefix(b" from").unwrap_or(rest);
    let rest = rest
        .strip_prefix(b" invalid user ")
        .or_else(|| rest.strip_prefix(b" authenticating user "))?;
    const CHANGE: &[u8] = b": Change of username or service not allowed: ";
    const TOO_MANY: &[u8] = b": Too many authentication failures";
    // The reason repeats the first user name: `(U,ssh-connection) -> ...`.
    for at in find_all(rest, CHANGE) {
        if let Some((user, ip, port)) = user_host_port(&rest[..at]) {
            let tail = &rest[at + CHANGE.len()..];
            let consistent = tail
                .strip_prefix(b"(")
                .is_some_and(|t| t.starts_with(user) && t.get(user.len()) == Some(&b','));
            if consistent {
                return Some(
                    Classified::new(
                        Kind::ChangeOfUser,
                        Rule::sshd(ALL_MODES, NO_MODES, ALL_MODES, false),
                    )
                    .ip(Some(ip))
                    .port(port)
                    .user(Some(user)),
                );
            }
        }
    }
    let at = rfind(rest, TOO_MANY)?;
    let tail = trim_end(&rest[at + TOO_MANY.len()..]);
    if !(tail.is_empty() || tail == b" [preauth]") {
        return None;
    }
    let (user, ip, port) = user_host_port(&rest[..at])?;
    Some(
        Classified::new(
            Kind::MaxAuthExceeded,
            Rule::sshd(ALL_MODES, ALL_MODES, NO_MODES, false),
        )
        .ip(Some(ip))
        .port(port)
        .user(Some(user)),
    )
}

/// `U H port N` (the user may contain spaces; H and N are the last tokens).
fn user_host_port(b: &[u8]) -> Option<(&[u8], &[u8], Option<u16>)> {
    let p = rfind(b, b" port ")?;
    let port = port(&b[p + 6..])?;
    let head = &b[..p];
    let sp = crate::text::rbyte(b' ', head)?;
    let ip = host(&head[sp + 1..])?;
    Some((&head[..sp], ip, Some(port)))
}
