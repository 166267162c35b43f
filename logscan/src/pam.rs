//! Linux-PAM's messages, whatever program logs them: authentication failures
//! (`pam_unix(SERVICE:auth): authentication failure; ... ruser=R rhost=H
//! user=U`, and the old `(pam_unix)` form) and session open/close.
//!
//! pam_unix writes `ruser=`, `rhost=` and `user=` in that order; `ruser` and
//! `user` may hold client text. As fail2ban's pam-generic filter does, the
//! address is the first `rhost=` whose value is a host followed by nothing
//! or by ` user=...`, so `ruser=test rhost=192.0.2.151 rhost=192.0.2.1`
//! blames 192.0.2.1.

use crate::address::host;
use crate::classify::{Classified, Rule, ALL_MODES};
use crate::event::Kind;
use crate::text::{find, find_all, token, trim_end, trim_start};

/// `pam_X(SERVICE:TYPE): `, `pam_X: `, `(pam_X) `: the module's name, the
/// service and the rest.
/// A PAM message's module, service (if written) and text.
type PamHead<'a> = (&'a [u8], Option<&'a [u8]>, &'a [u8]);

fn pam_head(m: &[u8]) -> Option<PamHead<'_>> {
    let paren = m.starts_with(b"(pam_");
    let start = usize::from(paren);
    if !m[start..].starts_with(b"pam_") {
        return None;
    }
    let name_len = m[start..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    let module = &m[start..start + name_len];
    let mut rest = &m[start + name_len..];
    let mut service = None;
    if let Some(r) = rest.strip_prefix(b"(") {
        let close = crate::text::byte(b')', r)?;
        service = Some(&r[..close]);
        rest = &r[close + 1..];
    }
    if paren {
        rest = rest.strip_prefix(b")")?;
    }
    let rest = rest.strip_prefix(b":").unwrap_or(rest);
    if !rest.starts_with(b" ") && !rest.starts_with(b"\t") {
        return None;
    }
    Some((module, service, trim_start(rest)))
}

/// After `ruser=`: the address and the user (`user=` if given, else `ruser=`).
/// The address (None when `rhost=` is empty) and the user.
pub type RhostUser<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

pub fn rhost_user(fields: &[u8]) -> Option<RhostUser<'_>> {
    let r = find(fields, b"ruser=")?;
    let after_ruser = &fields[r + 6..];
    for at in find_all(after_ruser, b" rhost=")
        .chain(after_ruser.starts_with(b"rhost=").then_some(usize::MAX))
    {
        let (ruser, value) = if at == usize::MAX {
            (&after_ruser[..0], &after_ruser[6..])
        } else {
            (&after_ruser[..at], &after_ruser[at + 7..])
        };
        let end = value
            .iter()
            .position(|c| c.is_ascii_whitespace())
            .unwrap_or(value.len());
        let tok = &value[..end];
        let tail = &value[end..];
        let tail_t = trim_start(tail);
        let user = if trim_end(tail).is_empty() {
            None
        } else if let Some(u) = tail_t.strip_prefix(b"user=") {
            if tail.len() == tail_t.len() {
                continue; // needs whitespace before `user=`
            }
            Some(trim_end(u))
        } else {
            continue;
        };
        let ip = if tok.is_empty() {
            None
        } else {
            Some(host(tok)?)
        };
        let user = user.or((!ruser.is_empty()).then_some(ruser));
        return Some((ip, user));
    }
    None
}

pub fn classify(m: &[u8]) -> Option<Classified<'_>> {
    let (_module, service, rest) = pam_head(m)?;
    classify_body(service, rest, true)
}

/// `unix_chkpwd[PID]: password check failed for user (U)`: pam_unix's
/// helper, when a non-root program (a screen locker, `su` run by a user)
/// checked a password and it was wrong. No remote address.
pub fn classify_chkpwd(m: &[u8]) -> Option<Classified<'_>> {
    let r = m.strip_prefix(b"password check failed for user (")?;
    let close = crate::text::byte(b')', r)?;
    Some(
        Classified::new(Kind::PamAuthFailure, Rule::NONE)
            .user(Some(&r[..close]))
            .detail(Some(b"unix_chkpwd")),
    )
}

/// Linux-PAM before 0.99.2 put the module in the tag (`sshd(pam_unix)[1]:
/// authentication failure; ...`). fail2ban no longer counts that form (its
/// pam-generic test log says so), so its failures are events, not failures.
pub fn classify_legacy<'a>(program: &'a [u8], m: &'a [u8]) -> Option<Classified<'a>> {
    let open = crate::text::byte(b'(', program)?;
    if !program[open..].starts_with(b"(pam_") || !program.ends_with(b")") {
        return None;
    }
    classify_body(Some(&program[..open]), m, false)
}

fn classify_body<'a>(
    service: Option<&'a [u8]>,
    rest: &'a [u8],
    counts: bool,
) -> Option<Classified<'a>> {
    if let Some(fields) = rest.strip_prefix(b"authentication failure;") {
        // `logname= uid= euid= tty=X ruser=...`
        let (ip, user) = rhost_user(fields)?;
        let rule = if ip.is_some() && counts {
            Rule::fail(ALL_MODES)
        } else {
            Rule::NONE
        };
        return Some(
            Classified::new(Kind::PamAuthFailure, rule)
                .ip(ip)
                .user(user)
                .detail(service),
        );
    }
    if let Some(r) = rest.strip_prefix(b"session opened for user ") {
        let (user, _) = token(r);
        let user = user.split(|&c| c == b'(').next().unwrap_or(user);
        return Some(
            Classified::new(Kind::SessionOpen, Rule::NONE)
                .user(Some(user))
                .detail(service),
        );
    }
    if let Some(r) = rest.strip_prefix(b"session closed for user ") {
        let (user, _) = token(trim_end(r));
        return Some(
            Classified::new(Kind::SessionClose, Rule::NONE)
                .user(Some(user))
                .detail(service),
        );
    }
    // `N more authentication failures; ... rhost=H user=U` (the legacy
    // `sshd(pam_unix)` form too): a summary of failures sshd logged one by
    // one, so an event that does not count again.
    if let Some(n) = rest.split(|&c| c == b' ').next() {
        if !n.is_empty() && n.iter().all(u8::is_ascii_digit) {
            if let Some(fields) = rest[n.len()..].strip_prefix(b" more authentication failures;") {
                let (ip, user) = rhost_user(fields)?;
                let mut c = Classified::new(Kind::PamMoreFailures, Rule::NONE)
                    .ip(ip)
                    .user(user)
                    .detail(service);
                c.count = std::str::from_utf8(n).ok()?.parse().unwrap_or(u32::MAX);
                return Some(c);
            }
        }
    }
    // pam_faillock / pam_tally2 locking an account out after failures.
    if let Some(r) = rest.strip_prefix(b"Consecutive login failures for user ") {
        let (user, _) = token(r);
        return Some(
            Classified::new(Kind::PamLockout, Rule::NONE)
                .user(Some(user))
                .detail(service),
        );
    }
    if let Some(r) = rest.strip_prefix(b"user ") {
        // pam_tally2: `user U (UID) tally N, deny M`
        let (user, r) = token(r);
        if find(r, b") tally ").is_some() && find(r, b", deny ").is_some() {
            return Some(
                Classified::new(Kind::PamLockout, Rule::NONE)
                    .user(Some(user))
                    .detail(service),
            );
        }
    }
    if rest.starts_with(b"check pass;") {
        return Some(Classified::new(Kind::PamCheckPass, Rule::NONE).detail(service));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(m: &str) -> Classified<'_> {
        classify(m.as_bytes()).unwrap()
    }

    #[test]
    fn auth_failures_in_all_forms() {
        let x = c("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=173.234.31.186 ");
        assert_eq!((x.ip, x.user), (Some(&b"173.234.31.186"[..]), None));
        let x = c("(pam_unix) authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=h.example.com  user=root");
        assert_eq!(
            (x.ip, x.user),
            (Some(&b"h.example.com"[..]), Some(&b"root"[..]))
        );
        let x = c("pam_unix: authentication failure; logname= uid=0 euid=0 tty=ftp ruser=an8767 rhost=www.google.com");
        assert_eq!(x.user, Some(&b"an8767"[..]));
    }

    #[test]
    fn injected_rhost_is_not_blamed() {
        let x = c("pam_unix(auth): authentication failure; logname= uid=0 euid=0 tty=xxx ruser=test rhost=192.0.2.151 rhost=192.0.2.1");
        assert_eq!(x.ip, Some(&b"192.0.2.1"[..]));
        assert_eq!(x.user, Some(&b"test rhost=192.0.2.151"[..]));
        let x = c("pam_unix(auth): authentication failure; logname= uid=0 euid=0 tty=xxx ruser= rhost=192.0.2.2 user=test rhost=192.0.2.152");
        assert_eq!(x.ip, Some(&b"192.0.2.2"[..]));
    }

    #[test]
    fn legacy_module_in_the_tag_is_understood_but_not_counted() {
        let x = classify_legacy(
            b"sshd(pam_unix)",
            b"authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ",
        )
        .unwrap();
        assert_eq!(
            (x.kind, x.ip, x.rule.matched),
            (Kind::PamAuthFailure, Some(&b"218.188.2.4"[..]), 0)
        );
        assert_eq!(x.detail, Some(&b"sshd"[..]));
        let x =
            classify_legacy(b"su(pam_unix)", b"session opened for user news by (uid=0)").unwrap();
        assert_eq!((x.kind, x.user), (Kind::SessionOpen, Some(&b"news"[..])));
        assert!(
            classify_legacy(b"sshd", b"authentication failure; ruser= rhost=1.2.3.4").is_none()
        );
    }

    #[test]
    fn sessions() {
        let x = c("pam_unix(sshd:session): session opened for user fztu by (uid=0)");
        assert_eq!((x.kind, x.user), (Kind::SessionOpen, Some(&b"fztu"[..])));
        let x = c("pam_unix(sudo:session): session opened for user root(uid=0) by admin(uid=1000)");
        assert_eq!(x.user, Some(&b"root"[..]));
        assert_eq!(
            c("pam_unix(sshd:session): session closed for user fztu").kind,
            Kind::SessionClose
        );
    }
}
