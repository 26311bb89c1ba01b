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
use samizdat_core::Limits;
use samizdat_node::ingest::batch::{self, Candidate};
use samizdat_store::{EventStore, EventsAtText, Query, Store, StoreSettings};
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
    /// What became of the events at the other place: `deleted` there by
    /// their authors already, `superseded` by a newer version there.
    outcomes: samizdat_node::progress::Tally,
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
    let done = &tally.outcomes;
    if ctx.json {
        println!(
            "{}",
            json!({"to": to.describe(), "stored": done.stored, "already_there": done.duplicate,
                   "deleted_there": done.deleted, "superseded_there": done.superseded,
                   "invalid": tally.invalid.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                   "blob_owners": tally.owners})
        );
    } else {
        eprintln!(
            "copied {} event(s) to {}; {} were already there; {} deleted there by their \
             authors; {} replaced there by newer versions; {} fail their checks; {} \
             uploader claim(s) on blobs",
            done.stored,
            to.describe(),
            done.duplicate,
            done.deleted,
            done.superseded,
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

/// Checks a batch of stored rows again, as every batch that comes in is
/// checked (on every core), and inserts those that pass, in their order,
/// waiting for the commit.
fn send(
    to: &dyn EventStore,
    batch: &mut Vec<Row>,
    limits: &Limits,
    tally: &mut Tally,
) -> Result<()> {
    let rows = std::mem::take(batch);
    let candidates = rows
        .iter()
        .enumerate()
        .map(|(at, (_, json, _))| (at as u64, Candidate::Json(json.clone())))
        .collect();
    let checked = batch::check(candidates, limits);
    // `valid` keeps the order of the rows, less the refused ones.
    let refused: std::collections::HashMap<u64, String> = checked.refused.into_iter().collect();
    let mut valid = checked.valid.into_iter();
    let (mut good, mut seen) = (Vec::with_capacity(rows.len()), Vec::new());
    for (at, (id, _, first_seen)) in rows.iter().enumerate() {
        let shown = hex::encode(id);
        if let Some(why) = refused.get(&(at as u64)) {
            tally.invalid.push((shown, why.clone()));
            continue;
        }
        let event = valid.next().context("a checked event went missing")?;
        if event.event().id.as_bytes().as_slice() != id.as_slice() {
            tally
                .invalid
                .push((shown, "stored under another id".to_string()));
            continue;
        }
        good.push(event);
        seen.push(*first_seen);
    }
    if good.is_empty() {
        return Ok(());
    }
    // When each was first seen goes with it: the archive's own record of
    // when it knew of an event.
    let stored = to.submit_seen(good, seen)?.wait();
    for outcome in stored.context("storing at the other place")? {
        tally.outcomes.count(outcome);
    }
    Ok(())
}
