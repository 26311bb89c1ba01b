//! `samizdat store copy --events-to`: every event, in the order it
//! arrived, from the database the store keeps them in now to another
//! (PostgreSQL, or back to the data directory's SQLite), each one checked
//! again (id, signature, the rules every door applies) on the way, then
//! every uploader's claim on a blob, each event keeping when it was first
//! seen. What is already there is a
//! duplicate, so a cut copy goes on when run again. Deletions, replaced
//! versions and what the full-text index holds are rebuilt at the other
//! side from the events themselves, by the same rules.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use rayon::prelude::*;
use samizdat_core::nostr::prelude::Timestamp;
use samizdat_core::validate::validate_json;
use samizdat_core::{Limits, VerifiedEvent};
use samizdat_store::{EventStore, EventsAtText, InsertOutcome, Query, Store, StoreSettings};
use serde_json::json;

use crate::context::Context;
use crate::exit::Code;
use crate::progress;

/// Events checked and sent in one batch.
const BATCH: usize = 1_000;

/// A stored row: its id column, its JSON, when it was first seen.
type Row = (Vec<u8>, String, u64);

#[derive(Debug, Default)]
struct Tally {
    stored: u64,
    already: u64,
    /// Deleted by their authors at the other place already.
    deleted: u64,
    /// A newer version is there.
    superseded: u64,
    /// Rows that fail the checks: id and why.
    invalid: Vec<(String, String)>,
    owners: u64,
}

pub fn copy(
    ctx: &Context,
    store: &Store,
    events_to: &str,
    credentials: Option<PathBuf>,
) -> Result<Code> {
    let settings = StoreSettings {
        events: EventsAtText(events_to.parse().context("--events-to")?),
        credentials,
        ..Default::default()
    };
    let to = settings
        .event_store(&ctx.data, samizdat_store::StoreOptions::default())
        .context("the place to copy events to")?;
    if to.describe() == store.events().describe() {
        bail!("the events are already kept in {}", to.describe());
    }
    let limits =
        samizdat_node::config::Config::load(&ctx.data.join(samizdat_node::config::CONFIG_FILE))?
            .events;
    let total = store.count(&Query::default())?;
    let bar = progress::bar(Some(total), "copying events");
    let mut tally = Tally::default();
    let mut batch: Vec<Row> = Vec::with_capacity(BATCH);
    let mut failed: Option<anyhow::Error> = None;
    store.events().scan_raw(&mut |id, json, seen| {
        if failed.is_some() {
            return;
        }
        batch.push((id.to_vec(), json.to_string(), seen));
        if batch.len() == BATCH {
            bar.inc(batch.len() as u64);
            if let Err(e) = send(to.as_ref(), &mut batch, &limits, &mut tally) {
                failed = Some(e);
            }
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    bar.inc(batch.len() as u64);
    send(to.as_ref(), &mut batch, &limits, &mut tally)?;
    bar.finish_and_clear();

    let mut owners = Vec::new();
    store
        .events()
        .all_blob_owners(&mut |pubkey, blob| owners.push((pubkey, blob)))?;
    for chunk in owners.chunks(BATCH) {
        to.add_blob_owners(chunk.to_vec())
            .context("copying who uploaded which blob")?;
        tally.owners += chunk.len() as u64;
    }

    for (id, why) in &tally.invalid {
        eprintln!("event {id}: fails its checks, not copied: {why}");
    }
    if ctx.json {
        println!(
            "{}",
            json!({"to": to.describe(), "stored": tally.stored, "already_there": tally.already,
                   "deleted_there": tally.deleted, "superseded_there": tally.superseded,
                   "invalid": tally.invalid.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                   "blob_owners": tally.owners})
        );
    } else {
        eprintln!(
            "copied {} event(s) to {}; {} were already there; {} deleted there by their \
             authors; {} replaced there by newer versions; {} fail their checks; {} \
             uploader claim(s) on blobs",
            tally.stored,
            to.describe(),
            tally.already,
            tally.deleted,
            tally.superseded,
            tally.invalid.len(),
            tally.owners
        );
        eprintln!(
            "to keep events there from now on, set in samizdat.toml:\n  [store]\n  events = \"{events_to}\""
        );
    }
    Ok(if tally.invalid.is_empty() {
        Code::Success
    } else {
        Code::Problems
    })
}

/// Checks a batch of stored rows again, in parallel, and inserts those
/// that pass, in their order, waiting for the commit.
fn send(
    to: &dyn EventStore,
    batch: &mut Vec<Row>,
    limits: &Limits,
    tally: &mut Tally,
) -> Result<()> {
    let now = Timestamp::now();
    let checked: Vec<Result<(VerifiedEvent, u64), (String, String)>> = batch
        .par_iter()
        .map(|(id, json, seen)| {
            let shown = hex::encode(id);
            let event =
                validate_json(json, limits, now).map_err(|e| (shown.clone(), e.to_string()))?;
            if event.event().id.as_bytes().as_slice() != id.as_slice() {
                return Err((shown, "stored under another id".to_string()));
            }
            Ok((event, *seen))
        })
        .collect();
    batch.clear();
    let (mut good, mut seen) = (Vec::with_capacity(checked.len()), Vec::new());
    for c in checked {
        match c {
            Ok((event, at)) => {
                good.push(event);
                seen.push(at);
            }
            Err(bad) => tally.invalid.push(bad),
        }
    }
    if good.is_empty() {
        return Ok(());
    }
    // When each was first seen goes with it: the archive's own record of
    // when it knew of an event.
    let stored = to.submit_seen(good, seen)?.wait();
    for outcome in stored.context("storing at the other place")? {
        match outcome {
            InsertOutcome::Stored => tally.stored += 1,
            InsertOutcome::Duplicate => tally.already += 1,
            InsertOutcome::Deleted => tally.deleted += 1,
            InsertOutcome::Superseded => tally.superseded += 1,
            InsertOutcome::Ephemeral => {}
        }
    }
    Ok(())
}
