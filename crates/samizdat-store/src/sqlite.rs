//! Events in SQLite, in the data directory: the default [`EventStore`].
//! One writer thread owns the write connection (`writer`); reads take a
//! connection from a small pool (`pool`).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, TransactionBehavior};
use samizdat_core::nostr::prelude::{EventId, PublicKey};
use samizdat_core::{BlobHash, VerifiedEvent};

use crate::events::EventStore;
use crate::insert::{self, InsertOutcome};
use crate::keyset::{self, SortedKeys};
use crate::writer::{Engine, Job, Writer};
use crate::{
    BlobStore, OwnedBlob, Pending, Query, Release, StoreError, StoreOptions, StoredEvent,
    migrations, owners, pool, query,
};

/// Work for the SQLite writer: statements run inside a batch's transaction.
type Change = Box<dyn FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()> + Send>;

pub struct Sqlite {
    path: PathBuf,
    writer: Writer<Change>,
    reads: pool::ReadPool,
    keys: keyset::KeyCache,
}

impl Sqlite {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path, options: StoreOptions) -> Result<Sqlite, StoreError> {
        let mut conn = pool::open_connection(path, false)?;
        migrations::run(&mut conn)?;
        Ok(Sqlite {
            path: path.to_path_buf(),
            writer: Writer::spawn(SqliteWriter(conn), options)?,
            reads: pool::ReadPool::new(path.to_path_buf()),
            keys: keyset::KeyCache::default(),
        })
    }

    /// Runs `change` in the writer's next transaction and returns what it
    /// computed, after the commit.
    fn in_writer<T: Send + 'static>(
        &self,
        change: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.writer
            .change(Box::new(move |t| {
                let _ = tx.send(change(t)?);
                Ok(())
            }))?
            .wait()?;
        rx.recv().map_err(|_| StoreError::WriterGone)
    }
}

struct SqliteWriter(Connection);

impl Engine for SqliteWriter {
    type Change = Change;

    fn commit(
        &mut self,
        batch: &mut [Job<Change>],
        now: u64,
    ) -> Result<Vec<Vec<InsertOutcome>>, StoreError> {
        let tx = self
            .0
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut outcomes = Vec::with_capacity(batch.len());
        {
            let mut hot = insert::Hot::prepare(&tx)?;
            for job in batch.iter_mut() {
                let mut out = Vec::with_capacity(job.events.len());
                for (i, event) in job.events.iter().enumerate() {
                    out.push(insert::apply(&tx, &mut hot, event, job.seen_at(i, now))?);
                }
                if let Some(change) = job.change.take() {
                    change(&tx)?;
                }
                outcomes.push(out);
            }
        }
        tx.commit()?;
        Ok(outcomes)
    }

    /// On the way out: fold the WAL into the database and truncate it, so
    /// a stopped node leaves one file rather than a database and a WAL of
    /// up to the checkpoint size (SQLite does this itself only when the
    /// last connection to close may write, and read connections may close
    /// last).
    fn close(&mut self) {
        let started = std::time::Instant::now();
        let result = self
            .0
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                row.get::<_, i64>(0)
            })
            .and_then(|_| self.0.execute_batch("PRAGMA optimize"));
        match result {
            Ok(()) => tracing::debug!(took = ?started.elapsed(), "store checkpointed on close"),
            Err(e) => tracing::warn!(error = %e, "checkpoint on close failed; the WAL stays"),
        }
    }
}

impl EventStore for Sqlite {
    fn describe(&self) -> String {
        format!("SQLite at {}", self.path.display())
    }

    fn submit(&self, events: Vec<VerifiedEvent>) -> Result<Pending, StoreError> {
        self.writer.submit(events)
    }

    fn submit_seen(
        &self,
        events: Vec<VerifiedEvent>,
        seen: Vec<u64>,
    ) -> Result<Pending, StoreError> {
        self.writer.submit_seen(events, seen)
    }

    fn query_each(
        &self,
        q: &Query,
        f: &mut dyn FnMut(StoredEvent) -> bool,
    ) -> Result<(), StoreError> {
        query::run(&*self.reads.get()?, q, f)
    }

    fn count(&self, q: &Query) -> Result<u64, StoreError> {
        query::count(&*self.reads.get()?, q)
    }

    fn count_any(&self, queries: &[Query]) -> Result<u64, StoreError> {
        query::count_any(&*self.reads.get()?, queries)
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        query::last_seq(&*self.reads.get()?)
    }

    fn count_after(&self, q: &Query, after: u64) -> Result<u64, StoreError> {
        query::count_after(&*self.reads.get()?, q, after)
    }

    fn for_each_key(
        &self,
        q: &Query,
        f: &mut dyn FnMut(u64, [u8; 32]) -> bool,
    ) -> Result<(), StoreError> {
        query::for_each_key(&*self.reads.get()?, q, f)
    }

    fn referenced_blobs(&self, q: &Query) -> Result<Vec<BlobHash>, StoreError> {
        query::referenced_blobs(&*self.reads.get()?, q)
    }

    fn labels_naming(
        &self,
        original: &EventId,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        query::naming(&*self.reads.get()?, original, limit)
    }

    fn all_keys(&self, max: usize) -> Result<Option<SortedKeys>, StoreError> {
        keyset::snapshot(&self.keys, &*self.reads.get()?, max)
    }

    fn explain(&self, q: &Query) -> Result<Vec<String>, StoreError> {
        query::explain(&*self.reads.get()?, q)
    }

    fn ids_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<EventId>, StoreError> {
        query::ids_with_prefix(&*self.reads.get()?, prefix, limit)
    }

    fn scan_raw(&self, f: &mut dyn FnMut(&[u8], &str, u64)) -> Result<(), StoreError> {
        let conn = self.reads.get()?;
        let mut stmt = conn.prepare("SELECT id, json, first_seen FROM events ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id: Vec<u8> = row.get(0)?;
            let json: String = row.get(1)?;
            let seen: i64 = row.get(2)?;
            f(&id, &json, seen.max(0) as u64);
        }
        Ok(())
    }

    fn add_blob_owners(&self, list: Vec<(PublicKey, OwnedBlob)>) -> Result<(), StoreError> {
        self.in_writer(move |tx| {
            for (pubkey, blob) in &list {
                owners::add(tx, pubkey, blob)?;
            }
            Ok(())
        })
    }

    fn all_blob_owners(&self, f: &mut dyn FnMut(PublicKey, OwnedBlob)) -> Result<(), StoreError> {
        owners::all(&*self.reads.get()?, f)
    }

    fn release_blob(
        &self,
        pubkey: PublicKey,
        hash: BlobHash,
        blobs: &BlobStore,
    ) -> Result<Release, StoreError> {
        let blobs = blobs.clone();
        self.in_writer(move |t| {
            let release = owners::release(t, &pubkey, &hash)?;
            if release.was_owner && !release.still_needed {
                // Inside the writer's turn, so no upload of the same blob
                // can record an owner between check and delete.
                if let Err(e) = blobs.remove(&hash) {
                    tracing::warn!(error = %e, "removing a released blob");
                }
            }
            Ok(release)
        })
    }

    fn collect_blobs(
        &self,
        candidates: Vec<BlobHash>,
        grace: std::time::Duration,
        blobs: &BlobStore,
    ) -> Result<Vec<(BlobHash, u64)>, StoreError> {
        let blobs = blobs.clone();
        self.in_writer(move |t| {
            blobs.collect(candidates, grace, |hash| {
                // What cannot be decided is kept.
                let needed =
                    owners::referenced(t, hash).and_then(|r| Ok(r || owners::owned(t, hash)?));
                Ok::<_, rusqlite::Error>(!matches!(needed, Ok(false)))
            })
        })
    }

    fn blobs_owned_by(
        &self,
        pubkey: PublicKey,
        since: Option<u64>,
        until: Option<u64>,
    ) -> Result<Vec<OwnedBlob>, StoreError> {
        owners::owned_by(&*self.reads.get()?, &pubkey, since, until)
    }

    fn describe_blob(&self, hash: &BlobHash) -> Result<Option<OwnedBlob>, StoreError> {
        owners::describe(&*self.reads.get()?, hash)
    }

    fn blob_is_referenced(&self, hash: &BlobHash) -> Result<bool, StoreError> {
        owners::referenced(&*self.reads.get()?, hash)
    }

    fn unreferenced_blobs(&self) -> Result<(u64, u64), StoreError> {
        owners::unreferenced(&*self.reads.get()?)
    }

    fn release_memory(&self) {
        self.reads.release_memory();
    }
}
