//! Sync with a relay that does not speak NIP-77: page through its events
//! for the filter with `REQ` (newest first, `until` moving back), storing
//! what this side lacks as it goes; what this side has and the pages never
//! showed is what the peer lacks. With `--push` alone, the peer is asked
//! only which of our ids it has, never for its events.

use std::collections::HashSet;

use samizdat_core::nostr::prelude::{Event, EventId};

use super::link::Link;
use super::transfer::commit;
use super::{Session, Summary, SyncError};
use crate::proto::client::{RelayMessage, claimed_id, send};
use crate::proto::filter::Filter;

/// Events asked for per page, and ids per "do you have these" query.
const PAGE: usize = 500;
const IDS_PER_REQ: usize = 250;
/// Pages before giving up: 500 million events.
const MAX_PAGES: usize = 1_000_000;

/// Returns the ids the peer lacks; with `pull`, stores what we lack on
/// the way.
pub(super) async fn diff(
    link: &mut Link,
    s: &mut Session<'_>,
    pull: bool,
) -> Result<Vec<EventId>, SyncError> {
    let max = s.options.max_items;
    let local: Vec<EventId> = super::reconcile::local_keys(s.store, &s.options.filter, max)
        .await?
        .ok_or_else(|| {
            SyncError::Filter(format!(
                "more than {max} events match here; narrow the filter (since/until)"
            ))
        })?
        .into_iter()
        .map(|(_, id)| EventId::from_byte_array(id))
        .collect();
    let known: HashSet<EventId> = local.iter().copied().collect();
    let seen = if pull {
        page_through(link, s, &known).await?
    } else {
        which_they_have(link, &local, s.summary).await?
    };
    Ok(local.into_iter().filter(|id| !seen.contains(id)).collect())
}

/// Pages through the peer's events; stores those not in `known`; returns
/// every id seen.
async fn page_through(
    link: &mut Link,
    s: &mut Session<'_>,
    known: &HashSet<EventId>,
) -> Result<HashSet<EventId>, SyncError> {
    let (store, options) = (s.store, s.options);
    let filter = &options.filter;
    s.observer.phase("receiving (REQ pages)", None);
    let mut seen = HashSet::new();
    // Ids of the valid events received so far.
    let mut validated: HashSet<EventId> = HashSet::new();
    let mut until = filter.until();
    for page in 0..MAX_PAGES {
        let id = format!("page-{page}");
        let f = filter
            .clone()
            .with_limit(PAGE)
            .with_time(filter.since(), until);
        link.send(send::req(&id, &[&f])).await?;
        s.summary.round_trips += 1;
        let mut fresh = 0;
        let mut oldest = u64::MAX;
        let mut batch = Vec::new();
        for _ in 0..PAGE * 4 + 64 {
            let text = link.recv().await?;
            match RelayMessage::parse(&text) {
                Ok(RelayMessage::Event { sub, event }) if sub == id => {
                    let Some(Ok(event)) = event.map(|e| Event::from_json(e.get())) else {
                        s.summary.rejected_from_peer += 1;
                        continue;
                    };
                    let key = event.id;
                    oldest = oldest.min(event.created_at.as_secs());
                    let here = known.contains(&key) || validated.contains(&key);
                    if seen.insert(key) {
                        fresh += 1;
                        s.summary.missing_here += u64::from(!here);
                    }
                    // Taken until an event with this id validates: a
                    // forgery claiming the id cannot shadow the genuine
                    // event after it.
                    if !here {
                        s.summary.received_bytes += text.len() as u64;
                        batch.push(event);
                    }
                }
                Ok(RelayMessage::Eose { sub }) if sub == id => break,
                Ok(RelayMessage::Closed { sub, message }) if sub == id => {
                    return Err(SyncError::Refused(message.into_owned()));
                }
                _ => {}
            }
        }
        link.send(send::close(&id)).await?;
        if !batch.is_empty() {
            let store = store.clone();
            let limits = options.limits;
            let announce = options.announce.clone();
            let done = tokio::task::spawn_blocking(move || {
                commit(&store, batch, &limits, announce.as_ref())
            })
            .await;
            validated.extend(s.account(done)?);
        }
        // Same-second events straddle pages, so `until` stays inclusive; a
        // page with nothing new means the end.
        if fresh == 0 || oldest == u64::MAX {
            break;
        }
        until = Some(oldest);
    }
    Ok(seen)
}

/// Asks the peer which of `ids` it has, a chunk at a time.
async fn which_they_have(
    link: &mut Link,
    ids: &[EventId],
    summary: &mut Summary,
) -> Result<HashSet<EventId>, SyncError> {
    let mut have = HashSet::new();
    for (n, chunk) in ids.chunks(IDS_PER_REQ).enumerate() {
        let id = format!("have-{n}");
        let filter = Filter::ids(chunk);
        link.send(send::req(&id, &[&filter])).await?;
        summary.round_trips += 1;
        for _ in 0..chunk.len() + 64 {
            let text = link.recv().await?;
            match RelayMessage::parse(&text) {
                Ok(RelayMessage::Event {
                    sub,
                    event: Some(event),
                }) if sub == id => {
                    if let Some(key) = claimed_id(event) {
                        have.insert(key);
                    }
                }
                Ok(RelayMessage::Eose { sub } | RelayMessage::Closed { sub, .. }) if sub == id => {
                    break;
                }
                _ => {}
            }
        }
        link.send(send::close(&id)).await?;
    }
    Ok(have)
}
