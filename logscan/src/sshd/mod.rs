//! sshd's messages (OpenSSH 6 to 10, including `sshd-session`), each matched
//! by hand and anchored where the daemon writes the address: the address is
//! the token after the *last* ` from ` that is followed only by text sshd
//! itself writes (` port N`, ` ssh2`, ` [preauth]`), never a `from` inside a
//! user name a client chose. The fail2ban rule each message corresponds to
//! (and in which modes) is recorded in its [`Rule`], so the per-connection
//! logic in [`crate::connection`] can reproduce fail2ban's verdicts.

mod auth;
mod transport;

use auth::{
    accepted, disconnecting, failed, invalid_user, invalid_user_request, max_auth, pam_auth_error,
    pam_sshd, pam_summary, postponed, refused_connect, root_login_refused, unknown_user,
    user_not_allowed, user_not_known,
};
use transport::{
    address_maps, bad_protocol, banner_exchange, closed, connection_from, dispatch_fatal,
    kex_ident, no_ident, no_matching, penalty_drop, read_error, read_failed, received_disconnect,
    reverse_mapping, ssh_audit, timeout, unable_to_negotiate, write_failed,
};

use crate::address::host;
use crate::classify::{Classified, Rule, AGGRESSIVE, ALL_MODES, DDOS, EXTRA, NORMAL, NO_MODES};
use crate::text::{find_all, number, sshd_tail, token, trim_end};

const DDOS_MODES: u8 = DDOS | AGGRESSIVE;
const EXTRA_MODES: u8 = EXTRA | AGGRESSIVE;

pub(super) fn fail_all() -> Rule {
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

#[inline]
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
            .or_else(|| read_failed(m))
            .or_else(|| read_error(m)),
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

/// `USER from HOST[ tail]` where the user may be empty or contain ` from `:
/// the last ` from ` whose address is followed only by sshd's own tail.
pub(super) fn user_from(rest: &[u8], allow_ssh: bool) -> Option<(&[u8], &[u8], Option<u16>)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Kind;

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
    fn many_injected_froms_read_alike() {
        // Few or many ` from ` in a user name: the reading does not change.
        for n in [1, 3, 7, 8, 9, 12] {
            let fake = " from 10.0.0.1".repeat(n);
            let msg =
                format!("Failed password for invalid user x{fake} from 192.0.2.9 port 22 ssh2");
            let x = c(&msg);
            assert_eq!(x.ip, Some(&b"192.0.2.9"[..]), "{n}");
            assert_eq!(x.user, Some(format!("x{fake}").as_bytes()), "{n}");
            assert_eq!(x.alt_ip, None, "{n}");
            let msg = format!("Failed password for x{fake} from 192.0.2.9 port 22 ssh2");
            let x = c(&msg);
            assert_eq!(x.ip, Some(&b"192.0.2.9"[..]), "{n}");
            assert_eq!(x.user, Some(format!("x{fake}").as_bytes()), "{n}");
            let msg =
                format!("Failed password for x{fake} from 192.0.2.9 port 22 ssh2: from 1.2.3.4");
            assert!(classify(msg.as_bytes()).is_none(), "{n}");
        }
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
