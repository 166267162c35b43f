//! A small, fast hasher for the per-line tables (connections, addresses):
//! SipHash was the single largest cost of a scan. Keys are addresses and
//! process ids from the log, not attacker-chosen strings of any length, so
//! hash flooding is not a practical concern here; tables are also bounded.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash-style multiply-rotate over 8-byte words.
#[derive(Debug, Default, Clone, Copy)]
pub struct WordHasher(u64);

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl WordHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // The remainder as a zero-padded little-endian word, built
            // without a variable-length copy (a memcpy call per key).
            let n = rest.len();
            let w = if n >= 4 {
                let half = |b: &[u8]| {
                    let mut h = [0u8; 4];
                    h.copy_from_slice(b);
                    u64::from(u32::from_le_bytes(h))
                };
                half(&rest[..4]) | half(&rest[n - 4..]) << (8 * (n - 4))
            } else {
                rest.iter()
                    .enumerate()
                    .fold(0u64, |w, (i, &b)| w | u64::from(b) << (8 * i))
            };
            self.add(w ^ ((n as u64) << 56));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FastBuild = BuildHasherDefault<WordHasher>;
pub type FastMap<K, V> = HashMap<K, V, FastBuild>;
pub type FastSet<K> = HashSet<K, FastBuild>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn tails_hash_as_zero_padded_words() {
        // The value every earlier run computed: chunks, then the rest
        // zero-padded, xor its length in the top byte.
        fn reference(bytes: &[u8]) -> u64 {
            let mut h = WordHasher::default();
            let mut chunks = bytes.chunks_exact(8);
            for c in &mut chunks {
                h.add(u64::from_le_bytes(c.try_into().unwrap()));
            }
            let rest = chunks.remainder();
            if !rest.is_empty() {
                let mut w = [0u8; 8];
                w[..rest.len()].copy_from_slice(rest);
                h.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
            }
            h.finish()
        }
        let text = b"192.0.2.123 2001:db8::1 example.com \xff\x00\x80";
        for a in 0..text.len() {
            for b in a..=text.len() {
                let mut h = WordHasher::default();
                h.write(&text[a..b]);
                assert_eq!(h.finish(), reference(&text[a..b]));
            }
        }
    }

    #[test]
    fn distinct_keys_hash_differently() {
        let b = FastBuild::default();
        assert_ne!(b.hash_one(&b"192.0.2.1"[..]), b.hash_one(&b"192.0.2.2"[..]));
        assert_ne!(b.hash_one(&b"a"[..]), b.hash_one(&b"a\0"[..]));
        let mut m: FastMap<Box<[u8]>, u32> = FastMap::default();
        m.insert(b"x".to_vec().into(), 1);
        assert_eq!(m.get(&b"x"[..]), Some(&1));
    }
}
