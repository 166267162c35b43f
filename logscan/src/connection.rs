//! fail2ban's view of an sshd connection, reproduced: lines of one sshd
//! process (`host sshd[pid]`) are merged, so a failure without an address
//! (`Disconnecting: Too many authentication failures`) is charged to the
//! address the connection logged before or after, a helper line
//! (`Connection from`, a `pam_unix` failure, a failed public key) only
//! remembers the address, a successful login forgives the connection's
//! earlier helper lines unless several user names were tried, and a
//! closing line forgets the connection. The rules are those of fail2ban's
//! multi-line failure ids (F-MLFID, F-NOFAIL, F-MLFFORGET, F-MLFGAINED).

use std::hash::BuildHasher;

/// How many connections are remembered (fail2ban keeps 100 for 5 minutes);
/// the oldest half is dropped when the table is full, so memory stays bounded.
const MAX_CONNECTIONS: usize = 4096;

/// An address kept without a heap allocation when it is short (IPv4,
/// IPv6); host names may be longer.
#[derive(Debug, Clone)]
enum Address {
    Inline([u8; 46], u8),
    Heap(Box<[u8]>),
}

impl Address {
    fn new(b: &[u8]) -> Address {
        if b.len() <= 46 {
            let mut a = [0u8; 46];
            a[..b.len()].copy_from_slice(b);
            Address::Inline(a, b.len() as u8)
        } else {
            Address::Heap(b.into())
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Address::Inline(a, n) => &a[..usize::from(*n)],
            Address::Heap(b) => b,
        }
    }
}

/// The user names a connection tried (hashes); the first two without
/// allocating.
#[derive(Debug, Default)]
struct Users {
    first: [u64; 2],
    n: usize,
    more: Vec<u64>,
}

impl Users {
    fn insert(&mut self, u: u64) {
        if self.first[..self.n.min(2)].contains(&u) || self.more.contains(&u) {
            return;
        }
        if self.n < 2 {
            self.first[self.n] = u;
        } else {
            self.more.push(u);
        }
        self.n += 1;
    }

    fn len(&self) -> usize {
        self.n
    }
}

#[derive(Debug, Default)]
struct Connection {
    ip: Option<Address>,
    users: Users,
    nofail: bool,
    gained: bool,
    pending: bool,
    last_used: u64,
}

/// One matched line, as fail2ban's merge sees it.
#[derive(Debug, Clone, Copy)]
pub struct Match<'a> {
    pub ip: Option<&'a [u8]>,
    pub user: Option<&'a [u8]>,
    pub nofail: bool,
    pub forget: bool,
    pub gained: bool,
}

/// The outcome: a failure or not, and the address (the line's, or the one
/// the connection remembered when the line had none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub failure: bool,
    pub remembered_ip: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Connections {
    table: crate::hashing::FastMap<u64, Connection>,
    hasher: crate::hashing::FastBuild,
    tick: u64,
}

impl Connections {
    #[inline]
    pub fn key(&self, host: Option<&[u8]>, program: &[u8], pid: Option<u32>) -> u64 {
        self.hasher.hash_one((host, program, pid))
    }

    fn user_hash(&self, user: &[u8]) -> u64 {
        self.hasher.hash_one(user)
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The address a connection has logged, if any.
    pub fn remembered(&self, key: u64) -> Option<&[u8]> {
        self.table.get(&key)?.ip.as_ref().map(Address::bytes)
    }

    #[inline]
    pub fn merge(&mut self, key: u64, m: Match<'_>) -> Verdict {
        self.tick += 1;
        let user = m.user.filter(|u| !u.is_empty()).map(|u| self.user_hash(u));
        let mut nofail_now = m.nofail || m.gained;
        let mut gained_now = m.gained;
        let tick = self.tick;
        let Some(conn) = self.table.get_mut(&key) else {
            let users = usize::from(user.is_some());
            if m.forget {
                // A forgetting line of an unknown connection stands alone.
                return finish(None, m.ip, users, nofail_now);
            }
            if self.table.len() >= MAX_CONNECTIONS {
                self.evict();
            }
            let mut users_tried = Users::default();
            if let Some(u) = user {
                users_tried.insert(u);
            }
            let conn = self.table.entry(key).or_insert(Connection {
                ip: m.ip.map(Address::new),
                users: users_tried,
                nofail: nofail_now,
                gained: gained_now,
                pending: false,
                last_used: tick,
            });
            return finish(Some(conn), m.ip, users, nofail_now);
        };
        conn.last_used = tick;
        if let Some(u) = user {
            conn.users.insert(u);
        }
        conn.nofail = false;
        conn.gained = false;
        if m.gained {
            conn.pending = false;
        }
        let line_had_ip = m.ip.is_some();
        if let Some(ip) = m.ip {
            if conn.ip.as_ref().map(Address::bytes) != Some(ip) {
                conn.ip = Some(Address::new(ip));
            }
        }
        let pending = std::mem::take(&mut conn.pending);
        let users = conn.users.len();
        if pending || users > 1 {
            nofail_now = false;
            gained_now = false;
        }
        conn.nofail = nofail_now;
        conn.gained = gained_now;
        let verdict = if nofail_now {
            Verdict {
                failure: false,
                remembered_ip: None,
            }
        } else if let Some(ip) = &conn.ip {
            Verdict {
                failure: true,
                remembered_ip: (!line_had_ip).then(|| ip.bytes().to_vec()),
            }
        } else {
            conn.pending = true;
            Verdict {
                failure: false,
                remembered_ip: None,
            }
        };
        if m.forget {
            self.table.remove(&key);
        }
        verdict
    }

    fn evict(&mut self) {
        let mut ticks: Vec<u64> = self.table.values().map(|c| c.last_used).collect();
        ticks.sort_unstable();
        let cutoff = ticks[ticks.len() / 2];
        self.table.retain(|_, c| c.last_used > cutoff);
    }
}

/// The verdict for a line that starts a connection (or stands alone).
fn finish(conn: Option<&mut Connection>, ip: Option<&[u8]>, users: usize, nofail: bool) -> Verdict {
    let nofail = nofail && users <= 1;
    if nofail {
        return Verdict {
            failure: false,
            remembered_ip: None,
        };
    }
    if ip.is_some() {
        return Verdict {
            failure: true,
            remembered_ip: None,
        };
    }
    if let Some(c) = conn {
        c.nofail = false;
        c.gained = false;
        c.pending = true;
    }
    Verdict {
        failure: false,
        remembered_ip: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m<'a>(
        ip: Option<&'a str>,
        user: Option<&'a str>,
        nofail: bool,
        forget: bool,
        gained: bool,
    ) -> Match<'a> {
        Match {
            ip: ip.map(str::as_bytes),
            user: user.map(str::as_bytes),
            nofail,
            forget,
            gained,
        }
    }

    #[test]
    fn failure_without_address_waits_for_the_connection_to_name_it() {
        let mut c = Connections::default();
        let k = c.key(None, b"sshd", Some(8148));
        assert!(
            !c.merge(k, m(None, Some("root"), false, false, false))
                .failure
        );
        let v = c.merge(k, m(Some("61.0.0.1"), None, true, true, false));
        assert!(v.failure);
        assert!(c.is_empty());
    }

    #[test]
    fn accepted_login_forgives_one_user_but_not_several() {
        let mut c = Connections::default();
        let k = c.key(Some(b"bar"), b"sshd", Some(1556));
        assert!(
            !c.merge(k, m(Some("192.0.2.113"), Some("rda"), true, false, false))
                .failure
        );
        assert!(
            !c.merge(k, m(Some("192.0.2.113"), Some("rda"), false, true, true))
                .failure
        );
        let k = c.key(Some(b"bar"), b"sshd", Some(1558));
        assert!(
            !c.merge(k, m(Some("192.0.2.114"), Some("root"), true, false, false))
                .failure
        );
        assert!(
            c.merge(
                k,
                m(Some("192.0.2.114"), Some("sudoer"), true, false, false)
            )
            .failure
        );
        assert!(
            c.merge(k, m(Some("192.0.2.114"), Some("known"), false, true, true))
                .failure
        );
    }

    #[test]
    fn remembered_address_is_reported_for_lines_without_one() {
        let mut c = Connections::default();
        let k = c.key(Some(b"h"), b"sshd", Some(1));
        c.merge(k, m(Some("115.249.163.77"), None, true, false, false));
        let v = c.merge(k, m(None, Some("root"), false, false, false));
        assert!(v.failure);
        assert_eq!(v.remembered_ip.as_deref(), Some(&b"115.249.163.77"[..]));
    }

    #[test]
    fn table_stays_bounded() {
        let mut c = Connections::default();
        for pid in 0..(MAX_CONNECTIONS as u32 * 3) {
            let k = c.key(None, b"sshd", Some(pid));
            c.merge(k, m(Some("192.0.2.1"), None, true, false, false));
        }
        assert!(c.len() <= MAX_CONNECTIONS);
    }
}
