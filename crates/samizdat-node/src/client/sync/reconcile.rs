//! Finding the difference with a peer: NIP-77 over the local keys of the
//! filter, the time range halved while it is too large for either side,
//! and the sign that calls for the `REQ` fallback.

use std::time::Duration;

use samizdat_store::Store;

use super::link::Link;
use super::{Diff, Session, SyncError, SyncOptions};
use crate::proto::client::{RelayMessage, send};
use crate::proto::filter::Filter;
use crate::proto::nip77::keys::{KeyStorage, time_range};
use crate::proto::nip77::{self, NegError, Reconciler};

/// Reconciliation fails either in a way that calls for the `REQ`
/// fallback (the peer does not speak NIP-77, or stops part-way), or
/// outright.
pub(super) enum ReconcileError {
    Unsupported(String),
    Fatal(SyncError),
}

impl From<SyncError> for ReconcileError {
    fn from(e: SyncError) -> Self {
        ReconcileError::Fatal(e)
    }
}

/// The `(created_at, id)` keys of the local events matching `filter`, or
/// `None` if there are more than `max`.
pub(super) async fn local_keys(
    store: &Store,
    filter: &Filter,
    max: usize,
) -> Result<Option<Vec<(u64, [u8; 32])>>, SyncError> {
    let query = filter.to_own_query();
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut keys = Vec::new();
        let mut over = false;
        store.for_each_key(&query, |at, id| {
            over = keys.len() >= max;
            if !over {
                keys.push((at, id));
            }
            !over
        })?;
        Ok((!over).then_some(keys))
    })
    .await
    .map_err(|source| SyncError::Task {
        what: "the key scan",
        source,
    })?
}

/// Deepest time split before giving up: 2^24 parts.
const MAX_SPLIT_DEPTH: u32 = 24;

pub(super) async fn reconcile(
    link: &mut Link,
    s: &mut Session<'_>,
) -> Result<Diff, ReconcileError> {
    let (store, options) = (s.store, s.options);
    let filter = &options.filter;
    let since = filter.since().unwrap_or(0);
    let until = filter.until().unwrap_or_else(|| {
        samizdat_core::nostr::prelude::Timestamp::now().as_secs()
            + options.limits.max_future_seconds
    });
    let mut diff = Diff::default();
    // Ranges still to reconcile, with their depth; a stack, so the work is
    // bounded by the split depth, not by recursion.
    let mut ranges = vec![(since, until, 0u32)];
    let mut first = true;
    let mut sub = 0u64;
    while let Some((since, until, depth)) = ranges.pop() {
        let part = filter.clone().with_time(Some(since), Some(until));
        sub += 1;
        match reconcile_range(
            link,
            store,
            &part,
            options,
            sub,
            first,
            &mut s.summary.round_trips,
        )
        .await?
        {
            Outcome::Done(d) => {
                s.observer.advance(1);
                diff.ours.extend(d.ours);
                diff.theirs.extend(d.theirs);
            }
            Outcome::TooLarge(why) => {
                if depth >= MAX_SPLIT_DEPTH || since >= until {
                    return Err(ReconcileError::Unsupported(format!(
                        "the set cannot be narrowed further: {why}"
                    )));
                }
                let mid = since + (until - since) / 2;
                ranges.push((mid + 1, until, depth + 1));
                ranges.push((since, mid, depth + 1));
            }
        }
        first = false;
    }
    Ok(diff)
}

enum Outcome {
    Done(Diff),
    /// The set is too large for one side: split it.
    TooLarge(String),
}

async fn reconcile_range(
    link: &mut Link,
    store: &Store,
    filter: &Filter,
    options: &SyncOptions,
    sub: u64,
    first: bool,
    round_trips: &mut u64,
) -> Result<Outcome, ReconcileError> {
    let max = options.max_items;
    let too_large = || Ok(Outcome::TooLarge(format!("more than {max} events here")));
    let query = filter.to_own_query();
    // A filter that bounds only time: a slice of the store's shared keys.
    let mut shared = None;
    if let Some((since, until)) = time_range(&query) {
        let store = store.clone();
        let cached = options.cached_keys;
        let keys = tokio::task::spawn_blocking(move || store.all_keys(cached))
            .await
            .map_err(|source| SyncError::Task {
                what: "reading the keys",
                source,
            })?
            .map_err(SyncError::from)?;
        if let Some(keys) = keys {
            let range = KeyStorage::range(keys, since, until);
            if range.len() > max {
                return too_large();
            }
            shared = Some(range);
        }
    }
    let storage = match shared {
        Some(shared) => Ok(shared),
        None => match local_keys(store, filter, max).await? {
            Some(keys) => Err(keys),
            None => return too_large(),
        },
    };
    let (mut session, init) = tokio::task::spawn_blocking(move || {
        let storage = match storage {
            Ok(shared) => shared,
            Err(keys) => KeyStorage::vector(keys),
        };
        let mut session = Reconciler::new(storage, 0)?;
        let init = session.initiate()?;
        Ok::<_, NegError>((session, init))
    })
    .await
    .map_err(|source| SyncError::Task {
        what: "building the key set",
        source,
    })?
    .map_err(|e| SyncError::Protocol(e.to_string()))?;

    let id = format!("neg-{sub}");
    link.send(send::neg_open(&id, filter, &init)).await?;
    let mut diff = Diff::default();
    // Bounded: reconciliation of any set ends in a few dozen rounds.
    for _ in 0..10_000 {
        // A peer that ignores NEG-OPEN says nothing: on the first range,
        // a short wait tells "unsupported" from "slow".
        let wait = if first {
            link.patience.min(Duration::from_secs(10))
        } else {
            link.patience
        };
        let text = match link.recv_within(wait).await {
            Ok(text) => text,
            Err(SyncError::Timeout(_)) if first => {
                return Err(ReconcileError::Unsupported("no answer to NEG-OPEN".into()));
            }
            Err(SyncError::Link(why)) if first => {
                return Err(ReconcileError::Unsupported(why));
            }
            Err(e @ SyncError::Socket { .. }) if first => {
                return Err(ReconcileError::Unsupported(e.to_string()));
            }
            Err(e) => return Err(e.into()),
        };
        match RelayMessage::parse(&text) {
            Ok(RelayMessage::NegMsg { sub, message }) if sub == id => {
                // Counted by answers, not by messages: the node's AUTH
                // challenge or a NOTICE is not a round trip.
                *round_trips += 1;
                let bytes = nip77::from_hex(&message)
                    .ok_or_else(|| SyncError::Protocol("NEG-MSG is not hex".into()))?;
                let next = session
                    .next(&bytes, &mut diff.ours, &mut diff.theirs)
                    .map_err(|e| SyncError::Protocol(e.to_string()))?;
                match next {
                    Some(next) => link.send(send::neg_msg(&id, &next)).await?,
                    None => {
                        link.send(send::neg_close(&id)).await?;
                        return Ok(Outcome::Done(diff));
                    }
                }
            }
            Ok(RelayMessage::NegErr { sub, reason }) if sub == id => {
                if reason.starts_with("blocked:") {
                    return Ok(Outcome::TooLarge(reason.into_owned()));
                }
                return Err(ReconcileError::Unsupported(reason.into_owned()));
            }
            Ok(RelayMessage::Notice { message }) if first => {
                return Err(ReconcileError::Unsupported(message.into_owned()));
            }
            Ok(RelayMessage::Closed { sub, message }) if sub == id => {
                return Err(ReconcileError::Unsupported(message.into_owned()));
            }
            _ => tracing::debug!(message = %text, "ignored while reconciling"),
        }
    }
    Err(SyncError::Protocol("reconciliation did not end".into()).into())
}
