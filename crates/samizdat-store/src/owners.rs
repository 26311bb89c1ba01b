//! Who uploaded which blob (Blossom lists and deletes by uploader), and
//! whether a stored record still needs a blob.

use rusqlite::{OptionalExtension, params};
use samizdat_core::BlobHash;
use samizdat_core::nostr::prelude::PublicKey;

use crate::StoreError;

/// One uploader's claim on a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedBlob {
    pub hash: BlobHash,
    pub size: u64,
    /// MIME type, as detected when it was uploaded.
    pub mime: Option<String>,
    /// When this uploader first uploaded it (Unix seconds).
    pub uploaded: u64,
}

/// What a delete request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    /// The requester had uploaded the blob (and no longer owns it).
    pub was_owner: bool,
    /// Other uploaders or stored records still need the blob, so its bytes
    /// stay.
    pub still_needed: bool,
}

pub(crate) fn add(
    tx: &rusqlite::Transaction<'_>,
    pubkey: &PublicKey,
    blob: &OwnedBlob,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO blob_owners (pubkey, hash, uploaded, type, size)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        pubkey.as_bytes().as_slice(),
        blob.hash.as_bytes().as_slice(),
        blob.uploaded as i64,
        blob.mime,
        blob.size as i64
    ])?;
    Ok(())
}

pub(crate) fn release(
    tx: &rusqlite::Transaction<'_>,
    pubkey: &PublicKey,
    hash: &BlobHash,
) -> rusqlite::Result<Release> {
    let hash = hash.as_bytes().as_slice();
    let was_owner = tx
        .prepare_cached("DELETE FROM blob_owners WHERE pubkey = ?1 AND hash = ?2")?
        .execute(params![pubkey.as_bytes().as_slice(), hash])?
        > 0;
    let owned = tx
        .prepare_cached("SELECT 1 FROM blob_owners WHERE hash = ?1 LIMIT 1")?
        .exists([hash])?;
    let referenced = tx
        .prepare_cached("SELECT 1 FROM blob_refs WHERE hash = ?1 LIMIT 1")?
        .exists([hash])?;
    Ok(Release {
        was_owner,
        still_needed: owned || referenced,
    })
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<OwnedBlob>> {
    let hash: Vec<u8> = r.get(0)?;
    let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) else {
        return Ok(None);
    };
    Ok(Some(OwnedBlob {
        hash: BlobHash::from_bytes(hash),
        uploaded: r.get::<_, i64>(1)?.max(0) as u64,
        mime: r.get(2)?,
        size: r.get::<_, i64>(3)?.max(0) as u64,
    }))
}

pub(crate) fn owned_by(
    conn: &rusqlite::Connection,
    pubkey: &PublicKey,
    since: Option<u64>,
    until: Option<u64>,
) -> Result<Vec<OwnedBlob>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT hash, uploaded, type, size FROM blob_owners
         WHERE pubkey = ?1 AND uploaded >= ?2 AND uploaded <= ?3
         ORDER BY uploaded DESC",
    )?;
    let since = since.unwrap_or(0).min(i64::MAX as u64) as i64;
    let until = until.unwrap_or(i64::MAX as u64).min(i64::MAX as u64) as i64;
    let rows = stmt.query_map(params![pubkey.as_bytes().as_slice(), since, until], row)?;
    let mut out = Vec::new();
    for r in rows {
        out.extend(r?);
    }
    Ok(out)
}

pub(crate) fn describe(
    conn: &rusqlite::Connection,
    hash: &BlobHash,
) -> Result<Option<OwnedBlob>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT hash, uploaded, type, size FROM blob_owners WHERE hash = ?1
             ORDER BY uploaded LIMIT 1",
        )?
        .query_row([hash.as_bytes().as_slice()], row)
        .optional()?
        .flatten())
}

/// Whether a stored record names the blob (in a NIP-92 `imeta` tag).
pub(crate) fn referenced(conn: &rusqlite::Connection, hash: &BlobHash) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM blob_refs WHERE hash = ?1 LIMIT 1")?
        .exists([hash.as_bytes().as_slice()])?)
}

/// Whether anyone uploaded the blob (and has not deleted it).
pub(crate) fn owned(conn: &rusqlite::Connection, hash: &BlobHash) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM blob_owners WHERE hash = ?1 LIMIT 1")?
        .exists([hash.as_bytes().as_slice()])?)
}

/// How many uploaded blobs no stored record names, and their bytes.
pub(crate) fn unreferenced(conn: &rusqlite::Connection) -> Result<(u64, u64), StoreError> {
    let (count, total): (i64, i64) = conn
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM (
                 SELECT hash, MAX(size) AS size FROM blob_owners o
                 WHERE NOT EXISTS (SELECT 1 FROM blob_refs r WHERE r.hash = o.hash)
                 GROUP BY hash)",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((count.max(0) as u64, total.max(0) as u64))
}

/// Every claim of every uploader.
pub(crate) fn all(
    conn: &rusqlite::Connection,
    f: &mut dyn FnMut(PublicKey, OwnedBlob),
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare("SELECT hash, uploaded, type, size, pubkey FROM blob_owners")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let pubkey: Vec<u8> = r.get(4)?;
        if let (Some(blob), Ok(pubkey)) = (row(r)?, PublicKey::from_slice(&pubkey)) {
            f(pubkey, blob);
        }
    }
    Ok(())
}
