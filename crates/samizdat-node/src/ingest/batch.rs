//! Events in batches, from a file (`events import`, bundles) or from a
//! peer (sync): checked on every core, then committed in one
//! transaction. The relay, the drop box and the console take events one
//! at a time through [`Ingest::submit`](super::Ingest::submit); both
//! ways end in the same store writer and the same checks.

use rayon::prelude::*;
use samizdat_core::nostr::prelude::{Event, EventId, Timestamp};
use samizdat_core::validate::validate_json;
use samizdat_core::{Limits, VerifiedEvent, validate};
use samizdat_store::{InsertOutcome, Pending, Store, StoreError};

use super::Announce;
use crate::progress::Tally;

/// One event as it came.
#[derive(Debug)]
pub enum Candidate {
    /// Parsed already: a peer's answer is parsed once, as it is read.
    Event(Event),
    /// JSON text: a line of a file.
    Json(String),
    /// Refused before any check, for this reason (a line too long, not
    /// text).
    Refused(String),
}

/// A batch once checked.
#[derive(Debug, Default)]
pub struct Checked {
    pub valid: Vec<VerifiedEvent>,
    /// Where each refused candidate was, and why it was refused.
    pub refused: Vec<(u64, String)>,
}

/// Checks each candidate (id, signature, record rules) on the current
/// rayon pool, so on every core and never on the async runtime. Each
/// comes with its place (a line, an order of arrival), told back with a
/// refusal.
pub fn check(batch: Vec<(u64, Candidate)>, limits: &Limits) -> Checked {
    let now = Timestamp::now();
    let results: Vec<(u64, Result<VerifiedEvent, String>)> = batch
        .into_par_iter()
        .map(|(at, candidate)| {
            let result = match candidate {
                Candidate::Event(event) => validate(event, limits, now).map_err(|e| e.to_string()),
                Candidate::Json(text) => {
                    validate_json(&text, limits, now).map_err(|e| e.to_string())
                }
                Candidate::Refused(reason) => Err(reason),
            };
            (at, result)
        })
        .collect();
    let mut checked = Checked {
        valid: Vec::with_capacity(results.len()),
        refused: Vec::new(),
    };
    for (at, result) in results {
        match result {
            Ok(event) => checked.valid.push(event),
            Err(reason) => checked.refused.push((at, reason)),
        }
    }
    checked
}

/// Hands `valid` to the store's writer and returns at once, so that the
/// next batch is checked while this one commits; `None` when there is
/// nothing to store.
pub fn submit(store: &Store, valid: Vec<VerifiedEvent>) -> Result<Option<Pending>, StoreError> {
    if valid.is_empty() {
        return Ok(None);
    }
    store.submit(valid).map(Some)
}

/// Waits until a submitted batch is durable, counts what became of each
/// event into `tally`, and tells `announce` (a running node's live
/// subscribers) of what was new. Returns the ids of the batch's events:
/// each is valid, whether new here or not.
pub fn finish(
    pending: Pending,
    tally: &mut Tally,
    announce: Option<&Announce>,
) -> Result<Vec<EventId>, StoreError> {
    let committed = pending.committed()?;
    let ids = committed.events.iter().map(|v| v.event().id).collect();
    for outcome in &committed.outcomes {
        tally.count(*outcome);
    }
    if let Some(announce) = announce {
        let new = |o: &InsertOutcome| matches!(o, InsertOutcome::Stored | InsertOutcome::Ephemeral);
        announce.stored(
            committed
                .events
                .into_iter()
                .zip(&committed.outcomes)
                .filter(|(_, o)| new(o))
                .map(|(v, _)| v),
        );
    }
    Ok(ids)
}
