//! The sorted `(created_at, id)` keys of every stored event, kept in
//! memory between reconciliations. NIP-77 fingerprints are sums over
//! ranges of these keys; reading and sorting a million of them from the
//! table costs far more than the reconciliation itself, so a node keeps
//! them once and shares them (`Arc`) with every reconciliation open.
//!
//! A snapshot is brought up to date when asked: events stored since it was
//! taken, by any process (the sequence number says), are merged in; if any
//! event was removed since (a deletion, a replaced version: the `removals`
//! counter says), it is read afresh. Counters and rows are read in one
//! read transaction, so they agree. A store larger than the caller's
//! bound is not kept (40 bytes a key).
//!
//! Beside the keys, a snapshot keeps the running sum of the ids at every
//! [`BLOCK`]-th key (one byte a key), so the sum of the ids over any range,
//! which a NIP-77 fingerprint hashes, costs at most `2 × BLOCK` additions
//! however long the range: the NIP-77 engine (`samizdat-node`) asks for a
//! fingerprint of every range it splits, every round.

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;

use crate::StoreError;

/// `(created_at, id)`, ordered as NIP-77 orders them.
pub type Key = (u64, [u8; 32]);

/// The keys of every stored event, sorted, without duplicates, shared.
pub type SortedKeys = Arc<KeySet>;

/// Keys between two running sums: the sum over a range adds at most this
/// many ids at each end.
pub const BLOCK: usize = 32;

/// Sorted, duplicate-free keys with the running sums of their ids.
///
/// An id is summed as NIP-77 sums it: a 256-bit little-endian integer,
/// modulo 2^256.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: Vec<Key>,
    /// `sums[b]` is the sum of the ids of `keys[..b * BLOCK]`.
    sums: Vec<IdSum>,
}

impl KeySet {
    /// Keys already sorted and without duplicates (sorts them if not).
    pub fn new(mut keys: Vec<Key>) -> KeySet {
        if !keys.is_sorted_by(|a, b| a < b) {
            keys.sort_unstable();
            keys.dedup();
        }
        let mut set = KeySet {
            keys,
            sums: Vec::new(),
        };
        set.sum_from(0);
        set
    }

    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The sum of the ids of `keys[begin..end]`.
    ///
    /// # Panics
    /// If `begin > end` or `end > len()`.
    pub fn id_sum(&self, begin: usize, end: usize) -> IdSum {
        assert!(begin <= end && end <= self.keys.len(), "bad key range");
        let (lo, hi) = (begin / BLOCK, end / BLOCK);
        if lo == hi {
            return IdSum::of(&self.keys[begin..end]);
        }
        // Up to the block after `begin`, the whole blocks between from the
        // running sums, then the start of `end`'s block.
        let mut sum = IdSum::of(&self.keys[begin..(lo + 1) * BLOCK]);
        sum.add(&self.sums[hi].minus(&self.sums[lo + 1]));
        sum.add(&IdSum::of(&self.keys[hi * BLOCK..end]));
        sum
    }

    /// Recomputes the running sums that cover `keys[from]` and after.
    fn sum_from(&mut self, from: usize) {
        // `sums[b]` covers `keys[..b * BLOCK]`: up to `from`'s block, none
        // of them changed.
        self.sums.truncate(from / BLOCK + 1);
        if self.sums.is_empty() {
            self.sums.push(IdSum::default());
        }
        let mut sum = self.sums[self.sums.len() - 1];
        for b in self.sums.len()..=self.keys.len() / BLOCK {
            sum.add(&IdSum::of(&self.keys[(b - 1) * BLOCK..b * BLOCK]));
            self.sums.push(sum);
        }
    }
}

/// Ids summed as 256-bit little-endian integers, modulo 2^256: four 64-bit
/// lanes, the least significant first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdSum([u64; 4]);

impl IdSum {
    /// The sum of the ids of `keys`.
    pub fn of(keys: &[Key]) -> IdSum {
        let mut sum = IdSum::default();
        for (_, id) in keys {
            sum.add_id(id);
        }
        sum
    }

    pub fn add_id(&mut self, id: &[u8; 32]) {
        let lane = |i: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&id[i * 8..i * 8 + 8]);
            u64::from_le_bytes(bytes)
        };
        self.add(&IdSum([lane(0), lane(1), lane(2), lane(3)]));
    }

    pub fn add(&mut self, other: &IdSum) {
        let mut carry = false;
        for (a, b) in self.0.iter_mut().zip(other.0) {
            let (sum, c1) = a.overflowing_add(b);
            let (sum, c2) = sum.overflowing_add(u64::from(carry));
            *a = sum;
            carry = c1 | c2;
        }
    }

    /// `self - other`, modulo 2^256.
    pub fn minus(&self, other: &IdSum) -> IdSum {
        let mut out = *self;
        let mut borrow = false;
        for (a, b) in out.0.iter_mut().zip(other.0) {
            let (diff, b1) = a.overflowing_sub(b);
            let (diff, b2) = diff.overflowing_sub(u64::from(borrow));
            *a = diff;
            borrow = b1 | b2;
        }
        out
    }

    /// The sum as NIP-77 hashes it: 32 bytes, little-endian.
    pub fn to_le_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, lane) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&lane.to_le_bytes());
        }
        out
    }
}

#[derive(Default)]
pub(crate) struct KeyCache {
    cached: Mutex<Option<Snapshot>>,
}

struct Snapshot {
    keys: SortedKeys,
    seq: u64,
    removals: u64,
}

/// The sorted keys of every stored event, or `None` if there are more
/// than `max`.
pub(crate) fn snapshot(
    cache: &KeyCache,
    conn: &Connection,
    max: usize,
) -> Result<Option<SortedKeys>, StoreError> {
    let read = conn.unchecked_transaction()?;
    let seq = crate::query::last_seq(&read)?;
    let removals: i64 = read
        .prepare_cached("SELECT value FROM counters WHERE name = 'removals'")?
        .query_row([], |r| r.get(0))?;
    let removals = removals.max(0) as u64;
    let mut cached = cache.cached.lock().unwrap_or_else(PoisonError::into_inner);
    let started = std::time::Instant::now();
    let keys = match cached.take() {
        Some(s) if s.removals == removals && s.seq == seq => {
            let within = s.keys.len() <= max;
            let keys = within.then(|| s.keys.clone());
            *cached = Some(s);
            keys
        }
        Some(s) if s.removals == removals && s.seq < seq => {
            let room = max.saturating_sub(s.keys.len());
            read_keys(&read, s.seq, room)?.map(|new| merged(s.keys, new))
        }
        _ => read_keys(&read, 0, max)?.map(|all| Arc::new(KeySet::new(all))),
    };
    read.finish()?;
    tracing::debug!(
        keys = keys.as_ref().map_or(0, |k| k.len()),
        took = ?started.elapsed(),
        "brought the shared keys up to date"
    );
    *cached = keys.clone().map(|keys| Snapshot {
        keys,
        seq,
        removals,
    });
    Ok(keys)
}

/// `keys` with `new` merged in, each once.
pub(crate) fn merged(keys: SortedKeys, mut new: Vec<Key>) -> SortedKeys {
    new.retain(|k| keys.keys.binary_search(k).is_err());
    if new.is_empty() {
        // Nothing new: the same shared snapshot.
        return keys;
    }
    new.sort_unstable();
    new.dedup();
    // In place when no reconciliation holds this snapshot; a copy (one
    // memcpy) when one does.
    let mut set = Arc::try_unwrap(keys).unwrap_or_else(|shared| (*shared).clone());
    if let Some(first) = merge_into(&mut set.keys, &new) {
        set.sum_from(first);
    }
    Arc::new(set)
}

/// The keys of events stored after sequence number `after`, or `None` if
/// there are more than `max`.
fn read_keys(conn: &Connection, after: u64, max: usize) -> Result<Option<Vec<Key>>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT created_at, id FROM events WHERE seq > ?1")?;
    let mut rows = stmt.query([after.min(i64::MAX as u64) as i64])?;
    let mut keys = Vec::new();
    while let Some(row) = rows.next()? {
        if keys.len() >= max {
            return Ok(None);
        }
        keys.push(crate::query::key_of(row)?);
    }
    Ok(Some(keys))
}

/// Merges the sorted, duplicate-free `new` into the sorted `keys`, leaving
/// out keys already there. A few new keys into a million cost a binary
/// search each and one pass from the back that moves every old key at
/// most once, with no second buffer. Returns where the first new key
/// went, if any did.
fn merge_into(keys: &mut Vec<Key>, new: &[Key]) -> Option<usize> {
    let at: Vec<(usize, Key)> = new
        .iter()
        .filter_map(|k| keys.binary_search(k).err().map(|i| (i, *k)))
        .collect();
    let first = at.first()?.0;
    let old_len = keys.len();
    keys.resize(old_len + at.len(), (0, [0; 32]));
    // Old keys in `..end` have not moved yet. Walking the new keys from the
    // last, the old keys at and above the j-th one's place move up by j + 1.
    let mut end = old_len;
    for (j, &(i, key)) in at.iter().enumerate().rev() {
        keys.copy_within(i..end, i + j + 1);
        keys[i + j] = key;
        end = i;
    }
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::{BLOCK, IdSum, Key, KeySet, merge_into};

    fn merged(old: &[Key], new: &[Key]) -> Vec<Key> {
        let mut keys = old.to_vec();
        merge_into(&mut keys, new);
        keys
    }

    #[test]
    fn merging_keeps_order_and_drops_duplicates() {
        let id = |b: u8| [b; 32];
        let old = vec![(1, id(1)), (2, id(1)), (2, id(3)), (9, id(0))];
        let new = vec![(0, id(7)), (2, id(2)), (2, id(3)), (10, id(0))];
        assert_eq!(
            merged(&old, &new),
            vec![
                (0, id(7)),
                (1, id(1)),
                (2, id(1)),
                (2, id(2)),
                (2, id(3)),
                (9, id(0)),
                (10, id(0)),
            ]
        );
        assert_eq!(merged(&[], &new), new);
        assert_eq!(merged(&old, &[]), old);
        assert_eq!(merged(&old, &old), old);
    }

    /// Against sorting the union, for runs of new keys falling before,
    /// between, on and after the old ones.
    #[test]
    fn merging_matches_sorting_the_union() {
        let key = |i: u64| (i / 7, [(i % 251) as u8; 32]);
        let mut old: Vec<Key> = (0..3_000).filter(|i| i % 3 != 0).map(key).collect();
        old.sort_unstable();
        for (step, offset) in [(3, 0), (5, 1), (1, 0), (997, 2)] {
            let mut new: Vec<Key> = (0..3_100).skip(offset).step_by(step).map(key).collect();
            new.sort_unstable();
            new.dedup();
            let mut expected: Vec<Key> = old.iter().chain(&new).copied().collect();
            expected.sort_unstable();
            expected.dedup();
            assert_eq!(merged(&old, &new), expected, "step {step}");
        }
    }

    /// Sums over ranges agree with adding the range up, in a fresh set and
    /// in one that new keys were merged into (the running sums then
    /// recomputed from the first new key on), and carries cross lanes.
    #[test]
    fn range_sums_follow_merges() {
        let key = |i: u64| {
            let mut id = [0xffu8; 32];
            id[8..16].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
            (i / 5, id)
        };
        let check = |set: &KeySet| {
            let n = set.len();
            for (begin, end) in [
                (0, n),
                (0, 0),
                (1, BLOCK),
                (BLOCK - 1, 3 * BLOCK + 1),
                (n / 2, n),
            ] {
                let end = end.min(n);
                let begin = begin.min(end);
                assert_eq!(set.id_sum(begin, end), IdSum::of(&set.keys()[begin..end]));
            }
            for begin in (0..n).step_by(13) {
                for end in (begin..=n).step_by(29) {
                    assert_eq!(set.id_sum(begin, end), IdSum::of(&set.keys()[begin..end]));
                }
            }
        };
        let mut set = KeySet::new((0..1_000).filter(|i| i % 4 != 1).map(key).collect());
        check(&set);
        for new in [
            vec![key(1)],
            (0..1_100).filter(|i| i % 4 == 1).map(key).collect(),
        ] {
            let mut new = new;
            new.sort_unstable();
            let first = merge_into(&mut set.keys, &new).expect("new keys");
            set.sum_from(first);
            check(&set);
            assert_eq!(set, KeySet::new(set.keys.clone()));
        }
        // Wrapping: -x + x is 0.
        let mut max = IdSum::default();
        max.add_id(&[0xff; 32]);
        let mut one = IdSum::default();
        one.add_id(&{
            let mut id = [0u8; 32];
            id[0] = 1;
            id
        });
        max.add(&one);
        assert_eq!(max, IdSum::default());
        assert_eq!(IdSum::default().minus(&one).to_le_bytes(), [0xff; 32]);
    }
}
