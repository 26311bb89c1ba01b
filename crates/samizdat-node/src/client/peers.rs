//! Continuous sync: `samizdat serve` keeps in step with each peer of
//! `samizdat.toml`, each in its own task.
//!
//! A peer is synced on start; a little after anything new is stored here
//! (by any door: a relay client, another peer, the command line in
//! another process), so that it goes out while the link is up; and every
//! `interval` when nothing prompts it. A peer that cannot be reached is
//! retried after `retry`, doubling with each failure up to `max_retry`,
//! with random jitter so that nodes cut off together do not all call
//! back at the same moment; while it waits, new records do not hurry it.
//!
//! The status of each peer (last success, last error, what is new here
//! since the last success) lives on a [`Board`], written to `peers.json`
//! in the data directory for `samizdat peers` and served at `/status` to
//! this machine only: the list of peers says who a node talks to, which
//! is not for everyone to read.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::RngExt;
use samizdat_core::nostr::prelude::{Keys, Timestamp};
use samizdat_store::{Query, Store};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::proxy::Proxy;
use crate::client::sync::{self, SyncOptions};
use crate::config::Direction;
use crate::config::{Config, PeerConfig, SyncConfig};
use crate::ingest::Announce;
use crate::progress::Quiet;
use crate::route::{RelayUrl, Route};

/// File name of the peer status inside a data directory.
pub const STATUS_FILE: &str = "peers.json";

/// How often the store is asked whether anything new was stored.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// What a peer's task is doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for the next sync.
    #[default]
    Idle,
    Syncing,
    /// The last attempt failed; waiting to try again.
    Retrying,
    /// No longer kept in step (a discovered peer that left).
    Gone,
}

/// How one peer is doing. Times are Unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PeerStatus {
    pub url: String,
    /// Found on the local network rather than configured.
    #[serde(default)]
    pub found: bool,
    pub direction: Option<Direction>,
    pub state: State,
    pub last_attempt: Option<u64>,
    pub last_success: Option<u64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<u64>,
    /// Failures since the last success.
    pub failures: u32,
    pub next_attempt: Option<u64>,
    /// Events stored here since the last successful sync with this peer
    /// that match its filter: what may still have to go out (0 for a
    /// peer that is only pulled from).
    pub waiting: u64,
    /// Totals since the node started.
    pub received: u64,
    pub sent: u64,
    pub blobs_received: u64,
    pub blobs_sent: u64,
}

/// The status of every peer, kept in memory and mirrored to a file.
pub struct Board {
    peers: Mutex<Vec<PeerStatus>>,
    changed: watch::Sender<u64>,
}

impl Board {
    fn new() -> Board {
        Board {
            peers: Mutex::new(Vec::new()),
            changed: watch::channel(0).0,
        }
    }

    /// Adds a peer; returns its place on the board.
    fn add(&self, status: PeerStatus) -> usize {
        let index = match self.peers.lock() {
            Ok(mut peers) => {
                peers.push(status);
                peers.len() - 1
            }
            Err(_) => usize::MAX,
        };
        self.changed.send_modify(|n| *n += 1);
        index
    }

    /// A copy of every peer's status.
    pub fn snapshot(&self) -> Vec<PeerStatus> {
        self.peers.lock().map(|p| p.clone()).unwrap_or_default()
    }

    fn update(&self, peer: usize, f: impl FnOnce(&mut PeerStatus)) {
        if let Ok(mut peers) = self.peers.lock()
            && let Some(status) = peers.get_mut(peer)
        {
            f(status);
        }
        self.changed.send_modify(|n| *n += 1);
    }
}

/// Why the peers could not be started.
/// The proxy a peer is reached through: its own, `"direct"` for none, or
/// the node's.
pub fn proxy_for(peer: &PeerConfig, config: &Config) -> Option<Proxy> {
    Route::pick(peer.proxy.as_ref(), config.proxy.as_ref())
}

/// The node's peers: the configured ones and any found later (on the
/// local network), each kept in step by its own task.
pub struct Peers {
    board: Arc<Board>,
    store: Store,
    announce: Announce,
    timing: SyncConfig,
    limits: samizdat_core::Limits,
    max_blob_bytes: u64,
    cached_keys: usize,
    /// What this node authenticates to its peers with.
    node_key: Keys,
    news: watch::Receiver<u64>,
    /// Cancelled when the node shuts down; every keeper's token is a child.
    stopping: CancellationToken,
    tasks: TaskTracker,
}

impl Peers {
    pub fn board(&self) -> &Arc<Board> {
        &self.board
    }

    /// Stops keeping a peer in step; the board says it is gone.
    pub fn retire(&self, peer: &Kept) {
        peer.stop.cancel();
        self.board.update(peer.index, |s| {
            s.state = State::Gone;
            s.next_attempt = None;
        });
    }

    /// Starts keeping `peer` in step, through `proxy`; `found` marks a
    /// peer that was discovered rather than configured.
    pub fn add(&self, peer: &PeerConfig, proxy: Option<Proxy>, found: bool) -> Kept {
        let index = self.board.add(PeerStatus {
            url: peer.url.to_string(),
            direction: Some(peer.direction),
            found,
            ..PeerStatus::default()
        });
        let options = SyncOptions {
            direction: peer.direction,
            filter: peer.filter.clone().unwrap_or_default(),
            patience: self.timing.timeout,
            limits: self.limits,
            cached_keys: self.cached_keys,
            blobs: peer.blobs,
            blossom: peer.blossom.clone(),
            max_blob_bytes: self.max_blob_bytes,
            announce: Some(self.announce.clone()),
            proxy,
            identity: Some(self.node_key.clone()),
            ..SyncOptions::default()
        };
        let keeper = Keeper {
            index,
            url: peer.url.clone(),
            interval: peer.interval.unwrap_or(self.timing.interval),
            timing: self.timing.clone(),
            options,
            store: self.store.clone(),
            board: self.board.clone(),
            found,
        };
        let stop = self.stopping.child_token();
        self.tasks
            .spawn(keeper.run(self.news.clone(), stop.clone()));
        Kept { index, stop }
    }
}

/// A peer being kept in step.
pub struct Kept {
    index: usize,
    stop: CancellationToken,
}

/// Starts the configured peers, a task that watches the store for new
/// events and one that mirrors the board to `peers.json`; all end when
/// `shutdown` turns true.
pub fn start(
    config: &Config,
    node_key: Keys,
    store: &Store,
    announce: Announce,
    mut shutdown: watch::Receiver<bool>,
    tasks: &TaskTracker,
) -> Arc<Peers> {
    let board = Arc::new(Board::new());
    let path = store.dir().join(STATUS_FILE);
    let stopping = CancellationToken::new();
    let dir = samizdat_store::DirId::of(store.dir()).ok();
    tasks.spawn(mirror(board.clone(), path, dir, stopping.clone()));
    let (seen, news) = watch::channel(store.last_seq().unwrap_or(0));
    tasks.spawn(watch_store(store.clone(), seen, stopping.clone()));
    {
        let stopping = stopping.clone();
        tasks.spawn(async move {
            // Bounded: ends at the first change, or when the node is gone.
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
            stopping.cancel();
        });
    }
    let peers = Arc::new(Peers {
        board,
        store: store.clone(),
        announce,
        timing: config.sync.clone(),
        limits: config.events,
        max_blob_bytes: config.blossom.max_upload_bytes,
        cached_keys: config.relay.negentropy_cached_keys,
        node_key,
        news,
        stopping,
        tasks: tasks.clone(),
    });
    for peer in &config.peers {
        // Checked by `check` before the node started.
        let proxy = proxy_for(peer, config);
        peers.add(peer, proxy, false);
    }
    peers
}

/// Tells the keepers when the store's last sequence number moves.
async fn watch_store(store: Store, seen: watch::Sender<u64>, stopping: CancellationToken) {
    // Bounded: one cheap query a second until shutdown.
    while !stopping.is_cancelled() {
        tokio::select! {
            _ = tokio::time::sleep(WATCH_EVERY) => {}
            _ = stopping.cancelled() => break,
        }
        let store = store.clone();
        if let Ok(Ok(last)) = tokio::task::spawn_blocking(move || store.last_seq()).await {
            seen.send_if_modified(|n| {
                let moved = *n != last;
                *n = last;
                moved
            });
        }
    }
}

/// Writes the board to `path` whenever it changes (the latest state only),
/// as long as its directory is the data directory the node started on: a
/// wiped directory gets no peer list back.
async fn mirror(
    board: Arc<Board>,
    path: PathBuf,
    dir: Option<samizdat_store::DirId>,
    stopping: CancellationToken,
) {
    let mut changed = board.changed.subscribe();
    // Bounded: one write per change until shutdown, then a last one.
    loop {
        let last = tokio::select! {
            r = changed.changed() => r.is_err(),
            _ = stopping.cancelled() => true,
        };
        changed.borrow_and_update();
        let text = serde_json::json!({
            "updated": Timestamp::now().as_secs(),
            "peers": board.snapshot(),
        })
        .to_string();
        let path = path.clone();
        let written = tokio::task::spawn_blocking(move || {
            let parent = path.parent().unwrap_or(&path);
            if !dir.is_some_and(|d| d.still(parent)) {
                return Err(std::io::Error::other("the data directory is gone"));
            }
            samizdat_store::write_atomic(&path, text.as_bytes())
        })
        .await;
        if let Ok(Err(e)) = written {
            tracing::warn!(error = %e, "writing the peer status");
        }
        if last {
            return;
        }
    }
}

/// Keeps one peer in step.
struct Keeper {
    index: usize,
    url: RelayUrl,
    interval: Duration,
    timing: SyncConfig,
    options: SyncOptions,
    store: Store,
    board: Arc<Board>,
    /// Found on the local network rather than configured: it is not
    /// shown which identities this node reads for.
    found: bool,
}

impl Keeper {
    async fn run(self, mut news: watch::Receiver<u64>, stop: CancellationToken) {
        let query = self.options.filter.to_own_query();
        let pushes = self.options.direction.pushes();
        // Everything stored here may be new to the peer until a first
        // success says otherwise.
        let mut mark = 0u64;
        let mut failures = 0u32;
        let mut next = Instant::now();
        self.refresh_waiting(&query, mark, pushes).await;
        // Bounded: each round is a sync attempt or a change in the store,
        // and the loop ends with the node.
        loop {
            self.board.update(self.index, |s| {
                s.next_attempt = Some(unix_at(next));
            });
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                changed = news.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    // Something new here (not what the last run pulled
                    // from this peer): out soon, unless the peer is being
                    // retried (its backoff stands).
                    let seen = *news.borrow_and_update();
                    if pushes && failures == 0 && seen > mark {
                        next = next.min(Instant::now() + self.timing.settle);
                    }
                    self.refresh_waiting(&query, mark, pushes).await;
                    continue;
                }
                _ = stop.cancelled() => break,
            }
            if stop.is_cancelled() {
                break;
            }
            let before = self.last_seq().await;
            self.board.update(self.index, |s| {
                s.state = State::Syncing;
                s.last_attempt = Some(Timestamp::now().as_secs());
            });
            let mut quiet = Quiet;
            // Read each run: an identity may have vouched for this node
            // since (the console's unlock).
            let mut options = self.options.clone();
            if let Some(node) = options.identity.as_ref().filter(|_| !self.found) {
                options.reads_for = crate::node_key::reads_for(self.store.dir(), node);
            }
            let result = tokio::select! {
                r = sync::sync(&self.store, &self.url, &options, &mut quiet) => r,
                _ = stop.cancelled() => break,
            };
            match result {
                Ok(summary) => {
                    failures = 0;
                    let after = self.last_seq().await;
                    // What this run pulled is not news for this peer; what
                    // else arrived meanwhile may not have gone out.
                    let others = after > before + summary.received;
                    mark = if others { before } else { after };
                    if summary.received + summary.sent + summary.blobs_received + summary.blobs_sent
                        > 0
                    {
                        tracing::info!(
                            peer = %self.url,
                            received = summary.received,
                            sent = summary.sent,
                            blobs_received = summary.blobs_received,
                            blobs_sent = summary.blobs_sent,
                            "synced"
                        );
                    }
                    self.board.update(self.index, |s| {
                        s.state = State::Idle;
                        s.last_success = Some(Timestamp::now().as_secs());
                        s.failures = 0;
                        s.received += summary.received;
                        s.sent += summary.sent;
                        s.blobs_received += summary.blobs_received;
                        s.blobs_sent += summary.blobs_sent;
                    });
                    next = Instant::now()
                        + if others && pushes {
                            self.timing.settle
                        } else {
                            jitter(self.interval, 0.9, 1.1)
                        };
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let wait = backoff(&self.timing, failures);
                    tracing::warn!(
                        peer = %self.url,
                        error = %e,
                        failures,
                        retry_in = ?wait,
                        "sync failed"
                    );
                    self.board.update(self.index, |s| {
                        s.state = State::Retrying;
                        s.last_error = Some(e.to_string());
                        s.last_error_at = Some(Timestamp::now().as_secs());
                        s.failures = failures;
                    });
                    next = Instant::now() + wait;
                }
            }
            self.refresh_waiting(&query, mark, pushes).await;
        }
    }

    async fn last_seq(&self) -> u64 {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.last_seq())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0)
    }

    async fn refresh_waiting(&self, query: &Query, mark: u64, pushes: bool) {
        let waiting = if pushes {
            let store = self.store.clone();
            let query = query.clone();
            tokio::task::spawn_blocking(move || store.count_after(&query, mark))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0)
        } else {
            0
        };
        self.board.update(self.index, |s| s.waiting = waiting);
    }
}

/// The wait before retry number `failures` (1 for the first): `retry`
/// doubled each time up to `max_retry`, then scaled by a random factor in
/// [0.5, 1] so that peers cut off together spread out when they return.
pub fn backoff(timing: &SyncConfig, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(30);
    let full = timing
        .retry
        .saturating_mul(1 << doublings)
        .min(timing.max_retry);
    jitter(full, 0.5, 1.0)
}

fn jitter(base: Duration, low: f64, high: f64) -> Duration {
    base.mul_f64(rand::rng().random_range(low..=high))
}

/// The Unix time of a moment on the runtime's clock.
fn unix_at(at: Instant) -> u64 {
    let now = Instant::now();
    if at <= now {
        Timestamp::now().as_secs()
    } else {
        Timestamp::now().as_secs() + (at - now).as_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_below_it() {
        let timing = SyncConfig {
            retry: Duration::from_secs(4),
            max_retry: Duration::from_secs(60),
            ..SyncConfig::default()
        };
        for (failures, full) in [(1, 4), (2, 8), (3, 16), (4, 32), (5, 60), (40, 60)] {
            for _ in 0..50 {
                let wait = backoff(&timing, failures);
                let full = Duration::from_secs(full);
                assert!(wait <= full && wait >= full / 2, "{failures}: {wait:?}");
            }
        }
        // Jitter spreads the waits.
        let waits: std::collections::HashSet<_> =
            (0..20).map(|_| backoff(&timing, 3).as_millis()).collect();
        assert!(waits.len() > 1);
    }
}
