//! The key sets a NIP-77 reconciliation compares, on either side.
//!
//! A filter that only bounds time (`since`, `until`, or nothing: the usual
//! sync) is answered from the store's shared sorted keys
//! (`Store::all_keys`), a slice of them with nothing copied or sorted.
//! Any other filter reads its keys from the table for this reconciliation
//! alone. Either way the keys carry running sums of their ids, so a
//! fingerprint of any range of them costs the same (see `nip77`).

use std::sync::Arc;

use samizdat_store::{Key, KeySet, Query, SortedKeys};
use sha2::{Digest, Sha256};

use super::varint::{MAX_VARINT, write_varint};

/// The keys of one reconciliation: `set[start..end]`.
pub struct KeyStorage {
    set: SortedKeys,
    start: usize,
    end: usize,
}

impl KeyStorage {
    /// The keys with `since <= created_at <= until`.
    pub fn range(set: SortedKeys, since: u64, until: u64) -> KeyStorage {
        let keys = set.keys();
        let start = keys.partition_point(|k| k.0 < since);
        let end = keys.partition_point(|k| k.0 <= until).max(start);
        KeyStorage { set, start, end }
    }

    /// The keys of one filter's events, read from the table.
    pub fn vector(keys: Vec<Key>) -> KeyStorage {
        let set = Arc::new(KeySet::new(keys));
        let end = set.len();
        KeyStorage { set, start: 0, end }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The keys, in order.
    pub fn keys(&self) -> &[Key] {
        &self.set.keys()[self.start..self.end]
    }

    /// The NIP-77 fingerprint of `keys()[begin..end]`.
    ///
    /// # Panics
    /// If `begin > end` or `end > len()`.
    pub fn fingerprint(&self, begin: usize, end: usize) -> [u8; 16] {
        assert!(begin <= end && end <= self.len(), "bad key range");
        let sum = self.set.id_sum(self.start + begin, self.start + end);
        fingerprint(&sum.to_le_bytes(), end - begin)
    }
}

/// The 16 bytes that stand for a set of ids: SHA-256 of their sum
/// (256-bit little-endian, modulo 2^256) and their count (varint).
pub fn fingerprint(sum_le: &[u8; 32], count: usize) -> [u8; 16] {
    let mut count_bytes = Vec::with_capacity(MAX_VARINT);
    write_varint(count as u64, &mut count_bytes);
    let hash = Sha256::new()
        .chain_update(sum_le)
        .chain_update(&count_bytes)
        .finalize();
    let mut out = [0; 16];
    out.copy_from_slice(&hash[..16]);
    out
}

/// The time bounds of a query that bounds nothing else.
pub fn time_range(q: &Query) -> Option<(u64, u64)> {
    let only_time = q.ids.is_none()
        && q.authors.is_none()
        && q.kinds.is_none()
        && q.tags.is_empty()
        && q.search.is_none();
    only_time.then(|| (q.since.unwrap_or(0), q.until.unwrap_or(u64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fingerprint from the running sums is the one the `negentropy`
    /// crate computes by adding the range up, for ranges across, inside
    /// and at the edges of the sums' blocks.
    #[test]
    fn fingerprints_from_running_sums_are_the_crates() {
        use negentropy::{Id, NegentropyStorageBase, NegentropyStorageVector};

        let keys: Vec<Key> = (0..500u64)
            .map(|i| {
                let mut id = [0xffu8; 32];
                id[..8].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
                (1_000 + i / 3, id)
            })
            .collect();
        let mut vector = NegentropyStorageVector::new();
        for (at, id) in &keys {
            vector
                .insert(*at, Id::from_byte_array(*id))
                .expect("insert");
        }
        vector.seal().expect("seal");
        let ours = KeyStorage::vector(keys);
        let b = samizdat_store::BLOCK;
        for (begin, end) in [
            (0, 0),
            (0, 1),
            (0, 500),
            (1, b - 1),
            (b - 1, b + 1),
            (b, 2 * b),
            (3, 7 * b + 5),
            (b + 1, 499),
            (499, 500),
            (500, 500),
        ] {
            assert_eq!(
                ours.fingerprint(begin, end),
                vector.fingerprint(begin, end).expect("crate").to_bytes(),
                "{begin}..{end}"
            );
        }
    }
}
