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

mod files;
mod pages;
mod select;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use samizdat_core::blob::BlobHash;
use samizdat_core::nostr::prelude::{Event, EventId};
use samizdat_store::{Query, Store, StoreError};

use crate::progress::Observer;
use crate::views::records::Item;

pub(crate) use files::hash_file;
use files::*;
use pages::*;
use select::*;

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

const STYLE: &str = include_str!("../../../web/assets/style.css");
const ICON: &str = include_str!("../../../web/assets/icon.svg");

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::Lang;

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
}
