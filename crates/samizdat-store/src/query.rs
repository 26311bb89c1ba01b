//! NIP-01 filter queries, translated to SQL that an index serves.
//!
//! The driving index is chosen by selectivity, as strfry does: ids, then a
//! tag, then authors, then kinds, then time. A tag filter drives from the
//! `tags_value` index with a forced join order (`CROSS JOIN`), so a rare tag
//! never turns into a walk over every event.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use samizdat_core::BlobHash;
use samizdat_core::nostr::prelude::{Event, EventId, PublicKey};
use samizdat_core::text::Search;

use crate::StoreError;

/// A NIP-01 filter, in storage terms. `None` means "no constraint"; an
/// empty list matches nothing, as NIP-01 says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub ids: Option<Vec<EventId>>,
    pub authors: Option<Vec<PublicKey>>,
    pub kinds: Option<Vec<u16>>,
    /// `#x` filters: tag letter and accepted values; all must match.
    pub tags: Vec<(char, Vec<String>)>,
    pub since: Option<u64>,
    pub until: Option<u64>,
    pub limit: Option<usize>,
    /// NIP-50 full-text search: every word must match (as a prefix), in
    /// any case, with or without diacritics.
    pub search: Option<String>,
    /// Which gift wraps (kind 1059, sealed records) may be seen: `None`
    /// for all of them; otherwise only those whose `p` tag names one of
    /// these keys, so an empty list hides every gift wrap.
    pub gift_wraps_for: Option<Vec<PublicKey>>,
    /// Only events after this `(created_at, id)` in the order results come
    /// in (newest first, then by id): the next page of a listing, exact
    /// however many events share a second. Not for searches.
    pub after: Option<(u64, EventId)>,
    /// Order by when events say they happened (their `observed` start,
    /// else when they were signed), newest first, and let `since`,
    /// `until` and `after` bound that time instead of the signing time.
    /// Walks the `happened` index; tags are checked per event.
    pub by_happened: bool,
}

/// Kind of a gift wrap (NIP-59), the only kind whose reading is restricted.
const GIFT_WRAP: i64 = 1059;

/// An event as stored, with when this node first saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: EventId,
    pub json: String,
    pub first_seen: u64,
}

impl StoredEvent {
    /// Parses the stored JSON, which was validated when it was inserted.
    pub fn event(&self) -> Result<Event, StoreError> {
        Event::from_json(&self.json).map_err(|e| StoreError::Damaged("?".into(), e.to_string()))
    }
}

impl Query {
    pub(crate) fn matches_nothing(&self) -> bool {
        self.ids.as_ref().is_some_and(Vec::is_empty)
            || self.authors.as_ref().is_some_and(Vec::is_empty)
            || self.kinds.as_ref().is_some_and(Vec::is_empty)
            || self.tags.iter().any(|(_, v)| v.is_empty())
            || self.limit == Some(0)
            || self.since.zip(self.until).is_some_and(|(s, u)| s > u)
            || self
                .search
                .as_ref()
                .is_some_and(|s| Search::parse(s).is_empty())
    }
}

/// SQL and parameters for a query, without its SELECT list.
struct Sql {
    from: String,
    conditions: Vec<String>,
    params: Vec<Value>,
    order: &'static str,
    distinct: bool,
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

fn build(q: &Query) -> Sql {
    let mut conditions = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    let mut from = "events e".to_string();
    let mut order = "ORDER BY e.created_at DESC, e.id";
    let mut distinct = false;
    let mut time_column = "e.created_at";
    let mut tags = q.tags.as_slice();

    if let Some(search) = &q.search {
        from = "search CROSS JOIN events e ON e.seq = search.rowid".into();
        conditions.push("search MATCH ?".into());
        // A query with no term matches nothing (an empty string would be
        // an error to FTS5).
        params.push(Value::Text(
            Search::parse(search)
                .expression()
                .unwrap_or_else(|| "\"\"".into()),
        ));
        order = "ORDER BY search.rank, e.created_at DESC";
    } else if q.by_happened {
        order = "ORDER BY e.happened DESC, e.id";
        time_column = "e.happened";
    } else if q.ids.is_none()
        && let Some(((name, values), rest)) = tags.split_first()
    {
        from = "tags t CROSS JOIN events e ON e.seq = t.seq".into();
        conditions.push(format!(
            "t.name = ? AND t.value IN ({})",
            placeholders(values.len())
        ));
        params.push(Value::Text(name.to_string()));
        params.extend(values.iter().cloned().map(Value::Text));
        order = "ORDER BY t.created_at DESC, e.id";
        time_column = "t.created_at";
        distinct = values.len() > 1;
        tags = rest;
    }
    if let Some(ids) = &q.ids {
        conditions.push(format!("e.id IN ({})", placeholders(ids.len())));
        params.extend(ids.iter().map(|id| Value::Blob(id.as_bytes().to_vec())));
    }
    if let Some(authors) = &q.authors {
        conditions.push(format!("e.pubkey IN ({})", placeholders(authors.len())));
        params.extend(authors.iter().map(|p| Value::Blob(p.as_bytes().to_vec())));
    }
    if let Some(kinds) = &q.kinds {
        conditions.push(format!("e.kind IN ({})", placeholders(kinds.len())));
        params.extend(kinds.iter().map(|k| Value::Integer(i64::from(*k))));
    }
    if let Some(since) = q.since {
        conditions.push(format!("{time_column} >= ?"));
        params.push(Value::Integer(since.min(i64::MAX as u64) as i64));
    }
    if let Some(until) = q.until {
        conditions.push(format!("{time_column} <= ?"));
        params.push(Value::Integer(until.min(i64::MAX as u64) as i64));
    }
    if let Some((at, id)) = q.after {
        let at = Value::Integer(at.min(i64::MAX as u64) as i64);
        conditions.push(format!(
            "({time_column} < ? OR ({time_column} = ? AND e.id > ?))"
        ));
        params.extend([at.clone(), at, Value::Blob(id.as_bytes().to_vec())]);
    }
    for (name, values) in tags {
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM tags x WHERE x.name = ? AND x.value IN ({}) \
             AND x.created_at = e.created_at AND x.seq = e.seq)",
            placeholders(values.len())
        ));
        params.push(Value::Text(name.to_string()));
        params.extend(values.iter().cloned().map(Value::Text));
    }
    if let Some(readers) = &q.gift_wraps_for {
        if readers.is_empty() {
            conditions.push(format!("e.kind != {GIFT_WRAP}"));
        } else {
            conditions.push(format!(
                "(e.kind != {GIFT_WRAP} OR EXISTS (SELECT 1 FROM tags w WHERE w.name = 'p' \
                 AND w.value IN ({}) AND w.created_at = e.created_at AND w.seq = e.seq))",
                placeholders(readers.len())
            ));
            params.extend(readers.iter().map(|k| Value::Text(k.to_hex())));
        }
    }
    Sql {
        from,
        conditions,
        params,
        order,
        distinct,
    }
}

fn select_sql(q: &Query, columns: &str) -> (String, Vec<Value>) {
    let sql = build(q);
    let mut text = format!(
        "SELECT {}{columns} FROM {}",
        if sql.distinct { "DISTINCT " } else { "" },
        sql.from
    );
    if !sql.conditions.is_empty() {
        text.push_str(" WHERE ");
        text.push_str(&sql.conditions.join(" AND "));
    }
    text.push(' ');
    text.push_str(sql.order);
    let mut params = sql.params;
    if let Some(limit) = q.limit {
        text.push_str(" LIMIT ?");
        params.push(Value::Integer(limit.min(i64::MAX as usize) as i64));
    }
    (text, params)
}

pub fn run(
    conn: &Connection,
    q: &Query,
    mut f: impl FnMut(StoredEvent) -> bool,
) -> Result<(), StoreError> {
    if q.matches_nothing() {
        return Ok(());
    }
    let columns = if q.search.is_some() {
        "e.json, e.first_seen, e.id, search.rank, e.created_at"
    } else {
        "e.json, e.first_seen, e.id, e.created_at"
    };
    let (sql, params) = select_sql(q, columns);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    while let Some(row) = rows.next()? {
        if !f(stored_event(row)?) {
            break;
        }
    }
    Ok(())
}

pub fn count(conn: &Connection, q: &Query) -> Result<u64, StoreError> {
    if q.matches_nothing() {
        return Ok(0);
    }
    let unlimited = Query {
        limit: None,
        ..q.clone()
    };
    let (sql, params) = select_sql(&unlimited, "e.seq");
    let n: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM ({sql})"))?
        .query_row(params_from_iter(params), |r| r.get(0))?;
    Ok(n as u64)
}

/// The highest sequence number given to a stored event (0 when none):
/// it grows with every event stored, by any process.
pub fn last_seq(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM events")?
        .query_row([], |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

/// How many events stored after sequence number `after` match `q` (its
/// limit ignored). The newest events are found by the primary key and
/// only they are matched against the filter.
pub fn count_after(conn: &Connection, q: &Query, after: u64) -> Result<u64, StoreError> {
    if q.matches_nothing() {
        return Ok(0);
    }
    let after = after.min(i64::MAX as u64) as i64;
    if *q == Query::default() {
        let n: i64 = conn
            .prepare_cached("SELECT count(*) FROM events WHERE seq > ?1")?
            .query_row([after], |r| r.get(0))?;
        return Ok(n as u64);
    }
    let unlimited = Query {
        limit: None,
        ..q.clone()
    };
    let (sql, mut params) = select_sql(&unlimited, "e.seq");
    params.push(Value::Integer(after));
    let n: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM ({sql}) WHERE seq > ?{}",
            params.len()
        ))?
        .query_row(params_from_iter(params), |r| r.get(0))?;
    Ok(n as u64)
}

/// How many distinct events match any of `queries` (limits ignored), as
/// NIP-45 counts a `COUNT` with several filters.
pub fn count_any(conn: &Connection, queries: &[Query]) -> Result<u64, StoreError> {
    let parts: Vec<(String, Vec<Value>)> = queries
        .iter()
        .filter(|q| !q.matches_nothing())
        .map(|q| {
            let unlimited = Query {
                limit: None,
                ..q.clone()
            };
            select_sql(&unlimited, "e.seq")
        })
        .collect();
    if parts.is_empty() {
        return Ok(0);
    }
    let mut text = String::from("SELECT count(*) FROM (");
    let mut params = Vec::new();
    for (i, (sql, p)) in parts.into_iter().enumerate() {
        if i > 0 {
            text.push_str(" UNION ");
        }
        // Each arm keeps its ORDER BY out of the compound select.
        text.push_str(&format!("SELECT * FROM ({sql})"));
        params.extend(p);
    }
    text.push(')');
    let n: i64 = conn
        .prepare_cached(&text)?
        .query_row(params_from_iter(params), |r| r.get(0))?;
    Ok(n as u64)
}

/// Calls `f` with the `created_at` and id of every event matching `q` (its
/// limit ignored), in no particular order, until `f` returns false. Reads
/// two columns only: this feeds set reconciliation, which needs no JSON.
pub fn for_each_key(
    conn: &Connection,
    q: &Query,
    mut f: impl FnMut(u64, [u8; 32]) -> bool,
) -> Result<(), StoreError> {
    if q.matches_nothing() {
        return Ok(());
    }
    let unlimited = Query {
        limit: None,
        ..q.clone()
    };
    let columns = if q.search.is_some() {
        "e.created_at, e.id, search.rank"
    } else {
        "e.created_at, e.id"
    };
    let (sql, params) = select_sql(&unlimited, columns);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(params))?;
    while let Some(row) = rows.next()? {
        let (created_at, id) = key_of(row)?;
        if !f(created_at, id) {
            break;
        }
    }
    Ok(())
}

/// `(created_at, id)` from the first two columns of a row.
pub(crate) fn key_of(row: &rusqlite::Row<'_>) -> Result<(u64, [u8; 32]), StoreError> {
    let created_at = row.get::<_, i64>(0)?.max(0) as u64;
    let id = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
    let Ok(id) = <[u8; 32]>::try_from(id) else {
        return Err(StoreError::Damaged(
            hex::encode(id),
            "id is not 32 bytes".into(),
        ));
    };
    Ok((created_at, id))
}

/// The distinct blobs (NIP-92 `imeta` `x`) referenced by the events
/// matching `q` (its limit ignored): the blobs that follow those records.
pub fn referenced_blobs(conn: &Connection, q: &Query) -> Result<Vec<BlobHash>, StoreError> {
    if q.matches_nothing() {
        return Ok(Vec::new());
    }
    let unlimited = Query {
        limit: None,
        ..q.clone()
    };
    let (sql, params) = select_sql(&unlimited, "e.seq");
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT DISTINCT r.hash FROM blob_refs r WHERE r.seq IN ({sql})"
    ))?;
    let mut rows = stmt.query(params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let hash = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
        let Ok(hash) = <[u8; 32]>::try_from(hash) else {
            return Err(StoreError::Damaged(
                hex::encode(hash),
                "a blob reference is not 32 bytes".into(),
            ));
        };
        out.push(BlobHash::from_bytes(hash));
    }
    Ok(out)
}

/// The label events (NIP-32) whose `of` tag names `original`, newest
/// first, at most `limit`.
pub fn naming(
    conn: &Connection,
    original: &EventId,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.json, e.first_seen, e.id FROM originals o CROSS JOIN events e ON e.seq = o.seq
         WHERE o.original = ?1 ORDER BY e.created_at DESC, e.id LIMIT ?2",
    )?;
    let mut rows = stmt.query(rusqlite::params![
        original.as_bytes().as_slice(),
        limit.min(i64::MAX as usize) as i64
    ])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(stored_event(row)?);
    }
    Ok(out)
}

/// A row whose first three columns are `json, first_seen, id`.
fn stored_event(row: &rusqlite::Row<'_>) -> Result<StoredEvent, StoreError> {
    let id: Vec<u8> = row.get(2)?;
    Ok(StoredEvent {
        id: <[u8; 32]>::try_from(id.as_slice())
            .map(EventId::from_byte_array)
            .map_err(|_| StoreError::Damaged(hex::encode(&id), "id is not 32 bytes".into()))?,
        json: row.get(0)?,
        first_seen: row.get::<_, i64>(1)? as u64,
    })
}

pub fn explain(conn: &Connection, q: &Query) -> Result<Vec<String>, StoreError> {
    let (sql, params) = select_sql(q, "e.json");
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let rows = stmt.query_map(params_from_iter(params), |r| r.get::<_, String>(3))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn ids_with_prefix(
    conn: &Connection,
    prefix: &str,
    limit: usize,
) -> Result<Vec<EventId>, StoreError> {
    let Some((low, high)) = prefix_bounds(prefix) else {
        return Ok(Vec::new());
    };
    let mut stmt = conn
        .prepare_cached("SELECT id FROM events WHERE id BETWEEN ?1 AND ?2 ORDER BY id LIMIT ?3")?;
    let rows = stmt.query_map(rusqlite::params![low, high, limit as i64], |r| {
        r.get::<_, Vec<u8>>(0)
    })?;
    let mut out = Vec::new();
    for id in rows {
        if let Ok(id) = <[u8; 32]>::try_from(id?.as_slice()) {
            out.push(EventId::from_byte_array(id));
        }
    }
    Ok(out)
}

/// The lowest and highest ids that start with the hex `prefix`, or `None`
/// when it is not one (empty, too long, not hex).
pub(crate) fn prefix_bounds(prefix: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    if prefix.is_empty() || prefix.len() > 64 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bound = |fill: char| {
        let mut full = prefix.to_ascii_lowercase();
        while full.len() < 64 {
            full.push(fill);
        }
        hex::decode(full).unwrap_or_default()
    };
    Some((bound('0'), bound('f')))
}
