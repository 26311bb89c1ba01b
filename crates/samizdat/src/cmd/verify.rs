//! `samizdat verify`: re-check every stored signature and id, and every
//! blob's hash, naming each corrupt item.

use std::collections::BTreeSet;

use anyhow::Result;
use rayon::prelude::*;
use samizdat_core::BlobHash;
use samizdat_core::nostr::prelude::Event;
use samizdat_store::{BlobEntry, BlobError, Query};
use serde_json::json;

use crate::context::Context;
use crate::exit::Code;
use crate::progress;

const CHUNK: usize = 4_096;

#[derive(Debug)]
struct Problem {
    item: String,
    reason: String,
}

/// Checks one stored row; returns the blobs it references.
fn check_row(id_column: &[u8], json: &str) -> Result<Vec<BlobHash>, Problem> {
    let label = hex::encode(id_column);
    let problem = |reason: String| Problem {
        item: format!("event {label}"),
        reason,
    };
    let event =
        Event::from_json(json).map_err(|e| problem(format!("stored JSON does not parse: {e}")))?;
    if event.id.as_bytes().as_slice() != id_column {
        return Err(problem(format!(
            "stored under id {label} but its JSON says {}",
            event.id
        )));
    }
    if !event.verify_id() {
        return Err(problem("its id does not match its content".into()));
    }
    if !event.verify_signature() {
        return Err(problem("its signature does not verify".into()));
    }
    Ok(samizdat_core::tags::attachments(&event)
        .map(|list| list.into_iter().map(|a| a.hash).collect())
        .unwrap_or_default())
}

pub fn run(ctx: &Context) -> Result<Code> {
    let store = ctx.store()?;
    // Leftovers of imports and writes cut part-way: a spool holds a whole
    // bundle, decrypted.
    let swept = super::sweep(&ctx.data);
    if !swept.is_empty() && !ctx.json {
        eprintln!(
            "removed {} spool(s) and temporary file(s) left by cut imports or writes",
            swept.len()
        );
    }
    // Blobs no record names and nobody uploaded, an hour old or more:
    // what a refused record, a crash or a deletion left behind.
    let collected = store.collect_unneeded_blobs(samizdat_store::UNNEEDED_BLOB_GRACE)?;
    let collected_bytes: u64 = collected.iter().map(|(_, size)| size).sum();
    let (waiting, waiting_bytes) = store.unreferenced_blobs()?;
    let events = store.count(&Query::default())?;
    let blob_entries = store.blobs().list()?;
    let bar = progress::bar(Some(events + blob_entries.len() as u64), "verifying");
    let mut problems: Vec<Problem> = Vec::new();
    let mut referenced: BTreeSet<BlobHash> = BTreeSet::new();

    let mut chunk: Vec<(Vec<u8>, String)> = Vec::with_capacity(CHUNK);
    let flush = |chunk: &mut Vec<(Vec<u8>, String)>,
                 problems: &mut Vec<Problem>,
                 referenced: &mut BTreeSet<BlobHash>| {
        let results: Vec<_> = chunk
            .par_iter()
            .map(|(id, json)| check_row(id, json))
            .collect();
        for r in results {
            match r {
                Ok(hashes) => referenced.extend(hashes),
                Err(p) => problems.push(p),
            }
        }
        bar.inc(chunk.len() as u64);
        chunk.clear();
    };
    store.scan_raw(|id, json| {
        chunk.push((id.to_vec(), json.to_string()));
        if chunk.len() == CHUNK {
            flush(&mut chunk, &mut problems, &mut referenced);
        }
    })?;
    flush(&mut chunk, &mut problems, &mut referenced);

    let mut blobs_ok = 0u64;
    let blob_results: Vec<Result<(), Problem>> = blob_entries
        .par_iter()
        .map(|entry| {
            let result = match entry {
                BlobEntry::Blob(hash) => match store.blobs().verify(hash) {
                    Ok(_) => Ok(()),
                    Err(BlobError::Corrupt { actual, .. }) => Err(Problem {
                        item: format!("blob {hash}"),
                        reason: format!("its bytes were altered: they hash to {actual}"),
                    }),
                    Err(e) => Err(Problem {
                        item: format!("blob {hash}"),
                        reason: e.to_string(),
                    }),
                },
                BlobEntry::Stray(path) => Err(Problem {
                    item: format!("file {}", path.display()),
                    reason: "not a blob named by its hash".into(),
                }),
            };
            bar.inc(1);
            result
        })
        .collect();
    for r in blob_results {
        match r {
            Ok(()) => blobs_ok += 1,
            Err(p) => problems.push(p),
        }
    }
    let missing: Vec<&BlobHash> = referenced
        .iter()
        .filter(|h| !store.blobs().contains(h))
        .collect();
    bar.finish_and_clear();

    for p in &problems {
        if ctx.json {
            println!("{}", json!({ "corrupt": p.item, "reason": p.reason }));
        } else {
            println!("CORRUPT {}: {}", p.item, p.reason);
        }
    }
    for h in &missing {
        if ctx.json {
            println!("{}", json!({ "missing_blob": h.to_hex() }));
        } else {
            println!("missing blob {h} (referenced by a record, not received yet)");
        }
    }
    let summary = format!(
        "checked {events} events and {} blobs: {} corrupt, {} referenced blobs missing",
        blob_entries.len(),
        problems.len(),
        missing.len()
    );
    if ctx.json {
        println!(
            "{}",
            json!({
                "events": events,
                "blobs": blob_entries.len(),
                "blobs_ok": blobs_ok,
                "corrupt": problems.len(),
                "missing_blobs": missing.len(),
                "unreferenced_uploads": waiting,
                "unreferenced_upload_bytes": waiting_bytes,
                "removed_unneeded_blobs": collected.len(),
                "removed_unneeded_bytes": collected_bytes,
            })
        );
    } else {
        if !collected.is_empty() {
            eprintln!(
                "removed {} blob(s) ({collected_bytes} bytes) that no record names and nobody \
                 uploaded, left by refused or deleted records",
                collected.len()
            );
        }
        if waiting > 0 {
            eprintln!(
                "{waiting} uploaded blob(s) ({waiting_bytes} bytes) are not named by any record \
                 yet; their uploaders keep them"
            );
        }
        eprintln!("{summary}");
    }
    Ok(if problems.is_empty() {
        Code::Success
    } else {
        Code::Problems
    })
}
