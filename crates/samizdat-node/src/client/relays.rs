//! `samizdat publish relays`: pushes the public records to the public
//! relays in `[[publish.relays]]`.
//!
//! Records go most important first (person reports, testimonies,
//! attestations, retractions; oldest first within each), in chunks: the
//! relay is asked which of a chunk's ids it already holds (`REQ` by
//! `ids`), and only the others are sent, each waiting for its `OK`. A
//! relay's own limits apply: events per second, events per run. A lost
//! connection is made again, with a doubling wait and jitter, a bounded
//! number of times, and the push goes on from the chunk it was in (asking
//! again, so nothing is sent twice).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::proto::filter::Filter;
use rayon::prelude::*;
use samizdat_core::kind;
use samizdat_core::nostr::prelude::EventId;
use samizdat_store::{Query, Store, StoreError};

use crate::client::proxy::Proxy;
use crate::client::sync::SyncError;
use crate::client::sync::link::Link;
use crate::progress::Observer;
use crate::proto::client::{RelayMessage, claimed_id, send};
use crate::route::RelayUrl;

/// Ids asked about, and events sent, per round.
const CHUNK: usize = 100;
/// Events sent before their `OK`s are awaited.
const IN_FLIGHT: usize = 8;
/// Times one event refused as `rate-limited:` is sent again.
const RATE_LIMITED_TRIES: u32 = 5;
/// Longest wait between two connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(120);

/// One relay to publish to, and how.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: RelayUrl,
    pub proxy: Option<Proxy>,
    /// Most events per second (0 or less: no limit).
    pub events_per_second: f64,
    pub max_events: Option<u64>,
    pub retries: u32,
    /// How long to wait for any one answer.
    pub patience: Duration,
    /// The first wait before a new connection (it doubles each time).
    pub backoff: Duration,
}

/// What publishing to one relay did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Pushed {
    pub url: String,
    /// Public records selected.
    pub records: u64,
    /// Of those, what the relay already held.
    pub already_there: u64,
    /// Sent and accepted.
    pub sent: u64,
    pub sent_bytes: u64,
    /// Sent and refused (`OK` false), with the first reason.
    pub refused: u64,
    pub first_refusal: Option<String>,
    /// Left for a next run: the run's `max_events` was reached, or the
    /// relay could not be reached again.
    pub left: u64,
    /// Connections made (1 when nothing went wrong).
    pub connections: u32,
    /// Why the relay was given up, if it was.
    pub error: Option<String>,
    pub seconds: f64,
}

impl Pushed {
    pub fn complete(&self) -> bool {
        self.error.is_none() && self.left == 0
    }
}

/// The public records `queries` select (all public records when empty),
/// most important first: what a publish offers every relay.
pub fn candidates(store: &Store, queries: &[Query]) -> Result<Vec<EventId>, StoreError> {
    let all = [Query::default()];
    let queries = if queries.is_empty() {
        &all[..]
    } else {
        queries
    };
    let classes = [
        kind::PERSON_REPORT.as_u16(),
        kind::TESTIMONY.as_u16(),
        kind::ATTESTATION.as_u16(),
        kind::RETRACTION.as_u16(),
    ];
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for class in classes {
        let mut found = Vec::new();
        for query in queries {
            if query.kinds.as_ref().is_some_and(|k| !k.contains(&class)) {
                continue;
            }
            let mut query = query.clone();
            query.kinds = Some(vec![class]);
            query.gift_wraps_for = Some(Vec::new());
            query.limit = None;
            for stored in store.query(&query)? {
                if seen.insert(stored.id) {
                    found.push(stored.event()?);
                }
            }
        }
        let mut found: Vec<(u64, EventId)> = found
            .into_par_iter()
            .filter(|event| samizdat_core::record::is_public(event) && event.verify().is_ok())
            .map(|event| (event.created_at.as_secs(), event.id))
            .collect();
        found.sort();
        out.extend(found.into_iter().map(|(_, id)| id));
    }
    Ok(out)
}

/// Pushes the records `ids` (from [`candidates`]) to `target`.
pub async fn push(
    store: &Store,
    ids: &[EventId],
    target: &Target,
    observer: &mut dyn Observer,
) -> Pushed {
    let started = Instant::now();
    let mut pushed = Pushed {
        url: target.url.to_string(),
        records: ids.len() as u64,
        ..Default::default()
    };
    observer.phase(
        &format!("publishing to {}", target.url),
        Some(ids.len() as u64),
    );
    let mut at = 0usize;
    let mut failures = 0u32;
    let budget = target.max_events.unwrap_or(u64::MAX);
    // The counts after the last whole chunk: a chunk cut short is
    // counted again, whole, by the next connection.
    let mut mark = (0, 0, 0);
    while at < ids.len() {
        let result = async {
            let mut link = Link::connect(
                &target.url,
                target.patience,
                target.proxy.as_ref(),
                None,
                &[],
            )
            .await?;
            pushed.connections += 1;
            while at < ids.len() {
                if pushed.sent + pushed.refused >= budget {
                    break;
                }
                let end = (at + CHUNK).min(ids.len());
                chunk(
                    &mut link,
                    store,
                    &ids[at..end],
                    target,
                    budget,
                    &mut pushed,
                    observer,
                )
                .await?;
                // A chunk counts as done once every event in it is
                // answered: a link lost in between asks again.
                at = end;
                mark = (pushed.already_there, pushed.sent, pushed.refused);
                failures = 0;
            }
            link.close().await;
            Ok::<(), SyncError>(())
        }
        .await;
        match result {
            Ok(()) => break,
            Err(e) => {
                // What this chunk sent before the cut, the relay now
                // holds: the next connection finds it there.
                (pushed.already_there, pushed.sent, pushed.refused) = mark;
                failures += 1;
                tracing::warn!(relay = %target.url, error = %e, failures, "publishing: connection lost");
                if failures > target.retries {
                    pushed.error = Some(e.to_string());
                    break;
                }
                tokio::time::sleep(backoff(target.backoff, failures)).await;
            }
        }
    }
    let done = pushed.already_there + pushed.sent + pushed.refused;
    pushed.left = pushed.records.saturating_sub(done);
    pushed.seconds = started.elapsed().as_secs_f64();
    pushed
}

/// The wait before connection attempt `failures` + 1: doubling from
/// `first`, at most [`MAX_BACKOFF`], with up to a quarter of jitter so
/// that many nodes do not come back at the same instant.
fn backoff(first: Duration, failures: u32) -> Duration {
    let base = first
        .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let jitter = rand::random_range(0.0..0.25);
    base.mul_f64(1.0 + jitter)
}

/// Asks the relay which of `ids` it holds, and sends it the others.
async fn chunk(
    link: &mut Link,
    store: &Store,
    ids: &[EventId],
    target: &Target,
    budget: u64,
    pushed: &mut Pushed,
    observer: &mut dyn Observer,
) -> Result<(), SyncError> {
    let there = held(link, ids).await?;
    let missing: Vec<EventId> = ids
        .iter()
        .filter(|id| !there.contains(*id))
        .copied()
        .collect();
    let already = (ids.len() - missing.len()) as u64;
    pushed.already_there += already;
    observer.advance(already);
    if missing.is_empty() {
        return Ok(());
    }
    let events = {
        let store = store.clone();
        let query = Query {
            ids: Some(missing),
            ..Default::default()
        };
        tokio::task::spawn_blocking(move || store.query(&query))
            .await
            .map_err(|source| SyncError::Task {
                what: "reading the store",
                source,
            })??
    };
    let mut order: Vec<_> = events.into_iter().collect();
    // The store answers newest first; send in the order given.
    let rank: std::collections::HashMap<EventId, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    order.sort_by_key(|e| rank.get(&e.id).copied().unwrap_or(usize::MAX));
    let pause = if target.events_per_second > 0.0 {
        Duration::from_secs_f64(1.0 / target.events_per_second)
    } else {
        Duration::ZERO
    };
    let mut in_flight: Vec<(String, usize, u32)> = Vec::new();
    let mut queue: std::collections::VecDeque<(usize, u32)> =
        (0..order.len()).map(|i| (i, 0)).collect();
    let mut slow = Duration::ZERO;
    // Bounded: each event goes at most RATE_LIMITED_TRIES + 1 times.
    while !queue.is_empty() || !in_flight.is_empty() {
        while in_flight.len() < IN_FLIGHT
            && pushed.sent + pushed.refused + (in_flight.len() as u64) < budget
            && let Some((i, tries)) = queue.pop_front()
        {
            let wait = pause.max(slow);
            if !wait.is_zero() {
                link.flush().await?;
                tokio::time::sleep(wait).await;
            }
            let stored = &order[i];
            link.feed(send::event(&stored.json)).await?;
            pushed.sent_bytes += stored.json.len() as u64;
            in_flight.push((stored.id.to_hex(), i, tries));
        }
        link.flush().await?;
        if in_flight.is_empty() {
            // The run's budget is spent.
            break;
        }
        let text = link.recv().await?;
        let Ok(RelayMessage::Ok {
            id,
            accepted,
            message: reason,
        }) = RelayMessage::parse(&text)
        else {
            continue;
        };
        let Some(pos) = in_flight.iter().position(|(x, _, _)| *x == id) else {
            continue;
        };
        let (_, i, tries) = in_flight.swap_remove(pos);
        if accepted {
            pushed.sent += 1;
            slow = slow.mul_f64(0.5);
            observer.advance(1);
        } else if reason.starts_with("duplicate:") {
            pushed.already_there += 1;
            observer.advance(1);
        } else if reason.starts_with("rate-limited:") && tries < RATE_LIMITED_TRIES {
            slow = (slow * 2).clamp(Duration::from_millis(100), Duration::from_secs(10));
            queue.push_back((i, tries + 1));
        } else {
            pushed.refused += 1;
            pushed
                .first_refusal
                .get_or_insert_with(|| reason.to_string());
            observer.advance(1);
        }
    }
    Ok(())
}

/// Which of `ids` the relay holds, by a `REQ` for them. A relay that
/// refuses the question (`CLOSED`) is taken to hold none: what it has
/// already will come back as `duplicate:`.
async fn held(link: &mut Link, ids: &[EventId]) -> Result<HashSet<EventId>, SyncError> {
    let first = ids.first().map(EventId::to_hex).unwrap_or_default();
    let sub = format!("publish-{}", first.get(..8).unwrap_or(""));
    let sub = sub.as_str();
    let filter = Filter::ids(ids);
    link.send(send::req(sub, &[&filter])).await?;
    let mut there = HashSet::new();
    // Bounded: at most one message per id asked about, plus the end.
    for _ in 0..=ids.len() + 16 {
        let text = link.recv().await?;
        match RelayMessage::parse(&text) {
            Ok(RelayMessage::Event {
                sub: s,
                event: Some(event),
            }) if s == sub => {
                if let Some(id) = claimed_id(event).filter(|id| ids.contains(id)) {
                    there.insert(id);
                }
            }
            Ok(RelayMessage::Eose { sub: s }) if s == sub => break,
            Ok(RelayMessage::Closed { sub: s, .. }) if s == sub => return Ok(HashSet::new()),
            _ => {}
        }
    }
    link.send(send::close(sub)).await?;
    Ok(there)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_a_ceiling() {
        let first = Duration::from_secs(1);
        for (failures, base) in [(1, 1), (2, 2), (3, 4), (10, 120), (40, 120)] {
            let wait = backoff(first, failures);
            let base = Duration::from_secs(base);
            assert!(
                wait >= base && wait <= base.mul_f64(1.25),
                "{failures}: {wait:?}"
            );
        }
    }
}
