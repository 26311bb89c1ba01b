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

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;

use crate::StoreError;

/// `(created_at, id)`, ordered as NIP-77 orders them.
pub type Key = (u64, [u8; 32]);

/// The keys of every stored event, sorted, without duplicates.
pub type SortedKeys = Arc<Vec<Key>>;

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
    let keys = match cached.take() {
        Some(s) if s.removals == removals && s.seq == seq => {
            let within = s.keys.len() <= max;
            let keys = within.then(|| s.keys.clone());
            *cached = Some(s);
            keys
        }
        Some(s) if s.removals == removals && s.seq < seq => {
            let room = max.saturating_sub(s.keys.len());
            read_keys(&read, s.seq, room)?.map(|mut new| {
                new.sort_unstable();
                new.dedup();
                // In place when no reconciliation holds this snapshot; a
                // copy (one memcpy) when one does.
                let mut keys = Arc::try_unwrap(s.keys).unwrap_or_else(|shared| (*shared).clone());
                merge_into(&mut keys, &new);
                Arc::new(keys)
            })
        }
        _ => read_keys(&read, 0, max)?.map(|mut all| {
            all.sort_unstable();
            all.dedup();
            Arc::new(all)
        }),
    };
    read.finish()?;
    *cached = keys.clone().map(|keys| Snapshot {
        keys,
        seq,
        removals,
    });
    Ok(keys)
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
/// most once, with no second buffer.
fn merge_into(keys: &mut Vec<Key>, new: &[Key]) {
    let at: Vec<(usize, Key)> = new
        .iter()
        .filter_map(|k| keys.binary_search(k).err().map(|i| (i, *k)))
        .collect();
    if at.is_empty() {
        return;
    }
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
}

#[cfg(test)]
mod tests {
    use super::{Key, merge_into};

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
}
