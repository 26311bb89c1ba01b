//! The event store's interface: what every database that keeps events
//! must do, and do the same way (the conformance suite in
//! `tests/it` runs on each). Two implement it: SQLite in the data
//! directory (`sqlite`, the default) and PostgreSQL (`postgres`), which
//! several front nodes may share.

use samizdat_core::nostr::prelude::{EventId, PublicKey};
use samizdat_core::{BlobHash, VerifiedEvent};

use crate::keyset::SortedKeys;
use crate::{BlobStore, OwnedBlob, Pending, Query, Release, StoreError, StoredEvent};

/// Whether anyone wants the events of other front nodes just now.
pub type Wanted = Box<dyn Fn() -> bool + Send>;

/// A database of events, with the blob owners and references beside them.
///
/// Every write goes through one writer per process that groups what waits
/// into one transaction and answers after the commit is durable. Reads run
/// on their own connections.
pub trait EventStore: Send + Sync {
    /// Where the events are, for logs and `status` (no secrets).
    fn describe(&self) -> String;

    /// Hands events to the writer; [`Pending::wait`] returns after they
    /// are durably committed.
    fn submit(&self, events: Vec<VerifiedEvent>) -> Result<Pending, StoreError>;

    /// Like [`EventStore::submit`], keeping when each event was first seen
    /// (elsewhere: a copy from another store) rather than now.
    fn submit_seen(
        &self,
        events: Vec<VerifiedEvent>,
        seen: Vec<u64>,
    ) -> Result<Pending, StoreError>;

    /// Streams events matching `query` (newest first, best match first for
    /// a search) to `f` until it returns false.
    fn query_each(
        &self,
        query: &Query,
        f: &mut dyn FnMut(StoredEvent) -> bool,
    ) -> Result<(), StoreError>;

    /// How many events match `query` (its limit ignored).
    fn count(&self, query: &Query) -> Result<u64, StoreError>;

    /// How many distinct events match any of `queries` (limits ignored).
    fn count_any(&self, queries: &[Query]) -> Result<u64, StoreError>;

    /// The highest sequence number of a stored event (0 when none).
    fn last_seq(&self) -> Result<u64, StoreError>;

    /// How many events stored after sequence number `after` match `query`.
    fn count_after(&self, query: &Query, after: u64) -> Result<u64, StoreError>;

    /// Streams the `created_at` and id of every event matching `query`.
    fn for_each_key(
        &self,
        query: &Query,
        f: &mut dyn FnMut(u64, [u8; 32]) -> bool,
    ) -> Result<(), StoreError>;

    /// The blobs referenced by the events matching `query`, each once.
    fn referenced_blobs(&self, query: &Query) -> Result<Vec<BlobHash>, StoreError>;

    /// The labels whose `of` tag names `original`, newest first.
    fn labels_naming(
        &self,
        original: &EventId,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// The sorted keys of every stored event, or `None` beyond `max`.
    fn all_keys(&self, max: usize) -> Result<Option<SortedKeys>, StoreError>;

    /// The database's plan for `query`, one line per step.
    fn explain(&self, query: &Query) -> Result<Vec<String>, StoreError>;

    /// Ids of stored events whose hex id starts with `prefix`.
    fn ids_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<EventId>, StoreError>;

    /// Every stored row, in arrival order, as its id column, JSON text
    /// and when it was first seen.
    fn scan_raw(&self, f: &mut dyn FnMut(&[u8], &str, u64)) -> Result<(), StoreError>;

    /// Records uploaders' claims on blobs (a second claim by the same key
    /// keeps the first time); returns after the commit.
    fn add_blob_owners(&self, owners: Vec<(PublicKey, OwnedBlob)>) -> Result<(), StoreError>;

    /// Every uploader's claim on every blob, in no particular order.
    fn all_blob_owners(&self, f: &mut dyn FnMut(PublicKey, OwnedBlob)) -> Result<(), StoreError>;

    /// Drops a claim and, inside the same turn of the writer, removes the
    /// bytes from `blobs` when nothing needs them any more.
    fn release_blob(
        &self,
        pubkey: PublicKey,
        hash: BlobHash,
        blobs: &BlobStore,
    ) -> Result<Release, StoreError>;

    /// Of `candidates`, removes from `blobs` those no record names and
    /// nobody uploaded and that stayed unwritten for `grace`, deciding and
    /// removing inside one turn of the writer. Returns what went.
    fn collect_blobs(
        &self,
        candidates: Vec<BlobHash>,
        grace: std::time::Duration,
        blobs: &BlobStore,
    ) -> Result<Vec<(BlobHash, u64)>, StoreError>;

    /// The blobs `pubkey` uploaded, newest first, within the upload times.
    fn blobs_owned_by(
        &self,
        pubkey: PublicKey,
        since: Option<u64>,
        until: Option<u64>,
    ) -> Result<Vec<OwnedBlob>, StoreError>;

    /// What the first upload of a blob said about it.
    fn describe_blob(&self, hash: &BlobHash) -> Result<Option<OwnedBlob>, StoreError>;

    /// Whether a stored record names the blob.
    fn blob_is_referenced(&self, hash: &BlobHash) -> Result<bool, StoreError>;

    /// How many uploaded blobs no stored record names, and their bytes.
    fn unreferenced_blobs(&self) -> Result<(u64, u64), StoreError>;

    /// Gives idle memory back (read connections' caches); may do nothing.
    fn release_memory(&self) {}

    /// Events other processes (other front nodes over the same database)
    /// stored, as they commit, for live subscribers here, read only while
    /// `wanted` says someone listens; `None` when no other process can
    /// write this database while the node runs.
    fn others(&self, wanted: Wanted) -> Option<std::sync::mpsc::Receiver<Vec<StoredEvent>>> {
        let _ = wanted;
        None
    }
}
