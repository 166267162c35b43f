//! `logscan offenders`: the addresses fail2ban would ban with `maxretry`,
//! `findtime` and `bantime`, counted the way fail2ban 1.0 counts (its
//! FailManager and BanManager), replayed over the log's own timestamps:
//!
//! - each address has a failure ticket: the time of its first failure in
//!   the current window, its last failure, and a retry count;
//! - a failure more than `findtime` after the ticket's last one starts a new
//!   ticket (fail2ban's periodic cleanup drops such tickets); otherwise, when
//!   the window has grown past `findtime`, the count is scaled to the rate
//!   over the last `findtime` (fail2ban's `adjustTime`), then incremented;
//! - at `maxretry` the ticket is banned and removed, so counting restarts;
//!   reaching `maxretry` again while the address is still banned
//!   ("already banned") prolongs the ban to `bantime` after that failure
//!   instead of counting a new ban (`-1`: a ban never ends).
//!
//! Failures without a timestamp cannot be placed in a window and are skipped.
//! So are failures whose host is a DNS name (sshd with `UseDNS yes`): the
//! name is whatever the client's reverse zone says, it may name another
//! party's address, and a firewall blocks addresses, not names. An offender
//! is always an IP address.

use std::io;

use hardkit_core::{BytesPath, Record};
use serde::{Deserialize, Serialize};

use crate::event::Event;
use crate::report::Output;
use crate::scan::{output_error, scan_inputs, Input, OutputError, ScanOptions, Scanner, Sink};
use crate::time::rfc3339_utc;

/// fail2ban's jail settings that decide a ban.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub maxretry: u32,
    pub findtime: i64,
    /// Seconds; -1 means a ban never ends.
    pub bantime: i64,
}

/// An address fail2ban would ban (docs/protocol.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offender {
    pub ip: String,
    /// Failures of this address in the scanned logs (all of them).
    pub failures: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// When fail2ban would first have banned it.
    pub banned_at: String,
    /// How many times it would have been banned.
    pub bans: u64,
}

impl Record for Offender {
    const TYPE: &'static str = "offender";
}

#[derive(Debug, Clone, Copy)]
struct Ticket {
    first: i64,
    last: i64,
    retry: u64,
}

/// One address, in 64 bytes (a million of them must fit in 128 MB): the
/// ticket is inline (`retry` 0: none; a stored ticket always holds at least
/// one failure and fewer than maxretry), and `i64::MIN` stands for "never".
#[derive(Debug)]
struct Address {
    ticket_first: i64,
    ticket_last: i64,
    ticket_retry: u32,
    bans: u32,
    failures: u64,
    first_seen: i64,
    last_seen: i64,
    banned_at: i64,
    ban_end: i64,
}

const NONE: i64 = i64::MIN;

impl Address {
    fn ticket(&self) -> Option<Ticket> {
        (self.ticket_retry > 0).then_some(Ticket {
            first: self.ticket_first,
            last: self.ticket_last,
            retry: u64::from(self.ticket_retry),
        })
    }
}

/// The ban replay: feed failures in log order, read the offenders.
#[derive(Debug)]
pub struct BanReplay {
    settings: Settings,
    addresses: crate::addrtable::AddrTable<Address>,
    pub undated_failures: u64,
    pub named_failures: u64,
}

impl BanReplay {
    pub fn new(settings: Settings) -> Self {
        BanReplay {
            settings,
            addresses: Default::default(),
            undated_failures: 0,
            named_failures: 0,
        }
    }

    /// One failure (of weight `count`, for `message repeated N times`).
    pub fn failure(&mut self, ip: &[u8], time: i64, count: u32) {
        let s = self.settings;
        let a = self.addresses.get_or_insert_with(ip, || Address {
            ticket_first: 0,
            ticket_last: 0,
            ticket_retry: 0,
            bans: 0,
            failures: 0,
            first_seen: time,
            last_seen: time,
            banned_at: NONE,
            ban_end: NONE,
        });
        a.failures += u64::from(count);
        a.first_seen = a.first_seen.min(time);
        a.last_seen = a.last_seen.max(time);
        let count = u64::from(count.max(1));
        let ticket = match a.ticket() {
            Some(mut t) if time - t.last < s.findtime => {
                if time > t.last {
                    if t.first < time - s.findtime {
                        let span = (time - t.first) as f64;
                        // Python 3 rounds halves to even.
                        t.retry =
                            ((t.retry as f64) / span * s.findtime as f64).round_ties_even() as u64;
                        t.first = time - s.findtime;
                    }
                    t.last = time;
                }
                t.retry += count;
                t
            }
            _ => Ticket {
                first: time,
                last: time,
                retry: count,
            },
        };
        if ticket.retry >= u64::from(s.maxretry) {
            a.ticket_retry = 0;
            let end = if s.bantime < 0 {
                i64::MAX
            } else {
                time.saturating_add(s.bantime)
            };
            match a.ban_end {
                // Already banned: fail2ban prolongs the ban to end `bantime`
                // after this failure instead of banning again.
                e if e != NONE && time <= e => a.ban_end = e.max(end),
                _ => {
                    a.ban_end = end;
                    if a.banned_at == NONE {
                        a.banned_at = time;
                    }
                    a.bans = a.bans.saturating_add(1);
                }
            }
        } else {
            a.ticket_first = ticket.first;
            a.ticket_last = ticket.last;
            a.ticket_retry = u32::try_from(ticket.retry).unwrap_or(u32::MAX);
        }
    }

    /// The banned addresses, in order of their first ban.
    pub fn offenders(&self) -> Vec<Offender> {
        let mut v: Vec<(String, &Address)> = self
            .addresses
            .iter()
            .filter(|(_, a)| a.banned_at != NONE)
            .collect();
        v.sort_by(|x, y| (x.1.banned_at, &x.0).cmp(&(y.1.banned_at, &y.0)));
        v.into_iter()
            .map(|(ip, a)| Offender {
                ip,
                failures: a.failures,
                first_seen: rfc3339_utc(a.first_seen),
                last_seen: rfc3339_utc(a.last_seen),
                banned_at: rfc3339_utc(a.banned_at),
                bans: u64::from(a.bans),
            })
            .collect()
    }
}

struct Collector<'o> {
    replay: BanReplay,
    out: &'o mut Output,
}

impl Sink for Collector<'_> {
    fn event(&mut self, ev: &Event<'_>, _line_no: u64) -> io::Result<()> {
        if !ev.failure {
            return Ok(());
        }
        let Some(ip) = ev.ip.as_deref() else {
            return Ok(());
        };
        if !crate::address::is_ip_literal(ip) {
            self.replay.named_failures += 1;
            return Ok(());
        }
        match &ev.time {
            Some(t) => self.replay.failure(ip, t.unix, ev.count),
            None => self.replay.undated_failures += 1,
        }
        Ok(())
    }

    fn input_error(&mut self, path: &BytesPath, message: String) -> io::Result<()> {
        crate::cli::input_error(self.out, path, message).map_err(output_error)
    }
}

pub fn run(
    opts: ScanOptions,
    settings: Settings,
    inputs: &[Input],
    out: &mut Output,
) -> Result<(), OutputError> {
    let mut scanner = Scanner::new(opts);
    let progress = out.progress();
    let mut c = Collector {
        replay: BanReplay::new(settings),
        out,
    };
    scan_inputs(&mut scanner, inputs, &mut c, &progress)?;
    let offenders = c.replay.offenders();
    let undated = c.replay.undated_failures;
    let named = c.replay.named_failures;
    let out = c.out;
    if out.is_json() {
        for o in &offenders {
            out.emit(o)?;
        }
        return Ok(());
    }
    let bantime = if settings.bantime < 0 {
        "for ever".to_string()
    } else {
        format!("{}s", settings.bantime)
    };
    let mut text = format!(
        "{} address(es) would be banned with maxretry={} findtime={}s bantime={bantime}\n",
        offenders.len(),
        settings.maxretry,
        settings.findtime
    );
    if !offenders.is_empty() {
        text.push_str(&format!(
            "{:<40} {:>8} {:>5}  {:<20}  {:<20}  {:<20}\n",
            "ADDRESS", "FAILURES", "BANS", "FIRST SEEN", "BANNED AT", "LAST SEEN"
        ));
    }
    for o in &offenders {
        text.push_str(&format!(
            "{:<40} {:>8} {:>5}  {:<20}  {:<20}  {:<20}\n",
            hardkit_core::output::escape_untrusted(&o.ip),
            o.failures,
            o.bans,
            o.first_seen,
            o.banned_at,
            o.last_seen
        ));
    }
    if undated > 0 {
        text.push_str(&format!(
            "{undated} failure(s) without a timestamp were not counted\n"
        ));
    }
    if named > 0 {
        text.push_str(&format!(
            "{named} failure(s) from a host name, not an address, were not counted\n"
        ));
    }
    out.text(&text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replay(settings: Settings, times: &[i64]) -> Vec<Offender> {
        let mut r = BanReplay::new(settings);
        for &t in times {
            r.failure(b"192.0.2.1", t, 1);
        }
        r.offenders()
    }

    const S: Settings = Settings {
        maxretry: 3,
        findtime: 600,
        bantime: 600,
    };

    #[test]
    fn bans_at_maxretry_within_findtime() {
        assert!(replay(S, &[0, 100]).is_empty());
        let o = replay(S, &[0, 100, 200]);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].banned_at, rfc3339_utc(200));
        assert_eq!(o[0].failures, 3);
    }

    #[test]
    fn failures_spread_wider_than_findtime_do_not_ban() {
        assert!(replay(S, &[0, 700, 1400, 2100]).is_empty());
    }

    #[test]
    fn counting_restarts_after_a_ban_and_bantime_blocks_a_second_ban() {
        // banned at 20; three more at 30..50 reach maxretry while still banned
        let o = replay(S, &[0, 10, 20, 30, 40, 50]);
        assert_eq!(o[0].bans, 1);
        // after the ban ends (620) a new ban is possible
        let o = replay(S, &[0, 10, 20, 700, 710, 720]);
        assert_eq!(o[0].bans, 2);
        // ... unless a failure during the ban prolonged it (50 + 600 = 650)
        let o = replay(S, &[0, 10, 20, 30, 40, 50, 630, 640, 645]);
        assert_eq!(o[0].bans, 1);
        let forever = Settings { bantime: -1, ..S };
        assert_eq!(replay(forever, &[0, 10, 20, 7000, 7010, 7020])[0].bans, 1);
    }

    #[test]
    fn offender_round_trips_with_unknown_fields_denied() {
        let o = replay(S, &[0, 1, 2]).remove(0);
        let mut buf = Vec::new();
        hardkit_core::record::encode(&mut buf, "logscan", &o).unwrap();
        let line = String::from_utf8(buf).unwrap();
        assert!(
            line.starts_with("{\"type\":\"offender\",\"tool\":\"logscan\",\"ip\":\"192.0.2.1\"")
        );
        assert_eq!(
            hardkit_core::record::decode::<Offender>(line.trim_end())
                .unwrap()
                .body,
            o
        );
    }
}
