//! Applying one verified event inside the writer's transaction: duplicates,
//! replaceable and addressable events, NIP-09 deletions, tags and the
//! full-text index.

use rusqlite::{CachedStatement, OptionalExtension, Transaction, params};
use samizdat_core::nostr::prelude::{Event, EventId, Kind};
use samizdat_core::retraction::Retraction;
use samizdat_core::{BlobHash, VerifiedEvent};

/// Longest tag value indexed for `#x` filters, in bytes; longer values are
/// stored in the event but cannot be queried.
const MAX_INDEXED_TAG_BYTES: usize = 512;

/// What became of an inserted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Newly stored.
    Stored,
    /// Already stored; nothing changed.
    Duplicate,
    /// Its author deleted it (NIP-09); it can never come back.
    Deleted,
    /// A newer version of this replaceable or addressable event is stored.
    Superseded,
    /// Ephemeral kind: valid, but not stored.
    Ephemeral,
}

impl InsertOutcome {
    /// Whether the event is now in the store (new or not).
    pub fn is_stored(self) -> bool {
        matches!(self, InsertOutcome::Stored | InsertOutcome::Duplicate)
    }
}

/// The statements every insert runs, taken from the connection's statement
/// cache once per transaction (parsed once per connection) rather than
/// looked up for every event.
pub struct Hot<'c> {
    tombstone: CachedStatement<'c>,
    event: CachedStatement<'c>,
    tag: CachedStatement<'c>,
    search: CachedStatement<'c>,
}

impl<'c> Hot<'c> {
    pub fn prepare(tx: &'c Transaction<'_>) -> rusqlite::Result<Hot<'c>> {
        Ok(Hot {
            tombstone: tx
                .prepare_cached("SELECT 1 FROM tombstones WHERE id = ?1 AND pubkey = ?2")?,
            event: tx.prepare_cached(
                "INSERT INTO events (id, pubkey, kind, created_at, d_tag, first_seen, json, happened)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO NOTHING",
            )?,
            tag: tx.prepare_cached(
                "INSERT INTO tags (name, value, created_at, seq) VALUES (?1, ?2, ?3, ?4)",
            )?,
            search: tx.prepare_cached("INSERT INTO search (rowid, text) VALUES (?1, ?2)")?,
        })
    }
}

pub fn apply(
    tx: &Transaction<'_>,
    hot: &mut Hot<'_>,
    verified: &VerifiedEvent,
    now: u64,
) -> rusqlite::Result<InsertOutcome> {
    let event = verified.event();
    if event.kind.is_ephemeral() {
        return Ok(InsertOutcome::Ephemeral);
    }
    let id = event.id.as_bytes().as_slice();
    let pubkey = event.pubkey.as_bytes().as_slice();
    let created_at = event.created_at.as_secs() as i64;
    let kind = event.kind.as_u16();

    if event.kind != Kind::EventDeletion {
        let deleted = hot.tombstone.exists(params![id, pubkey])?;
        if deleted {
            return Ok(InsertOutcome::Deleted);
        }
    }

    let d_tag = replace_key(event);
    if let Some(d) = &d_tag {
        if event.kind.is_addressable() {
            let until: Option<i64> = tx
                .prepare_cached(
                    "SELECT until FROM address_tombstones WHERE pubkey = ?1 AND kind = ?2 AND d_tag = ?3",
                )?
                .query_row(params![pubkey, kind, d], |r| r.get(0))
                .optional()?;
            if until.is_some_and(|until| created_at <= until) {
                return Ok(InsertOutcome::Deleted);
            }
        }
        let existing: Option<(i64, i64, Vec<u8>)> = tx
            .prepare_cached(
                "SELECT seq, created_at, id FROM events WHERE pubkey = ?1 AND kind = ?2 AND d_tag = ?3",
            )?
            .query_row(params![pubkey, kind, d], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        if let Some((seq, old_created, old_id)) = existing {
            // NIP-01: the newest wins; on a tie, the lowest id.
            if old_created > created_at || (old_created == created_at && old_id.as_slice() <= id) {
                return Ok(if old_id.as_slice() == id {
                    InsertOutcome::Duplicate
                } else {
                    InsertOutcome::Superseded
                });
            }
            remove(tx, seq)?;
        }
    }

    let inserted = hot.event.execute(params![
        id,
        pubkey,
        kind,
        created_at,
        d_tag,
        now as i64,
        verified.json(),
        happened(event, created_at)
    ])?;
    if inserted == 0 {
        return Ok(InsertOutcome::Duplicate);
    }
    let seq = tx.last_insert_rowid();
    for (name, value) in indexed_tags(event) {
        hot.tag.execute(params![name, value, created_at, seq])?;
    }
    if let Some(text) = verified.search_text() {
        hot.search.execute(params![seq, text])?;
    }
    for hash in referenced_blobs(event) {
        tx.prepare_cached("INSERT OR IGNORE INTO blob_refs (hash, seq) VALUES (?1, ?2)")?
            .execute(params![hash.as_bytes().as_slice(), seq])?;
    }
    for original in originals(event) {
        tx.prepare_cached("INSERT OR IGNORE INTO originals (original, seq) VALUES (?1, ?2)")?
            .execute(params![original.as_bytes().as_slice(), seq])?;
    }
    if event.kind == Kind::EventDeletion {
        apply_deletion(tx, event)?;
    }
    Ok(InsertOutcome::Stored)
}

/// `''` for replaceable kinds, the `d` value for addressable kinds.
pub(crate) fn replace_key(event: &Event) -> Option<String> {
    if event.kind.is_replaceable() {
        Some(String::new())
    } else if event.kind.is_addressable() {
        Some(event.tags.identifier().unwrap_or_default())
    } else {
        None
    }
}

/// The (name, value) pairs of `event` that are indexed: single-letter tag
/// names with a first value of reasonable length, each pair once.
pub(crate) fn indexed_tags(event: &Event) -> Vec<(&str, &str)> {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    for tag in event.tags.iter() {
        let [name, value, ..] = tag.as_slice() else {
            continue;
        };
        let single_letter = name.len() == 1 && name.as_bytes()[0].is_ascii_alphabetic();
        if single_letter && value.len() <= MAX_INDEXED_TAG_BYTES && !pairs.contains(&(name, value))
        {
            pairs.push((name, value));
        }
    }
    pairs
}

/// The SHA-256 hashes an event's NIP-92 `imeta` tags name (`x <hex>`).
pub fn referenced_blobs(event: &Event) -> Vec<BlobHash> {
    let mut out = Vec::new();
    for tag in event.tags.iter() {
        let parts = tag.as_slice();
        if parts.first().map(String::as_str) != Some("imeta") {
            continue;
        }
        for part in &parts[1..] {
            let mut hash = [0u8; 32];
            if let Some(hex_hash) = part.strip_prefix("x ")
                && hex::decode_to_slice(hex_hash, &mut hash).is_ok()
                && !out.contains(&BlobHash::from_bytes(hash))
            {
                out.push(BlobHash::from_bytes(hash));
            }
        }
    }
    out
}

/// The records a label event (NIP-32, kind 1985) names in its `of` tags.
pub(crate) fn originals(event: &Event) -> Vec<EventId> {
    let mut out = Vec::new();
    if event.kind != Kind::Label {
        return out;
    }
    for tag in event.tags.iter() {
        if let [name, value, ..] = tag.as_slice()
            && name == "of"
            && let Ok(id) = EventId::from_hex(value)
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    out
}

/// Removes one stored event with its tags, search entry, blob references
/// and the records it names in `of`.
fn remove(tx: &Transaction<'_>, seq: i64) -> rusqlite::Result<()> {
    let (json, created_at): (String, i64) = tx
        .prepare_cached("SELECT json, created_at FROM events WHERE seq = ?1")?
        .query_row([seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
    // Stored JSON was validated on insert; if it no longer parses, the
    // event's tag rows cannot be found by key and stay as harmless orphans
    // (every tag query joins on events).
    if let Ok(event) = Event::from_json(&json) {
        let mut stmt = tx.prepare_cached(
            "DELETE FROM tags WHERE name = ?1 AND value = ?2 AND created_at = ?3 AND seq = ?4",
        )?;
        for (name, value) in indexed_tags(&event) {
            stmt.execute(params![name, value, created_at, seq])?;
        }
        for hash in referenced_blobs(&event) {
            tx.prepare_cached("DELETE FROM blob_refs WHERE hash = ?1 AND seq = ?2")?
                .execute(params![hash.as_bytes().as_slice(), seq])?;
        }
        for original in originals(&event) {
            tx.prepare_cached("DELETE FROM originals WHERE original = ?1 AND seq = ?2")?
                .execute(params![original.as_bytes().as_slice(), seq])?;
        }
    }
    tx.prepare_cached("DELETE FROM search WHERE rowid = ?1")?
        .execute([seq])?;
    tx.prepare_cached("DELETE FROM events WHERE seq = ?1")?
        .execute([seq])?;
    tx.prepare_cached("UPDATE counters SET value = value + 1 WHERE name = 'removals'")?
        .execute([])?;
    Ok(())
}

/// NIP-09: remember what the author asked to delete and remove it. Only the
/// author's own events are affected; deleting a deletion has no effect.
fn apply_deletion(tx: &Transaction<'_>, deletion: &Event) -> rusqlite::Result<()> {
    // Validation guarantees a kind 5 event parses as a retraction.
    let Ok(retraction) = Retraction::from_event(deletion) else {
        return Ok(());
    };
    let author = deletion.pubkey.as_bytes().as_slice();
    for target in &retraction.events {
        let target = target.as_bytes().as_slice();
        tx.prepare_cached(
            "INSERT OR IGNORE INTO tombstones (id, pubkey, deletion) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![target, author, deletion.id.as_bytes().as_slice()])?;
        let seq: Option<i64> = tx
            .prepare_cached("SELECT seq FROM events WHERE id = ?1 AND pubkey = ?2 AND kind != 5")?
            .query_row(params![target, author], |r| r.get(0))
            .optional()?;
        if let Some(seq) = seq {
            remove(tx, seq)?;
        }
    }
    let until = deletion.created_at.as_secs() as i64;
    for c in retraction
        .coordinates
        .iter()
        .filter(|c| c.pubkey == deletion.pubkey)
    {
        tx.prepare_cached(
            "INSERT INTO address_tombstones (pubkey, kind, d_tag, until) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (pubkey, kind, d_tag) DO UPDATE SET until = max(until, excluded.until)",
        )?
        .execute(params![author, c.kind, c.identifier, until])?;
        let doomed: Vec<i64> = tx
            .prepare_cached(
                "SELECT seq FROM events WHERE pubkey = ?1 AND kind = ?2 AND d_tag = ?3 AND created_at <= ?4",
            )?
            .query_map(params![author, c.kind, c.identifier, until], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for seq in doomed {
            remove(tx, seq)?;
        }
    }
    Ok(())
}
/// When `event` says it happened: its first `observed` start, never
/// after it was signed; else when it was signed (as migration 6 fills it).
pub(crate) fn happened(event: &Event, created_at: i64) -> i64 {
    let observed = event.tags.iter().find_map(|tag| match tag.as_slice() {
        [name, start, ..] if name == "observed" => start.parse::<i64>().ok(),
        _ => None,
    });
    observed.map_or(created_at, |start| start.min(created_at))
}
