//! NIP-01 filter queries in PostgreSQL's SQL. PostgreSQL plans by its own
//! statistics, so the query says what to find, not which index drives:
//! list filters are `= ANY` of one array parameter (one statement text
//! for any number of values), tag filters are semi-joins on `tags`.

use postgres::Client;
use postgres::types::ToSql;
use samizdat_core::BlobHash;
use samizdat_core::nostr::prelude::{EventId, PublicKey};
use samizdat_core::text::Search;

use crate::{OwnedBlob, Query, StoreError, StoredEvent};

/// Kind of a gift wrap (NIP-59), the only kind whose reading is restricted.
const GIFT_WRAP: i64 = 1059;

type Param = Box<dyn ToSql + Sync + Send>;

/// A query's SQL without its SELECT list, and its parameters.
struct Sql {
    from: &'static str,
    conditions: Vec<String>,
    params: Vec<Param>,
    order: String,
    /// Placeholders already taken by earlier parts of one statement.
    base: usize,
}

impl Sql {
    /// Adds a parameter; returns its placeholder.
    fn param(&mut self, value: impl ToSql + Sync + Send + 'static) -> String {
        self.params.push(Box::new(value));
        format!("${}", self.base + self.params.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }

    fn text(&self, columns: &str, ordered: bool, limit: Option<String>) -> String {
        let mut text = format!("SELECT {columns} FROM {}", self.from);
        if !self.conditions.is_empty() {
            text.push_str(" WHERE ");
            text.push_str(&self.conditions.join(" AND "));
        }
        if ordered {
            text.push_str(" ORDER BY ");
            text.push_str(&self.order);
        }
        if let Some(limit) = limit {
            text.push_str(" LIMIT ");
            text.push_str(&limit);
        }
        text
    }
}

fn build(q: &Query) -> Sql {
    build_after(q, 0)
}

/// Like [`build`], numbering placeholders after the first `base`.
fn build_after(q: &Query, base: usize) -> Sql {
    let mut sql = Sql {
        from: "events e",
        conditions: Vec::new(),
        params: Vec::new(),
        order: "e.created_at DESC, e.id".into(),
        base,
    };
    let mut time_column = "e.created_at";
    if let Some(search) = &q.search {
        sql.from = "search s JOIN events e ON e.seq = s.seq";
        // A query with no term matches nothing (`matches_nothing`).
        let query = Search::parse(search).tsquery().unwrap_or_default();
        let p = sql.param(query);
        sql.conditions
            .push(format!("s.terms @@ {p}::text::tsquery"));
        sql.order = format!("ts_rank(s.terms, {p}::text::tsquery) DESC, e.created_at DESC, e.id");
    } else if q.by_happened {
        sql.order = "e.happened DESC, e.id".into();
        time_column = "e.happened";
    }
    if let Some(ids) = &q.ids {
        let ids: Vec<Vec<u8>> = ids.iter().map(|id| id.as_bytes().to_vec()).collect();
        let p = sql.param(ids);
        sql.conditions.push(format!("e.id = ANY({p})"));
    }
    if let Some(authors) = &q.authors {
        let keys: Vec<Vec<u8>> = authors.iter().map(|k| k.as_bytes().to_vec()).collect();
        let p = sql.param(keys);
        sql.conditions.push(format!("e.pubkey = ANY({p})"));
    }
    if let Some(kinds) = &q.kinds {
        let kinds: Vec<i64> = kinds.iter().map(|k| i64::from(*k)).collect();
        let p = sql.param(kinds);
        sql.conditions.push(format!("e.kind = ANY({p})"));
    }
    if let Some(since) = q.since {
        let p = sql.param(since.min(i64::MAX as u64) as i64);
        sql.conditions.push(format!("{time_column} >= {p}"));
    }
    if let Some(until) = q.until {
        let p = sql.param(until.min(i64::MAX as u64) as i64);
        sql.conditions.push(format!("{time_column} <= {p}"));
    }
    if let Some((at, id)) = q.after {
        let at = sql.param(at.min(i64::MAX as u64) as i64);
        let id = sql.param(id.as_bytes().to_vec());
        sql.conditions.push(format!(
            "({time_column} < {at} OR ({time_column} = {at} AND e.id > {id}))"
        ));
    }
    for (name, values) in &q.tags {
        let name = sql.param(name.to_string());
        let values: Vec<Vec<u8>> = values.iter().map(|v| v.as_bytes().to_vec()).collect();
        let values = sql.param(values);
        sql.conditions.push(format!(
            "EXISTS (SELECT 1 FROM tags x WHERE x.name = {name} AND x.value = ANY({values}) \
             AND x.created_at = e.created_at AND x.seq = e.seq)"
        ));
    }
    if let Some(readers) = &q.gift_wraps_for {
        if readers.is_empty() {
            sql.conditions.push(format!("e.kind <> {GIFT_WRAP}"));
        } else {
            let readers: Vec<Vec<u8>> = readers.iter().map(|k| k.to_hex().into_bytes()).collect();
            let p = sql.param(readers);
            sql.conditions.push(format!(
                "(e.kind <> {GIFT_WRAP} OR EXISTS (SELECT 1 FROM tags w WHERE w.name = 'p' \
                 AND w.value = ANY({p}) AND w.created_at = e.created_at AND w.seq = e.seq))"
            ));
        }
    }
    sql
}

/// A row whose first three columns are `json, first_seen, id`; `None`
/// for a row whose id is not 32 bytes (never written so).
pub(super) fn stored(row: &postgres::Row) -> Option<StoredEvent> {
    let id: &[u8] = row.get(2);
    Some(StoredEvent {
        id: EventId::from_byte_array(<[u8; 32]>::try_from(id).ok()?),
        json: row.get(0),
        first_seen: row.get::<_, i64>(1).max(0) as u64,
    })
}

fn damaged(bytes: &[u8], what: &str) -> StoreError {
    StoreError::Damaged(hex::encode(bytes), format!("{what} is not 32 bytes"))
}

pub fn run(
    client: &mut Client,
    q: &Query,
    f: &mut dyn FnMut(StoredEvent) -> bool,
) -> Result<(), StoreError> {
    if q.matches_nothing() {
        return Ok(());
    }
    let mut sql = build(q);
    let limit = q.limit.map(|l| sql.param(l.min(i64::MAX as usize) as i64));
    let text = sql.text("e.json, e.first_seen, e.id", true, limit);
    let mut tx = client.build_transaction().read_only(true).start()?;
    // A portal, so a consumer that stops early never fetches the rest.
    let portal = tx.bind(text.as_str(), &sql.refs())?;
    'pages: loop {
        let rows = tx.query_portal(&portal, 500)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let id: &[u8] = row.get(2);
            let event = stored(row).ok_or_else(|| damaged(id, "id"))?;
            if !f(event) {
                break 'pages;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// How many events match `q` (its limit ignored), of those stored after
/// sequence number `after` if given.
pub fn count(client: &mut Client, q: &Query, after: Option<u64>) -> Result<u64, StoreError> {
    if q.matches_nothing() {
        return Ok(0);
    }
    let mut sql = build(q);
    if let Some(after) = after {
        let p = sql.param(after.min(i64::MAX as u64) as i64);
        sql.conditions.push(format!("e.seq > {p}"));
    }
    let row = client.query_one(&sql.text("count(*)", false, None), &sql.refs())?;
    Ok(row.get::<_, i64>(0).max(0) as u64)
}

/// How many distinct events match any of `queries` (limits ignored).
pub fn count_any(client: &mut Client, queries: &[Query]) -> Result<u64, StoreError> {
    let mut arms = Vec::new();
    let mut params: Vec<Param> = Vec::new();
    for q in queries.iter().filter(|q| !q.matches_nothing()) {
        let sql = build_after(q, params.len());
        arms.push(sql.text("e.seq", false, None));
        params.extend(sql.params);
    }
    if arms.is_empty() {
        return Ok(0);
    }
    let text = format!("SELECT count(*) FROM ({}) AS any_of", arms.join(" UNION "));
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let row = client.query_one(&text, &refs)?;
    Ok(row.get::<_, i64>(0).max(0) as u64)
}

pub fn for_each_key(
    client: &mut Client,
    q: &Query,
    f: &mut dyn FnMut(u64, [u8; 32]) -> bool,
) -> Result<(), StoreError> {
    if q.matches_nothing() {
        return Ok(());
    }
    let sql = build(q);
    let text = sql.text("e.created_at, e.id", false, None);
    let mut tx = client.build_transaction().read_only(true).start()?;
    let portal = tx.bind(text.as_str(), &sql.refs())?;
    'pages: loop {
        let rows = tx.query_portal(&portal, 10_000)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let (at, id) = key(row)?;
            if !f(at, id) {
                break 'pages;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// `(created_at, id)` from the first two columns of a row.
pub(super) fn key(row: &postgres::Row) -> Result<(u64, [u8; 32]), StoreError> {
    let id: &[u8] = row.get(1);
    let id = <[u8; 32]>::try_from(id).map_err(|_| damaged(id, "id"))?;
    Ok((row.get::<_, i64>(0).max(0) as u64, id))
}

pub fn referenced_blobs(client: &mut Client, q: &Query) -> Result<Vec<BlobHash>, StoreError> {
    if q.matches_nothing() {
        return Ok(Vec::new());
    }
    let sql = build(q);
    let text = format!(
        "SELECT DISTINCT r.hash FROM blob_refs r WHERE r.seq IN ({})",
        sql.text("e.seq", false, None)
    );
    let mut out = Vec::new();
    for row in client.query(&text, &sql.refs())? {
        let hash: &[u8] = row.get(0);
        let hash = <[u8; 32]>::try_from(hash).map_err(|_| damaged(hash, "a blob reference"))?;
        out.push(BlobHash::from_bytes(hash));
    }
    Ok(out)
}

pub fn naming(
    client: &mut Client,
    original: &EventId,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let rows = client.query(
        "SELECT e.json, e.first_seen, e.id FROM originals o JOIN events e ON e.seq = o.seq
         WHERE o.original = $1 ORDER BY e.created_at DESC, e.id LIMIT $2",
        &[
            &original.as_bytes().as_slice(),
            &(limit.min(i64::MAX as usize) as i64),
        ],
    )?;
    Ok(rows.iter().filter_map(stored).collect())
}

pub fn explain(client: &mut Client, q: &Query) -> Result<Vec<String>, StoreError> {
    let mut sql = build(q);
    let limit = q.limit.map(|l| sql.param(l.min(i64::MAX as usize) as i64));
    let text = format!("EXPLAIN {}", sql.text("e.json", true, limit));
    let rows = client.query(&text, &sql.refs())?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

pub fn ids_with_prefix(
    client: &mut Client,
    prefix: &str,
    limit: usize,
) -> Result<Vec<EventId>, StoreError> {
    let Some((low, high)) = crate::query::prefix_bounds(prefix) else {
        return Ok(Vec::new());
    };
    let rows = client.query(
        "SELECT id FROM events WHERE id BETWEEN $1 AND $2 ORDER BY id LIMIT $3",
        &[&low, &high, &(limit.min(i64::MAX as usize) as i64)],
    )?;
    Ok(rows
        .iter()
        .filter_map(|r| <[u8; 32]>::try_from(r.get::<_, &[u8]>(0)).ok())
        .map(EventId::from_byte_array)
        .collect())
}

fn owned(row: &postgres::Row) -> Option<OwnedBlob> {
    let hash = <[u8; 32]>::try_from(row.get::<_, &[u8]>(0)).ok()?;
    Some(OwnedBlob {
        hash: BlobHash::from_bytes(hash),
        uploaded: row.get::<_, i64>(1).max(0) as u64,
        mime: row.get(2),
        size: row.get::<_, i64>(3).max(0) as u64,
    })
}

pub fn owned_by(
    client: &mut Client,
    pubkey: &PublicKey,
    since: Option<u64>,
    until: Option<u64>,
) -> Result<Vec<OwnedBlob>, StoreError> {
    let since = since.unwrap_or(0).min(i64::MAX as u64) as i64;
    let until = until.unwrap_or(i64::MAX as u64).min(i64::MAX as u64) as i64;
    let rows = client.query(
        "SELECT hash, uploaded, type, size FROM blob_owners
         WHERE pubkey = $1 AND uploaded >= $2 AND uploaded <= $3
         ORDER BY uploaded DESC",
        &[&pubkey.as_bytes().as_slice(), &since, &until],
    )?;
    Ok(rows.iter().filter_map(owned).collect())
}

pub fn describe_blob(
    client: &mut Client,
    hash: &BlobHash,
) -> Result<Option<OwnedBlob>, StoreError> {
    let row = client.query_opt(
        "SELECT hash, uploaded, type, size FROM blob_owners WHERE hash = $1
         ORDER BY uploaded LIMIT 1",
        &[&hash.as_bytes().as_slice()],
    )?;
    Ok(row.as_ref().and_then(owned))
}

pub fn unreferenced(client: &mut Client) -> Result<(u64, u64), StoreError> {
    let row = client.query_one(
        "SELECT count(*), coalesce(sum(size), 0)::bigint FROM (
             SELECT hash, max(size) AS size FROM blob_owners o
             WHERE NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.hash = o.hash)
             GROUP BY hash) AS waiting",
        &[],
    )?;
    Ok((
        row.get::<_, i64>(0).max(0) as u64,
        row.get::<_, i64>(1).max(0) as u64,
    ))
}

pub fn all_owners(
    client: &mut Client,
    f: &mut dyn FnMut(PublicKey, OwnedBlob),
) -> Result<(), StoreError> {
    let mut tx = client.build_transaction().read_only(true).start()?;
    let portal = tx.bind(
        "SELECT hash, uploaded, type, size, pubkey FROM blob_owners",
        &[],
    )?;
    loop {
        let rows = tx.query_portal(&portal, 10_000)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let pubkey = PublicKey::from_slice(row.get::<_, &[u8]>(4));
            if let (Some(blob), Ok(pubkey)) = (owned(row), pubkey) {
                f(pubkey, blob);
            }
        }
    }
    tx.commit()?;
    Ok(())
}
