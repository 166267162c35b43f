//! sudo's and su's own messages. The user before ` : ` is the account that
//! ran sudo (a local account name); the fields after it are sudo's.

use crate::classify::{Classified, Rule};
use crate::event::Kind;
use crate::text::{find, token, trim_end, trim_start};

/// `USER : [REASON ; ]TTY=X ; PWD=P ; USER=TARGET ; COMMAND=CMD`.
pub fn classify(m: &[u8]) -> Option<Classified<'_>> {
    let m = trim_start(m);
    if let Some(at) = find(m, b" is not in the sudoers file") {
        let user = &m[..at];
        if !user.contains(&b' ') {
            return Some(Classified::new(Kind::SudoNotInSudoers, Rule::NONE).user(Some(user)));
        }
    }
    let sep = find(m, b" : ")?;
    let user = trim_end(&m[..sep]);
    if user.is_empty() || user.contains(&b' ') {
        return None;
    }
    let rest = &m[sep + 3..];
    let command = find(rest, b"COMMAND=").map(|i| trim_end(&rest[i + 8..]));
    let kind =
        if rest.starts_with(b"TTY=") || rest.starts_with(b"HOST=") || rest.starts_with(b"PWD=") {
            Kind::SudoCommand
        } else if find(rest, b"incorrect password attempt").is_some_and(|i| i < 40) {
            Kind::SudoAuthFailure
        } else if rest.starts_with(b"user NOT in sudoers")
            || rest.starts_with(b"user NOT authorized on host")
        {
            Kind::SudoNotInSudoers
        } else if rest.starts_with(b"command not allowed") {
            Kind::SudoCommandDenied
        } else {
            return None;
        };
    Some(
        Classified::new(kind, Rule::NONE)
            .user(Some(user))
            .detail(command),
    )
}

/// su: `(to root) alice on pts/0`, `FAILED SU (to root) alice on pts/0`,
/// `Successful su for root by alice`, `FAILED su for root by alice`.
pub fn classify_su(m: &[u8]) -> Option<Classified<'_>> {
    let m = trim_end(m);
    // Solaris puts `[ID N facility.level] ` first.
    let m = match m.strip_prefix(b"[ID ") {
        Some(r) => {
            let close = crate::text::byte(b']', r)?;
            r[close + 1..].strip_prefix(b" ")?
        }
        None => m,
    };
    // BSD: `BAD SU U to T on TTY`; Solaris: `'su T' failed for U on TTY`.
    if let Some(r) = m.strip_prefix(b"BAD SU ") {
        let (user, r) = token(r);
        let r = r.strip_prefix(b" to ")?;
        let (target, _) = token(r);
        return Some(
            Classified::new(Kind::SuFailure, Rule::NONE)
                .user(Some(user))
                .detail(Some(target)),
        );
    }
    if let Some(r) = m.strip_prefix(b"'su ") {
        let q = crate::text::byte(b'\'', r)?;
        let target = &r[..q];
        let r = r[q + 1..].strip_prefix(b" failed for ")?;
        let (user, _) = token(r);
        return Some(
            Classified::new(Kind::SuFailure, Rule::NONE)
                .user(Some(user))
                .detail(Some(target)),
        );
    }
    let (kind, rest) = if let Some(r) = m.strip_prefix(b"FAILED SU (to ") {
        (Kind::SuFailure, r)
    } else if let Some(r) = m.strip_prefix(b"(to ") {
        (Kind::SuSuccess, r)
    } else if let Some(r) = m.strip_prefix(b"Successful su for ") {
        let (target, r) = token(r);
        let user = r.strip_prefix(b" by ")?;
        return Some(
            Classified::new(Kind::SuSuccess, Rule::NONE)
                .user(Some(user))
                .detail(Some(target)),
        );
    } else if let Some(r) = m.strip_prefix(b"FAILED su for ") {
        let (target, r) = token(r);
        let user = r.strip_prefix(b" by ")?;
        return Some(
            Classified::new(Kind::SuFailure, Rule::NONE)
                .user(Some(user))
                .detail(Some(target)),
        );
    } else {
        return None;
    };
    let close = crate::text::byte(b')', rest)?;
    let target = &rest[..close];
    let r = rest[close + 1..].strip_prefix(b" ")?;
    let (user, _) = token(r);
    Some(
        Classified::new(kind, Rule::NONE)
            .user(Some(user))
            .detail(Some(target)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_lines() {
        let x = classify(
            b"   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt update",
        )
        .unwrap();
        assert_eq!((x.kind, x.user), (Kind::SudoCommand, Some(&b"alice"[..])));
        assert_eq!(x.detail, Some(&b"/usr/bin/apt update"[..]));
        let x = classify(b"bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/ ; USER=root ; COMMAND=/bin/sh").unwrap();
        assert_eq!(x.kind, Kind::SudoAuthFailure);
        let x = classify(
            b"eve : user NOT in sudoers ; TTY=pts/2 ; PWD=/ ; USER=root ; COMMAND=/bin/id",
        )
        .unwrap();
        assert_eq!(x.kind, Kind::SudoNotInSudoers);
        assert!(classify(b"pam_unix(sudo:session): session opened").is_none());
    }

    #[test]
    fn su_lines() {
        let x = classify_su(b"FAILED SU (to root) alice on pts/0").unwrap();
        assert_eq!(
            (x.kind, x.user, x.detail),
            (Kind::SuFailure, Some(&b"alice"[..]), Some(&b"root"[..]))
        );
        let x = classify_su(b"(to root) alice on pts/0").unwrap();
        assert_eq!(x.kind, Kind::SuSuccess);
        for m in [
            &b"BAD SU alice to root on /dev/ttyp1"[..],
            b"'su root' failed for alice on /dev/pts/2",
            b"[ID 366847 auth.warning] 'su root' failed for alice on /dev/pts/2",
        ] {
            let x = classify_su(m).unwrap();
            assert_eq!(
                (x.kind, x.user, x.detail),
                (Kind::SuFailure, Some(&b"alice"[..]), Some(&b"root"[..]))
            );
        }
        let x = classify_su(b"Successful su for root by alice").unwrap();
        assert_eq!(x.user, Some(&b"alice"[..]));
    }
}
