//! The PostgreSQL writer: a batch of events becomes flat arrays and one
//! call of `samizdat_insert`, under advisory locks on what the batch
//! touches; blob owners; and the listener for other front nodes' rows.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Transaction};
use samizdat_core::nostr::prelude::{Kind, PublicKey};
use samizdat_core::retraction::Retraction;
use samizdat_core::{BlobHash, VerifiedEvent};
use sha2::{Digest, Sha256};

use super::{CHANNEL, Change, PgError, Target, outcome};
use crate::events::Wanted;
use crate::insert::{self as rules, InsertOutcome, happened, indexed_tags, originals, replace_key};
use crate::writer::{Engine, Job};
use crate::{OwnedBlob, Release, StoreError, StoredEvent};

/// Longest lexeme PostgreSQL keeps in a `tsvector`, in bytes, less one.
const MAX_LEXEME_BYTES: usize = 2046;

/// Most bytes of terms one event indexes (a `tsvector` holds under 1 MiB).
const MAX_TERMS_BYTES: usize = 512 * 1024;

/// Most events of other front nodes read at once for live subscribers.
const MAX_LIVE_AT_ONCE: usize = 5_000;

/// Most bytes of one notification's payload (PostgreSQL's limit is 8000).
const MAX_NOTIFY_BYTES: usize = 7900;

/// Most advisory locks one transaction takes: a batch that would take
/// more (a few retractions naming a thousand ids each, an import of
/// thousands of events) is committed as several transactions, one after
/// the other, before any is answered, so a writer never fills the
/// server's shared lock table (64 entries per connection by default).
const LOCK_BUDGET: usize = 1024;

/// The lock every decision about blob bytes takes (an owner recorded, a
/// release, a collection): one, taken after a batch's event locks, so
/// two front nodes never take blob locks in opposite orders.
const BLOB_LOCK: i64 = 0x5a4d_4244_4c4f_4253;

/// An advisory lock key: 64 bits of SHA-256 over what it names.
fn lock_key(what: &[&[u8]]) -> i64 {
    let mut h = Sha256::new();
    for part in what {
        h.update((part.len() as u32).to_le_bytes());
        h.update(part);
    }
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(first)
}

fn address_key(pubkey: &[u8], kind: u16, d: &[u8]) -> i64 {
    lock_key(&[b"address", pubkey, &kind.to_le_bytes(), d])
}

fn event_key(id: &[u8]) -> i64 {
    lock_key(&[b"event", id])
}

/// The arguments of one `samizdat_insert` call.
#[derive(Default)]
struct Arrays {
    ids: Vec<Vec<u8>>,
    pubkeys: Vec<Vec<u8>>,
    kinds: Vec<i64>,
    created: Vec<i64>,
    dtags: Vec<Option<Vec<u8>>>,
    jsons: Vec<String>,
    happened: Vec<i64>,
    terms: Vec<Option<String>>,
    seen: Vec<i64>,
    tag_end: Vec<i32>,
    tag_names: Vec<String>,
    tag_values: Vec<Vec<u8>>,
    ref_end: Vec<i32>,
    refs: Vec<Vec<u8>>,
    orig_end: Vec<i32>,
    origs: Vec<Vec<u8>>,
    del_end: Vec<i32>,
    dels: Vec<Vec<u8>>,
    adel_end: Vec<i32>,
    adel_kinds: Vec<i64>,
    adel_dtags: Vec<Vec<u8>>,
    /// Advisory lock keys, sorted, each once (once `sorted`).
    locks: Vec<i64>,
}

impl Arrays {
    /// At least as many locks as [`Arrays::push`] takes for `event`: its
    /// id, its address, and what a retraction names.
    fn locks_at_most(event: &samizdat_core::nostr::prelude::Event) -> usize {
        2 + if event.kind == Kind::EventDeletion {
            event.tags.len()
        } else {
            0
        }
    }

    fn push(&mut self, verified: &VerifiedEvent, seen: u64) {
        self.seen.push(seen.min(i64::MAX as u64) as i64);
        let event = verified.event();
        let id = event.id.as_bytes().to_vec();
        let pubkey = event.pubkey.as_bytes().to_vec();
        let created_at = event.created_at.as_secs().min(i64::MAX as u64) as i64;
        let kind = event.kind.as_u16();
        let d_tag = replace_key(event).map(String::into_bytes);
        self.locks.push(event_key(&id));
        if let Some(d) = &d_tag {
            self.locks.push(address_key(&pubkey, kind, d));
        }
        for (name, value) in indexed_tags(event) {
            self.tag_names.push(name.to_string());
            self.tag_values.push(value.as_bytes().to_vec());
        }
        self.tag_end.push(self.tag_names.len() as i32);
        for hash in rules::referenced_blobs(event) {
            self.refs.push(hash.as_bytes().to_vec());
        }
        self.ref_end.push(self.refs.len() as i32);
        for original in originals(event) {
            self.origs.push(original.as_bytes().to_vec());
        }
        self.orig_end.push(self.origs.len() as i32);
        if event.kind == Kind::EventDeletion
            && let Ok(retraction) = Retraction::from_event(event)
        {
            for target in &retraction.events {
                self.locks.push(event_key(target.as_bytes()));
                self.dels.push(target.as_bytes().to_vec());
            }
            for c in retraction
                .coordinates
                .iter()
                .filter(|c| c.pubkey == event.pubkey)
            {
                self.locks
                    .push(address_key(&pubkey, c.kind, c.identifier.as_bytes()));
                self.adel_kinds.push(i64::from(c.kind));
                self.adel_dtags.push(c.identifier.as_bytes().to_vec());
            }
        }
        self.del_end.push(self.dels.len() as i32);
        self.adel_end.push(self.adel_kinds.len() as i32);
        self.terms.push(verified.search_text().map(lexemes));
        self.happened.push(happened(event, created_at));
        self.ids.push(id);
        self.pubkeys.push(pubkey);
        self.kinds.push(i64::from(kind));
        self.created.push(created_at);
        self.dtags.push(d_tag);
        self.jsons.push(verified.json().to_string());
    }
}

/// The terms as PostgreSQL can hold them: no NUL, no lexeme too long for
/// a `tsvector`, not more than it holds in all.
fn lexemes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for term in text.split(' ') {
        let term = term.replace('\0', "");
        if term.is_empty() || term.len() > MAX_LEXEME_BYTES {
            continue;
        }
        if out.len() + term.len() + 1 > MAX_TERMS_BYTES {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&term);
    }
    out
}

/// The writer thread's side: one connection, opened again when it breaks.
pub struct PgWriter {
    target: Target,
    client: Option<Client>,
    origin: u64,
}

impl PgWriter {
    pub fn new(target: Target, client: Client, origin: u64) -> PgWriter {
        PgWriter {
            target,
            client: Some(client),
            origin,
        }
    }

    fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = None;
            tracing::info!(database = %self.target.shown(), "connecting the writer again");
            self.client = Some(self.target.connect()?);
        }
        self.client.as_mut().ok_or(StoreError::WriterGone)
    }
}

impl PgWriter {
    /// One part of a batch in one transaction, tried again (up to three
    /// times) when a deadlock with another front node's writer rolls it
    /// back (possible where one replaces an event and the other deletes
    /// it by id, each under its own lock) and no job's change was spent.
    fn commit_part(
        &mut self,
        part: &Arrays,
        batch: &mut [Job<Change>],
        changes: bool,
        origin: u64,
    ) -> Result<Vec<i16>, StoreError> {
        let again = !changes || !batch.iter().any(|j| j.change.is_some());
        let mut tries = 0;
        loop {
            let client = self.client()?;
            let jobs = if changes { Some(&mut *batch) } else { None };
            let result = commit_arrays(client, part, jobs, origin);
            if result.is_err() && client.is_closed() {
                self.client = None;
            }
            match result {
                Err(StoreError::Postgres(PgError::Db(e)))
                    if again
                        && tries < 3
                        && e.code() == Some(&postgres::error::SqlState::T_R_DEADLOCK_DETECTED) =>
                {
                    tries += 1;
                    tracing::warn!(
                        tries,
                        "a batch met another front node's in a deadlock; again"
                    );
                }
                other => return other,
            }
        }
    }
}

impl Engine for PgWriter {
    type Change = Change;

    fn commit(
        &mut self,
        batch: &mut [Job<Change>],
        now: u64,
    ) -> Result<Vec<Vec<InsertOutcome>>, StoreError> {
        // The batch in parts of at most LOCK_BUDGET locks each (one part
        // nearly always).
        let mut parts = vec![Arrays::default()];
        for job in batch.iter() {
            for (i, verified) in job.events.iter().enumerate() {
                if verified.event().kind.is_ephemeral() {
                    continue;
                }
                let last = parts.last_mut().ok_or(StoreError::WriterGone)?;
                let more = Arrays::locks_at_most(verified.event());
                if !last.ids.is_empty() && last.locks.len() + more > LOCK_BUDGET {
                    parts.push(Arrays::default());
                }
                parts
                    .last_mut()
                    .ok_or(StoreError::WriterGone)?
                    .push(verified, job.seen_at(i, now));
            }
        }
        let origin = self.origin;
        let count = parts.len();
        let mut codes = Vec::new();
        for (n, mut part) in parts.into_iter().enumerate() {
            part.locks.sort_unstable();
            part.locks.dedup();
            // The jobs' changes go with the last part.
            let changes = n + 1 == count;
            codes.extend(self.commit_part(&part, batch, changes, origin)?);
        }
        let mut codes = codes.into_iter();
        let mut outcomes = Vec::with_capacity(batch.len());
        for job in batch.iter() {
            let mut out = Vec::with_capacity(job.events.len());
            for verified in &job.events {
                out.push(if verified.event().kind.is_ephemeral() {
                    InsertOutcome::Ephemeral
                } else {
                    outcome(codes.next().ok_or(StoreError::WriterGone)?)
                });
            }
            outcomes.push(out);
        }
        Ok(outcomes)
    }

    fn close(&mut self) {}
}

/// One transaction: the locks, the insert, the notification, the jobs'
/// changes. Returns the outcome code of every event sent.
fn commit_arrays(
    client: &mut Client,
    a: &Arrays,
    jobs: Option<&mut [Job<Change>]>,
    origin: u64,
) -> Result<Vec<i16>, StoreError> {
    let mut tx = client.transaction()?;
    let mut codes = Vec::with_capacity(a.ids.len());
    if !a.ids.is_empty() {
        // In one order for every writer, so two never wait on each other.
        tx.execute(
            "SELECT count(pg_advisory_xact_lock(k)) FROM \
             (SELECT k FROM unnest($1::bigint[]) AS k ORDER BY k) AS sorted",
            &[&a.locks],
        )?;
        let rows = tx.query(
            "SELECT r_outcome, r_seq FROM samizdat_insert($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
            &[
                &a.ids,
                &a.pubkeys,
                &a.kinds,
                &a.created,
                &a.dtags,
                &a.jsons,
                &a.happened,
                &a.terms,
                &a.seen,
                &a.tag_end,
                &a.tag_names,
                &a.tag_values,
                &a.ref_end,
                &a.refs,
                &a.orig_end,
                &a.origs,
                &a.del_end,
                &a.dels,
                &a.adel_end,
                &a.adel_kinds,
                &a.adel_dtags,
            ],
        )?;
        let mut seqs = Vec::new();
        for row in rows {
            codes.push(row.get::<_, i16>(0));
            if let Some(seq) = row.get::<_, Option<i64>>(1) {
                seqs.push(seq);
            }
        }
        // Delivered on commit, and only if it commits.
        for payload in payloads(origin, &seqs) {
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])?;
        }
    }
    for job in jobs.into_iter().flatten() {
        if let Some(change) = job.change.take() {
            change(&mut tx)?;
        }
    }
    tx.commit()?;
    Ok(codes)
}

/// `origin seq seq …`, split to fit a notification.
fn payloads(origin: u64, seqs: &[i64]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for seq in seqs {
        if current.is_empty() {
            current = format!("{origin:x}");
        }
        current.push(' ');
        current.push_str(&seq.to_string());
        if current.len() > MAX_NOTIFY_BYTES {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Holds, until the transaction ends, the lock on decisions about one
/// blob's bytes: an upload's owner row, a release, a collection.
pub fn lock_blobs(tx: &mut Transaction<'_>) -> Result<(), postgres::Error> {
    // Taken after the batch's event stripes, which are all below it.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&BLOB_LOCK])?;
    Ok(())
}

pub fn add_owner(
    tx: &mut Transaction<'_>,
    pubkey: &PublicKey,
    blob: &OwnedBlob,
) -> Result<(), postgres::Error> {
    lock_blobs(tx)?;
    tx.execute(
        "INSERT INTO blob_owners (pubkey, hash, uploaded, type, size)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        &[
            &pubkey.as_bytes().as_slice(),
            &blob.hash.as_bytes().as_slice(),
            &(blob.uploaded.min(i64::MAX as u64) as i64),
            &blob.mime,
            &(blob.size.min(i64::MAX as u64) as i64),
        ],
    )?;
    Ok(())
}

pub fn release(
    tx: &mut Transaction<'_>,
    pubkey: &PublicKey,
    hash: &BlobHash,
) -> Result<Release, postgres::Error> {
    let was_owner = tx.execute(
        "DELETE FROM blob_owners WHERE pubkey = $1 AND hash = $2",
        &[&pubkey.as_bytes().as_slice(), &hash.as_bytes().as_slice()],
    )? > 0;
    Ok(Release {
        was_owner,
        still_needed: needed(tx, hash)?,
    })
}

/// Whether an uploader or a stored record still needs the blob.
pub fn needed(tx: &mut Transaction<'_>, hash: &BlobHash) -> Result<bool, postgres::Error> {
    let hash = hash.as_bytes().as_slice();
    let row = tx.query_one(
        "SELECT EXISTS (SELECT 1 FROM blob_owners WHERE hash = $1)
             OR EXISTS (SELECT 1 FROM blob_refs WHERE hash = $1)",
        &[&hash],
    )?;
    Ok(row.get(0))
}

/// A connection that listens on the channel, and one to read rows with.
pub fn listener(target: &Target) -> Result<(Client, Client), PgError> {
    let mut client = target.connect()?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    Ok((client, target.connect()?))
}

/// Listens for rows other front nodes commit and sends them on, until
/// `stopping` or until nobody receives. Connects again, after a pause,
/// whenever the connection breaks; rows committed meanwhile are not sent
/// (subscribers that need them ask again with a query).
pub fn listen(
    target: Target,
    origin: u64,
    stopping: Arc<AtomicBool>,
    send: SyncSender<Vec<StoredEvent>>,
    mut connected: Option<(Client, Client)>,
    wanted: Wanted,
) {
    let own = format!("{origin:x}");
    while !stopping.load(Ordering::Relaxed) {
        let result = match connected.take() {
            Some(clients) => Ok(clients),
            None => listener(&target),
        }
        .and_then(|clients| listen_on(clients, &own, &stopping, &send, &wanted));
        match result {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "listening for other front nodes; again in 2 s");
                std::thread::sleep(Duration::from_secs(2));
            }
        }
    }
}

/// One connection's worth of listening; `Ok` when it is time to stop.
fn listen_on(
    (mut client, mut reader): (Client, Client),
    own: &str,
    stopping: &AtomicBool,
    send: &SyncSender<Vec<StoredEvent>>,
    wanted: &Wanted,
) -> Result<(), PgError> {
    while !stopping.load(Ordering::Relaxed) {
        let mut seqs: Vec<i64> = Vec::new();
        {
            let mut notes = client.notifications();
            // Wait a second for one, then take what else is there already.
            let first = notes.timeout_iter(Duration::from_secs(1)).next()?;
            let mut take = |payload: &str| {
                let mut words = payload.split(' ');
                if words.next() != Some(own) {
                    seqs.extend(words.filter_map(|w| w.parse::<i64>().ok()));
                }
            };
            if let Some(note) = first {
                take(note.payload());
                let mut more = notes.iter();
                // Bounded: what one read brings, at most a thousand.
                for _ in 0..1000 {
                    let Some(note) = more.next()? else { break };
                    take(note.payload());
                }
            }
        }
        if client.is_closed() {
            return Err(PgError::Unsuitable(
                "the listening connection closed".into(),
            ));
        }
        // Nobody to hand them to: not read at all.
        if seqs.is_empty() || !wanted() {
            continue;
        }
        // Bounded: a burst beyond this is not handed on live (a query
        // finds it), as a subscriber too slow for the ring is told.
        if seqs.len() > MAX_LIVE_AT_ONCE {
            tracing::warn!(
                missed = seqs.len() - MAX_LIVE_AT_ONCE,
                "other front nodes stored more at once than is handed on live"
            );
            seqs.truncate(MAX_LIVE_AT_ONCE);
        }
        let rows = reader.query(
            "SELECT json, first_seen, id FROM events WHERE seq = ANY($1) ORDER BY seq",
            &[&seqs],
        )?;
        let events: Vec<StoredEvent> = rows.iter().filter_map(super::query::stored).collect();
        if !events.is_empty() && send.send(events).is_err() {
            return Ok(());
        }
    }
    Ok(())
}
