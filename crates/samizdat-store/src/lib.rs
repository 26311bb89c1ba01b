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
mod events;
pub mod fsutil;
mod insert;
mod keys;
mod keyset;
mod migrations;
mod owners;
mod pool;
mod postgres;
mod query;
mod settings;
pub mod shelf;
mod sqlite;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use blobs::{BlobEntry, BlobError, BlobStore, DownloadLock, Kept, hash_reader};
pub use events::{EventStore, Wanted};
pub use fsutil::{DirId, write_atomic};
pub use insert::InsertOutcome;
pub use keys::{KeyEntry, KeyError, KeyStore};
pub use keyset::{BLOCK, IdSum, Key, KeySet, SortedKeys};
pub use migrations::SCHEMA_VERSION;
pub use owners::{OwnedBlob, Release};
pub use postgres::{PgError, Postgres, Target as PgTarget};
pub use query::{Query, StoredEvent};
use samizdat_core::nostr::prelude::{EventId, PublicKey};
use samizdat_core::{BlobHash, VerifiedEvent};
pub use settings::{BlobsAtText, EventsAt, EventsAtText, OpenError, StoreSettings};
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
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] PgError),
    #[error("committing a batch: {0}")]
    Commit(Arc<StoreError>),
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
            StoreError::Commit(e) => e.is_full(),
            StoreError::Postgres(e) => e.is_full(),
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
    events: Box<dyn EventStore>,
    blobs: BlobStore,
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
        let events = sqlite::Sqlite::open(&dir.join(DB_FILE), options)?;
        Store::with_events(dir, Box::new(events), shelf)
    }

    /// Opens the store in `dir` with its events in `events` and whole
    /// blobs on `shelf`: the data directory keeps keys, staging and state.
    pub fn with_events(
        dir: &Path,
        events: Box<dyn EventStore>,
        shelf: Arc<dyn shelf::Shelf>,
    ) -> Result<Store, StoreError> {
        let io = |source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let blobs = BlobStore::open_on(dir.join("blobs"), shelf).map_err(io)?;
        Ok(Store {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                events,
                blobs,
            }),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.inner.blobs
    }

    /// The database the events are in.
    pub fn events(&self) -> &dyn EventStore {
        self.inner.events.as_ref()
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
        self.events().submit(events)
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
        mut f: impl FnMut(StoredEvent) -> bool,
    ) -> Result<(), StoreError> {
        self.events().query_each(query, &mut f)
    }

    /// How many events match `query` (its limit ignored).
    pub fn count(&self, query: &Query) -> Result<u64, StoreError> {
        self.events().count(query)
    }

    /// Records that `pubkey` uploaded the blob (whose bytes are already in
    /// the blob directory); returns after the commit. A second upload by the
    /// same key keeps the first time.
    pub fn add_blob_owner(&self, pubkey: PublicKey, blob: OwnedBlob) -> Result<(), StoreError> {
        self.events().add_blob_owners(vec![(pubkey, blob)])
    }

    /// Drops `pubkey`'s claim on a blob and, when no other uploader and no
    /// stored record needs it any more, deletes its bytes.
    pub fn release_blob(&self, pubkey: PublicKey, hash: BlobHash) -> Result<Release, StoreError> {
        self.events().release_blob(pubkey, hash, &self.inner.blobs)
    }

    /// The blobs `pubkey` uploaded, newest first, within the upload times.
    pub fn blobs_owned_by(
        &self,
        pubkey: PublicKey,
        since: Option<u64>,
        until: Option<u64>,
    ) -> Result<Vec<OwnedBlob>, StoreError> {
        self.events().blobs_owned_by(pubkey, since, until)
    }

    /// Whether a stored record names the blob.
    pub fn blob_is_referenced(&self, hash: &BlobHash) -> Result<bool, StoreError> {
        self.events().blob_is_referenced(hash)
    }

    /// The bytes of uploaded blobs that no stored record names.
    pub fn unreferenced_blob_bytes(&self) -> Result<u64, StoreError> {
        Ok(self.events().unreferenced_blobs()?.1)
    }

    /// Gives memory that idle readers hold (their page caches) back to
    /// the allocator; the node calls it after bursts.
    pub fn release_memory(&self) {
        self.events().release_memory();
    }

    /// How many uploaded blobs no stored record names, and their bytes:
    /// uploads waiting for their record, or kept by their uploaders.
    pub fn unreferenced_blobs(&self) -> Result<(u64, u64), StoreError> {
        self.events().unreferenced_blobs()
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
        let blobs = &self.inner.blobs;
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
            removed.extend(self.events().collect_blobs(batch.to_vec(), grace, blobs)?);
        }
        Ok(removed)
    }

    /// What the first upload of a blob said about it, if it was uploaded.
    pub fn describe_blob(&self, hash: &BlobHash) -> Result<Option<OwnedBlob>, StoreError> {
        self.events().describe_blob(hash)
    }

    /// How many distinct events match any of `queries` (limits ignored).
    pub fn count_any(&self, queries: &[Query]) -> Result<u64, StoreError> {
        self.events().count_any(queries)
    }

    /// Streams the `created_at` and id of every event matching `query`
    /// (its limit ignored) until `f` returns false: the set that a
    /// reconciliation compares, without reading the events.
    pub fn for_each_key(
        &self,
        query: &Query,
        mut f: impl FnMut(u64, [u8; 32]) -> bool,
    ) -> Result<(), StoreError> {
        self.events().for_each_key(query, &mut f)
    }

    /// The blobs referenced (NIP-92 `imeta`) by the events matching
    /// `query`, each once: what sync moves after those records.
    pub fn referenced_blobs(&self, query: &Query) -> Result<Vec<BlobHash>, StoreError> {
        self.events().referenced_blobs(query)
    }

    /// The labels (NIP-32 attestations) whose `of` tag names `original`:
    /// its translations, its duplicates, the reports said to be about the
    /// same person. Newest first, at most `limit`, found by key.
    pub fn labels_naming(
        &self,
        original: &EventId,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.events().labels_naming(original, limit)
    }

    /// The sorted `(created_at, id)` keys of every stored event, kept in
    /// memory and brought up to date on each call (see `keyset`), or
    /// `None` if there are more than `max`: what a reconciliation of the
    /// whole store, or of a time range of it, compares.
    pub fn all_keys(&self, max: usize) -> Result<Option<keyset::SortedKeys>, StoreError> {
        self.events().all_keys(max)
    }

    /// The highest sequence number of a stored event (0 when none): it
    /// grows whenever any process stores an event, so polling it tells a
    /// node that something new arrived by a door it does not watch.
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        self.events().last_seq()
    }

    /// How many events stored after sequence number `after` match
    /// `query`: what is new here since a moment [`Store::last_seq`] marked.
    pub fn count_after(&self, query: &Query, after: u64) -> Result<u64, StoreError> {
        self.events().count_after(query, after)
    }

    /// The query plan the database chooses for `query`, one line per step.
    pub fn explain(&self, query: &Query) -> Result<Vec<String>, StoreError> {
        self.events().explain(query)
    }

    /// Ids of stored events whose hex id starts with `prefix` (at most
    /// `limit`), so people can type the short ids that `list` shows.
    pub fn ids_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<EventId>, StoreError> {
        self.events().ids_with_prefix(prefix, limit)
    }

    /// Streams every stored row, in arrival order, as its id column and
    /// JSON text, without trusting either: for `verify`.
    pub fn scan_raw(&self, mut f: impl FnMut(&[u8], &str)) -> Result<(), StoreError> {
        self.events().scan_raw(&mut |id, json, _| f(id, json))
    }
}
