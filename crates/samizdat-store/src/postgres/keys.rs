//! The keys of every stored event, kept in memory between
//! reconciliations, as `keyset` keeps SQLite's, brought up to date from
//! PostgreSQL.
//!
//! With several writers, sequence numbers are not a safe mark: a
//! transaction may commit a lower `seq` after a higher one was read. So
//! each row carries the transaction that wrote it (`tx`), and a snapshot
//! remembers the oldest transaction still running when it was read (the
//! snapshot's `xmin`): every row of an older transaction that will ever
//! be visible is visible then. The next update reads again every row from
//! that transaction on (a few, by the `events_tx` index); merging keeps
//! each key once.

use std::sync::{Mutex, PoisonError};

use postgres::Client;

use crate::keyset::{KeySet, SortedKeys, merged};
use crate::{Key, StoreError};

#[derive(Default)]
pub struct Cache {
    cached: Mutex<Option<Snapshot>>,
}

struct Snapshot {
    keys: SortedKeys,
    /// Rows of transactions from this one on may still be missing.
    horizon: i64,
    removals: i64,
}

/// The sorted keys of every stored event, or `None` if there are more
/// than `max`.
pub fn snapshot(
    cache: &Cache,
    client: &mut Client,
    max: usize,
) -> Result<Option<SortedKeys>, StoreError> {
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let row = tx.query_one(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
                (SELECT value FROM counters WHERE name = 'removals')",
        &[],
    )?;
    let (horizon, removals): (i64, i64) = (row.get(0), row.get(1));
    let mut cached = cache.cached.lock().unwrap_or_else(PoisonError::into_inner);
    let keys = match cached.take() {
        // Rows from the horizon on are read again (most are known), so
        // the bound is checked after the merge.
        Some(s) if s.removals == removals => {
            read_keys(&mut tx, Some(s.horizon), max)?.map(|new| merged(s.keys, new))
        }
        _ => read_keys(&mut tx, None, max)?.map(|all| std::sync::Arc::new(KeySet::new(all))),
    };
    tx.commit()?;
    let keys = keys.filter(|k| k.len() <= max);
    *cached = keys.clone().map(|keys| Snapshot {
        keys,
        horizon,
        removals,
    });
    Ok(keys)
}

/// The keys of rows written by transaction `from` or later (all rows
/// without it), or `None` if there are more than `max`.
fn read_keys(
    tx: &mut postgres::Transaction<'_>,
    from: Option<i64>,
    max: usize,
) -> Result<Option<Vec<Key>>, StoreError> {
    let portal = match from {
        Some(from) => tx.bind(
            "SELECT created_at, id FROM events WHERE tx >= $1::text::xid8",
            &[&from.to_string()],
        )?,
        None => tx.bind("SELECT created_at, id FROM events", &[])?,
    };
    let mut keys = Vec::new();
    loop {
        let rows = tx.query_portal(&portal, 10_000)?;
        if rows.is_empty() {
            return Ok(Some(keys));
        }
        for row in &rows {
            if keys.len() >= max {
                return Ok(None);
            }
            keys.push(super::query::key(row)?);
        }
    }
}
