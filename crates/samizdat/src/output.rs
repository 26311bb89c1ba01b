//! How records look on a terminal and in `--json` output.

use samizdat_core::nostr::prelude::{Event, PublicKey, ToBech32};
use samizdat_core::record::Record;
use samizdat_core::tags::{Observed, Place};
use samizdat_core::{Attachment, RecordKind};
use serde_json::{Value, json};

use crate::time;

/// A record as one JSON object: the typed fields samizdat understands and
/// the raw signed event, so nothing is lost.
pub fn record_json(event: &Event, first_seen: Option<u64>) -> Value {
    let record = match Record::parse(event) {
        Ok(Record::Testimony(t)) => json!({
            "text": t.text,
            "lang": t.lang,
            "place": place(&t.place),
            "observed": observed(t.observed),
            "topics": t.topics,
            "attachments": attachments(&t.attachments),
        }),
        Ok(Record::PersonReport(p)) => json!({
            "name": p.name,
            "aliases": p.aliases,
            "age": p.age,
            "role": p.role,
            "status": p.status.as_str(),
            "source": p.source.as_str(),
            "when": observed(p.observed),
            "place": place(&p.place),
            "lang": p.lang,
            "details": p.details,
            "attachments": attachments(&p.attachments),
        }),
        Ok(Record::Attestation(a)) => json!({
            "label": a.label.as_str(),
            "target": a.target.to_hex(),
            "of": a.original.map(|o| o.to_hex()),
            "note": a.note,
        }),
        Ok(Record::Retraction(r)) => json!({
            "records": r.events.iter().map(|e| e.to_hex()).collect::<Vec<_>>(),
            "reason": r.reason,
        }),
        Ok(Record::Other) | Err(_) => Value::Null,
    };
    json!({
        "id": event.id.to_hex(),
        "kind": RecordKind::of(event).name(),
        "author": npub(&event.pubkey),
        "created_at": event.created_at.as_secs(),
        "first_seen": first_seen,
        "record": record,
        "event": serde_json::from_str::<Value>(&event.as_json()).unwrap_or(Value::Null),
    })
}

fn place(p: &Place) -> Value {
    json!({ "text": p.text, "geohash": p.geohash })
}

fn observed(o: Option<Observed>) -> Value {
    o.map(|o| json!({ "start": o.start, "end": o.end, "offset": o.offset.map(|x| x.to_string()) }))
        .unwrap_or(Value::Null)
}

fn attachments(list: &[Attachment]) -> Value {
    list.iter()
        .map(|a| json!({ "sha256": a.hash.to_hex(), "type": a.mime, "size": a.size, "uri": a.uri() }))
        .collect()
}

/// A public key as `npub1…`.
pub fn npub(pubkey: &PublicKey) -> String {
    pubkey.to_bech32().unwrap_or_else(|_| pubkey.to_hex())
}

/// One line describing a record, for tables.
pub fn summary(event: &Event) -> String {
    let text = match Record::parse(event) {
        Ok(Record::Testimony(t)) => {
            let media = if t.attachments.is_empty() {
                String::new()
            } else {
                format!(" [+{} photo]", t.attachments.len())
            };
            format!("[{}] {}{media}", t.lang, t.text)
        }
        Ok(Record::PersonReport(p)) => format!("{} — {} ({})", p.name, p.status, p.source),
        Ok(Record::Attestation(a)) => format!("{} {}", a.label, short(&a.target.to_hex())),
        Ok(Record::Retraction(r)) => format!(
            "retracts {} record(s)",
            r.events.len() + r.coordinates.len()
        ),
        Ok(Record::Other) | Err(_) if event.kind == samizdat_core::sealed::GIFT_WRAP => {
            let readers: Vec<String> = samizdat_core::sealed::recipients(event)
                .iter()
                .map(|k| short(&npub(k)).to_string())
                .collect();
            format!("sealed record for {}", readers.join(", "))
        }
        Ok(Record::Other) | Err(_) => event.content.clone(),
    };
    one_line(&text, 70)
}

pub fn short(hex: &str) -> &str {
    &hex[..hex.len().min(12)]
}

/// The first `max` characters of `text` on one line, without control
/// characters: text from a record or a peer cannot move the cursor or
/// clear the terminal it is shown on.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        flat.chars().take(max - 1).collect::<String>() + "…"
    }
}

/// A table row for `list` and `search`.
pub fn row(event: &Event) -> String {
    format!(
        "{}  {:<11}  {}  {}",
        short(&event.id.to_hex()),
        RecordKind::of(event).name(),
        time::show(event.created_at.as_secs()),
        summary(event)
    )
}
