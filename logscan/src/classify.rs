//! What a message means: the classifiers' common result and the dispatch
//! from a line's program to the classifier that knows its messages.

use crate::event::Kind;
use crate::format::{Prefix, Shape};

/// fail2ban's filter modes. sshd has normal, ddos, extra and aggressive
/// (ddos + extra); nginx-http-auth's `fallback` (TLS handshake garbage) is
/// part of aggressive here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    Ddos,
    Extra,
    Aggressive,
}

impl Mode {
    pub fn bit(self) -> u8 {
        match self {
            Mode::Normal => NORMAL,
            Mode::Ddos => DDOS,
            Mode::Extra => EXTRA,
            Mode::Aggressive => AGGRESSIVE,
        }
    }

    /// The names [`Mode::parse`] accepts.
    pub const NAMES: [&'static str; 4] = ["normal", "ddos", "extra", "aggressive"];

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "normal" => Some(Mode::Normal),
            "ddos" => Some(Mode::Ddos),
            "extra" => Some(Mode::Extra),
            "aggressive" => Some(Mode::Aggressive),
            _ => None,
        }
    }
}

pub const NORMAL: u8 = 1;
pub const DDOS: u8 = 2;
pub const EXTRA: u8 = 4;
pub const AGGRESSIVE: u8 = 8;
pub const ALL_MODES: u8 = NORMAL | DDOS | EXTRA | AGGRESSIVE;
pub const NO_MODES: u8 = 0;

/// How a line counts for fail2ban, per mode (bit sets of modes).
///
/// `matched`: modes in which one of fail2ban's rules matches the line.
/// `nofail`: modes in which that rule only helps (remembers the address of
/// the connection) instead of counting a failure. `forget`/`gained` are
/// fail2ban's end-of-connection and successful-login marks. Lines of
/// daemons fail2ban reads one line at a time (nginx, pam, fail2ban's own log)
/// have `per_connection: false`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rule {
    pub matched: u8,
    pub nofail: u8,
    pub forget: u8,
    pub gained: bool,
    pub per_connection: bool,
}

impl Rule {
    /// A failure in the given modes, one line at a time.
    pub const fn fail(modes: u8) -> Rule {
        Rule {
            matched: modes,
            nofail: 0,
            forget: 0,
            gained: false,
            per_connection: false,
        }
    }

    /// Not evidence of anything.
    pub const NONE: Rule = Rule::fail(NO_MODES);

    /// An sshd rule (fail2ban tracks sshd per connection).
    pub const fn sshd(matched: u8, nofail: u8, forget: u8, gained: bool) -> Rule {
        Rule {
            matched,
            nofail,
            forget,
            gained,
            per_connection: true,
        }
    }
}

/// A classified message; all text borrows the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified<'a> {
    pub kind: Kind,
    pub ip: Option<&'a [u8]>,
    pub port: Option<u16>,
    pub user: Option<&'a [u8]>,
    pub method: Option<&'a [u8]>,
    pub detail: Option<&'a [u8]>,
    /// Another address the message could be read to name (only for the
    /// one ambiguous sshd shape, see `sshd::auth::failed`): the scanner
    /// takes it when it is the address the connection already logged.
    pub alt_ip: Option<&'a [u8]>,
    pub count: u32,
    pub rule: Rule,
}

impl<'a> Classified<'a> {
    pub fn new(kind: Kind, rule: Rule) -> Self {
        Classified {
            kind,
            ip: None,
            port: None,
            user: None,
            method: None,
            detail: None,
            alt_ip: None,
            count: 1,
            rule,
        }
    }

    pub fn ip(mut self, ip: Option<&'a [u8]>) -> Self {
        self.ip = ip;
        self
    }

    pub fn port(mut self, port: Option<u16>) -> Self {
        self.port = port;
        self
    }

    pub fn user(mut self, user: Option<&'a [u8]>) -> Self {
        self.user = user;
        self
    }

    pub fn method(mut self, method: Option<&'a [u8]>) -> Self {
        self.method = method;
        self
    }

    pub fn detail(mut self, detail: Option<&'a [u8]>) -> Self {
        self.detail = detail;
        self
    }
}

/// Which family of messages a program writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    Sshd,
    Sudo,
    Su,
    Nginx,
    Fail2ban,
    /// Any other program: only PAM messages are understood.
    Other,
    /// No tag at all (a bare message): try every classifier.
    Unknown,
}

#[inline]
pub fn daemon_of(prefix: &Prefix<'_>) -> Daemon {
    match prefix.shape {
        Shape::NginxError | Shape::NginxAccess => return Daemon::Nginx,
        Shape::Fail2banLog => return Daemon::Fail2ban,
        Shape::Syslog => {}
    }
    match prefix.program {
        b"" => Daemon::Unknown,
        b"sshd" | b"sshd-session" | b"sshd-auth" => Daemon::Sshd,
        b"sudo" => Daemon::Sudo,
        b"su" => Daemon::Su,
        b"nginx" => Daemon::Nginx,
        p if p.starts_with(b"fail2ban") => Daemon::Fail2ban,
        _ => Daemon::Other,
    }
}

/// Classify a message of a known daemon.
#[inline]
pub fn classify<'a>(daemon: Daemon, prefix: &Prefix<'a>) -> Option<Classified<'a>> {
    let msg = prefix.msg;
    match daemon {
        Daemon::Sshd => crate::sshd::classify(msg).or_else(|| crate::pam::classify(msg)),
        Daemon::Sudo => crate::sudo::classify(msg).or_else(|| crate::pam::classify(msg)),
        Daemon::Su => crate::sudo::classify_su(msg).or_else(|| crate::pam::classify(msg)),
        Daemon::Nginx => crate::nginx::classify(prefix.shape, msg),
        Daemon::Fail2ban => crate::fail2ban::classify(msg),
        Daemon::Other => crate::pam::classify(msg)
            .or_else(|| crate::pam::classify_legacy(prefix.program, msg))
            .or_else(|| {
                (prefix.program == b"unix_chkpwd")
                    .then(|| crate::pam::classify_chkpwd(msg))
                    .flatten()
            }),
        Daemon::Unknown => crate::sshd::classify(msg)
            .or_else(|| crate::pam::classify(msg))
            .or_else(|| crate::fail2ban::classify(msg)),
    }
}
