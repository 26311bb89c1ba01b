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
    let keys = match cached.as_ref() {
        Some(s) if s.removals == removals && s.seq == seq => {
            (s.keys.len() <= max).then(|| s.keys.clone())
        }
        Some(s) if s.removals == removals && s.seq < seq => {
            let room = max.saturating_sub(s.keys.len());
            read_keys(&read, s.seq, room)?.map(|mut new| {
                new.sort_unstable();
                Arc::new(merge(&s.keys, &new))
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

/// Two sorted lists as one, without duplicates.
fn merge(old: &[Key], new: &[Key]) -> Vec<Key> {
    let mut out = Vec::with_capacity(old.len() + new.len());
    let (mut i, mut j) = (0, 0);
    while i < old.len() && j < new.len() {
        match old[i].cmp(&new[j]) {
            std::cmp::Ordering::Less => {
                out.push(old[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(new[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(old[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&old[i..]);
    out.extend_from_slice(&new[j..]);
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::merge;

    #[test]
    fn merging_keeps_order_and_drops_duplicates() {
        let id = |b: u8| [b; 32];
        let old = vec![(1, id(1)), (2, id(1)), (2, id(3)), (9, id(0))];
        let new = vec![(0, id(7)), (2, id(2)), (2, id(3)), (10, id(0))];
        assert_eq!(
            merge(&old, &new),
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
        assert_eq!(merge(&[], &new), new);
        assert_eq!(merge(&old, &[]), old);
    }
}
