//! Records as a call carries them: packed without what the receiver can
//! compute (the id) and with keys and signatures as bytes, not hex,
//! compressed a block at a time, so that each block the modem rebuilds
//! gives whole records on its own.
//!
//! A block is zstd-compressed; inside, each record is:
//!
//! ```text
//! pubkey 32 | sig 64 | created_at varint | kind varint |
//! tags: varint count, each a varint count of strings |
//! strings and content: varint length, then UTF-8
//! ```

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Records are gathered into a block until it holds this much before
/// compression: enough for zstd to find what repeats (keys, tag names),
/// little enough that a cut call loses at most a few seconds of records.
const BLOCK_RAW: usize = 6_000;
/// A block never unpacks to more than this.
const MAX_UNPACKED: usize = 1 << 20;
const LEVEL: i32 = 19;

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("a record that is not a signed event: {0}")]
    NotAnEvent(String),
    #[error("a block that does not unpack: {0}")]
    Damaged(String),
    #[error("a record of {0} bytes is larger than a block a call can carry")]
    TooLarge(usize),
}

/// Packs the events' JSON (in the order given) into blocks no larger than
/// `max_block` once compressed.
pub fn pack<'a>(
    events: impl IntoIterator<Item = &'a str>,
    max_block: usize,
) -> Result<Vec<Vec<u8>>, CallError> {
    let mut blocks = Vec::new();
    let mut raw: Vec<u8> = Vec::new();
    let mut pending: Vec<Vec<u8>> = Vec::new();
    for event in events {
        let record = record(event)?;
        if !pending.is_empty() && raw.len() + record.len() > BLOCK_RAW {
            blocks.extend(compress(&pending, max_block)?);
            pending.clear();
            raw.clear();
        }
        raw.extend_from_slice(&record);
        pending.push(record);
    }
    if !pending.is_empty() {
        blocks.extend(compress(&pending, max_block)?);
    }
    Ok(blocks)
}

/// Compresses `records` as one block, or as two halves if it would not
/// fit.
fn compress(records: &[Vec<u8>], max_block: usize) -> Result<Vec<Vec<u8>>, CallError> {
    let raw = records.concat();
    let packed =
        zstd::bulk::compress(&raw, LEVEL).map_err(|e| CallError::Damaged(e.to_string()))?;
    if packed.len() <= max_block {
        return Ok(vec![packed]);
    }
    if records.len() == 1 {
        return Err(CallError::TooLarge(raw.len()));
    }
    let (a, b) = records.split_at(records.len() / 2);
    let mut out = compress(a, max_block)?;
    out.extend(compress(b, max_block)?);
    Ok(out)
}

fn record(json: &str) -> Result<Vec<u8>, CallError> {
    let bad = |what: &str| CallError::NotAnEvent(what.to_string());
    let event: Value = serde_json::from_str(json).map_err(|e| bad(&e.to_string()))?;
    let hex32 = |field: &str, len: usize| -> Result<Vec<u8>, CallError> {
        event[field]
            .as_str()
            .and_then(|h| hex::decode(h).ok())
            .filter(|b| b.len() == len)
            .ok_or_else(|| bad(field))
    };
    let mut out = hex32("pubkey", 32)?;
    out.extend(hex32("sig", 64)?);
    varint(
        &mut out,
        event["created_at"]
            .as_u64()
            .ok_or_else(|| bad("created_at"))?,
    );
    varint(&mut out, event["kind"].as_u64().ok_or_else(|| bad("kind"))?);
    let tags = event["tags"].as_array().ok_or_else(|| bad("tags"))?;
    varint(&mut out, tags.len() as u64);
    for tag in tags {
        let parts = tag.as_array().ok_or_else(|| bad("tags"))?;
        varint(&mut out, parts.len() as u64);
        for part in parts {
            string(&mut out, part.as_str().ok_or_else(|| bad("tags"))?);
        }
    }
    string(
        &mut out,
        event["content"].as_str().ok_or_else(|| bad("content"))?,
    );
    Ok(out)
}

/// The events of a block, as NIP-01 JSON, their ids computed. Nothing is
/// checked beyond the layout: the caller validates every event (id,
/// signature, record rules) as for any other source.
pub fn unpack(block: &[u8]) -> Result<Vec<String>, CallError> {
    let damaged = |what: &str| CallError::Damaged(what.to_string());
    let raw = zstd::bulk::decompress(block, MAX_UNPACKED).map_err(|e| damaged(&e.to_string()))?;
    let mut at = &raw[..];
    let mut events = Vec::new();
    // Bounded: every turn takes at least 96 bytes.
    while !at.is_empty() {
        let pubkey = hex::encode(take(&mut at, 32).ok_or_else(|| damaged("short key"))?);
        let sig = hex::encode(take(&mut at, 64).ok_or_else(|| damaged("short signature"))?);
        let created_at = read_varint(&mut at).ok_or_else(|| damaged("created_at"))?;
        let kind = read_varint(&mut at).ok_or_else(|| damaged("kind"))?;
        let count = read_varint(&mut at).ok_or_else(|| damaged("tags"))?;
        let mut tags = Vec::new();
        for _ in 0..count.min(at.len() as u64) {
            let parts = read_varint(&mut at).ok_or_else(|| damaged("tag"))?;
            let mut tag = Vec::new();
            for _ in 0..parts.min(at.len() as u64) {
                tag.push(read_string(&mut at).ok_or_else(|| damaged("tag"))?);
            }
            tags.push(tag);
        }
        let content = read_string(&mut at).ok_or_else(|| damaged("content"))?;
        let id = hex::encode(Sha256::digest(
            json!([0, pubkey, created_at, kind, tags, content]).to_string(),
        ));
        events.push(
            json!({
                "id": id, "pubkey": pubkey, "created_at": created_at, "kind": kind,
                "tags": tags, "content": content, "sig": sig,
            })
            .to_string(),
        );
    }
    Ok(events)
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    // Bounded: a u64 has ten groups of seven bits.
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn string(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn take<'a>(at: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if at.len() < n {
        return None;
    }
    let (head, rest) = at.split_at(n);
    *at = rest;
    Some(head)
}

fn read_varint(at: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *take(at, 1)?.first()?;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

fn read_string(at: &mut &[u8]) -> Option<String> {
    let len = usize::try_from(read_varint(at)?).ok()?;
    String::from_utf8(take(at, len)?.to_vec()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use samizdat_core::nostr::prelude::*;

    #[test]
    fn records_come_back_as_they_were_signed() {
        let keys = Keys::generate();
        let events: Vec<String> = (0..40)
            .map(|i| {
                EventBuilder::new(
                    Kind::Custom(1),
                    format!("Свидетельство {i}: \"кавычки\"\n\tи табуляция"),
                )
                .tags([Tag::parse(["t", "almaty"]).expect("tag")])
                .finalize(&keys)
                .expect("signed")
                .as_json()
            })
            .collect();
        let blocks = pack(events.iter().map(String::as_str), 9_000).expect("packed");
        let back: Vec<String> = blocks
            .iter()
            .flat_map(|b| unpack(b).expect("unpacked"))
            .collect();
        assert_eq!(back.len(), events.len());
        for (a, b) in events.iter().zip(&back) {
            let a: Event = Event::from_json(a).expect("event");
            let b: Event = Event::from_json(b).expect("event");
            assert_eq!(a, b);
            b.verify().expect("the id and signature check out");
        }
        let json: usize = events.iter().map(String::len).sum();
        let sent: usize = blocks.iter().map(Vec::len).sum();
        assert!(sent * 2 < json, "{sent} bytes for {json} of JSON");
    }

    #[test]
    fn damaged_blocks_are_refused() {
        assert!(unpack(b"not zstd").is_err());
        let truncated = zstd::bulk::compress(&[7u8; 50], 3).expect("compressed");
        assert!(unpack(&truncated).is_err());
    }
}
