//! The node's one way in for events, whichever door they come through
//! (relay, sync, web): validate on a worker core, hand to the store's
//! writer, wait for the durable commit, then tell live subscribers.
//!
//! Signature checks are the ceiling of ingest, so they run on the rayon
//! pool (every core) and never on the async runtime; the store's single
//! writer groups what all connections submit into one transaction.
//! Events that come in batches (imports, sync) take the same checks and
//! the same writer through [`batch`].

use std::sync::Arc;

use samizdat_core::nostr::prelude::{Event, Timestamp};
use samizdat_core::validate::validate_json;
use samizdat_core::{Limits, ValidationError, VerifiedEvent, validate};
use samizdat_store::{InsertOutcome, Pending, Store, StoreError};
use tokio::sync::oneshot;

use crate::live::{Bounds, Live, Subscriber};

pub mod batch;

/// Why an event was not taken.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("storing: {0}")]
    Store(#[from] StoreError),
    #[error("the node is shutting down")]
    Stopped,
}

/// Hands events to the store and new ones to live subscribers. Cheap to
/// clone.
#[derive(Clone)]
pub struct Ingest {
    store: Store,
    limits: Limits,
    live: Arc<Live>,
}

impl Ingest {
    pub fn new(store: Store, limits: Limits, live: Bounds) -> Ingest {
        Ingest {
            store,
            limits,
            live: Live::new(live),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// New events, after their commit. A subscriber that falls behind the
    /// ring is told how many it missed, never buffered for.
    pub fn subscribe(&self) -> Subscriber {
        self.live.subscribe()
    }

    /// What live subscribers are kept, for the node's sweep.
    pub(crate) fn live(&self) -> &Arc<Live> {
        &self.live
    }

    /// A handle that tells live subscribers of events stored by another
    /// door (sync), after their commit.
    pub fn announcer(&self) -> Announce {
        Announce(Arc::clone(&self.live))
    }

    /// Tells live subscribers here of events that other front nodes over
    /// the same database store, as they commit (PostgreSQL; a store no
    /// other node writes has none). Each is checked again, as every door
    /// does, before a subscriber sees it.
    pub fn follow_other_front_nodes(&self) {
        let listening = Arc::clone(&self.live);
        let wanted = Box::new(move || listening.subscribers() > 0);
        let Some(others) = self.store.events().others(wanted) else {
            return;
        };
        let (live, limits) = (Arc::clone(&self.live), self.limits);
        let spawned = std::thread::Builder::new()
            .name("samizdat-others".into())
            .spawn(move || {
                // Ends when the store's listener stops, with the store.
                while let Ok(batch) = others.recv() {
                    let now = Timestamp::now();
                    for stored in batch {
                        match validate_json(&stored.json, &limits, now) {
                            Ok(event) => live.send(Arc::new(event)),
                            Err(e) => tracing::warn!(
                                id = %stored.id, error = %e,
                                "an event another front node stored fails its checks here"
                            ),
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot follow the other front nodes");
        }
    }

    /// Validates and stores one parsed event; returns once it is durable.
    pub async fn submit(&self, event: Event) -> Result<InsertOutcome, IngestError> {
        let (tx, rx) = oneshot::channel();
        let store = self.store.clone();
        let limits = self.limits;
        rayon::spawn(move || {
            let _ = tx.send(check_and_submit(&store, event, &limits));
        });
        let pending = rx.await.map_err(|_| IngestError::Stopped)??;
        let committed = pending.committed_async().await?;
        let (Some(&outcome), Some(event)) = (
            committed.outcomes.first(),
            committed.events.into_iter().next(),
        ) else {
            return Err(IngestError::Stopped);
        };
        if matches!(outcome, InsertOutcome::Stored | InsertOutcome::Ephemeral) {
            self.live.send(Arc::new(event));
        }
        Ok(outcome)
    }
}

/// Runs on a rayon worker: the expensive checks, then the hand-off to the
/// writer (which may block briefly when its queue is full: back-pressure).
fn check_and_submit(store: &Store, event: Event, limits: &Limits) -> Result<Pending, IngestError> {
    let verified = validate(event, limits, Timestamp::now())?;
    Ok(store.submit(vec![verified])?)
}

/// Tells the node's live subscribers of events that arrived by sync.
#[derive(Clone)]
pub struct Announce(Arc<Live>);

impl Announce {
    /// Called after `events` are durably stored.
    pub fn stored(&self, events: impl IntoIterator<Item = VerifiedEvent>) {
        for event in events {
            self.0.send(Arc::new(event));
        }
    }
}

impl std::fmt::Debug for Announce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announce")
            .field("subscribers", &self.0.subscribers())
            .finish()
    }
}
