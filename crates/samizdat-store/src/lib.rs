//! samizdat storage: events in SQLite, blobs in a content-addressed
//! directory, secret keys encrypted at rest.
//!
//! Layout of a data directory:
//!
//! ```text
//! samizdat.db (+ -wal, -shm)   events, tags, deletions, full-text index
//! blobs/ab/ab12…               blobs, named by SHA-256 (unless `[store]
//!                              blobs` keeps them in a bucket: see `shelf`)
//! blobs/tmp/                   blobs being written, checked, staged
//! keys/<name>.json             NIP-49 encrypted secret keys
//! ```
//!
//! Invariants:
//! - Only [`VerifiedEvent`]s are inserted: every stored event passed
//!   `samizdat_core::validate`.
//! - All writes go through one writer thread that groups many inserts into
//!   one transaction; an insert is reported done only after its
//!   transaction is durable (`synchronous = FULL` in WAL mode).
//! - A blob exists under its name only when it is whole; reads re-hash.

mod blobs;
pub mod fsutil;
mod insert;
mod keys;
mod keyset;
mod migrations;
mod owners;
mod pool;
mod query;
pub mod shelf;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use blobs::{BlobEntry, BlobError, BlobStore, DownloadLock, Kept, hash_reader};
pub use fsutil::{DirId, write_atomic};
pub use insert::InsertOutcome;
pub use keys::{KeyEntry, KeyError, KeyStore};
pub use keyset::{BLOCK, IdSum, Key, KeySet, SortedKeys};
pub use migrations::SCHEMA_VERSION;
pub use owners::{OwnedBlob, Release};
pub use query::{Query, StoredEvent};
use samizdat_core::nostr::prelude::{EventId, PublicKey};
use samizdat_core::{BlobHash, VerifiedEvent};
pub use writer::{Committed, Pending};

/// File name of the database inside a data directory.
pub const DB_FILE: &str = "samizdat.db";

/// How long a blob no record names and nobody uploaded is kept before it
/// is collected: longer than any record takes to follow its blobs.
pub const UNNEEDED_BLOB_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Blobs decided on in one turn of the writer when collecting.
const COLLECT_AT_ONCE: usize = 256;

/// The same, when blobs are kept in an object store: two requests each.
const COLLECT_REMOTE_AT_ONCE: usize = 8;

/// Errors of the store. Causes are kept, so a user sees the whole chain.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("committing a batch: {0}")]
    Commit(Arc<rusqlite::Error>),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the database has schema version {found}, newer than this samizdat supports \
         ({supported}); upgrade samizdat"
    )]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("the store's writer has stopped")]
    WriterGone,
    #[error("stored event {0} is damaged: {1}")]
    Damaged(String, String),
}

impl StoreError {
    /// Whether the disk (or the file system's quota) is full: nothing was
    /// written, and writes can go on once there is room again.
    pub fn is_full(&self) -> bool {
        let sqlite =
            |e: &rusqlite::Error| e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull);
        match self {
            StoreError::Sqlite(e) => sqlite(e),
            StoreError::Commit(e) => sqlite(e),
            StoreError::Io { source, .. } => blobs::is_full(source),
            _ => false,
        }
    }
}

/// Tuning of a store; the defaults suit a laptop.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Most events in one transaction.
    pub max_batch_events: usize,
    /// Insert jobs that may wait for the writer before callers block.
    pub queue_depth: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_batch_events: 10_000,
            queue_depth: 1_024,
        }
    }
}

/// A handle to an open store. Cheap to clone; the writer stops when the last
/// handle is dropped, after committing what it was given.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    writer: writer::Writer,
    reads: pool::ReadPool,
    blobs: BlobStore,
    keys: keyset::KeyCache,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_with(dir, StoreOptions::default())
    }

    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Store, StoreError> {
        let shelf = Arc::new(shelf::Folder::new(dir.join("blobs")));
        Store::open_on(dir, options, shelf)
    }

    /// Opens the store in `dir`, keeping whole blobs on `shelf`.
    pub fn open_on(
        dir: &Path,
        options: StoreOptions,
        shelf: Arc<dyn shelf::Shelf>,
    ) -> Result<Store, StoreError> {
        let io = |source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let db = dir.join(DB_FILE);
        let mut conn = pool::open_connection(&db, false)?;
        migrations::run(&mut conn)?;
        let writer = writer::Writer::spawn(conn, options)?;
        let blobs = BlobStore::open_on(dir.join("blobs"), shelf).map_err(io)?;
        Ok(Store {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                writer,
                reads: pool::ReadPool::new(db),
                blobs,
                keys: keyset::KeyCache::default(),
            }),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.inner.blobs
    }

    /// Inserts events in one transaction and returns, after the commit is
    /// durable, what became of each, in order.
    pub fn insert(&self, events: Vec<VerifiedEvent>) -> Result<Vec<InsertOutcome>, StoreError> {
        self.submit(events)?.wait()
    }

    /// Like [`Store::insert`], and hands the events back after the commit.
    pub fn insert_returning(&self, events: Vec<VerifiedEvent>) -> Result<Committed, StoreError> {
        self.submit(events)?.committed()
    }

    /// Hands events to the writer and returns at once; [`Pending::wait`]
    /// returns after they are durably committed. Lets a caller verify the
    /// next batch while this one commits.
    pub fn submit(&self, events: Vec<VerifiedEvent>) -> Result<Pending, StoreError> {
        self.inner.writer.submit(events)
    }

    /// Events matching `query`, newest first (best match first for a
    /// search).
    pub fn query(&self, query: &Query) -> Result<Vec<StoredEvent>, StoreError> {
        let mut out = Vec::new();
        self.query_each(query, |e| {
            out.push(e);
            true
        })?;
        Ok(out)
    }

    /// Streams events matching `query` to `f` until it returns false.
    pub fn query_each(
        &self,
        query: &Query,
        f: impl FnMut(StoredEvent) -> bool,
    ) -> Result<(), StoreError> {
        let conn = self.inner.reads.get()?;
        query::run(&conn, query, f)
    }

    /// How many events match `query` (its limit ignored).
    pub fn count(&self, query: &Query) -> Result<u64, StoreError> {
        let conn = self.inner.reads.get()?;
        query::count(&conn, query)
    }

    /// Records that `pubkey` uploaded the blob (whose bytes are already in
    /// the blob directory); returns after the commit. A second upload by the
    /// same key keeps the first time.
    pub fn add_blob_owner(&self, pubkey: PublicKey, blob: OwnedBlob) -> Result<(), StoreError> {
        self.inner
            .writer
            .change(Box::new(move |tx| owners::add(tx, &pubkey, &blob)))?
            .wait()
            .map(drop)
    }

    /// Drops `pubkey`'s claim on a blob and, when no other uploader and no
    /// stored record needs it any more, deletes its bytes.
    pub fn release_blob(&self, pubkey: PublicKey, hash: BlobHash) -> Result<Release, StoreError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let blobs = self.inner.blobs.clone();
        self.inner
            .writer
            .change(Box::new(move |t| {
                let release = owners::release(t, &pubkey, &hash)?;
                if release.was_owner && !release.still_needed {
                    // Inside the writer's turn, so no upload of the same
                    // blob can record an owner between check and delete.
                    if let Err(e) = blobs.remove(&hash) {
                        tracing::warn!(error = %e, "removing a released blob");
                    }
                }
                let _ = tx.send(release);
                Ok(())
            }))?
            .wait()?;
        rx.recv().map_err(|_| StoreError::WriterGone)
    }

    /// The blobs `pubkey` uploaded, newest first, within the upload times.
    pub fn blobs_owned_by(
        &self,
        pubkey: PublicKey,
        since: Option<u64>,
        until: Option<u64>,
    ) -> Result<Vec<OwnedBlob>, StoreError> {
        let conn = self.inner.reads.get()?;
        owners::owned_by(&conn, &pubkey, since, until)
    }

    /// Whether a stored record names the blob.
    pub fn blob_is_referenced(&self, hash: &BlobHash) -> Result<bool, StoreError> {
        let conn = self.inner.reads.get()?;
        owners::referenced(&conn, hash)
    }

    /// The bytes of uploaded blobs that no stored record names.
    pub fn unreferenced_blob_bytes(&self) -> Result<u64, StoreError> {
        let conn = self.inner.reads.get()?;
        owners::unreferenced_bytes(&conn)
    }

    /// Gives memory that idle readers hold (their page caches) back to
    /// the allocator; the node calls it after bursts.
    pub fn release_memory(&self) {
        self.inner.reads.release_memory();
    }

    /// How many uploaded blobs no stored record names, and their bytes:
    /// uploads waiting for their record, or kept by their uploaders.
    pub fn unreferenced_blobs(&self) -> Result<(u64, u64), StoreError> {
        let conn = self.inner.reads.get()?;
        owners::unreferenced(&conn)
    }

    /// Removes blobs that no stored record names and nobody uploaded, and
    /// that were not written or stored again for `grace`: what a record
    /// refused after its blobs were written, a crash between the two, or
    /// a deleted record left. Each is decided and removed inside the
    /// writer's turn, so no record naming it can commit in between; a
    /// blob being stored again meanwhile is kept. Returns each removed
    /// blob with its size.
    pub fn collect_unneeded_blobs(
        &self,
        grace: std::time::Duration,
    ) -> Result<Vec<(BlobHash, u64)>, StoreError> {
        let blobs = self.inner.blobs.clone();
        let old = blobs.list_old(grace).map_err(|source| StoreError::Io {
            path: self.dir().join("blobs"),
            source,
        })?;
        let mut removed = Vec::new();
        // A turn of the writer at most COLLECT_AT_ONCE blobs long, so
        // ingest is never held for long; far fewer when each removal is a
        // request to an object store.
        let at_once = if blobs.shelf().is_local() {
            COLLECT_AT_ONCE
        } else {
            COLLECT_REMOTE_AT_ONCE
        };
        for batch in old.chunks(at_once) {
            let (tx, rx) = std::sync::mpsc::channel();
            let (blobs, batch) = (blobs.clone(), batch.to_vec());
            self.inner
                .writer
                .change(Box::new(move |t| {
                    let mut gone = Vec::new();
                    for hash in batch {
                        let needed = owners::referenced(t, &hash)
                            .and_then(|r| Ok(r || owners::owned(t, &hash)?));
                        if !matches!(needed, Ok(false)) {
                            continue;
                        }
                        match blobs.remove_if_old(&hash, grace) {
                            Ok(Some(size)) => gone.push((hash, size)),
                            Ok(None) => {}
                            Err(e) => tracing::warn!(error = %e, "removing an unneeded blob"),
                        }
                    }
                    let _ = tx.send(gone);
                    Ok(())
                }))?
                .wait()?;
            removed.extend(rx.recv().map_err(|_| StoreError::WriterGone)?);
        }
        Ok(removed)
    }

    /// What the first upload of a blob said about it, if it was uploaded.
    pub fn describe_blob(&self, hash: &BlobHash) -> Result<Option<OwnedBlob>, StoreError> {
        let conn = self.inner.reads.get()?;
        owners::describe(&conn, hash)
    }

    /// How many distinct events match any of `queries` (limits ignored).
    pub fn count_any(&self, queries: &[Query]) -> Result<u64, StoreError> {
        let conn = self.inner.reads.get()?;
        query::count_any(&conn, queries)
    }

    /// Streams the `created_at` and id of every event matching `query`
    /// (its limit ignored) until `f` returns false: the set that a
    /// reconciliation compares, without reading the events.
    pub fn for_each_key(
        &self,
        query: &Query,
        f: impl FnMut(u64, [u8; 32]) -> bool,
    ) -> Result<(), StoreError> {
        let conn = self.inner.reads.get()?;
        query::for_each_key(&conn, query, f)
    }

    /// The blobs referenced (NIP-92 `imeta`) by the events matching
    /// `query`, each once: what sync moves after those records.
    pub fn referenced_blobs(&self, query: &Query) -> Result<Vec<BlobHash>, StoreError> {
        let conn = self.inner.reads.get()?;
        query::referenced_blobs(&conn, query)
    }

    /// The labels (NIP-32 attestations) whose `of` tag names `original`:
    /// its translations, its duplicates, the reports said to be about the
    /// same person. Newest first, at most `limit`, found by key.
    pub fn labels_naming(
        &self,
        original: &EventId,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.inner.reads.get()?;
        query::naming(&conn, original, limit)
    }

    /// The sorted `(created_at, id)` keys of every stored event, kept in
    /// memory and brought up to date on each call (see `keyset`), or
    /// `None` if there are more than `max`: what a reconciliation of the
    /// whole store, or of a time range of it, compares.
    pub fn all_keys(&self, max: usize) -> Result<Option<keyset::SortedKeys>, StoreError> {
        let conn = self.inner.reads.get()?;
        keyset::snapshot(&self.inner.keys, &conn, max)
    }

    /// The highest sequence number of a stored event (0 when none): it
    /// grows whenever any process stores an event, so polling it tells a
    /// node that something new arrived by a door it does not watch.
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        let conn = self.inner.reads.get()?;
        query::last_seq(&conn)
    }

    /// How many events stored after sequence number `after` match
    /// `query`: what is new here since a moment [`Store::last_seq`] marked.
    pub fn count_after(&self, query: &Query, after: u64) -> Result<u64, StoreError> {
        let conn = self.inner.reads.get()?;
        query::count_after(&conn, query, after)
    }

    /// The query plan SQLite chooses for `query`, one line per step.
    pub fn explain(&self, query: &Query) -> Result<Vec<String>, StoreError> {
        let conn = self.inner.reads.get()?;
        query::explain(&conn, query)
    }

    /// Ids of stored events whose hex id starts with `prefix` (at most
    /// `limit`), so people can type the short ids that `list` shows.
    pub fn ids_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<EventId>, StoreError> {
        let conn = self.inner.reads.get()?;
        query::ids_with_prefix(&conn, prefix, limit)
    }

    /// Streams every stored row, in arrival order, as its id column and
    /// JSON text, without trusting either: for `verify`.
    pub fn scan_raw(&self, mut f: impl FnMut(&[u8], &str)) -> Result<(), StoreError> {
        let conn = self.inner.reads.get()?;
        let mut stmt = conn.prepare("SELECT id, json FROM events ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id: Vec<u8> = row.get(0)?;
            let json: String = row.get(1)?;
            f(&id, &json);
        }
        Ok(())
    }
}
