//! nginx: error-log messages (limit_req/limit_conn, basic-auth and PAM auth
//! failures, probes for well-known admin pages, TLS handshake garbage) and
//! access-log probes (404 on those pages).
//!
//! nginx writes `, client: ADDR, server: NAME, request: "...", host: "..."`
//! after the message. The request line and headers are client text, and the
//! message may quote a user name, so an auth failure's address is taken from
//! the `, client: ` whose tail matches nginx's own layout up to the end of
//! the line (a request line without spaces inside its parts, a host header
//! without spaces), as fail2ban's nginx-http-auth filter does.

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

fn quoted_no_space(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let inner = b.strip_prefix(b"\"")?;
    let close = crate::text::byte(b'"', inner)?;
    let v = &inner[..close];
    (!v.contains(&b' ')).then_some((v, &inner[close + 1..]))
}

/// `H, server: S, request: "M U HTTP/x.y", host: "X"[, referrer: "R"]` to
/// the end of the line.
fn strict_tail(rest: &[u8]) -> Option<&[u8]> {
    let comma = crate::text::byte(b',', rest)?;
    let ip = host(&rest[..comma])?;
    let r = rest[comma..].strip_prefix(b", server: ")?;
    let (_server, r) = match crate::text::byte(b',', r) {
        Some(i) if !r[..i].contains(&b' ') => (&r[..i], &r[i..]),
        _ => return None,
    };
    let r = r.strip_prefix(b", request: \"")?;
    let close = crate::text::byte(b'"', r)?;
    let req = &r[..close];
    let mut parts = req.split(|&c| c == b' ');
    let (Some(m), Some(u), Some(proto), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if m.is_empty() || u.is_empty() || !proto.starts_with(b"HTTP/") {
        return None;
    }
    let r = r[close + 1..].strip_prefix(b", host: ")?;
    let (_, r) = quoted_no_space(r)?;
    let r = match r.strip_prefix(b", referrer: ") {
        Some(x) => quoted_no_space(x)?.1,
        None => r,
    };
    trim_end(r).is_empty().then_some(ip)
}

fn auth_client(m: &[u8]) -> Option<&[u8]> {
    find_all(m, b", client: ").find_map(|at| strict_tail(&m[at + 10..]))
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
    if m.starts_with(b"limiting connections by zone \"") {
        let ip = first_client(m)?;
        return Some(Classified::new(Kind::NginxLimitConn, Rule::fail(ALL_MODES)).ip(Some(ip)));
    }
    if level == b"error" {
        if let Some(u) = m.strip_prefix(b"user \"") {
            let ip = auth_client(m)?;
            // The user is between the quotes before `: password mismatch` /
            // ` was not found in`; it may itself contain quotes.
            let user_end = find(u, b"\": password mismatch")
                .or_else(|| find(u, b"\" was not found in \""))
                .or_else(|| find(u, b"\": was not found in \""));
            let user = user_end.map(|e| &u[..e]);
            user?;
            return Some(
                Classified::new(Kind::NginxHttpAuthFailure, Rule::fail(ALL_MODES))
                    .ip(Some(ip))
                    .user(user)
                    .method(Some(b"basic")),
            );
        }
        if let Some(u) = m.strip_prefix(b"PAM: user '") {
            if find(u, b"' - not authenticated: ").is_some() {
                let ip = auth_client(m)?;
                let user = find(u, b"' - not authenticated: ").map(|e| &u[..e]);
                return Some(
                    Classified::new(Kind::NginxHttpAuthFailure, Rule::fail(ALL_MODES))
                        .ip(Some(ip))
                        .user(user)
                        .method(Some(b"pam")),
                );
            }
        }
        const ENOENT: &[u8] = b" (2: No such file or directory), client: ";
        if let Some(at) = find(m, ENOENT) {
            let head = &m[..at];
            let ok_head = head.ends_with(b" failed") || head.ends_with(b" is not found");
            let rest = &m[at + ENOENT.len()..];
            let comma = crate::text::byte(b',', rest)?;
            let ip = host(&rest[..comma])?;
            let req = find(rest, b", request: \"").map(|i| &rest[i + 12..]);
            let probe = ok_head && req.is_some_and(request_is_probe);
            if probe {
                return Some(
                    Classified::new(Kind::NginxBotProbe, Rule::fail(ALL_MODES)).ip(Some(ip)),
                );
            }
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
