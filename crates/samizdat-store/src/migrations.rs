//! Numbered schema migrations. The database's `user_version` is the number
//! of migrations applied; each runs once, in its own transaction, in order.
//! Never edit a migration that has shipped: add the next one.

use rusqlite::{Connection, Transaction, params};
use samizdat_core::nostr::prelude::Event;
use samizdat_core::text::{SEARCHABLE_KINDS, searchable_text};

use crate::StoreError;

/// A step of the schema: SQL, or code for what SQL cannot compute.
enum Migration {
    Sql(&'static str),
    Code(fn(&Transaction<'_>) -> Result<(), StoreError>),
}

use Migration::{Code, Sql};

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[Migration] = &[
    // 1: events, their single-letter tags, deletions, full-text search.
    Sql(r#"
    -- Every stored event. `seq` orders events by arrival and keys the other
    -- tables; `json` is the canonical NIP-01 JSON, served as is.
    CREATE TABLE events (
        seq        INTEGER PRIMARY KEY,
        id         BLOB    NOT NULL UNIQUE,  -- 32 bytes
        pubkey     BLOB    NOT NULL,         -- 32 bytes
        kind       INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        -- '' for replaceable kinds, the `d` value for addressable kinds,
        -- NULL for every other event.
        d_tag      TEXT,
        first_seen INTEGER NOT NULL,         -- when this node first stored it
        json       TEXT    NOT NULL
    );
    CREATE INDEX events_created ON events (created_at);
    CREATE INDEX events_kind    ON events (kind, created_at);
    CREATE INDEX events_author  ON events (pubkey, kind, created_at);
    CREATE INDEX events_replace ON events (pubkey, kind, d_tag) WHERE d_tag IS NOT NULL;

    -- Single-letter tags (the ones NIP-01 filters can name), first value.
    -- The key is the index: one b-tree, ordered for `#x` filters newest
    -- first. Rows are removed by their full key, rebuilt from the event.
    CREATE TABLE tags (
        name       TEXT    NOT NULL,
        value      TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        PRIMARY KEY (name, value, created_at, seq)
    ) WITHOUT ROWID;

    -- NIP-09: ids that their author asked to delete. An event listed here
    -- under its own author's key is refused forever.
    CREATE TABLE tombstones (
        id       BLOB NOT NULL,
        pubkey   BLOB NOT NULL,
        deletion BLOB NOT NULL,              -- id of the deletion request
        PRIMARY KEY (id, pubkey)
    ) WITHOUT ROWID;
    -- NIP-09 `a` deletions: versions up to `until` of an address are gone.
    CREATE TABLE address_tombstones (
        pubkey BLOB    NOT NULL,
        kind   INTEGER NOT NULL,
        d_tag  TEXT    NOT NULL,
        until  INTEGER NOT NULL,
        PRIMARY KEY (pubkey, kind, d_tag)
    ) WITHOUT ROWID;

    -- Full-text index; rowid is events.seq. The text is already folded
    -- and split into terms joined by spaces (samizdat_core::text), so the
    -- plain `ascii` tokenizer, which keeps every non-ASCII byte inside a
    -- token, splits it exactly there. `detail = none`: queries are words
    -- and prefixes, never phrases, so positions are not kept.
    CREATE VIRTUAL TABLE search USING fts5 (
        text,
        content = '',
        contentless_delete = 1,
        detail = none,
        tokenize = 'ascii'
    );
    "#),
    // 2: who uploaded which blob (Blossom), and which records reference
    // which blob (NIP-92 `imeta` `x`), so a blob a record needs is never
    // deleted and sync can find the blobs that follow records.
    Sql(r#"
    CREATE TABLE blob_owners (
        pubkey   BLOB    NOT NULL,           -- 32 bytes
        hash     BLOB    NOT NULL,           -- SHA-256, 32 bytes
        uploaded INTEGER NOT NULL,           -- first upload by this key
        type     TEXT,                       -- MIME type, as detected
        size     INTEGER NOT NULL,
        PRIMARY KEY (pubkey, hash)
    ) WITHOUT ROWID;
    CREATE INDEX blob_owners_hash ON blob_owners (hash);

    CREATE TABLE blob_refs (
        hash BLOB    NOT NULL,               -- SHA-256, 32 bytes
        seq  INTEGER NOT NULL,               -- events.seq of the record
        PRIMARY KEY (hash, seq)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO blob_refs (hash, seq)
        SELECT unhex(substr(part.value, 3)), e.seq
        FROM events e, json_each(e.json, '$.tags') AS tag, json_each(tag.value) AS part
        WHERE json_extract(tag.value, '$[0]') = 'imeta'
          AND part.key > 0
          AND part.value LIKE 'x %'
          AND length(part.value) = 66
          AND unhex(substr(part.value, 3)) IS NOT NULL;
    "#),
    // 3: counters. `removals` grows with every event removed (deleted by
    // its author, replaced by a newer version), so a reader that keeps
    // the keys of all events in memory knows when to rebuild them rather
    // than only add what is new.
    Sql(r#"
    CREATE TABLE counters (
        name  TEXT    PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO counters (name, value) VALUES ('removals', 0);
    "#),
    // 4: which attestations name which record in their `of` tag (the
    // original of a translation or a duplicate, the other report of a
    // same-person match), so a record's translations are found by key,
    // not by reading every translation label. `of` is not a single-letter
    // tag, so the `tags` table does not hold it.
    Sql(r#"
    CREATE TABLE originals (
        original BLOB    NOT NULL,           -- 32 bytes: the id in `of`
        seq      INTEGER NOT NULL,           -- events.seq of the attestation
        PRIMARY KEY (original, seq)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO originals (original, seq)
        SELECT unhex(json_extract(tag.value, '$[1]')), e.seq
        FROM events e, json_each(e.json, '$.tags') AS tag
        WHERE e.kind = 1985
          AND json_extract(tag.value, '$[0]') = 'of'
          AND length(json_extract(tag.value, '$[1]')) = 64
          AND unhex(json_extract(tag.value, '$[1]')) IS NOT NULL;
    "#),
    // 5: the full-text index holds each word's canonical keys beside its
    // folded terms (samizdat_core::text), so search crosses scripts: the
    // searchable events are indexed again.
    Code(index_search_again),
    // 6: when each event says it happened (its first `observed` start,
    // never after it was signed), else when it was signed: what the
    // timeline's days and order go by (`Query::by_happened`).
    Sql(r#"
    ALTER TABLE events ADD COLUMN happened INTEGER;
    UPDATE events SET happened = MIN(created_at, COALESCE(
        (SELECT CAST(json_extract(tag.value, '$[1]') AS INTEGER)
         FROM json_each(events.json, '$.tags') AS tag
         WHERE json_extract(tag.value, '$[0]') = 'observed'
           AND json_extract(tag.value, '$[1]') GLOB '[0-9]*'
         LIMIT 1),
        created_at));
    CREATE INDEX events_happened ON events (happened);
    "#),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

pub fn run(conn: &mut Connection) -> Result<(), StoreError> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        match migration {
            Sql(sql) => tx.execute_batch(sql)?,
            Code(step) => step(&tx)?,
        }
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "applied schema migration");
    }
    Ok(())
}

/// Empties the full-text index and indexes every searchable event again
/// with the text [`searchable_text`] gives today.
fn index_search_again(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute("INSERT INTO search (search) VALUES ('delete-all')", [])?;
    let kinds = SEARCHABLE_KINDS.map(|k| k.to_string()).join(",");
    let mut read = tx.prepare(&format!(
        "SELECT seq, json FROM events WHERE kind IN ({kinds})"
    ))?;
    let mut write = tx.prepare("INSERT INTO search (rowid, text) VALUES (?1, ?2)")?;
    let mut rows = read.query([])?;
    let mut indexed = 0u64;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        let json: String = row.get(1)?;
        // An event stored here was checked when it came; one that no
        // longer parses is left out of search, not a reason to refuse the
        // whole store.
        let Ok(event) = Event::from_json(&json) else {
            tracing::warn!(seq, "a stored event does not parse; left out of search");
            continue;
        };
        if let Some(text) = searchable_text(&event) {
            write.execute(params![seq, text])?;
            indexed += 1;
        }
    }
    tracing::info!(indexed, "search index rebuilt with canonical keys");
    Ok(())
}
