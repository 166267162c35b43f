//! nginx: error-log messages (limit_req/limit_conn, basic-auth and PAM auth
//! failures, probes for well-known admin pages, TLS handshake garbage) and
//! access-log probes (404 on those pages).
//!
//! nginx writes `, client: ADDR, server: NAME, request: "...", host: "..."`
//! after the message, unescaped. The request line and headers are client
//! text, and the message may quote a user name, so either side of the real
//! `, client: ` may carry a fake one. The address is taken from nginx's fixed
//! position: right after its own message text. For an auth failure that is
//! the first `, client: ` after the user name, which never contains `:`
//! (nginx ends the user name at the first `:` of the credentials); a fake
//! tail in a referrer or request field comes later and is never used. A line
//! whose client text could put the address in more than one place (a missing
//! file, whose path comes from the URI) blames no one.

use crate::address::host;
use crate::classify::{Classified, Rule, AGGRESSIVE, ALL_MODES};
use crate::event::Kind;
use crate::format::{parse_slash_datetime, Shape};
use crate::text::{find, find_all, token, trim_end};

pub fn classify(shape: Shape, msg: &[u8]) -> Option<Classified<'_>> {
    match shape {
        Shape::NginxAccess => access(msg),
        _ => error(msg),
    }
}

/// Find `[level] PID#TID: ` (a journal line may put a date or `host nginx: `
/// before it) and return the level and the text after `*CID `.
fn error_head(msg: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut m = msg;
    for _ in 0..3 {
        if m.starts_with(b"[") {
            break;
        }
        if let Some((_, rest)) = parse_slash_datetime(m) {
            m = crate::text::trim_start(rest);
            continue;
        }
        // `host nginx: ` in front of the date (journal, gh-4071)
        let (_, rest) = token(m);
        m = crate::text::trim_start(rest);
    }
    let inner = m.strip_prefix(b"[")?;
    let close = crate::text::byte(b']', inner)?;
    let level = &inner[..close];
    if level.is_empty() || !level.iter().all(u8::is_ascii_lowercase) {
        return None;
    }
    let rest = inner[close + 1..].strip_prefix(b" ")?;
    let hash = crate::text::byte(b'#', rest)?;
    if hash == 0 || !rest[..hash].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let colon = crate::text::byte(b':', rest)?;
    let rest = rest[colon + 1..].strip_prefix(b" ")?;
    let rest = match rest.strip_prefix(b"*") {
        Some(r) => {
            let (_, after) = token(r);
            after.strip_prefix(b" ")?
        }
        None => rest,
    };
    Some((level, rest))
}

/// `, client: H,` right after nginx's own message text (limit and TLS
/// messages contain no client text before it).
fn first_client(m: &[u8]) -> Option<&[u8]> {
    let at = find(m, b", client: ")?;
    let rest = &m[at + 10..];
    let end = crate::text::byte(b',', rest).unwrap_or(rest.len());
    host(&rest[..end])
}

/// A header value nginx wrote between quotes: it runs to `"` followed by
/// `end`, has no space (fail2ban's `\S+`) and, for a host, no `/` (nginx
/// refuses a Host header with a slash).
fn host_value(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let inner = b.strip_prefix(b"\"")?;
    let close = find(inner, b"\", referrer: \"")
        .or_else(|| (trim_end(inner).ends_with(b"\"")).then(|| trim_end(inner).len() - 1))?;
    let v = &inner[..close];
    (!v.is_empty() && !v.contains(&b' ') && !v.contains(&b'/')).then_some((v, &inner[close + 1..]))
}

/// `H, server: S, request: "M U HTTP/x.y", host: "X"[, referrer: "R"]` to
/// the end of the line. The URI may hold `"` (nginx does not escape it);
/// the referrer is client text nginx does not escape:
/// anything up to the final `"`.
fn strict_tail(rest: &[u8]) -> Option<&[u8]> {
    let comma = crate::text::byte(b',', rest)?;
    let ip = host(&rest[..comma])?;
    let r = rest[comma..].strip_prefix(b", server: ")?;
    let (_server, r) = match crate::text::byte(b',', r) {
        Some(i) if !r[..i].contains(&b' ') => (&r[..i], &r[i..]),
        _ => return None,
    };
    let r = r.strip_prefix(b", request: \"")?;
    // `M U HTTP/x.y"`: the URI is client text and may hold `"`, never a
    // space, so the request runs to the second space and the protocol.
    let sp = crate::text::byte(b' ', r)?;
    let (m, after) = (&r[..sp], &r[sp + 1..]);
    let sp = crate::text::byte(b' ', after)?;
    let (u, after) = (&after[..sp], &after[sp + 1..]);
    let proto_end = crate::text::byte(b'"', after)?;
    let proto = &after[..proto_end];
    let version = proto.strip_prefix(b"HTTP/")?;
    if m.is_empty()
        || m.contains(&b'"')
        || u.is_empty()
        || version.is_empty()
        || !version.iter().all(|&c| c.is_ascii_digit() || c == b'.')
    {
        return None;
    }
    let r = after[proto_end + 1..].strip_prefix(b", host: ")?;
    let (_, r) = host_value(r)?;
    let r = match r.strip_prefix(b", referrer: \"") {
        Some(x) => {
            let x = trim_end(x);
            x.strip_suffix(b"\"").filter(|v| !v.is_empty())?;
            &[][..]
        }
        None => r,
    };
    trim_end(r).is_empty().then_some(ip)
}

/// `H, server: S, request: "` (what fail2ban's botsearch filter requires
/// after the address).
fn probe_tail(rest: &[u8]) -> Option<&[u8]> {
    let comma = crate::text::byte(b',', rest)?;
    let ip = host(&rest[..comma])?;
    let r = rest[comma..].strip_prefix(b", server: ")?;
    let i = crate::text::byte(b',', r)?;
    (!r[..i].contains(&b' ') && r[i..].starts_with(b", request: \"")).then_some(ip)
}

/// The user name of an auth failure whose message ends at `at` (where
/// `, client: ` follows), if nginx could have written it: `user "U":
/// password mismatch`, `user "U" was not found in "F"` (older nginx: `":
/// was not found`) or `PAM: user 'U' - not authenticated: E`.
fn auth_user(m: &[u8], at: usize) -> Option<&[u8]> {
    let head = &m[..at];
    if let Some(u) = head.strip_prefix(b"user \"") {
        if let Some(u) = u.strip_suffix(b"\": password mismatch") {
            return Some(u);
        }
        let f = u.strip_suffix(b"\"")?;
        let open = crate::text::rfind(f, b"was not found in \"")?;
        if f[open + 18..].contains(&b'"') {
            return None;
        }
        let u = &f[..open];
        return u.strip_suffix(b"\" ").or_else(|| u.strip_suffix(b"\": "));
    }
    let u = head.strip_prefix(b"PAM: user '")?;
    let e = find(u, b"' - not authenticated: ")?;
    Some(&u[..e])
}

/// The address and user of an auth failure: the `, client: ` right after a
/// user name nginx could have written (no `:`), with nginx's tail after it.
/// A line no nginx writes that way (a user name with `:`, fail2ban's
/// injection test) is read as fail2ban reads it, but only when a single
/// place in it could hold the address.
fn auth_client(m: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut only = None;
    let mut count = 0;
    for at in find_all(m, b", client: ") {
        let Some(user) = auth_user(m, at) else {
            continue;
        };
        let Some(ip) = strict_tail(&m[at + 10..]) else {
            continue;
        };
        if !user.contains(&b':') {
            return Some((ip, user));
        }
        count += 1;
        only = Some((ip, user));
    }
    (count == 1).then_some(only).flatten()
}

fn error(msg: &[u8]) -> Option<Classified<'_>> {
    let (level, m) = error_head(msg)?;
    if m.starts_with(b"limiting requests, excess: ") || m.starts_with(b"delaying request, excess: ")
    {
        let zone_ok = find(m, b" by zone \"").is_some();
        let ip = first_client(m)?;
        let rule = if zone_ok {
            Rule::fail(ALL_MODES)
        } else {
            Rule::NONE
        };
        return Some(Classified::new(Kind::NginxLimitReq, rule).ip(Some(ip)));
    }
    // fail2ban 1.1.0's nginx-forbidden: a request a `deny` rule refused.
    if m.starts_with(b"access forbidden by rule, client: ") {
        let ip = first_client(m)?;
        return Some(Classified::new(Kind::NginxForbidden, Rule::fail(ALL_MODES)).ip(Some(ip)));
    }
    if m.starts_with(b"limiting connections by zone \"") {
        let ip = first_client(m)?;
        return Some(Classified::new(Kind::NginxLimitConn, Rule::fail(ALL_MODES)).ip(Some(ip)));
    }
    if level == b"error" {
        if m.starts_with(b"user \"") || m.starts_with(b"PAM: user '") {
            let (ip, user) = auth_client(m)?;
            let method: &[u8] = if m.starts_with(b"PAM") {
                b"pam"
            } else {
                b"basic"
            };
            return Some(
                Classified::new(Kind::NginxHttpAuthFailure, Rule::fail(ALL_MODES))
                    .ip(Some(ip))
                    .user(Some(user))
                    .method(Some(method)),
            );
        }
        const ENOENT: &[u8] = b" (2: No such file or directory), client: ";
        // The path comes from the URI and the referrer follows the
        // address: every place that could hold it must agree.
        let mut found: Option<(&[u8], bool)> = None;
        for at in find_all(m, ENOENT) {
            let head = &m[..at];
            let ok_head = head.ends_with(b" failed") || head.ends_with(b" is not found");
            let rest = &m[at + ENOENT.len()..];
            let Some(ip) = probe_tail(rest) else {
                continue;
            };
            let req = find(rest, b", request: \"").map(|i| &rest[i + 12..]);
            let probe = ok_head && req.is_some_and(request_is_probe);
            match found {
                Some((prev, _)) if prev != ip => return None,
                Some((_, p)) => found = Some((ip, p || probe)),
                None => found = Some((ip, probe)),
            }
        }
        if let Some((ip, true)) = found {
            return Some(Classified::new(Kind::NginxBotProbe, Rule::fail(ALL_MODES)).ip(Some(ip)));
        }
        if found.is_some() || find(m, ENOENT).is_some() {
            return None;
        }
    }
    let tls = m.starts_with(b"SSL_do_handshake() failed (SSL: ")
        || m.starts_with(b"SSL_read() failed (SSL: ");
    if matches!(level, b"crit" | b"info" | b"error") && tls && find(m, b", client: ").is_some() {
        let ip = first_client(m)?;
        return Some(Classified::new(Kind::NginxSslError, Rule::fail(AGGRESSIVE)).ip(Some(ip)));
    }
    None
}

/// `METHOD /PATH PROTO"` for a path fail2ban's botsearch filter lists
/// (webmail, phpMyAdmin, WordPress login, cgi-bin, mysqladmin).
fn request_is_probe(req: &[u8]) -> bool {
    let (method, rest) = token(req);
    if !matches!(method, b"GET" | b"POST" | b"HEAD") {
        return false;
    }
    let Some(path) = rest.strip_prefix(b" /") else {
        return false;
    };
    let path = path.strip_prefix(b"/").unwrap_or(path);
    path_is_probe(path)
}

fn path_is_probe(p: &[u8]) -> bool {
    const PREFIXES: &[&[u8]] = &[
        b"roundcube",
        b"mail",
        b"extmail",
        b"horde",
        b"webmail",
        b"v-webmail",
        b"vwebmail",
        b"wp-login.php",
        b"wp-signup.php",
        b"wp-admin.php",
        b"cgi-bin",
        b"mysqladmin",
    ];
    if PREFIXES.iter().any(|x| p.starts_with(x)) {
        return true;
    }
    let p = [&b"typo3/"[..], b"xampp/", b"admin/"]
        .iter()
        .find_map(|x| p.strip_prefix(*x))
        .unwrap_or(p);
    p.starts_with(b"pma")
        || [&b"myadmin"[..], b"phpmyadmin"].iter().any(|x| {
            p.len() >= x.len() && p[..x.len()].eq_ignore_ascii_case(x) && {
                // `[Mm]y[Aa]dmin`: only those two letters may vary in case
                let off = x.len() - 7;
                p[..off] == x[..off]
                    && matches!(p[off], b'M' | b'm')
                    && p[off + 1] == b'y'
                    && matches!(p[off + 2], b'A' | b'a')
                    && &p[off + 3..off + 7] == b"dmin"
            }
        })
}

/// `ADDR - USER [TIME] "METHOD /PATH PROTO" 404 ...` for a probed path.
fn access(line: &[u8]) -> Option<Classified<'_>> {
    let (addr, _) = token(line);
    let ip = host(addr)?;
    let q = crate::text::byte(b'"', line)?;
    let rest = &line[q + 1..];
    let close = crate::text::byte(b'"', rest)?;
    let req = &rest[..close];
    let after = rest[close + 1..].strip_prefix(b" ")?;
    let (status, _) = token(after);
    if status != b"404" || !request_is_probe(req) {
        return None;
    }
    let (method, path) = token(req);
    let _ = path;
    Some(
        Classified::new(Kind::NginxBotProbe, Rule::fail(ALL_MODES))
            .ip(Some(ip))
            .method(Some(method)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(m: &str) -> Option<Classified<'_>> {
        classify(Shape::NginxError, m.as_bytes())
    }

    #[test]
    fn auth_failure_injection_is_not_blamed() {
        let m = r#"[error] 30708#0: *3 user "test": password mismatch, client: 127.0.0.1, server: test, request: "GET / HTTP/1.1", host: "localhost:8443"": was not found in "/etc/nginx/.htpasswd", client: 192.0.2.2, server: , request: "GET / HTTP/1.1", host: "localhost:8443""#;
        assert_eq!(err(m).unwrap().ip, Some(&b"192.0.2.2"[..]));
    }

    #[test]
    fn limits_and_probes() {
        let x = err(r#"[error] 256554#0: *99927 limiting requests, excess: 1.852 by zone "one", client: 1.2.3.4, server: example.com, request: "POST /index.htm HTTP/1.0", host: "exmaple.com""#).unwrap();
        assert_eq!((x.kind, x.ip), (Kind::NginxLimitReq, Some(&b"1.2.3.4"[..])));
        let x = classify(Shape::NginxAccess, br#"12.34.56.78 - - [20/Jan/2015:19:53:28 +0100] "GET //phpMyAdmin-2.8.2.3/scripts/setup.php HTTP/1.1" 404 47 "-" "-" "-""#).unwrap();
        assert_eq!(x.kind, Kind::NginxBotProbe);
        assert!(classify(
            Shape::NginxAccess,
            br#"1.2.3.4 - - [20/Jan/2015:19:53:28 +0100] "GET /index.html HTTP/1.1" 404 47"#
        )
        .is_none());
        assert!(path_is_probe(b"admin/pma/scripts"));
        assert!(path_is_probe(b"phpMyAdmin"));
        assert!(!path_is_probe(b"phpMYadmin"));
    }
}
