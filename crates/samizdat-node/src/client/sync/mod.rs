//! The sync client: reconcile the local store with a peer relay and move
//! what each side lacks.
//!
//! 1. **Find the difference.** With NIP-77 (negentropy) the two sides
//!    compare fingerprints of their `(created_at, id)` sets in a few round
//!    trips and learn exactly which ids each lacks, whatever the sizes. A
//!    peer that refuses a set as too large (`NEG-ERR blocked:`) is asked
//!    again for each half of the time range, recursively. A peer without
//!    NIP-77 is diffed with plain `REQ`s instead (see `fallback`), and the
//!    summary says so.
//! 2. **Move it**, most important first: person reports, then
//!    testimonies, then attestations and retractions, then everything
//!    else, oldest to newest within each (see `priority_kinds`). What the peer
//!    sends is validated (id, signature, record rules) like anything else
//!    that enters the store; what is pushed waits for the peer's `OK`.
//!
//! Nothing is sent twice: the difference is computed afresh on every run,
//! so a run cut short resumes with exactly what is still missing.

mod blobs;
mod both;
mod delivered;
mod fallback;
pub(crate) mod link;
mod reconcile;
mod transfer;

use std::time::{Duration, Instant};

use samizdat_core::Limits;
use samizdat_core::kind;
use samizdat_core::nostr::prelude::EventId;
use samizdat_store::Store;

use crate::client::outbound::FetchError;
use crate::client::wire::DialError;
use crate::config::Direction;
use crate::progress::Observer;
use crate::proto::filter::Filter;
use crate::route::RelayUrl;
pub use delivered::DIR as DELIVERED_DIR;
use link::Link;
use reconcile::{ReconcileError, reconcile};

/// What to sync and how.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub direction: Direction,
    /// Which events to reconcile (the node's own filter: see
    /// [`Filter::own`]).
    pub filter: Filter,
    /// How long to wait for any one answer from the peer.
    pub patience: Duration,
    /// Most ids in one local reconciliation set; a larger set is split by
    /// time. Each id costs 40 bytes while the set is open.
    pub max_items: usize,
    /// Keys of the whole store kept in memory for reconciliations that
    /// bound only time (40 bytes each); a larger store reads each
    /// reconciliation's keys from disk.
    pub cached_keys: usize,
    /// Limits applied to every event the peer sends.
    pub limits: Limits,
    /// Stop cleanly this long after starting (`--window`), having moved
    /// the most important things first.
    pub window: Option<Duration>,
    /// Stop cleanly once this many bytes have crossed, both ways, events
    /// and blobs together.
    pub max_bytes: Option<u64>,
    /// Whether the blobs that the synced records reference follow them.
    pub blobs: bool,
    /// The peer's Blossom server, when it is not on the relay's own host
    /// and port.
    pub blossom: Option<url::Url>,
    /// Largest blob taken from a peer.
    pub max_blob_bytes: u64,
    /// Where to tell a running node's live subscribers of what arrived.
    pub announce: Option<crate::Announce>,
    /// The proxy every connection to the peer goes through, if any.
    pub proxy: Option<crate::client::proxy::Proxy>,
    /// The node key to authenticate with (NIP-42), so that a peer which
    /// counts this node among its carriers shares its sealed records.
    pub identity: Option<samizdat_core::nostr::prelude::Keys>,
    /// The identities' tokens that this node reads their sealed records,
    /// shown with the node key, so that a peer hands over the gift wraps
    /// addressed to them.
    pub reads_for: Vec<samizdat_core::delegation::ReadsFor>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            direction: Direction::Both,
            filter: Filter::default(),
            patience: Duration::from_secs(30),
            max_items: 1_000_000,
            cached_keys: 2_000_000,
            limits: Limits::default(),
            window: None,
            max_bytes: None,
            blobs: true,
            blossom: None,
            max_blob_bytes: 64 * 1024 * 1024,
            announce: None,
            proxy: None,
            identity: None,
            reads_for: Vec::new(),
        }
    }
}

/// Why a sync stopped before it had moved everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stop {
    /// The time window closed.
    Window,
    /// The byte budget was spent.
    Bytes,
}

/// The limits of one run: a moment to stop at and bytes to spend.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    deadline: Option<tokio::time::Instant>,
    max_bytes: Option<u64>,
}

impl Budget {
    fn new(options: &SyncOptions) -> Budget {
        Budget {
            deadline: options.window.map(|w| tokio::time::Instant::now() + w),
            max_bytes: options.max_bytes,
        }
    }

    /// Why no more may be started, with `used` bytes spent so far.
    fn spent(&self, used: u64) -> Option<Stop> {
        if self
            .deadline
            .is_some_and(|d| tokio::time::Instant::now() >= d)
        {
            return Some(Stop::Window);
        }
        if self.max_bytes.is_some_and(|max| used >= max) {
            return Some(Stop::Bytes);
        }
        None
    }

    /// Time left in the window, if there is one.
    fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(tokio::time::Instant::now()))
    }
}

/// How the difference was found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// NIP-77 negentropy.
    #[default]
    Negentropy,
    /// Plain REQs: the peer does not support NIP-77.
    Req,
}

/// What a sync did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub method: Method,
    /// Events the peer had and this store lacked, and how many of them
    /// were stored (the rest were invalid or already arrived otherwise).
    pub missing_here: u64,
    pub received: u64,
    pub received_bytes: u64,
    /// Events the peer sent that failed validation.
    pub rejected_from_peer: u64,
    /// Events this store had and the peer lacked, and how many the peer
    /// accepted.
    pub missing_there: u64,
    pub sent: u64,
    pub sent_bytes: u64,
    /// Events the peer refused (`OK` false), with the first reason.
    pub refused_by_peer: u64,
    pub first_refusal: Option<String>,
    /// Events the peer lacks that were not sent: it refused them for good
    /// on an earlier run (`invalid:`, `blocked:`, `pow:`).
    pub refused_before: u64,
    /// Events sent that the peer already had (`duplicate:`): bytes the
    /// window spent for nothing.
    pub duplicates: u64,
    /// Answers `rate-limited:` from the peer: each such event went again
    /// later, more slowly.
    pub rate_limited: u64,
    /// Events the peer lacked that were not sent: their authors marked
    /// them protected (NIP-70), for no one else to publish.
    pub withheld: u64,
    /// Messages that needed an answer before the next step could go.
    pub round_trips: u64,
    /// Finding the difference alone: its time, round trips and WebSocket
    /// payload bytes (both ways), before anything moved.
    pub reconcile_seconds: f64,
    pub reconcile_round_trips: u64,
    pub reconcile_wire: u64,
    /// WebSocket payload bytes each way.
    pub wire_in: u64,
    pub wire_out: u64,
    /// Blobs the records reference that the peer had and this store
    /// lacked; how many arrived whole, how many of those resumed an
    /// earlier run's partial download, and how many were refused here
    /// (wrong hash, identifying metadata, too large).
    pub blobs_missing_here: u64,
    pub blobs_received: u64,
    pub blobs_resumed: u64,
    pub blobs_rejected: u64,
    pub blob_bytes_in: u64,
    /// Blobs this store had and the peer lacked, and how many it took.
    pub blobs_missing_there: u64,
    pub blobs_sent: u64,
    pub blobs_refused_by_peer: u64,
    pub blob_bytes_out: u64,
    /// The first thing that went wrong with a blob.
    pub first_blob_problem: Option<String>,
    /// Why the run stopped before the end, if it did: the next run goes on
    /// from there.
    pub stopped: Option<Stop>,
    pub seconds: f64,
    /// From the start until every event had crossed (connecting and
    /// reconciling included), and how long the blobs took after that.
    pub events_seconds: f64,
    pub blob_seconds: f64,
    /// Whether the peer accepted this node's key (NIP-42): a peer that
    /// lists it as a carrier then hands over sealed records too.
    pub authenticated: bool,
    /// What the peer said it holds back from this node: sealed records
    /// for readers this node does not read for (`held back: N …`).
    pub held_back: Option<String>,
}

impl Summary {
    fn blob_bytes(&self) -> u64 {
        self.blob_bytes_in + self.blob_bytes_out
    }

    /// Whether anything is known to be left for a next run.
    pub fn complete(&self) -> bool {
        self.stopped.is_none()
            && self.received + self.rejected_from_peer >= self.missing_here
            && self.sent + self.refused_by_peer + self.withheld >= self.missing_there
            && self.blobs_received + self.blobs_rejected >= self.blobs_missing_here
            && self.blobs_sent + self.blobs_refused_by_peer >= self.blobs_missing_there
    }
}

/// Why a sync could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("connecting to {url}: {source}")]
    Connect { url: String, source: DialError },
    #[error("the Blossom server for {relay}: {why}")]
    BlossomUrl { relay: String, why: String },
    #[error("the link failed: {0}")]
    Link(String),
    #[error("the link failed: {source}")]
    Socket { source: yawc::WebSocketError },
    #[error("the link to the peer's Blossom server failed: {source}")]
    Http { source: FetchError },
    #[error("blob {hash} here: {source}")]
    Blob {
        hash: samizdat_core::BlobHash,
        source: samizdat_store::BlobError,
    },
    #[error("blob {hash} here: {source}")]
    BlobFile {
        hash: samizdat_core::BlobHash,
        source: std::io::Error,
    },
    #[error("{what} stopped: {source}")]
    Task {
        what: &'static str,
        source: tokio::task::JoinError,
    },
    #[error("timed out {0}")]
    Timeout(&'static str),
    #[error("the filter is not valid: {0}")]
    Filter(String),
    #[error("the peer refused: {0}")]
    Refused(String),
    #[error("the peer broke the protocol: {0}")]
    Protocol(String),
    #[error("the local store: {0}")]
    Store(#[from] samizdat_store::StoreError),
    /// The window closed while waiting; [`sync`] turns this into a
    /// summary that says so.
    #[error("the window closed")]
    WindowClosed,
}

/// The kinds that cross first, in this order (person reports,
/// testimonies, attestations, retractions); everything else follows.
fn priority_kinds() -> [u16; 4] {
    [
        kind::PERSON_REPORT.as_u16(),
        kind::TESTIMONY.as_u16(),
        kind::ATTESTATION.as_u16(),
        kind::RETRACTION.as_u16(),
    ]
}

/// One run of a sync: the store it keeps in step, how (options) and
/// within what (budget), and what it reports to (the summary it fills,
/// the observer it tells). Every step of the run takes it whole.
pub(super) struct Session<'a> {
    store: &'a Store,
    options: &'a SyncOptions,
    budget: Budget,
    summary: &'a mut Summary,
    observer: &'a mut dyn Observer,
}

impl Session<'_> {
    /// Whether the budget allows more, with `used` bytes spent; if not,
    /// the summary says why the run stopped.
    fn may_go_on(&mut self, used: u64) -> bool {
        match self.budget.spent(used) {
            Some(stop) => {
                self.summary.stopped = Some(stop);
                false
            }
            None => true,
        }
    }
}

/// The difference between the two sides: ids only this side has, and ids
/// only the peer has.
#[derive(Debug, Default)]
struct Diff {
    ours: Vec<EventId>,
    theirs: Vec<EventId>,
}

/// Reconciles `store` with the relay at `url`: events first, then the
/// blobs their records reference.
pub async fn sync(
    store: &Store,
    url: &RelayUrl,
    options: &SyncOptions,
    observer: &mut dyn Observer,
) -> Result<Summary, SyncError> {
    let mut summary = Summary::default();
    sync_into(store, url, options, observer, &mut summary).await?;
    Ok(summary)
}

/// Like [`sync`], with what crossed kept in `summary` even when the link
/// fails part-way: a cut sync still says what it did.
pub async fn sync_into(
    store: &Store,
    url: &RelayUrl,
    options: &SyncOptions,
    observer: &mut dyn Observer,
    summary: &mut Summary,
) -> Result<(), SyncError> {
    let started = Instant::now();
    let result = sync_steps(store, url, options, observer, summary).await;
    summary.seconds = started.elapsed().as_secs_f64();
    result
}

async fn sync_steps(
    store: &Store,
    url: &RelayUrl,
    options: &SyncOptions,
    observer: &mut dyn Observer,
    summary: &mut Summary,
) -> Result<(), SyncError> {
    let started = Instant::now();
    let query = options.filter.to_own_query();
    let mut session = Session {
        store,
        options,
        budget: Budget::new(options),
        summary,
        observer,
    };
    let mut link = Link::connect(
        url,
        options.patience,
        options.proxy.as_ref(),
        options.identity.as_ref(),
        &options.reads_for,
    )
    .await?;
    link.deadline = session.budget.deadline;
    let events = exchange(&mut link, &mut session).await;
    let summary = &mut *session.summary;
    summary.events_seconds = started.elapsed().as_secs_f64();
    summary.wire_in = link.bytes_in();
    summary.wire_out = link.bytes_out();
    summary.authenticated = link.authenticated;
    summary.held_back = link.held_back.take();
    link.close().await;
    match events {
        Ok(()) => {}
        Err(SyncError::WindowClosed) => summary.stopped = Some(Stop::Window),
        Err(e) => return Err(e),
    }

    if options.blobs && summary.stopped.is_none() {
        let peer = blobs::Peer::new(
            url,
            options.blossom.as_ref(),
            options.patience,
            options.proxy.as_ref(),
        )?;
        let hashes = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.referenced_blobs(&query))
                .await
                .map_err(|source| SyncError::Task {
                    what: "reading the store",
                    source,
                })??
        };
        let wire = summary.wire_in + summary.wire_out;
        let blobs_started = Instant::now();
        let moved = blobs::sync(&mut session, &peer, wire, hashes).await;
        session.summary.blob_seconds = blobs_started.elapsed().as_secs_f64();
        moved?;
    }
    Ok(())
}

/// The events: find the difference, then move it, both ways at once
/// when both sides lack something.
async fn exchange(link: &mut Link, s: &mut Session<'_>) -> Result<(), SyncError> {
    let options = s.options;
    s.observer.phase("reconciling", None);
    let started = Instant::now();
    // A second connection for pushing, dialled while the difference is
    // found; a failure to open it only means one way after the other.
    let both = options.direction.pulls() && options.direction.pushes();
    let sibling = both.then(|| link.sibling());
    let second = async {
        match sibling {
            Some(sibling) => Some(sibling.open(options.proxy.as_ref()).await),
            None => None,
        }
    };
    let (diff, other) = {
        let first = &mut *link;
        let finding = async {
            match reconcile(first, s).await {
                Ok(diff) => Ok(diff),
                Err(ReconcileError::Fatal(e)) => Err(e),
                Err(ReconcileError::Unsupported(why)) => {
                    tracing::info!(peer = %first.url(), reason = %why, "no NIP-77; diffing with REQ");
                    s.summary.method = Method::Req;
                    // The peer may have closed on the unknown message: start afresh.
                    first.reconnect(options.proxy.as_ref()).await?;
                    let ours = fallback::diff(first, s, options.direction.pulls()).await?;
                    Ok(Diff {
                        ours,
                        theirs: Vec::new(),
                    })
                }
            }
        };
        tokio::join!(finding, second)
    };
    let diff = diff?;
    let mut other = match other {
        Some(Ok(other)) => Some(other),
        Some(Err(e)) => {
            tracing::debug!(error = %e, "no second connection; one way after the other");
            None
        }
        None => None,
    };
    s.summary.reconcile_seconds = started.elapsed().as_secs_f64();
    s.summary.reconcile_round_trips = s.summary.round_trips;
    s.summary.reconcile_wire = link.bytes();
    let theirs = if options.direction.pulls() {
        diff.theirs
    } else {
        Vec::new()
    };
    s.summary.missing_here = theirs.len() as u64;
    let ours = if options.direction.pushes() && !diff.ours.is_empty() {
        unsent(link, s, diff.ours).await?
    } else {
        Vec::new()
    };
    s.summary.missing_there = ours.len() as u64;
    let moved = match other.as_mut() {
        Some(second) if !theirs.is_empty() && !ours.is_empty() => {
            both::transfer(link, second, s, &theirs, &ours).await
        }
        _ => one_way_then_other(link, s, &theirs, &ours).await,
    };
    if let Some(other) = other {
        other.close().await;
    }
    moved
}

/// Pulls, then pushes, on one connection.
async fn one_way_then_other(
    link: &mut Link,
    s: &mut Session<'_>,
    theirs: &[EventId],
    ours: &[EventId],
) -> Result<(), SyncError> {
    if !theirs.is_empty() {
        transfer::pull(link, s, theirs).await?;
    }
    if s.summary.stopped.is_none() && !ours.is_empty() {
        transfer::push(link, s, ours).await?;
    }
    Ok(())
}

/// What the peer lacks, less what it holds without showing this node
/// (sealed records) and what it refused for good.
async fn unsent(
    link: &Link,
    s: &mut Session<'_>,
    mut ours: Vec<EventId>,
) -> Result<Vec<EventId>, SyncError> {
    let (data, peer) = (s.store.dir().to_path_buf(), link.url().clone());
    let (held, refused) = tokio::task::spawn_blocking(move || {
        (
            delivered::read(&data, &peer),
            delivered::refused(&data, &peer),
        )
    })
    .await
    .map_err(|source| SyncError::Task {
        what: "reading what the peer holds",
        source,
    })?;
    ours.retain(|id| !held.contains(id));
    let before = ours.len();
    ours.retain(|id| !refused.contains_key(id));
    s.summary.refused_before = (before - ours.len()) as u64;
    Ok(ours)
}
