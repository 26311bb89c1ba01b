//! `samizdat publish site`: a static mirror of the public records.
//!
//! The mirror is a folder of plain files with relative links: it works
//! from `file://`, from any static host and from a USB stick. Layout
//! (`docs/PROTOCOL.md`, "Static mirror"):
//!
//! ```text
//! index.html                  the four languages
//! {ru,kk,en,fr}/index.html    days, newest first, and the latest records
//! {lang}/days/YYYY-MM-DD.html the records of a day
//! {lang}/r/ab/<id>.html       a record, its media and its attestations
//! {lang}/people.html …        the people registry, 500 people a page
//! {lang}/people/ab/<id>.html  a person's history
//! {lang}/verify.html          how a reader checks the mirror
//! feed.atom                   the newest records
//! records.jsonl               every record as signed (NIP-01 JSON)
//! blobs/ab/<sha256>.<ext>     the media
//! assets/                     the stylesheet and the icon
//! SHA256SUMS                  every file above (`sha256sum -c`)
//! manifest.json               format, counts, the SHA-256 of SHA256SUMS
//!                             and every record's id, key and signature
//! ```
//!
//! The same records give the same bytes (no clock, no random, sorted
//! everywhere), so two mirrors compare by the SHA-256 of their manifest.
//!
//! The mirror is written beside the target (`.NAME.publishing`) and then
//! swapped in, atomically where the system can exchange two directories
//! (Linux `renameat2`), else by two renames that the next run completes
//! if it was killed in between. A file the previous mirror already held
//! with the same bytes is hard-linked from it, not written again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use askama::Template;
use rayon::prelude::*;
use samizdat_core::attestation::{Attestation, Label};
use samizdat_core::blob::BlobHash;
use samizdat_core::kind;
use samizdat_core::nostr::prelude::{Event, EventId, ToBech32};
use samizdat_core::record::Record;
use samizdat_people::registry::{self, Registry};
use samizdat_store::{Query, Store, StoreError};
use sha2::{Digest, Sha256};

use crate::client::sync::Observer;
use crate::views::Lang;
use crate::views::records::{self as read, HistoryLine, Item, PersonLine, Said, Shown};

/// The mirror format this code writes and `verify` reads.
pub const FORMAT: &str = "samizdat-mirror/1";
/// The rule every media file of a mirror passed (`manifest.json`'s
/// `media`): clean media by `samizdat_media::admit`, nothing encrypted.
pub const MEDIA_RULE: &str = "clean/1";
pub const MANIFEST: &str = "manifest.json";
pub const SUMS: &str = "SHA256SUMS";
pub const RECORDS: &str = "records.jsonl";

const PEOPLE_PER_PAGE: usize = 500;
/// Records on one page of a day: a phone on a slow link loads a page.
const DAY_PAGE: usize = 200;
const FEED_ENTRIES: usize = 50;
const LATEST: usize = 20;
/// Records rendered together (in parallel) before their pages are
/// written: what bounds the pages held in memory.
const BATCH: usize = 512;

const STYLE: &str = include_str!("../../web/assets/style.css");
const ICON: &str = include_str!("../../web/assets/icon.svg");

/// A record's page, from its language's folder.
pub fn record_path(id: &str) -> String {
    format!("r/{}/{id}.html", id.get(..2).unwrap_or("00"))
}

/// A person's page (named by their newest report), from the language's
/// folder.
pub fn person_path(id: &str) -> String {
    format!("people/{}/{id}.html", id.get(..2).unwrap_or("00"))
}

/// A blob, from the mirror's root; the extension lets a browser reading
/// the files from disk know what it shows.
pub fn blob_path(hash: &BlobHash, mime: &str) -> String {
    let hex = hash.to_hex();
    format!("blobs/{}/{hex}.{}", &hex[..2], super::extension(mime))
}

/// Why a mirror could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("reading the store: {0}")]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "{0} exists and is not a samizdat mirror (no {MANIFEST} of format {FORMAT}); \
         choose an empty or new folder: publishing replaces the folder's whole content"
    )]
    NotAMirror(PathBuf),
    #[error("another `samizdat publish site` is writing {0}; wait for it to finish")]
    Busy(PathBuf),
    #[error("rendering {0}: {1}")]
    Render(String, String),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SiteError + '_ {
    move |source| SiteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a publish did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SiteSummary {
    /// Testimonies and person reports in the mirror.
    pub records: u64,
    /// Attestations about them.
    pub attestations: u64,
    pub people: u64,
    pub days: u64,
    /// Blobs copied in, and blobs the records name that this store does
    /// not hold (yet): their pages say so.
    pub blobs: u64,
    pub blobs_absent: u64,
    /// Blobs the records name that the admission rule keeps out of public
    /// view (encrypted, or of a format kept under an older rule), left out
    /// as if absent.
    pub blobs_refused: u64,
    /// Records of the selection left out: marked private (NIP-70) or
    /// failing their own checks.
    pub withheld: u64,
    /// Files in the mirror, and their bytes.
    pub files: u64,
    pub bytes: u64,
    /// Files written anew, and files kept from the previous mirror
    /// because their bytes did not change.
    pub written: u64,
    pub kept: u64,
    /// SHA-256 of `manifest.json`: equal digests, equal mirrors.
    pub digest: String,
    pub seconds: f64,
}

/// A testimony or person report of the mirror.
struct Entry {
    id: EventId,
    created_at: u64,
    item: Item,
    /// Its attachments: hash and media type.
    media: Vec<(BlobHash, String)>,
    /// When it happened (else when it was signed), and that day.
    when: u64,
    day: String,
}

/// What the mirror holds, read from the store.
struct Selection {
    /// Testimonies and person reports, oldest first (`created_at`, id).
    records: Vec<Entry>,
    /// Attestations about them, oldest first.
    attestations: Vec<Event>,
    /// Record indexes by id.
    index: HashMap<EventId, usize>,
    /// The person reports, as the registry reads them.
    reports: Vec<samizdat_people::registry::Report>,
    /// Attestation indexes by the record they are about.
    about: HashMap<EventId, Vec<usize>>,
    /// Translations (record indexes) by original.
    translations: HashMap<EventId, Vec<usize>>,
    /// Blobs the records name that the store holds, by hash, with their
    /// media type.
    blobs: BTreeMap<BlobHash, String>,
    absent: HashSet<BlobHash>,
    withheld: u64,
    /// The newest record's time: what the index pages say the mirror is
    /// as of (only they: a record's page must not change when a newer
    /// record arrives).
    as_of: u64,
}

/// Writes the mirror of the records `queries` select (testimonies and
/// person reports; every one when `queries` is empty) to `out`.
pub fn site(
    store: &Store,
    out: &Path,
    queries: &[Query],
    observer: &mut dyn Observer,
) -> Result<SiteSummary, SiteError> {
    let started = Instant::now();
    let out = std::path::absolute(out).map_err(io_at(out))?;
    let (staging, previous, lock) = beside(&out);
    let _held = hold(&lock, &out)?;
    let old = prepare(&out, &staging, &previous)?;
    let written = write(store, &staging, old, queries, observer, started);
    if written.is_err() && staging.exists() {
        // Nothing of a failed run stays beside the mirror.
        let _ = fs::remove_dir_all(&staging);
    }
    let mut summary = written?;

    observer.phase("swapping the mirror in", None);
    swap(&staging, &out, &previous)?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Keeps in `selection.blobs` only what the admission rule lets out in
/// public: clean media, never an encrypted file. A blob the previous
/// mirror already holds, byte for byte, passed when it went in and is not
/// cleaned again. Returns how many were left out (counted as absent).
fn only_public(store: &Store, old: Option<&Path>, selection: &mut Selection) -> u64 {
    // Only a mirror whose media passed this rule vouches for its files.
    let old = old.filter(|o| {
        fs::read(o.join(MANIFEST))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|m| m["media"] == MEDIA_RULE)
    });
    let verdicts: Vec<(BlobHash, bool)> = selection
        .blobs
        .par_iter()
        .map(|(hash, mime)| {
            let published = old
                .map(|o| o.join(blob_path(hash, mime)))
                .is_some_and(|p| hash_file(&p).is_ok_and(|(h, _)| h == *hash.as_bytes()));
            let public = published
                || match store.blobs().admission(hash) {
                    Ok(admitted) => admitted.is_public(),
                    Err(e) => {
                        tracing::warn!(blob = %hash, error = %e, "left out of the mirror");
                        false
                    }
                };
            (*hash, public)
        })
        .collect();
    let mut refused = 0;
    for (hash, public) in verdicts {
        if !public {
            selection.blobs.remove(&hash);
            selection.absent.insert(hash);
            refused += 1;
        }
    }
    refused
}

/// Writes the whole new mirror into `staging`, durably.
fn write(
    store: &Store,
    staging: &Path,
    old: Option<PathBuf>,
    queries: &[Query],
    observer: &mut dyn Observer,
    started: Instant,
) -> Result<SiteSummary, SiteError> {
    observer.phase("reading records", None);
    let mut selection = select(store, queries)?;
    observer.phase("checking media", Some(selection.blobs.len() as u64));
    let refused = only_public(store, old.as_deref(), &mut selection);
    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        "publish: records read"
    );
    let mut summary = SiteSummary {
        records: selection.records.len() as u64,
        attestations: selection.attestations.len() as u64,
        blobs: selection.blobs.len() as u64,
        blobs_absent: selection.absent.len() as u64 - refused,
        blobs_refused: refused,
        withheld: selection.withheld,
        ..Default::default()
    };
    let people = people(&selection);
    summary.people = people.entries.len() as u64;

    let mut files = Files::new(staging.to_path_buf(), old);
    files.put("assets/style.css", STYLE.as_bytes())?;
    files.put("assets/icon.svg", ICON.as_bytes())?;
    let days = days(&selection);
    summary.days = days.len() as u64;
    // An empty mirror is not "as of" 1970.
    let as_of = match selection.as_of {
        0 => String::new(),
        secs => read::date_time(secs),
    };

    observer.phase("writing pages", Some(selection.records.len() as u64));
    for batch in selection.records.chunks(BATCH) {
        let events = read_events(store, batch.iter().map(|e| e.id))?;
        let pages: Vec<Vec<(String, String)>> = events
            .par_iter()
            .map(|event| record_pages(&selection, event, &as_of))
            .collect::<Result<_, _>>()?;
        for (path, body) in pages.iter().flatten() {
            files.put(path, body.as_bytes())?;
        }
        observer.advance(batch.len() as u64);
    }
    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        "publish: record pages written"
    );
    for lang in Lang::ALL {
        index_pages(
            &mut files,
            &selection,
            &days,
            people.entries.len(),
            lang,
            &as_of,
        )?;
        people_pages(&mut files, &people, lang, &as_of)?;
    }
    files.put("index.html", root_page(&selection)?.as_bytes())?;
    files.put("feed.atom", feed(store, &selection)?.as_bytes())?;
    let signatures = write_records(&mut files, store, &selection)?;

    observer.phase("copying media", Some(selection.blobs.len() as u64));
    for (hash, mime) in &selection.blobs {
        files.put_blob(&blob_path(hash, mime), &store.blobs().path(hash), hash)?;
        observer.advance(1);
    }

    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        "publish: media copied"
    );
    let sums = files.sums();
    let manifest = manifest(&selection, &files, &sums, &signatures);
    files.put_unlisted(SUMS, sums.as_bytes())?;
    files.put_unlisted(MANIFEST, manifest.as_bytes())?;
    summary.files = files.listed.len() as u64 + 2;
    summary.bytes = files.bytes;
    summary.written = files.written;
    summary.kept = files.kept;
    summary.digest = hex::encode(Sha256::digest(manifest.as_bytes()));

    durable(staging)?;
    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        "publish: written to the disk"
    );
    Ok(summary)
}

/// The folders beside `out` that a publish uses: where the new mirror is
/// written, and where the previous one waits while the two swap.
fn beside(out: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mirror".into());
    let parent = out.parent().unwrap_or(Path::new("/"));
    (
        parent.join(format!(".{name}.publishing")),
        parent.join(format!(".{name}.previous")),
        parent.join(format!(".{name}.lock")),
    )
}

/// Takes the lock that keeps two publishes from writing the same mirror
/// at once; it lasts as long as the returned file is open.
fn hold(lock: &Path, out: &Path) -> Result<fs::File, SiteError> {
    use std::os::fd::AsRawFd;
    if let Some(parent) = lock.parent() {
        fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock)
        .map_err(io_at(lock))?;
    // SAFETY: flock on a descriptor this function owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(SiteError::Busy(out.to_path_buf()));
    }
    Ok(file)
}

/// Makes ready to publish into `out`: finishes a swap an earlier run was
/// killed in, clears what it left half-written, and checks that `out`
/// is a mirror (or empty, or absent). Returns the mirror now in `out`.
fn prepare(out: &Path, staging: &Path, previous: &Path) -> Result<Option<PathBuf>, SiteError> {
    if !out.exists() && previous.join(MANIFEST).is_file() {
        // Killed between the two renames of a swap: the old mirror is
        // whole, put it back.
        tracing::warn!(path = %previous.display(), "restoring the mirror of an interrupted publish");
        fs::rename(previous, out).map_err(io_at(out))?;
    }
    for leftover in [staging, previous] {
        if leftover.exists() {
            fs::remove_dir_all(leftover).map_err(io_at(leftover))?;
        }
    }
    if !out.exists() {
        return Ok(None);
    }
    if !out.is_dir() {
        return Err(SiteError::NotAMirror(out.to_path_buf()));
    }
    let empty = fs::read_dir(out).map_err(io_at(out))?.next().is_none();
    if empty {
        return Ok(None);
    }
    let format = fs::read(out.join(MANIFEST))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|m| m.get("format").and_then(|f| f.as_str()).map(str::to_string));
    match format {
        Some(f) if f == FORMAT => Ok(Some(out.to_path_buf())),
        _ => Err(SiteError::NotAMirror(out.to_path_buf())),
    }
}

/// Reads the selected records, the attestations about them and what
/// their media are.
fn select(store: &Store, queries: &[Query]) -> Result<Selection, SiteError> {
    let all = [Query::default()];
    let queries = if queries.is_empty() {
        &all[..]
    } else {
        queries
    };
    let wanted = [kind::TESTIMONY.as_u16(), kind::PERSON_REPORT.as_u16()];
    let mut seen = HashSet::new();
    let mut records = Vec::new();
    let mut reports = Vec::new();
    let mut withheld = 0;
    for query in queries {
        let mut query = query.clone();
        let kinds: Vec<u16> = match &query.kinds {
            Some(kinds) => kinds
                .iter()
                .copied()
                .filter(|k| wanted.contains(k))
                .collect(),
            None => wanted.to_vec(),
        };
        if kinds.is_empty() {
            continue;
        }
        query.kinds = Some(kinds);
        query.gift_wraps_for = Some(Vec::new());
        // Read in slices: the parsed events of one slice are in memory
        // at a time, and only what the pages need of them is kept.
        let mut slice = Vec::with_capacity(SLICE);
        let mut failed = None;
        store.query_each(&query, |stored| {
            if seen.insert(stored.id) {
                slice.push(stored);
            }
            if slice.len() == SLICE {
                match entries(std::mem::take(&mut slice)) {
                    Ok(done) => keep(done, &mut records, &mut reports, &mut withheld),
                    Err(e) => {
                        failed = Some(e);
                        return false;
                    }
                }
            }
            true
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        keep(entries(slice)?, &mut records, &mut reports, &mut withheld);
    }
    records.sort_by_key(|e| (e.created_at, e.id.to_bytes()));
    let index: HashMap<EventId, usize> =
        records.iter().enumerate().map(|(i, e)| (e.id, i)).collect();

    let mut attestations = Vec::new();
    let ids: Vec<String> = records.iter().map(|e| e.id.to_hex()).collect();
    let mut taken = HashSet::new();
    for chunk in ids.chunks(500) {
        for stored in store.query(&Query {
            kinds: Some(vec![kind::ATTESTATION.as_u16()]),
            tags: vec![('e', chunk.to_vec())],
            ..Default::default()
        })? {
            if !taken.insert(stored.id) {
                continue;
            }
            let event = stored.event()?;
            let Ok(a) = Attestation::from_event(&event) else {
                continue;
            };
            if !index.contains_key(&a.target) {
                continue;
            }
            if !samizdat_core::record::is_public(&event) || event.verify().is_err() {
                withheld += 1;
                continue;
            }
            attestations.push(event);
        }
    }
    attestations.sort_by(order);
    let mut about: HashMap<EventId, Vec<usize>> = HashMap::new();
    let mut translations: HashMap<EventId, Vec<usize>> = HashMap::new();
    for (i, event) in attestations.iter().enumerate() {
        let Ok(a) = Attestation::from_event(event) else {
            continue;
        };
        about.entry(a.target).or_default().push(i);
        if a.label == Label::TranslationOf
            && let Some(original) = a.original
            && index.contains_key(&original)
            && let Some(&t) = index.get(&a.target)
        {
            let list = translations.entry(original).or_default();
            if !list.contains(&t) {
                list.push(t);
            }
        }
    }

    let mut blobs = BTreeMap::new();
    let mut absent = HashSet::new();
    for (hash, mime) in records.iter().flat_map(|e| &e.media) {
        if store.blobs().contains(hash) {
            blobs.entry(*hash).or_insert_with(|| mime.clone());
        } else {
            absent.insert(*hash);
        }
    }
    let as_of = records
        .iter()
        .map(|e| e.created_at)
        .chain(attestations.iter().map(|e| e.created_at.as_secs()))
        .max()
        .unwrap_or(0);
    Ok(Selection {
        records,
        index,
        reports,
        attestations,
        about,
        translations,
        blobs,
        absent,
        withheld,
        as_of,
    })
}

/// Events read from the store at a time while selecting.
const SLICE: usize = 2_048;

/// What the mirror keeps of a slice of stored testimonies and person
/// reports, checked on every core: the entry, and the person report as
/// the registry reads it. `None` for one left out.
#[allow(clippy::type_complexity)]
fn entries(
    slice: Vec<samizdat_store::StoredEvent>,
) -> Result<Vec<Option<(Entry, Option<samizdat_people::registry::Report>)>>, StoreError> {
    slice
        .into_par_iter()
        .map(|stored| {
            let event = stored.event()?;
            // Checked on the way in; checked again here, because the
            // pages say the signatures hold.
            if !samizdat_core::record::is_public(&event) || event.verify().is_err() {
                return Ok(None);
            }
            let Some(item) = read::item(&event) else {
                return Ok(None);
            };
            let media = match Record::parse(&event) {
                Ok(record) => read::attachments(&record)
                    .iter()
                    .map(|a| (a.hash, a.mime.clone()))
                    .collect(),
                Err(_) => Vec::new(),
            };
            let when = when(&event);
            Ok(Some((
                Entry {
                    id: event.id,
                    created_at: event.created_at.as_secs(),
                    item,
                    media,
                    when,
                    day: day(when),
                },
                crate::people::report(&event),
            )))
        })
        .collect()
}

#[allow(clippy::type_complexity)]
fn keep(
    done: Vec<Option<(Entry, Option<samizdat_people::registry::Report>)>>,
    records: &mut Vec<Entry>,
    reports: &mut Vec<samizdat_people::registry::Report>,
    withheld: &mut u64,
) {
    for entry in done {
        match entry {
            Some((entry, report)) => {
                records.push(entry);
                reports.extend(report);
            }
            None => *withheld += 1,
        }
    }
}

/// Oldest first; the id breaks ties, so the order is total.
fn order(a: &Event, b: &Event) -> std::cmp::Ordering {
    a.created_at
        .cmp(&b.created_at)
        .then_with(|| a.id.as_bytes().cmp(b.id.as_bytes()))
}

/// When a record says it happened, else when it was signed.
fn when(event: &Event) -> u64 {
    let observed = match Record::parse(event) {
        Ok(Record::Testimony(t)) => t.observed,
        Ok(Record::PersonReport(p)) => p.observed,
        _ => None,
    };
    observed.map_or(event.created_at.as_secs(), |o| o.start)
}

/// The UTC day of `secs`, as `YYYY-MM-DD`.
fn day(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(
            || "0000-00-00".into(),
            |t| t.strftime("%Y-%m-%d").to_string(),
        )
}

/// Every record and attestation, oldest first: `records.jsonl`.
fn lines(selection: &Selection) -> Vec<EventId> {
    let mut all: Vec<(u64, [u8; 32])> = selection
        .records
        .iter()
        .map(|e| (e.created_at, e.id.to_bytes()))
        .chain(
            selection
                .attestations
                .iter()
                .map(|e| (e.created_at.as_secs(), e.id.to_bytes())),
        )
        .collect();
    all.sort();
    all.into_iter()
        .map(|(_, id)| EventId::from_byte_array(id))
        .collect()
}

/// Writes `records.jsonl`: each event exactly as the store holds it (as
/// its author signed it), read again from the store in chunks rather
/// than kept in memory. Returns each line's id, key and signature.
fn write_records(
    files: &mut Files,
    store: &Store,
    selection: &Selection,
) -> Result<Vec<[String; 3]>, SiteError> {
    #[derive(serde::Deserialize)]
    struct Signed<'a> {
        id: &'a str,
        pubkey: &'a str,
        sig: &'a str,
    }
    let ids = lines(selection);
    let mut signatures = Vec::with_capacity(ids.len());
    files.put_streamed(RECORDS, |out| {
        for chunk in ids.chunks(500) {
            let mut json: HashMap<[u8; 32], String> = store
                .query(&Query {
                    ids: Some(chunk.to_vec()),
                    ..Default::default()
                })
                .map_err(io::Error::other)?
                .into_iter()
                .map(|s| (s.id, s.json))
                .collect();
            for id in chunk {
                let Some(line) = json.remove(&id.to_bytes()) else {
                    return Err(io::Error::other(format!(
                        "record {id} left the store while publishing; publish again"
                    )));
                };
                let signed: Signed<'_> = serde_json::from_str(&line).map_err(io::Error::other)?;
                signatures.push([
                    signed.id.to_string(),
                    signed.pubkey.to_string(),
                    signed.sig.to_string(),
                ]);
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    })?;
    Ok(signatures)
}

/// The registry of the mirror's person reports, with the verdicts among
/// its attestations.
fn people(selection: &Selection) -> Registry {
    // Newest first, as the store would give them.
    let mut reports = selection.reports.clone();
    reports.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
    let verdicts: Vec<_> = selection
        .attestations
        .iter()
        .rev()
        .filter_map(crate::people::verdict)
        .collect();
    registry::build(reports, &verdicts)
}

/// Days with records, newest first, each with its records' indexes,
/// newest first.
fn days(selection: &Selection) -> Vec<(String, Vec<usize>)> {
    let mut by_day: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, entry) in selection.records.iter().enumerate() {
        by_day.entry(&entry.day).or_default().push(i);
    }
    by_day
        .into_iter()
        .rev()
        .map(|(day, mut list)| {
            let records = &selection.records;
            list.sort_by(|&a, &b| {
                records[b].when.cmp(&records[a].when).then_with(|| {
                    (records[b].created_at, records[b].id.to_bytes())
                        .cmp(&(records[a].created_at, records[a].id.to_bytes()))
                })
            });
            (day.to_string(), list)
        })
        .collect()
}

/// What a mirror page knows: its language, how far it is from the
/// language's folder (`up`) and from the mirror's root (`top`), and its
/// own path in the language's folder (for the language switcher).
pub struct Sheet {
    pub lang: Lang,
    pub up: &'static str,
    pub top: &'static str,
    pub path: String,
    pub as_of: String,
}

impl Sheet {
    fn new(lang: Lang, path: String, as_of: &str) -> Sheet {
        let (up, top) = match path.matches('/').count() {
            0 => ("", "../"),
            1 => ("../", "../../"),
            _ => ("../../", "../../../"),
        };
        Sheet {
            lang,
            up,
            top,
            path,
            as_of: as_of.to_string(),
        }
    }

    pub fn t(&self, key: &'static str) -> &'static str {
        self.lang.t(key)
    }

    pub fn tf(&self, key: &'static str, n: impl std::fmt::Display) -> String {
        self.lang.tf(key, n)
    }

    pub fn status(&self, status: &str) -> String {
        self.lang.word(&format!("status.{status}"))
    }

    /// The other languages, for the switcher.
    pub fn others(&self) -> Vec<Lang> {
        Lang::ALL.into_iter().filter(|l| *l != self.lang).collect()
    }
}

#[derive(Template)]
#[template(path = "mirror/record.html")]
struct RecordPage<'a> {
    sheet: &'a Sheet,
    shown: Shown,
    said: Vec<Said>,
    translations: Vec<Item>,
}

#[derive(Template)]
#[template(path = "mirror/index.html")]
struct IndexPage<'a> {
    sheet: &'a Sheet,
    records: usize,
    people: usize,
    days: Vec<(&'a str, usize)>,
    items: Vec<&'a Item>,
}

#[derive(Template)]
#[template(path = "mirror/day.html")]
struct DayPage<'a> {
    sheet: &'a Sheet,
    day: &'a str,
    /// Records of the day, on every page.
    count: usize,
    items: Vec<&'a Item>,
    newer: Option<&'a str>,
    older: Option<&'a str>,
    number: usize,
    pages: &'a [(usize, String)],
}

#[derive(Template)]
#[template(path = "mirror/people.html")]
struct PeoplePage<'a> {
    sheet: &'a Sheet,
    entries: Vec<PersonLine>,
    total: usize,
    number: usize,
    pages: &'a [(usize, String)],
}

#[derive(Template)]
#[template(path = "mirror/person.html")]
struct PersonPage<'a> {
    sheet: &'a Sheet,
    line: PersonLine,
    history: Vec<HistoryLine>,
    conflicts: Vec<String>,
}

#[derive(Template)]
#[template(path = "mirror/verify.html")]
struct VerifyPage<'a> {
    sheet: &'a Sheet,
}

#[derive(Template)]
#[template(path = "mirror/root.html")]
struct RootPage {
    langs: Vec<(Lang, &'static str, String)>,
}

#[derive(Template)]
#[template(path = "mirror/feed.atom", escape = "html")]
struct Feed {
    id: String,
    updated: String,
    entries: Vec<FeedEntry>,
}

struct FeedEntry {
    id: String,
    note: String,
    title: String,
    updated: String,
    author: String,
    text: String,
}

fn render(path: &str, template: &impl Template) -> Result<String, SiteError> {
    template
        .render()
        .map_err(|e| SiteError::Render(path.to_string(), e.to_string()))
}

/// The events `ids`, read again from the store, in that order.
fn read_events(store: &Store, ids: impl Iterator<Item = EventId>) -> Result<Vec<Event>, SiteError> {
    let ids: Vec<EventId> = ids.collect();
    let mut found: HashMap<[u8; 32], Event> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        for stored in store.query(&Query {
            ids: Some(chunk.to_vec()),
            ..Default::default()
        })? {
            found.insert(stored.id, stored.event()?);
        }
    }
    ids.iter()
        .map(|id| {
            found.remove(&id.to_bytes()).ok_or_else(|| SiteError::Io {
                path: PathBuf::from(RECORDS),
                source: io::Error::other(format!(
                    "record {id} left the store while publishing; publish again"
                )),
            })
        })
        .collect()
}

/// A record's page in each language.
fn record_pages(
    selection: &Selection,
    event: &Event,
    as_of: &str,
) -> Result<Vec<(String, String)>, SiteError> {
    let id = event.id;
    let mut present = HashMap::new();
    if let Ok(record) = Record::parse(event) {
        for a in read::attachments(&record) {
            present.insert(a.hash.to_hex(), selection.blobs.contains_key(&a.hash));
        }
    }
    let path = record_path(&id.to_hex());
    let mut pages = Vec::with_capacity(Lang::ALL.len());
    for lang in Lang::ALL {
        let sheet = Sheet::new(lang, path.clone(), as_of);
        let Some(mut shown) = read::show(lang, event, &present) else {
            continue;
        };
        for media in &mut shown.attachments {
            if let Ok(hash) = media.url.trim_start_matches('/').parse::<BlobHash>() {
                media.url = format!("{}{}", sheet.top, blob_path(&hash, &media.mime));
            }
        }
        let said = selection
            .about
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|&i| {
                let event = &selection.attestations[i];
                let a = Attestation::from_event(event).ok()?;
                Some(Said {
                    label: lang.word(&format!("label.{}", a.label.as_str())),
                    author: read::short_npub(event),
                    note: a.note,
                    when: read::date_time(event.created_at.as_secs()),
                    link: a
                        .original
                        .filter(|o| selection.index.contains_key(o))
                        .map(|o| o.to_hex()),
                })
            })
            .collect();
        let translations = selection
            .translations
            .get(&id)
            .into_iter()
            .flatten()
            .map(|&i| selection.records[i].item.clone())
            .collect();
        let page = RecordPage {
            sheet: &sheet,
            shown,
            said,
            translations,
        };
        let file = format!("{}/{path}", lang.code());
        let body = render(&file, &page)?;
        pages.push((file, body));
    }
    Ok(pages)
}

/// A language's index, day pages and verification page.
fn index_pages(
    files: &mut Files,
    selection: &Selection,
    days: &[(String, Vec<usize>)],
    people: usize,
    lang: Lang,
    as_of: &str,
) -> Result<(), SiteError> {
    let code = lang.code();
    let sheet = Sheet::new(lang, "index.html".into(), as_of);
    let latest: Vec<&Item> = selection
        .records
        .iter()
        .rev()
        .take(LATEST)
        .map(|e| &e.item)
        .collect();
    let page = IndexPage {
        sheet: &sheet,
        records: selection.records.len(),
        people,
        days: days.iter().map(|(d, l)| (d.as_str(), l.len())).collect(),
        items: latest,
    };
    let file = format!("{code}/index.html");
    files.put(&file, render(&file, &page)?.as_bytes())?;
    for (i, (day, list)) in days.iter().enumerate() {
        let pages = numbered(&format!("days/{day}"), list.len(), DAY_PAGE);
        for (n, name) in &pages {
            let sheet = Sheet::new(lang, name.clone(), as_of);
            let page = DayPage {
                sheet: &sheet,
                day,
                count: list.len(),
                items: list
                    .iter()
                    .skip((n - 1) * DAY_PAGE)
                    .take(DAY_PAGE)
                    .map(|&r| &selection.records[r].item)
                    .collect(),
                newer: i.checked_sub(1).map(|n| days[n].0.as_str()),
                older: days.get(i + 1).map(|d| d.0.as_str()),
                number: *n,
                pages: &pages,
            };
            let file = format!("{code}/{name}");
            files.put(&file, render(&file, &page)?.as_bytes())?;
        }
    }
    let sheet = Sheet::new(lang, "verify.html".into(), as_of);
    let file = format!("{code}/verify.html");
    files.put(
        &file,
        render(&file, &VerifyPage { sheet: &sheet })?.as_bytes(),
    )
}

/// The pages a list of `count` items takes at `per` a page: `NAME.html`,
/// then `NAME-2.html`…, with their numbers.
fn numbered(name: &str, count: usize, per: usize) -> Vec<(usize, String)> {
    (1..=count.div_ceil(per).max(1))
        .map(|n| {
            let file = if n == 1 {
                format!("{name}.html")
            } else {
                format!("{name}-{n}.html")
            };
            (n, file)
        })
        .collect()
}

/// A language's registry pages and a page per person.
fn people_pages(
    files: &mut Files,
    registry: &Registry,
    lang: Lang,
    as_of: &str,
) -> Result<(), SiteError> {
    let code = lang.code();
    let pages = numbered("people", registry.entries.len(), PEOPLE_PER_PAGE);
    for (n, name) in &pages {
        let sheet = Sheet::new(lang, name.clone(), as_of);
        let entries = registry
            .entries
            .iter()
            .skip((n - 1) * PEOPLE_PER_PAGE)
            .take(PEOPLE_PER_PAGE)
            .map(|e| read::person_line(lang, e))
            .collect();
        let page = PeoplePage {
            sheet: &sheet,
            entries,
            total: registry.entries.len(),
            number: *n,
            pages: &pages,
        };
        let file = format!("{code}/{name}");
        files.put(&file, render(&file, &page)?.as_bytes())?;
    }
    for entry in &registry.entries {
        let line = read::person_line(lang, entry);
        let path = person_path(&line.id);
        let sheet = Sheet::new(lang, path.clone(), as_of);
        let history = entry
            .history
            .iter()
            .map(|r| HistoryLine {
                id: hex::encode(r.id),
                status: lang.word(&format!("status.{}", r.status)),
                when: read::date_time(r.when()),
                place: r.place.clone().unwrap_or_default(),
                source: lang.word(&format!("source.{}", r.source)),
                author: samizdat_core::nostr::prelude::PublicKey::from_slice(&r.author)
                    .ok()
                    .and_then(|k| k.to_bech32().ok())
                    .map(|n| read::short(&n))
                    .unwrap_or_default(),
            })
            .collect();
        let page = PersonPage {
            sheet: &sheet,
            line,
            history,
            conflicts: entry.conflicts.iter().map(|c| c.why.clone()).collect(),
        };
        let file = format!("{code}/{path}");
        files.put(&file, render(&file, &page)?.as_bytes())?;
    }
    Ok(())
}

fn root_page(selection: &Selection) -> Result<String, SiteError> {
    let langs = Lang::ALL
        .into_iter()
        .map(|l| {
            (
                l,
                l.t("mirror.title"),
                l.tf("mirror.records", selection.records.len()),
            )
        })
        .collect();
    render("index.html", &RootPage { langs })
}

/// What a record says in its own words: a testimony's text, a person
/// report's details (without the attachments' URIs the content ends with).
fn said(event: &Event) -> String {
    match Record::parse(event) {
        Ok(Record::Testimony(t)) => t.text,
        Ok(Record::PersonReport(p)) => p.details,
        _ => String::new(),
    }
}

fn rfc3339(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(
            || "1970-01-01T00:00:00Z".into(),
            |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
}

/// The Atom feed of the newest records.
fn feed(store: &Store, selection: &Selection) -> Result<String, SiteError> {
    let newest = selection.records.iter().rev().take(FEED_ENTRIES);
    let events = read_events(store, newest.clone().map(|e| e.id))?;
    let entries = newest
        .zip(&events)
        .map(|(e, event)| {
            let title = match e.item.kind {
                "person" => format!("{} — {}", e.item.title, e.item.status),
                _ => read::excerpt(&e.item.title, 80),
            };
            FeedEntry {
                id: event.id.to_hex(),
                note: event.id.to_bech32().unwrap_or_default(),
                title,
                updated: rfc3339(event.created_at.as_secs()),
                author: event.pubkey.to_bech32().unwrap_or_default(),
                text: read::excerpt(&said(event), 2_000),
            }
        })
        .collect();
    // The feed is named by its first record, so that copies of one
    // mirror share it and it does not change as records are added.
    let first = selection
        .records
        .first()
        .map_or_else(String::new, |e| e.id.to_hex());
    render(
        "feed.atom",
        &Feed {
            id: format!("urn:samizdat:mirror:{first}"),
            updated: rfc3339(selection.as_of),
            entries,
        },
    )
}

/// `manifest.json`: the format, the counts, the SHA-256 of `SHA256SUMS`
/// and every line of `records.jsonl` as id, key and signature. Written
/// by hand so that its bytes are fixed: one record per line.
fn manifest(
    selection: &Selection,
    files: &Files,
    sums: &str,
    signatures: &[[String; 3]],
) -> String {
    let mut out = String::new();
    out.push_str("{\n");
    out.push_str(&format!("  \"format\": \"{FORMAT}\",\n"));
    out.push_str(&format!("  \"media\": \"{MEDIA_RULE}\",\n"));
    out.push_str(&format!("  \"as_of\": {},\n", selection.as_of));
    out.push_str(&format!("  \"records\": {},\n", selection.records.len()));
    out.push_str(&format!(
        "  \"attestations\": {},\n",
        selection.attestations.len()
    ));
    out.push_str(&format!("  \"files\": {},\n", files.listed.len()));
    out.push_str(&format!(
        "  \"sums\": \"{}\",\n",
        hex::encode(Sha256::digest(sums.as_bytes()))
    ));
    out.push_str("  \"signatures\": [");
    for (i, [id, pubkey, sig]) in signatures.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(&format!("    [\"{id}\", \"{pubkey}\", \"{sig}\"]"));
    }
    out.push_str(if signatures.is_empty() {
        "]\n"
    } else {
        "\n  ]\n"
    });
    out.push_str("}\n");
    out
}

/// The files of the mirror being written: each one's hash and size, and
/// where the previous mirror may already hold its bytes.
struct Files {
    root: PathBuf,
    old: Option<PathBuf>,
    listed: BTreeMap<String, String>,
    made: HashSet<PathBuf>,
    bytes: u64,
    written: u64,
    kept: u64,
}

impl Files {
    fn new(root: PathBuf, old: Option<PathBuf>) -> Files {
        Files {
            root,
            old,
            listed: BTreeMap::new(),
            made: HashSet::new(),
            bytes: 0,
            written: 0,
            kept: 0,
        }
    }

    fn put(&mut self, path: &str, bytes: &[u8]) -> Result<(), SiteError> {
        self.listed
            .insert(path.to_string(), hex::encode(Sha256::digest(bytes)));
        self.put_unlisted(path, bytes)
    }

    /// Writes a file that `SHA256SUMS` does not list (itself and the
    /// manifest).
    fn put_unlisted(&mut self, path: &str, bytes: &[u8]) -> Result<(), SiteError> {
        self.bytes += bytes.len() as u64;
        let dest = self.dest(path)?;
        if let Some(old) = self.old.as_ref().map(|o| o.join(path)) {
            let same = fs::metadata(&old)
                .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
                && fs::read(&old).is_ok_and(|b| b == bytes);
            if same && fs::hard_link(&old, &dest).is_ok() {
                self.kept += 1;
                return Ok(());
            }
        }
        fs::write(&dest, bytes).map_err(io_at(&dest))?;
        self.written += 1;
        Ok(())
    }

    /// Writes a file through `write`, hashing it on the way; if the
    /// previous mirror holds the same bytes, links that copy instead.
    fn put_streamed(
        &mut self,
        path: &str,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), SiteError> {
        let dest = self.dest(path)?;
        let file = fs::File::create(&dest).map_err(io_at(&dest))?;
        let mut out = Hashing {
            inner: io::BufWriter::new(file),
            hasher: Sha256::new(),
            size: 0,
        };
        write(&mut out).map_err(io_at(&dest))?;
        out.inner.flush().map_err(io_at(&dest))?;
        let hash: [u8; 32] = out.hasher.finalize().into();
        self.bytes += out.size;
        self.listed.insert(path.to_string(), hex::encode(hash));
        if let Some(old) = self.old.as_ref().map(|o| o.join(path))
            && hash_file(&old).is_ok_and(|(h, size)| h == hash && size == out.size)
            && fs::remove_file(&dest).is_ok()
            && fs::hard_link(&old, &dest).is_ok()
        {
            self.kept += 1;
            return Ok(());
        }
        if !dest.exists() {
            // The link failed after the new copy was removed: write it
            // again from the old one, whose bytes are the same.
            if let Some(old) = self.old.as_ref().map(|o| o.join(path)) {
                fs::copy(&old, &dest).map_err(io_at(&dest))?;
            }
        }
        self.written += 1;
        Ok(())
    }

    /// Copies the blob `hash` from `source` (the store), checking its
    /// hash on the way; or links the previous mirror's copy, checked too.
    fn put_blob(&mut self, path: &str, source: &Path, hash: &BlobHash) -> Result<(), SiteError> {
        let dest = self.dest(path)?;
        if let Some(old) = self.old.as_ref().map(|o| o.join(path))
            && hash_file(&old).is_ok_and(|(h, _)| h == *hash.as_bytes())
            && fs::hard_link(&old, &dest).is_ok()
        {
            self.kept += 1;
        } else {
            // Hashed as it is copied: one read of the store's file.
            let mut from = fs::File::open(source).map_err(io_at(source))?;
            let mut to = Hashing {
                inner: fs::File::create(&dest).map_err(io_at(&dest))?,
                hasher: Sha256::new(),
                size: 0,
            };
            io::copy(&mut from, &mut to).map_err(io_at(&dest))?;
            let actual: [u8; 32] = to.hasher.finalize().into();
            if actual != *hash.as_bytes() {
                return Err(SiteError::Io {
                    path: source.to_path_buf(),
                    source: io::Error::other(format!(
                        "blob {hash} is damaged in the store (SHA-256 {}); run `samizdat verify`",
                        hex::encode(actual)
                    )),
                });
            }
            self.written += 1;
        }
        let size = fs::metadata(&dest).map_err(io_at(&dest))?.len();
        self.bytes += size;
        self.listed.insert(path.to_string(), hash.to_hex());
        Ok(())
    }

    fn dest(&mut self, path: &str) -> Result<PathBuf, SiteError> {
        let dest = self.root.join(path);
        if let Some(dir) = dest.parent()
            && !self.made.contains(dir)
        {
            fs::create_dir_all(dir).map_err(io_at(dir))?;
            self.made.insert(dir.to_path_buf());
        }
        Ok(dest)
    }

    /// `SHA256SUMS`: `sha256sum -c` reads it.
    fn sums(&self) -> String {
        let mut out = String::with_capacity(self.listed.len() * 110);
        for (path, hash) in &self.listed {
            out.push_str(hash);
            out.push_str("  ");
            out.push_str(path);
            out.push('\n');
        }
        out
    }
}

/// A writer that hashes and counts what goes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 and size of a file, read in pieces.
pub(crate) fn hash_file(path: &Path) -> io::Result<([u8; 32], u64)> {
    let (hash, size) = samizdat_store::hash_reader(&mut fs::File::open(path)?)?;
    Ok((*hash.as_bytes(), size))
}

/// Makes every file written under `dir` durable before the swap.
fn durable(dir: &Path) -> Result<(), SiteError> {
    let handle = fs::File::open(dir).map_err(io_at(dir))?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: syncfs on a descriptor this function holds open.
        if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
            return Err(io_at(dir)(io::Error::last_os_error()));
        }
    }
    #[cfg(not(target_os = "linux"))]
    handle.sync_all().map_err(io_at(dir))?;
    Ok(())
}

/// Puts the new mirror `staging` in the place of `out`.
fn swap(staging: &Path, out: &Path, previous: &Path) -> Result<(), SiteError> {
    if !out.exists() {
        fs::rename(staging, out).map_err(io_at(out))?;
    } else if exchange(staging, out).is_ok() {
        // `staging` now holds the previous mirror.
        fs::remove_dir_all(staging).map_err(io_at(staging))?;
    } else {
        // Two renames; a run killed between them finds `previous` and
        // no `out`, and puts the previous mirror back (`prepare`).
        fs::rename(out, previous).map_err(io_at(out))?;
        fs::rename(staging, out).map_err(io_at(out))?;
        fs::remove_dir_all(previous).map_err(io_at(previous))?;
    }
    if let Some(parent) = out.parent() {
        samizdat_store::fsutil::sync_dir(parent).map_err(io_at(parent))?;
    }
    Ok(())
}

/// Swaps two directories in one step (Linux `renameat2` with
/// `RENAME_EXCHANGE`); an error where the system or the file system
/// cannot.
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let a = CString::new(a.as_os_str().as_bytes()).map_err(io::Error::other)?;
        let b = CString::new(b.as_os_str().as_bytes()).map_err(io::Error::other)?;
        // SAFETY: two valid C strings; the call reads them only.
        let done = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if done == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Err(io::Error::other("no atomic exchange here"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_sharded_and_relative() {
        let id = "ab".repeat(32);
        assert_eq!(record_path(&id), format!("r/ab/{id}.html"));
        assert_eq!(person_path(&id), format!("people/ab/{id}.html"));
        let hash: BlobHash = "cd".repeat(32).parse().expect("a hash");
        assert_eq!(
            blob_path(&hash, "image/jpeg"),
            format!("blobs/cd/{}.jpg", "cd".repeat(32))
        );
        assert_eq!(
            blob_path(&hash, "text/x-unknown").rsplit('.').next(),
            Some("bin")
        );
    }

    #[test]
    fn sheets_know_their_depth() {
        let s = Sheet::new(Lang::En, "index.html".into(), "");
        assert_eq!((s.up, s.top), ("", "../"));
        let s = Sheet::new(Lang::En, "days/2026-12-01.html".into(), "");
        assert_eq!((s.up, s.top), ("../", "../../"));
        let s = Sheet::new(Lang::En, record_path(&"ab".repeat(32)), "");
        assert_eq!((s.up, s.top), ("../../", "../../../"));
    }

    #[test]
    fn days_are_utc() {
        assert_eq!(day(1_796_083_200), "2026-12-01");
        assert_eq!(day(1_796_083_199), "2026-11-30");
    }
}
