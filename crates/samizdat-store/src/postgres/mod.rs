//! Events in PostgreSQL: an [`EventStore`] that several front nodes may
//! share. The schema holds the same things as SQLite's (events, their
//! single-letter tags, deletions, the full-text terms, blob owners and
//! references); each front node keeps its own one writer, which groups
//! what waits into one transaction and one call of `samizdat_insert`
//! (`schema`), so a batch costs a few round trips however many events it
//! holds. Writers of different front nodes take advisory locks on what
//! they touch (an event's id, a replaceable address, a deletion's
//! targets), so two nodes never race on one address or on an event and
//! its deletion, and otherwise run side by side.
//!
//! After a commit, a notification on the channel `samizdat_events` names
//! the new rows; every other front node listens ([`EventStore::others`])
//! and hands them to its live subscribers.

mod insert;
mod keys;
mod query;
mod schema;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ::postgres::{Client, Config, NoTls};
use samizdat_core::nostr::prelude::{EventId, PublicKey};
use samizdat_core::{BlobHash, VerifiedEvent};

use crate::events::{EventStore, Wanted};
use crate::keyset::SortedKeys;
use crate::writer::Writer;
use crate::{
    BlobStore, InsertOutcome, OwnedBlob, Pending, Query, Release, StoreError, StoreOptions,
    StoredEvent,
};

/// The channel new rows are announced on.
const CHANNEL: &str = "samizdat_events";

/// Idle read connections kept for reuse.
const MAX_IDLE: usize = 16;

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors of the PostgreSQL event store.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("{0}")]
    Db(#[from] ::postgres::Error),
    #[error("events URL: {0}")]
    Url(String),
    #[error("{0}")]
    Unsuitable(String),
    #[error(
        "the database has samizdat schema version {found}, newer than this samizdat \
         supports ({supported}); upgrade samizdat"
    )]
    SchemaTooNew { found: i64, supported: i64 },
}

impl PgError {
    /// Whether the database's disk is full (SQLSTATE 53100).
    pub fn is_full(&self) -> bool {
        match self {
            PgError::Db(e) => e.code() == Some(&::postgres::error::SqlState::DISK_FULL),
            _ => false,
        }
    }
}

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> StoreError {
        StoreError::Postgres(PgError::Db(e))
    }
}

/// Work for the PostgreSQL writer: statements run inside a batch's
/// transaction.
type Change =
    Box<dyn FnOnce(&mut ::postgres::Transaction<'_>) -> Result<(), ::postgres::Error> + Send>;

/// Where the database is and how to log in; the password never comes from
/// the URL, so the URL can be logged and shown.
#[derive(Clone)]
pub struct Target {
    config: Config,
    shown: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Target {
    /// Parses `postgres://USER@HOST[:PORT]/DATABASE[?options]`. A password
    /// in the URL is refused; `password` (from the environment or a
    /// credentials file) is used instead.
    pub fn parse(url: &str, password: Option<&str>) -> Result<Target, PgError> {
        let parsed = url::Url::parse(url).map_err(|e| PgError::Url(e.to_string()))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(PgError::Url(format!(
                "scheme {:?}: only postgres:// is understood",
                parsed.scheme()
            )));
        }
        if parsed.password().is_some() {
            return Err(PgError::Url(
                "a password in the URL would be printed and logged: give it in \
                 SAMIZDAT_POSTGRES_PASSWORD or the credentials file instead"
                    .into(),
            ));
        }
        let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
            return Err(PgError::Url("no host".into()));
        };
        let mut config = Config::from_str(url).map_err(|e| PgError::Url(e.to_string()))?;
        if config.get_password().is_some() {
            return Err(PgError::Url(
                "a password in the URL would be printed and logged: give it in \
                 SAMIZDAT_POSTGRES_PASSWORD or the credentials file instead"
                    .into(),
            ));
        }
        if config.get_hosts().len() != 1 {
            return Err(PgError::Url(
                "one host, in the URL's host part (not in its options)".into(),
            ));
        }
        if let Some(password) = password {
            config.password(password);
        }
        config.connect_timeout(CONNECT_TIMEOUT);
        config.application_name("samizdat");
        // A front node cut off mid-transaction must not hold its locks,
        // and the other nodes' writers, for the two hours of TCP's own
        // keepalive: the server notices within a minute and rolls back,
        // and a writer waits for a lock half a minute at most.
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(20));
        config.tcp_user_timeout(Duration::from_secs(30));
        config.options(
            "-c idle_in_transaction_session_timeout=60s -c lock_timeout=30s \
             -c tcp_keepalives_idle=20 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=4",
        );
        if !crate::settings::is_near(parsed.host()) {
            tracing::warn!(
                host,
                "the database is reached without TLS beyond this machine and its private \
                 network: whoever is on the path can read and change what it answers; reach \
                 it through a private network or a tunnel (WireGuard, SSH)"
            );
        }
        let shown = format!(
            "postgres://{}@{host}:{}{}",
            parsed.username(),
            parsed.port().unwrap_or(5432),
            parsed.path()
        );
        Ok(Target { config, shown })
    }

    /// The URL without secrets.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn connect(&self) -> Result<Client, PgError> {
        Ok(self.config.connect(NoTls)?)
    }
}

/// The PostgreSQL event store.
pub struct Postgres {
    target: Target,
    writer: Writer<Change>,
    idle: Mutex<Vec<Client>>,
    keys: keys::Cache,
    /// This process's writer, as notifications name it.
    origin: u64,
    stopping: Arc<AtomicBool>,
}

impl Postgres {
    /// Connects, brings the schema up to date (one front node at a time)
    /// and starts the writer.
    pub fn open(target: Target, options: StoreOptions) -> Result<Postgres, StoreError> {
        let client = blocking(|| -> Result<Client, PgError> {
            let mut client = target.connect()?;
            schema::migrate(&mut client)?;
            Ok(client)
        })?;
        let origin = rand_origin();
        let writer = Writer::spawn(
            insert::PgWriter::new(target.clone(), client, origin),
            options,
        )?;
        tracing::info!(database = %target.shown(), "events in PostgreSQL");
        Ok(Postgres {
            target,
            writer,
            idle: Mutex::new(Vec::new()),
            keys: keys::Cache::default(),
            origin,
            stopping: Arc::new(AtomicBool::new(false)),
        })
    }

    /// A read connection from the pool (or a new one), returned on drop.
    fn read(&self) -> Result<Pooled<'_>, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let client = match idle {
            Some(c) if !c.is_closed() => c,
            _ => self.target.connect()?,
        };
        Ok(Pooled {
            pool: self,
            client: Some(client),
        })
    }

    /// Runs `change` in the writer's next transaction and returns what it
    /// computed, after the commit.
    fn in_writer<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut ::postgres::Transaction<'_>) -> Result<T, ::postgres::Error>
        + Send
        + 'static,
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

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        // Closing a connection talks to the database too.
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        blocking(move || drop(idle));
    }
}

/// A random tag for this process's writer, so its listener can leave out
/// what it wrote itself.
fn rand_origin() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

struct Pooled<'a> {
    pool: &'a Postgres,
    client: Option<Client>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take()
            && !client.is_closed()
        {
            let mut idle = self
                .pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if idle.len() < MAX_IDLE {
                idle.push(client);
            }
        }
    }
}

impl EventStore for Postgres {
    fn describe(&self) -> String {
        format!("PostgreSQL at {}", self.target.shown())
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
        blocking(|| query::run(&mut *self.read()?, q, f))
    }

    fn count(&self, q: &Query) -> Result<u64, StoreError> {
        blocking(|| query::count(&mut *self.read()?, q, None))
    }

    fn count_any(&self, queries: &[Query]) -> Result<u64, StoreError> {
        blocking(|| query::count_any(&mut *self.read()?, queries))
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        blocking(|| {
            let row = self
                .read()?
                .query_one("SELECT coalesce(max(seq), 0) FROM events", &[])?;
            Ok(row.get::<_, i64>(0).max(0) as u64)
        })
    }

    fn count_after(&self, q: &Query, after: u64) -> Result<u64, StoreError> {
        blocking(|| query::count(&mut *self.read()?, q, Some(after)))
    }

    fn for_each_key(
        &self,
        q: &Query,
        f: &mut dyn FnMut(u64, [u8; 32]) -> bool,
    ) -> Result<(), StoreError> {
        blocking(|| query::for_each_key(&mut *self.read()?, q, f))
    }

    fn referenced_blobs(&self, q: &Query) -> Result<Vec<BlobHash>, StoreError> {
        blocking(|| query::referenced_blobs(&mut *self.read()?, q))
    }

    fn labels_naming(
        &self,
        original: &EventId,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        blocking(|| query::naming(&mut *self.read()?, original, limit))
    }

    fn all_keys(&self, max: usize) -> Result<Option<SortedKeys>, StoreError> {
        blocking(|| keys::snapshot(&self.keys, &mut *self.read()?, max))
    }

    fn explain(&self, q: &Query) -> Result<Vec<String>, StoreError> {
        blocking(|| query::explain(&mut *self.read()?, q))
    }

    fn ids_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<EventId>, StoreError> {
        blocking(|| query::ids_with_prefix(&mut *self.read()?, prefix, limit))
    }

    fn scan_raw(&self, f: &mut dyn FnMut(&[u8], &str, u64)) -> Result<(), StoreError> {
        blocking(|| {
            let mut client = self.read()?;
            let mut tx = client.build_transaction().read_only(true).start()?;
            // A portal, so a large store streams in pages, not all at once.
            let portal = tx.bind("SELECT id, json, first_seen FROM events ORDER BY seq", &[])?;
            loop {
                let rows = tx.query_portal(&portal, 1000)?;
                if rows.is_empty() {
                    break;
                }
                for row in rows {
                    let id: &[u8] = row.get(0);
                    let json: &str = row.get(1);
                    f(id, json, row.get::<_, i64>(2).max(0) as u64);
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn add_blob_owners(&self, list: Vec<(PublicKey, OwnedBlob)>) -> Result<(), StoreError> {
        self.in_writer(move |tx| {
            for (pubkey, blob) in &list {
                insert::add_owner(tx, pubkey, blob)?;
            }
            Ok(())
        })
    }

    fn all_blob_owners(&self, f: &mut dyn FnMut(PublicKey, OwnedBlob)) -> Result<(), StoreError> {
        blocking(|| query::all_owners(&mut *self.read()?, f))
    }

    fn release_blob(
        &self,
        pubkey: PublicKey,
        hash: BlobHash,
        blobs: &BlobStore,
    ) -> Result<Release, StoreError> {
        let blobs = blobs.clone();
        self.in_writer(move |t| {
            insert::lock_blobs(t)?;
            let release = insert::release(t, &pubkey, &hash)?;
            if release.was_owner && !release.still_needed {
                // Under the blob's lock, so no upload by any front node
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
        grace: Duration,
        blobs: &BlobStore,
    ) -> Result<Vec<(BlobHash, u64)>, StoreError> {
        let blobs = blobs.clone();
        self.in_writer(move |t| {
            blobs.collect(candidates, grace, |hash| {
                // Under the blob's lock until the commit: no front node
                // records an owner of it between the check and the removal.
                insert::lock_blobs(t)?;
                insert::needed(t, hash)
            })
        })
    }

    fn blobs_owned_by(
        &self,
        pubkey: PublicKey,
        since: Option<u64>,
        until: Option<u64>,
    ) -> Result<Vec<OwnedBlob>, StoreError> {
        blocking(|| query::owned_by(&mut *self.read()?, &pubkey, since, until))
    }

    fn describe_blob(&self, hash: &BlobHash) -> Result<Option<OwnedBlob>, StoreError> {
        blocking(|| query::describe_blob(&mut *self.read()?, hash))
    }

    fn blob_is_referenced(&self, hash: &BlobHash) -> Result<bool, StoreError> {
        blocking(|| {
            let row = self.read()?.query_one(
                "SELECT EXISTS (SELECT 1 FROM blob_refs WHERE hash = $1)",
                &[&hash.as_bytes().as_slice()],
            )?;
            Ok(row.get(0))
        })
    }

    fn unreferenced_blobs(&self) -> Result<(u64, u64), StoreError> {
        blocking(|| query::unreferenced(&mut *self.read()?))
    }

    fn others(&self, wanted: Wanted) -> Option<std::sync::mpsc::Receiver<Vec<StoredEvent>>> {
        // Listening before this returns: nothing committed after it is
        // missed for want of a listener.
        let connected = match blocking(|| insert::listener(&self.target)) {
            Ok(clients) => Some(clients),
            Err(e) => {
                tracing::warn!(error = %e, "listening for other front nodes; trying again");
                None
            }
        };
        let (send, receive) = std::sync::mpsc::sync_channel(64);
        let (target, origin, stopping) = (self.target.clone(), self.origin, self.stopping.clone());
        let spawned = std::thread::Builder::new()
            .name("samizdat-listen".into())
            .spawn(move || insert::listen(target, origin, stopping, send, connected, wanted));
        match spawned {
            Ok(_) => Some(receive),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the listener for other front nodes");
                None
            }
        }
    }
}

/// Runs `f`, which talks to the database through the blocking client,
/// where that may block: the blocking client drives its own small
/// runtime, which cannot start inside a task of the node's. On a worker
/// of a multi-threaded runtime, the worker hands its tasks to others
/// meanwhile (`block_in_place`); elsewhere (a plain thread, a blocking
/// task), it simply runs.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// What became of events that were not sent to the database.
pub(crate) fn outcome(code: i16) -> InsertOutcome {
    match code {
        0 => InsertOutcome::Stored,
        1 => InsertOutcome::Duplicate,
        2 => InsertOutcome::Deleted,
        _ => InsertOutcome::Superseded,
    }
}
