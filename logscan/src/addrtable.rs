//! A table keyed by IP address, in bounded memory per address: a million
//! distinct sources (an attacker with an IPv6 /48) must fit in well under
//! 128 MB. Entries live in one dense vector (16-byte binary keys, no
//! allocation per address; a large vector grows in place), found through an
//! open-addressing index of u32 slots. The hash is keyed per process, so
//! addresses cannot be chosen to collide. Keys that are not IP literals (a
//! DNS name from `UseDNS`) go to a small side map, bounded too: whoever
//! controls the reverse DNS of a /48 can make every address a new name, so
//! past [`MAX_NAMES`] distinct names the rest share one entry,
//! [`OTHER_NAMES`] (names are never offenders: a firewall blocks
//! addresses).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::{IpAddr, Ipv6Addr};

/// Distinct host names kept one by one (at most 253 bytes each).
pub const MAX_NAMES: usize = 4096;
/// The entry every further name shares; not a host name (it has spaces).
pub const OTHER_NAMES: &[u8] = b"(other host names)";

pub struct AddrTable<V> {
    entries: Vec<([u8; 16], V)>,
    /// 0: empty; otherwise the entry's index + 1.
    index: Vec<u32>,
    seed: (u64, u64),
    names: Vec<(Box<[u8]>, V)>,
    name_index: HashMap<Box<[u8]>, u32>,
    /// The text and entry of the last IP looked up: runs of one address
    /// skip parsing and hashing.
    last: ([u8; 48], u8, u32),
}

/// An entry's address: binary, or a name as the log wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddrKey<'a> {
    Ip(&'a [u8; 16]),
    Name(&'a [u8]),
}

impl AddrKey<'_> {
    pub fn text(&self) -> String {
        match self {
            AddrKey::Ip(k) => text(k),
            AddrKey::Name(n) => String::from_utf8_lossy(n).into_owned(),
        }
    }
}

/// The 16-byte form of an address (IPv4 as `::ffff:a.b.c.d`), or None for
/// text that is not an IP literal.
pub fn binary(ip: &[u8]) -> Option<[u8; 16]> {
    let s = std::str::from_utf8(ip).ok()?;
    Some(match s.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    })
}

/// The text of a binary address.
pub fn text(k: &[u8; 16]) -> String {
    let a = Ipv6Addr::from(*k);
    match a.to_ipv4_mapped() {
        Some(v4) => v4.to_string(),
        None => a.to_string(),
    }
}

impl<V> std::fmt::Debug for AddrTable<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AddrTable({} addresses)", self.len())
    }
}

impl<V> Default for AddrTable<V> {
    fn default() -> Self {
        let s = RandomState::new();
        AddrTable {
            entries: Vec::new(),
            index: Vec::new(),
            seed: (s.hash_one(1u8) | 1, s.hash_one(2u8)),
            names: Vec::new(),
            name_index: HashMap::new(),
            last: ([0; 48], 0, 0),
        }
    }
}

impl<V> AddrTable<V> {
    fn hash(&self, k: &[u8; 16]) -> u64 {
        let lo = u64::from_le_bytes(k[..8].try_into().unwrap());
        let hi = u64::from_le_bytes(k[8..].try_into().unwrap());
        let m = |a: u64, b: u64| {
            let p = u128::from(a) * u128::from(b);
            (p as u64) ^ ((p >> 64) as u64)
        };
        m(lo ^ self.seed.0, hi ^ self.seed.1) ^ m(hi, self.seed.0)
    }

    fn find(&self, k: &[u8; 16]) -> (usize, Option<usize>) {
        let mask = self.index.len() - 1;
        let mut i = self.hash(k) as usize & mask;
        loop {
            match self.index[i] {
                0 => return (i, None),
                e if self.entries[e as usize - 1].0 == *k => return (i, Some(e as usize - 1)),
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn grow(&mut self) {
        let n = (self.index.len() * 2).max(1024);
        self.index = vec![0; n];
        for e in 0..self.entries.len() {
            let k = self.entries[e].0;
            let (slot, _) = self.find(&k);
            self.index[slot] = e as u32 + 1;
        }
    }

    /// The value of an address (as the log wrote it), made by `new` when
    /// absent.
    pub fn get_or_insert_with(&mut self, ip: &[u8], new: impl FnOnce() -> V) -> &mut V {
        if let Some(e) = self.recent(ip) {
            return &mut self.entries[e].1;
        }
        let Some(k) = binary(ip) else {
            let key = if self.name_index.len() >= MAX_NAMES && !self.name_index.contains_key(ip) {
                OTHER_NAMES
            } else {
                ip
            };
            let i = match self.name_index.get(key) {
                Some(&i) => i as usize,
                None => {
                    self.name_index.insert(key.into(), self.names.len() as u32);
                    self.names.push((key.into(), new()));
                    self.names.len() - 1
                }
            };
            return &mut self.names[i].1;
        };
        if self.index.is_empty() || (self.entries.len() + 1) * 2 > self.index.len() {
            self.grow();
        }
        let e = match self.find(&k) {
            (_, Some(e)) => e,
            (slot, None) => {
                self.index[slot] = self.entries.len() as u32 + 1;
                self.entries.push((k, new()));
                self.entries.len() - 1
            }
        };
        if ip.len() <= self.last.0.len() {
            self.last.0[..ip.len()].copy_from_slice(ip);
            self.last.1 = ip.len() as u8;
            self.last.2 = e as u32;
        }
        &mut self.entries[e].1
    }

    fn recent(&self, ip: &[u8]) -> Option<usize> {
        let n = usize::from(self.last.1);
        (n > 0 && self.last.0[..n] == *ip).then_some(self.last.2 as usize)
    }

    pub fn get(&self, ip: &[u8]) -> Option<&V> {
        if let Some(e) = self.recent(ip) {
            return Some(&self.entries[e].1);
        }
        let Some(k) = binary(ip) else {
            // (a name counted with the others has no entry of its own: what
            // the others did is never put on it)
            return self.name_index.get(ip).map(|&i| &self.names[i as usize].1);
        };
        if self.index.is_empty() {
            return None;
        }
        self.find(&k).1.map(|e| &self.entries[e].1)
    }

    pub fn len(&self) -> usize {
        self.entries.len() + self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every entry, with its address as text.
    pub fn iter(&self) -> impl Iterator<Item = (String, &V)> {
        (0..self.len() as u32).map(|i| {
            let (k, v) = self.at(i);
            (k.text(), v)
        })
    }

    /// Entry `i` (0..len): a u32 per entry is all a sorted order of a
    /// million addresses costs.
    pub fn at(&self, i: u32) -> (AddrKey<'_>, &V) {
        let i = i as usize;
        match self.entries.get(i) {
            Some((k, v)) => (AddrKey::Ip(k), v),
            None => {
                let (n, v) = &self.names[i - self.entries.len()];
                (AddrKey::Name(n), v)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_stored() {
        let mut t: AddrTable<u32> = AddrTable::default();
        for i in 0..5000u32 {
            *t.get_or_insert_with(format!("2001:db8::{i:x}").as_bytes(), || 0) += i;
            *t.get_or_insert_with(format!("10.0.{}.{}", i / 256, i % 256).as_bytes(), || 0) += 1;
        }
        *t.get_or_insert_with(b"mail.example.org", || 0) += 7;
        assert_eq!(t.len(), 10001);
        assert_eq!(t.get(b"2001:db8::ff"), Some(&255));
        assert_eq!(t.get(b"10.0.1.1"), Some(&1));
        assert_eq!(t.get(b"mail.example.org"), Some(&7));
        assert_eq!(t.get(b"10.9.9.9"), None);
        assert!(t.iter().any(|(k, _)| k == "10.0.19.135"));
    }

    /// Reverse DNS is the attacker's: a new 253-byte name per address must
    /// not grow the table without bound; the names past the cap are counted
    /// together, and the first ones stay exact.
    #[test]
    fn host_names_are_bounded_and_still_counted() {
        let mut t: AddrTable<u64> = AddrTable::default();
        let long = "a".repeat(230);
        for i in 0..50_000u32 {
            *t.get_or_insert_with(format!("h{i}.{long}.example").as_bytes(), || 0) += 1;
        }
        assert_eq!(t.len(), MAX_NAMES + 1);
        assert_eq!(t.get(format!("h7.{long}.example").as_bytes()), Some(&1));
        assert_eq!(t.get(OTHER_NAMES), Some(&(50_000 - MAX_NAMES as u64)));
        assert_eq!(t.get(format!("h49999.{long}.example").as_bytes()), None);
        let total: u64 = t.iter().map(|(_, v)| *v).sum();
        assert_eq!(total, 50_000);
        // A name seen before the cap keeps its own entry after it.
        *t.get_or_insert_with(format!("h7.{long}.example").as_bytes(), || 0) += 1;
        assert_eq!(t.get(format!("h7.{long}.example").as_bytes()), Some(&2));
    }
}
