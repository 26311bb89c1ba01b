//! Reading records: `list`, `show`, `search`.

use anyhow::{Result, bail};
use samizdat_core::kind::{NAMESPACE, TESTIMONY_LABEL};
use samizdat_core::nostr::prelude::Event;
use samizdat_core::record::Record;
use samizdat_core::{Attachment, RecordKind, kind};
use samizdat_store::{BlobError, Query, Store, StoredEvent};
use serde_json::json;

use crate::cli::{FilterArgs, KindName, ListArgs, SearchArgs, ShowArgs};
use crate::context::Context;
use crate::exit::Code;
use crate::output::{self, record_json};
use crate::time;

/// The store queries that `filter` stands for: one per record kind asked
/// for, since a kind such as "testimony" is a kind number plus a label.
pub fn queries(ctx: &Context, filter: &FilterArgs, limit: Option<usize>) -> Result<Vec<Query>> {
    let mut base = Query {
        limit,
        ..Default::default()
    };
    if !filter.authors.is_empty() {
        base.authors = Some(
            filter
                .authors
                .iter()
                .map(|a| ctx.public_key(a))
                .collect::<Result<_>>()?,
        );
    }
    base.since = filter.since.as_deref().map(time::parse).transpose()?;
    base.until = filter.until.as_deref().map(time::parse).transpose()?;
    for tag in &filter.tags {
        let Some((name, value)) = tag.split_once('=') else {
            bail!("--tag {tag:?}: write NAME=VALUE, such as t=almaty");
        };
        let mut letters = name.chars();
        let (Some(letter), None) = (letters.next(), letters.next()) else {
            bail!("--tag {tag:?}: only single-letter tags can be searched (NIP-01)");
        };
        base.tags.push((letter, vec![value.to_string()]));
    }
    let kinds = if filter.kinds.is_empty() {
        vec![
            KindName::Testimony,
            KindName::Person,
            KindName::Attestation,
            KindName::Retraction,
        ]
    } else {
        filter.kinds.clone()
    };
    if kinds.contains(&KindName::All) {
        return Ok(vec![base]);
    }
    Ok(kinds
        .into_iter()
        .map(|k| {
            let mut q = base.clone();
            let (kind, label) = match k {
                KindName::Testimony => (kind::TESTIMONY, Some(('l', TESTIMONY_LABEL))),
                KindName::Person => (kind::PERSON_REPORT, None),
                KindName::Attestation => (kind::ATTESTATION, Some(('L', NAMESPACE))),
                KindName::Retraction | KindName::All => (kind::RETRACTION, None),
            };
            q.kinds = Some(vec![kind.as_u16()]);
            if let Some((letter, value)) = label {
                q.tags.push((letter, vec![value.to_string()]));
            }
            q
        })
        .collect())
}

/// Runs several queries and merges them newest first, up to `limit`.
fn merged(store: &Store, queries: &[Query], limit: usize) -> Result<Vec<(Event, StoredEvent)>> {
    let mut all = Vec::new();
    for q in queries {
        for stored in store.query(q)? {
            all.push((stored.event()?, stored));
        }
    }
    all.sort_by(|(a, _), (b, _)| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    all.dedup_by(|(a, _), (b, _)| a.id == b.id);
    all.truncate(limit);
    Ok(all)
}

pub fn list(ctx: &Context, args: ListArgs) -> Result<Code> {
    let store = ctx.store()?;
    let queries = queries(ctx, &args.filter, Some(args.limit))?;
    print_rows(ctx, &merged(&store, &queries, args.limit)?);
    Ok(Code::Success)
}

pub fn search(ctx: &Context, args: SearchArgs) -> Result<Code> {
    let store = ctx.store()?;
    let words = args.words.join(" ");
    let query = Query {
        search: Some(words),
        limit: Some(args.limit),
        ..Default::default()
    };
    let found = store
        .query(&query)?
        .into_iter()
        .map(|s| Ok((s.event()?, s)))
        .collect::<Result<Vec<_>>>()?;
    if found.is_empty() && !ctx.json {
        eprintln!("nothing found");
    }
    print_rows(ctx, &found);
    Ok(Code::Success)
}

fn print_rows(ctx: &Context, rows: &[(Event, StoredEvent)]) {
    for (event, stored) in rows {
        if ctx.json {
            println!("{}", record_json(event, Some(stored.first_seen)));
        } else {
            println!("{}", output::row(event));
        }
    }
}

/// What `show` found when it checked an attachment.
fn blob_state(store: &Store, a: &Attachment) -> &'static str {
    match store.blobs().verify(&a.hash) {
        Ok(_) => "ok",
        Err(BlobError::NotFound(_)) => "missing",
        Err(BlobError::Corrupt { .. }) => "CORRUPT",
        Err(BlobError::Io { .. } | BlobError::Write(_) | BlobError::Full) => "unreadable",
        Err(BlobError::Refused(_)) => "REFUSED",
    }
}

pub fn show(ctx: &Context, args: ShowArgs) -> Result<Code> {
    let store = ctx.store()?;
    let event = super::record::find(&store, &args.id)?;
    let stored = store.query(&Query {
        ids: Some(vec![event.id]),
        ..Default::default()
    })?;
    let first_seen = stored.first().map(|s| s.first_seen);
    let signature_ok = event.verify().is_ok();
    let attachments = match Record::parse(&event) {
        Ok(Record::Testimony(t)) => t.attachments,
        Ok(Record::PersonReport(p)) => p.attachments,
        _ => Vec::new(),
    };
    let blobs: Vec<(&Attachment, &str)> = attachments
        .iter()
        .map(|a| (a, blob_state(&store, a)))
        .collect();
    let about = store.query(&Query {
        kinds: Some(vec![kind::ATTESTATION.as_u16()]),
        tags: vec![('e', vec![event.id.to_hex()])],
        ..Default::default()
    })?;
    let about: Vec<Event> = about
        .iter()
        .map(StoredEvent::event)
        .collect::<Result<_, _>>()?;

    if ctx.json {
        let mut value = record_json(&event, first_seen);
        value["checks"] = json!({
            "signature": if signature_ok { "ok" } else { "BAD" },
            "attachments": blobs.iter().map(|(a, s)| json!({ "sha256": a.hash.to_hex(), "state": s })).collect::<Vec<_>>(),
        });
        value["attestations"] = about.iter().map(|e| record_json(e, None)).collect();
        println!("{value}");
    } else {
        print_details(&event, first_seen);
        println!(
            "signature:  {}",
            if signature_ok {
                "ok"
            } else {
                "BAD — this record is forged or damaged"
            }
        );
        for (a, state) in &blobs {
            println!(
                "attachment: {} {} {} bytes — {state}",
                a.hash, a.mime, a.size
            );
        }
        for e in &about {
            if let Ok(Record::Attestation(a)) = Record::parse(e) {
                let note = if a.note.is_empty() {
                    String::new()
                } else {
                    format!(": {}", output::one_line(&a.note, 60))
                };
                println!(
                    "attested:   {} by {}{note}",
                    a.label,
                    output::npub(&e.pubkey)
                );
            }
        }
    }
    let bad = !signature_ok || blobs.iter().any(|(_, s)| *s == "CORRUPT");
    Ok(if bad { Code::Problems } else { Code::Success })
}

fn print_details(event: &Event, first_seen: Option<u64>) {
    println!("id:         {}", event.id);
    println!("kind:       {}", RecordKind::of(event).name());
    println!("author:     {}", output::npub(&event.pubkey));
    println!("signed at:  {}", time::show(event.created_at.as_secs()));
    if let Some(seen) = first_seen {
        println!("first seen: {}", time::show(seen));
    }
    let value = record_json(event, first_seen);
    let Some(fields) = value["record"].as_object() else {
        return;
    };
    for (key, v) in fields {
        let shown = match (key.as_str(), v) {
            ("attachments", _) | (_, serde_json::Value::Null) => continue,
            ("place", p) => match (p["text"].as_str(), p["geohash"].as_str()) {
                (None, None) => continue,
                (text, geohash) => [text, geohash.map(|g| format!("geohash {g}")).as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", "),
            },
            ("observed" | "when", o) => {
                // As the witness wrote it, in their offset.
                let offset = o["offset"]
                    .as_str()
                    .and_then(samizdat_core::tags::Offset::parse);
                let at = |t: u64| time::show_at(t, offset);
                let start = o["start"].as_u64().map(at).unwrap_or_default();
                match o["end"].as_u64() {
                    Some(end) => format!("{start} to {}", at(end)),
                    None => start,
                }
            }
            (_, serde_json::Value::String(s)) if s.is_empty() => continue,
            (_, serde_json::Value::String(s)) => s.clone(),
            (_, serde_json::Value::Array(a)) if a.is_empty() => continue,
            (_, serde_json::Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect::<Vec<_>>()
                .join(", "),
            (_, other) => other.to_string(),
        };
        println!("{:<11} {shown}", format!("{key}:"));
    }
}
