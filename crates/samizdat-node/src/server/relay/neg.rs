//! The server side of NIP-77 negentropy reconciliation.
//!
//! `NEG-OPEN` with a filter that bounds only time (the usual sync) takes a
//! slice of the store's sorted keys of every event, kept in memory between
//! reconciliations and shared by all of them (`Store::all_keys`, up to
//! `negentropy_cached_keys` keys, 40 bytes each). Any other filter loads
//! its `(created_at, id)` keys (two columns, no event JSON) into a sorted
//! vector for this reconciliation. Either way at most
//! `max_negentropy_items` keys: a larger set is refused with `NEG-ERR`
//! `blocked:`, and the client reconciles by time ranges instead: bounding
//! the set bounds the memory a reconciliation holds and the ids an answer
//! can list.

use std::collections::HashMap;

use samizdat_core::nostr::prelude::PublicKey;
use samizdat_core::sealed;
use samizdat_store::Query;

use super::Relay;
use crate::proto::filter::Filter;
use crate::proto::message::{SubId, out};
use crate::proto::nip77::Reconciler;
use crate::proto::nip77::keys::{KeyStorage, time_range};

/// Open reconciliations per connection; each holds its key set in memory.
const MAX_SESSIONS: usize = 2;

type Session = Reconciler;

#[derive(Default)]
pub struct NegSessions {
    open: HashMap<SubId, Session>,
}

impl NegSessions {
    pub async fn open(
        &mut self,
        state: &Relay,
        sub: SubId,
        filter: &Filter,
        gift_wraps_for: Option<Vec<PublicKey>>,
        message: Vec<u8>,
    ) -> String {
        // NIP-77: a NEG-OPEN on an open id replaces it.
        self.open.remove(&sub);
        if self.open.len() >= MAX_SESSIONS {
            return out::neg_err(
                &sub,
                &format!("blocked: at most {MAX_SESSIONS} open reconciliations per connection"),
            );
        }
        let limits = &state.node.config.relay;
        let max = limits.max_negentropy_items;
        let blocked = || {
            out::neg_err(
                &sub,
                &format!(
                    "blocked: more than {max} events match; reconcile a narrower \
                     filter (since/until)"
                ),
            )
        };
        let query = Query {
            gift_wraps_for,
            ..filter.to_unlimited_query()
        };
        let mut storage = None;
        if let Some((since, until)) = time_range(&query) {
            let store = state.node.ingest.store().clone();
            let cached = limits.negentropy_cached_keys;
            match tokio::task::spawn_blocking(move || store.all_keys(cached)).await {
                // The probe for hidden gift wraps comes after the snapshot:
                // a wrap in the snapshot was committed before it, so the
                // probe sees it; a wrap committed after the probe is not in
                // the snapshot. Probing first would leave a gap in which a
                // wrap committed between the two reached a client not
                // allowed to see it.
                Ok(Ok(Some(keys))) if !hides_gift_wraps(state, &query).await => {
                    let range = KeyStorage::range(keys, since, until);
                    if range.len() > max {
                        return blocked();
                    }
                    storage = Some(range);
                }
                // Something is hidden from this client, or more events are
                // stored than are kept in memory: read this range.
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "reading the shared keys"),
                Err(_) => {}
            }
        }
        let storage = match storage {
            Some(storage) => Ok(storage),
            None => match super::query::keys(state, query, max).await {
                Ok(Some(keys)) => Err(keys),
                Ok(None) => return blocked(),
                Err(e) => {
                    tracing::warn!(error = %e, "negentropy query failed");
                    return out::neg_err(&sub, "error: the query failed");
                }
            },
        };
        let frame = limits.negentropy_frame_bytes;
        let built = tokio::task::spawn_blocking(move || {
            let storage = match storage {
                Ok(shared) => shared,
                Err(keys) => KeyStorage::vector(keys),
            };
            let mut session = Reconciler::new(storage, frame)?;
            let reply = session.answer(&message)?;
            Ok::<_, crate::proto::nip77::NegError>((session, reply))
        })
        .await;
        match built {
            Ok(Ok((session, reply))) => {
                let text = out::neg_msg(&sub, &reply);
                self.open.insert(sub, session);
                text
            }
            Ok(Err(e)) => out::neg_err(&sub, &format!("invalid: {e}")),
            Err(_) => out::neg_err(&sub, "error: reconciliation failed"),
        }
    }

    pub async fn message(&mut self, sub: SubId, message: Vec<u8>) -> String {
        let Some(mut session) = self.open.remove(&sub) else {
            return out::neg_err(&sub, "closed: no open reconciliation with this id");
        };
        let done = tokio::task::spawn_blocking(move || {
            let reply = session.answer(&message);
            (session, reply)
        })
        .await;
        match done {
            Ok((session, Ok(reply))) => {
                self.open.insert(sub.clone(), session);
                out::neg_msg(&sub, &reply)
            }
            Ok((_, Err(e))) => out::neg_err(&sub, &format!("invalid: {e}")),
            Err(_) => out::neg_err(&sub, "error: reconciliation failed"),
        }
    }

    pub fn close(&mut self, sub: &SubId) {
        self.open.remove(sub);
    }
}

/// Whether `query` hides a gift wrap stored in its time range from this
/// client. The shared keys hold every event, so they serve only a client
/// from whom nothing in that range is hidden; the others read their keys
/// through the query. Gift wraps are few, so the check is one index probe.
async fn hides_gift_wraps(state: &Relay, query: &Query) -> bool {
    if query.gift_wraps_for.is_none() {
        return false;
    }
    let probe = Query {
        kinds: Some(vec![sealed::GIFT_WRAP.as_u16()]),
        since: query.since,
        until: query.until,
        limit: Some(1),
        ..Query::default()
    };
    let store = state.node.ingest.store().clone();
    // On error, assume the worst: the query path is always right.
    !matches!(
        tokio::task::spawn_blocking(move || store.query(&probe)).await,
        Ok(Ok(found)) if found.is_empty()
    )
}
