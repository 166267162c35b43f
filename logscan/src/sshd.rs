//! sshd's messages (OpenSSH 6 to 10, including `sshd-session`), each matched
//! by hand and anchored where the daemon writes the address: the address is
//! the token after the *last* ` from ` that is followed only by text sshd
//! itself writes (` port N`, ` ssh2`, ` [preauth]`), never a `from` inside a
//! user name a client chose. The fail2ban rule each message corresponds to
//! (and in which modes) is recorded in its [`Rule`], so the per-connection
//! logic in [`crate::connection`] can reproduce fail2ban's verdicts.

use crate::address::host;
use crate::classify::{Classified, Rule, AGGRESSIVE, ALL_MODES, DDOS, EXTRA, NORMAL, NO_MODES};
use crate::event::Kind;
use crate::text::{
    find, find_all, number, port, rfind, sshd_tail, sshd_tail_prefix, token, trim_end,
};

const DDOS_MODES: u8 = DDOS | AGGRESSIVE;
const EXTRA_MODES: u8 = EXTRA | AGGRESSIVE;

fn fail_all() -> Rule {
    Rule::sshd(ALL_MODES, NO_MODES, NO_MODES, false)
}

/// Strip sshd's `error: `, `fatal: ` (and `PAM: ` after them).
fn strip_level(msg: &[u8]) -> &[u8] {
    for p in [&b"error: "[..], b"fatal: "] {
        if let Some(rest) = msg.strip_prefix(p) {
            return rest.strip_prefix(b"PAM: ").unwrap_or(rest);
        }
    }
    msg
}

/// `message repeated N times: [ MSG]` (rsyslog's reduction): the inner
/// message and N.
fn unwrap_repeated(msg: &[u8]) -> (&[u8], u32) {
    if let Some(rest) = msg.strip_prefix(b"message repeated ") {
        if let Some((n, rest)) = number(rest) {
            if let Some(inner) = rest.strip_prefix(b" times: [") {
                let inner = trim_end(inner);
                let inner = inner.strip_suffix(b"]").unwrap_or(inner);
                let inner = crate::text::trim_start(trim_end(inner));
                return (inner, u32::try_from(n).unwrap_or(u32::MAX));
            }
        }
    }
    (msg, 1)
}

pub fn classify(msg: &[u8]) -> Option<Classified<'_>> {
    let (inner, count) = unwrap_repeated(msg);
    let mut c = classify_one(strip_level(inner))?;
    c.count = count;
    Some(c)
}

fn classify_one(m: &[u8]) -> Option<Classified<'_>> {
    match m.first()? {
        b'F' => failed(m),
        b'A' => accepted(m)
            .or_else(|| pam_auth_error(m))
            .or_else(|| address_maps(m)),
        b'a' => pam_auth_error(m),
        b'I' | b'i' => invalid_user(m).or_else(|| invalid_user_request(m)),
        b'U' => user_not_allowed(m)
            .or_else(|| user_not_known(m))
            .or_else(|| unable_to_negotiate(m)),
        b'u' => unknown_user(m),
        b'R' => root_login_refused(m)
            .or_else(|| received_disconnect(m))
            .or_else(|| read_failed(m)),
        b'r' => refused_connect(m).or_else(|| reverse_mapping(m)),
        b'p' => pam_sshd(m),
        b'P' => pam_summary(m).or_else(|| postponed(m)),
        b'm' => max_auth(m),
        b'D' => disconnecting(m)
            .or_else(|| closed(m))
            .or_else(|| no_ident(m)),
        b'C' => closed(m).or_else(|| connection_from(m)),
        b'k' => kex_ident(m),
        b'B' => bad_protocol(m),
        b'S' => ssh_audit(m),
        b'W' => write_failed(m),
        b'b' => banner_exchange(m),
        b's' => dispatch_fatal(m),
        b'T' => timeout(m),
        b'n' => no_matching(m),
        b'd' => penalty_drop(m),
        _ => None,
    }
}

/// `Failed METHOD for [invalid user ]USER from HOST [port N] [ssh2][: INFO]`.
///
/// sshd writes the user name (client text, up to 100 bytes, any bytes)
/// before the address and, for keys, daemon text after `: `. fail2ban's rule
/// accepts a space-free user followed by `: INFO`, or else a user without
/// `:` with nothing containing ` from ` after the address; this reproduces
/// exactly that, so `for x from 10.0.0.1 from 192.0.2.1 port 1 ssh2` blames
/// 192.0.2.1 and `for test from 192.0.2.1 port 1 ssh2: from 10.0.0.1` blames
/// 192.0.2.1.
fn failed(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Failed ")?;
    let (method, rest) = token(rest);
    let body = rest.strip_prefix(b" for ")?;
    let (user, ip, port, info, invalid) = failed_parse(body)?;
    // fail2ban may read `invalid user X` as the user name; report X.
    let user = user.strip_prefix(b"invalid user ").unwrap_or(user);
    let nofail = if method == b"publickey" && !invalid {
        ALL_MODES // gh-1263: a user trying several keys is not an attacker
    } else {
        NO_MODES
    };
    Some(
        Classified::new(
            Kind::AuthFailure,
            Rule::sshd(ALL_MODES, nofail, NO_MODES, false),
        )
        .ip(Some(ip))
        .port(port)
        .user(Some(user))
        .method(Some(method))
        .detail(info),
    )
}

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
fn failed_parse(body: &[u8]) -> Option<FailedParts<'_>> {
    if let Some(ib) = body.strip_prefix(b"invalid user ") {
        let mut first = None;
        for (i, c) in candidates(ib).enumerate() {
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
    for (i, c) in candidates(body).enumerate() {
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
fn accepted(m: &[u8]) -> Option<Classified<'_>> {
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

/// `USER from HOST[ tail]` where the user may be empty or contain ` from `:
/// the last ` from ` whose address is followed only by sshd's own tail.
fn user_from(rest: &[u8], allow_ssh: bool) -> Option<(&[u8], &[u8], Option<u16>)> {
    let mut found = None;
    let empty_user = rest.starts_with(b"from ").then_some(usize::MAX);
    for at in empty_user.into_iter().chain(find_all(rest, b" from ")) {
        let (user, after) = if at == usize::MAX {
            (&rest[..0], &rest[5..])
        } else {
            (&rest[..at], &rest[at + 6..])
        };
        let (tok, tail) = token(after);
        if let Some(h) = host(tok) {
            if let Some(port) = sshd_tail(tail, allow_ssh) {
                found = Some((user, h, port));
            }
        }
    }
    found
}

/// `[aA]uthentication (failure|error|failed) for USER from HOST[ via X]` (PAM
/// errors of sshd).
fn pam_auth_error(m: &[u8]) -> Option<Classified<'_>> {
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
fn user_not_known(m: &[u8]) -> Option<Classified<'_>> {
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
fn unknown_user(m: &[u8]) -> Option<Classified<'_>> {
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
fn invalid_user(m: &[u8]) -> Option<Classified<'_>> {
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
fn invalid_user_request(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"input_userauth_request: invalid user ")?;
    let user = trim_end(rest);
    let user = user.strip_suffix(b" [preauth]").unwrap_or(user);
    Some(Classified::new(Kind::InvalidUserRequest, Rule::NONE).user(Some(user)))
}

/// `User U from H not allowed because REASON` and
/// `User U not allowed because account is locked`.
fn user_not_allowed(m: &[u8]) -> Option<Classified<'_>> {
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
fn root_login_refused(m: &[u8]) -> Option<Classified<'_>> {
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
fn refused_connect(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"refused connect from ")?;
    let (_name, after) = token(rest);
    let inner = trim_end(after).strip_prefix(b" (")?;
    let inner = inner.strip_suffix(b")")?;
    let ip = host(inner)?;
    Some(Classified::new(Kind::RefusedConnect, fail_all()).ip(Some(ip)))
}

/// `Received disconnect from H [port N]:CODE: TEXT`.
fn received_disconnect(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Received disconnect from ")?;
    let (tok, _) = token(rest);
    let (ip, after) = match host(tok) {
        Some(h) => (h, &rest[tok.len()..]),
        None => {
            let colon = memchr::memchr(b':', rest)?;
            // `H:` or IPv6 `a::1:` - take up to the colon that precedes the code.
            let mut cut = None;
            for (i, _) in rest.iter().enumerate().filter(|(_, &c)| c == b':') {
                let after = crate::text::trim_start(&rest[i + 1..]);
                if number(after).is_some_and(|(_, r)| r.starts_with(b":"))
                    && host(&rest[..i]).is_some()
                {
                    cut = Some(i);
                    break;
                }
            }
            let i = cut.unwrap_or(colon);
            (host(&rest[..i])?, &rest[i..])
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

/// `pam_X(sshd:auth): authentication failure; ... ruser=R rhost=H [user=U]`
/// and sshd's session lines.
fn pam_sshd(m: &[u8]) -> Option<Classified<'_>> {
    let pam = crate::pam::classify(m)?;
    if pam.kind == Kind::PamAuthFailure {
        // Only `pam_X(sshd:auth):` is fail2ban's sshd helper rule.
        let is_sshd_auth =
            m.starts_with(b"pam_") && find(&m[..m.len().min(40)], b"(sshd:auth):").is_some();
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
fn pam_summary(m: &[u8]) -> Option<Classified<'_>> {
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

fn postponed(m: &[u8]) -> Option<Classified<'_>> {
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
fn max_auth(m: &[u8]) -> Option<Classified<'_>> {
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
fn disconnecting(m: &[u8]) -> Option<Classified<'_>> {
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
    let sp = memchr::memrchr(b' ', head)?;
    let ip = host(&head[sp + 1..])?;
    Some((&head[..sp], ip, Some(port)))
}

/// `Connection closed by [invalid|authenticating user U ]H [port N] [[preauth]]`,
/// `Connection reset by ...`, `Disconnected from ...`.
fn closed(m: &[u8]) -> Option<Classified<'_>> {
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
    while let Some(sp) = memchr::memrchr(b' ', core) {
        let last = &core[sp + 1..];
        let Some(sp2) = memchr::memrchr(b' ', &core[..sp]) else {
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
    let (user_part, tok) = match memchr::memrchr(b' ', core) {
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
fn connection_from(m: &[u8]) -> Option<Classified<'_>> {
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
fn no_ident(m: &[u8]) -> Option<Classified<'_>> {
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
fn kex_ident(m: &[u8]) -> Option<Classified<'_>> {
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
fn bad_protocol(m: &[u8]) -> Option<Classified<'_>> {
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
fn ssh_audit(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"SSH: Server;Ltype: ")?;
    let rest = rest
        .strip_prefix(b"Authname;Remote: ")
        .or_else(|| rest.strip_prefix(b"Version;Remote: "))
        .or_else(|| rest.strip_prefix(b"Kex;Remote: "))?;
    let semi = memchr::memchr(b';', rest)?;
    let remote = &rest[..semi];
    let dash = memchr::memrchr(b'-', remote)?;
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
fn read_failed(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Read from socket failed: ")?;
    let rule = if rest.starts_with(b"Connection reset by peer") {
        Rule::sshd(DDOS_MODES, NO_MODES, DDOS_MODES, false)
    } else {
        Rule::NONE
    };
    Some(Classified::new(Kind::ProtocolError, rule).detail(Some(trim_end(rest))))
}

fn write_failed(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Write failed: ")?;
    Some(Classified::new(Kind::ProtocolError, Rule::NONE).detail(Some(trim_end(rest))))
}

/// `banner exchange: Connection from H port N: invalid format`.
fn banner_exchange(m: &[u8]) -> Option<Classified<'_>> {
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
fn dispatch_fatal(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"ssh_dispatch_run_fatal: Connection from ")?;
    let rest = rest
        .strip_prefix(b"authenticating user ")
        .or_else(|| rest.strip_prefix(b"invalid user "))
        .map_or(rest, |r| {
            // user then address: address is before ` port N: `
            let p = find(r, b" port ").unwrap_or(0);
            let sp = memchr::memrchr(b' ', &r[..p]).map_or(0, |s| s + 1);
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
fn timeout(m: &[u8]) -> Option<Classified<'_>> {
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
fn unable_to_negotiate(m: &[u8]) -> Option<Classified<'_>> {
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
fn no_matching(m: &[u8]) -> Option<Classified<'_>> {
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
fn penalty_drop(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"drop connection #")?;
    let (_, rest) = number(rest)?;
    let rest = rest.strip_prefix(b" from [")?;
    let close = memchr::memchr(b']', rest)?;
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
fn reverse_mapping(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"reverse mapping checking getaddrinfo for ")?;
    let end = rfind(rest, b"] failed")?;
    let open = memchr::memrchr(b'[', &rest[..end])?;
    let ip = host(&rest[open + 1..end])?;
    Some(Classified::new(Kind::ReverseMapping, Rule::NONE).ip(Some(ip)))
}

/// `Address H maps to NAME, but this does not map back to the address ...`.
fn address_maps(m: &[u8]) -> Option<Classified<'_>> {
    let rest = m.strip_prefix(b"Address ")?;
    let (tok, after) = token(rest);
    let ip = host(tok)?;
    after.strip_prefix(b" maps to ")?;
    Some(Classified::new(Kind::ReverseMapping, Rule::NONE).ip(Some(ip)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(msg: &str) -> Classified<'_> {
        classify(msg.as_bytes()).unwrap_or_else(|| panic!("not understood: {msg}"))
    }

    fn ip(msg: &str) -> String {
        String::from_utf8_lossy(c(msg).ip.unwrap()).into_owned()
    }

    #[test]
    fn failed_password_variants() {
        let x = c("Failed password for invalid user ROOT from 194.117.26.69 port 50273 ssh2");
        assert_eq!(x.user, Some(&b"ROOT"[..]));
        assert_eq!(x.port, Some(50273));
        assert_eq!(
            ip("Failed password for root from 192.0.2.1 port 56502 ssh2"),
            "192.0.2.1"
        );
        assert_eq!(
            ip("Failed password for invalid user ROOT from aaaa:bbbb:cccc:1234::1:1"),
            "aaaa:bbbb:cccc:1234::1:1"
        );
        assert_eq!(ip("Failed keyboard-interactive for <invalid username> from 205.186.180.55 port 42742 ssh2"), "205.186.180.55");
        let x = c("Failed publickey for git from 192.0.2.1 port 57904 ssh2: ECDSA 0e:ff:xx");
        assert_eq!(x.rule.nofail, ALL_MODES);
        assert_eq!(x.detail, Some(&b"ECDSA 0e:ff:xx"[..]));
    }

    #[test]
    fn injection_in_user_names_blames_the_real_address() {
        assert_eq!(
            ip("Failed password for invalid user from 10.10.1.1 from 127.0.0.1 port 58946 ssh2"),
            "127.0.0.1"
        );
        assert_eq!(ip("Failed password for invalid user test from 10.10.1.2 port 55555 ssh2 from 127.0.0.1 port 58946 ssh2"), "127.0.0.1");
        assert_eq!(ip("Failed password for invalid user test from 127.0.0.1 port 58946 ssh2: from 10.10.1.2 port 55555 ssh2"), "127.0.0.1");
        assert_eq!(
            ip("Failed password for user from 127.0.0.1 port 20000 ssh1: ruser from 1.2.3.4"),
            "127.0.0.1"
        );
        assert_eq!(
            ip("Invalid user x from 6.6.6.6 port 1 from 192.0.2.9 port 2"),
            "192.0.2.9"
        );
        let x = c("Connection closed by authenticating user test 10.10.1.4 192.0.2.11 port 46039 [preauth]");
        assert_eq!(x.ip, Some(&b"192.0.2.11"[..]));
        assert_eq!(x.user, Some(&b"test 10.10.1.4"[..]));
        assert_eq!(ip("Connection closed by authenticating user test 127.0.0.1 port 12345 192.0.2.11 port 46039 [preauth]"), "192.0.2.11");
        assert_eq!(ip("User a from 6.6.6.6 not allowed because x from 192.0.2.3 not allowed because not listed in AllowUsers"), "192.0.2.3");
        assert_eq!(ip("Bad protocol version identification 'dummy string' from 192.0.2.1' from 69.61.56.115 port 31778"), "69.61.56.115");
    }

    #[test]
    fn repeated_messages_carry_their_count() {
        let x = c(
            "message repeated 5 times: [ Failed password for root from 183.62.140.253 port 44374]",
        );
        assert_eq!((x.count, x.kind), (5, Kind::AuthFailure));
        assert_eq!(x.ip, Some(&b"183.62.140.253"[..]));
    }

    #[test]
    fn accepted_logins() {
        let x = c("Accepted publickey for git from 192.0.2.1 port 57904 ssh2: DSA 36:48:xx");
        assert_eq!((x.kind, x.rule.gained), (Kind::AuthSuccess, true));
        assert_eq!(x.method, Some(&b"publickey"[..]));
        assert_eq!(x.detail, Some(&b"DSA 36:48:xx"[..]));
        assert!(classify(b"Accepted password for a b from 1.2.3.4 port 1 ssh2").is_none());
    }

    #[test]
    fn disconnect_codes() {
        assert_eq!(
            c("Received disconnect from 198.51.100.76 port 58846:11: Bye Bye [preauth]")
                .rule
                .nofail,
            ALL_MODES
        );
        assert_eq!(c("Received disconnect from 2001:db8::a11:beef:7ac0: 3: com.jcraft.jsch.JSchException: Auth fail [preauth]").kind, Kind::AuthFailDisconnect);
        assert_eq!(ip("Received disconnect from 2001:db8::a11:beef:7ac0: 3: com.jcraft.jsch.JSchException: Auth fail [preauth]"), "2001:db8::a11:beef:7ac0");
        assert_eq!(c("Received disconnect from 192.168.2.92 port 1684:14: No supported authentication methods available [preauth]").kind, Kind::NoAuthMethods);
    }

    #[test]
    fn messages_without_an_address_have_none() {
        assert_eq!(
            c("Disconnecting: Too many authentication failures for root [preauth]").ip,
            None
        );
        assert_eq!(
            c("error: kex_exchange_identification: Connection closed by remote host").ip,
            None
        );
        assert_eq!(
            c("User root not allowed because account is locked").ip,
            None
        );
    }
}
