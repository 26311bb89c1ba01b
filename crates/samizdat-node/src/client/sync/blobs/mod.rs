//! Blobs follow records: once the events have crossed, the blobs their
//! records reference (NIP-92 `imeta` `x`) that one side lacks cross over
//! Blossom, smallest first, so a short window carries as many whole
//! photos as it can.
//!
//! A download keeps what it has in `blobs/tmp/<sha256>.part` and, after a
//! cut, resumes with an HTTP range request. Nothing enters the store
//! before its bytes hash to its name and pass the check every upload
//! passes (no identifying metadata). Uploads are `upload`'s.

mod upload;

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{StatusCode, Url, header};
use samizdat_core::BlobHash;
use samizdat_store::Store;
use tokio::io::AsyncWriteExt;

use super::{Budget, Session, Stop, Summary, SyncError, SyncOptions};
use crate::client::outbound;
use crate::client::proxy::Proxy;
use crate::progress::Observer;
use crate::route::RelayUrl;

/// HEAD requests in flight at once while finding what the peer lacks.
pub(super) const PARALLEL_HEADS: usize = 32;
/// How long a push's authorization stays valid.
pub(super) const AUTH_SECONDS: u64 = 600;

/// The peer's Blossom server.
pub struct Peer {
    pub(super) client: reqwest::Client,
    base: Url,
}

impl Peer {
    /// The Blossom server at `explicit`, or else on the relay's own host
    /// and port (`ws://` → `http://`, `wss://` → `https://`).
    pub fn new(
        relay: &RelayUrl,
        explicit: Option<&Url>,
        patience: Duration,
        proxy: Option<&Proxy>,
    ) -> Result<Peer, SyncError> {
        let bad = |why: String| SyncError::BlossomUrl {
            relay: relay.to_string(),
            why,
        };
        let mut base = match explicit {
            Some(url) => url.clone(),
            None => {
                let mut url = relay.url().clone();
                let scheme = match url.scheme() {
                    "ws" | "http" => "http",
                    "wss" | "https" => "https",
                    other => return Err(bad(format!("no Blossom server for a {other}: URL"))),
                };
                url.set_scheme(scheme)
                    .map_err(|()| bad("cannot make an HTTP URL of it".into()))?;
                url.set_query(None);
                url.set_fragment(None);
                url.set_path("/");
                url
            }
        };
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let client = outbound::peer_client(patience, proxy).map_err(|e| bad(e.to_string()))?;
        Ok(Peer { client, base })
    }

    /// The peer's Blossom address.
    pub(super) fn base(&self) -> &Url {
        &self.base
    }

    pub(super) fn url(&self, path: &str) -> Result<Url, SyncError> {
        self.base
            .join(path)
            .map_err(|e| SyncError::Protocol(e.to_string()))
    }

    /// Whether the peer holds `hash`, and its size; or, if it does not,
    /// how many bytes of a cut upload of it it keeps.
    async fn head(&self, hash: &BlobHash) -> Result<Held, SyncError> {
        let url = self.url(&hash.to_hex())?;
        let response = self.client.head(url).send().await.map_err(http)?;
        let number = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        match response.status() {
            StatusCode::OK => Ok(Held::Whole(
                number(header::CONTENT_LENGTH).unwrap_or(u64::MAX),
            )),
            StatusCode::NOT_FOUND => Ok(Held::Lacks {
                kept: number(header::HeaderName::from_static(UPLOAD_OFFSET)).unwrap_or(0),
            }),
            status => Err(SyncError::Refused(format!(
                "HEAD /{hash} answered {status}"
            ))),
        }
    }
}

/// The header by which a samizdat node says how much of a cut upload it
/// keeps, and by which an upload says where it goes on from.
pub(super) const UPLOAD_OFFSET: &str = "upload-offset";

/// What the peer has of a blob.
#[derive(Debug, Clone, Copy)]
enum Held {
    /// All of it, this many bytes.
    Whole(u64),
    /// Not the blob; `kept` bytes of a cut upload of it.
    Lacks { kept: u64 },
}

/// A failed request to the peer's Blossom server, with its cause.
pub(super) fn http(e: reqwest::Error) -> SyncError {
    SyncError::Http {
        source: outbound::transport(e),
    }
}

/// How one blob's transfer ended.
pub(super) enum Step {
    Done,
    /// The blob was refused (by the peer, or here), with the reason.
    Refused(String),
    /// The window or budget ran out part-way.
    Stopped(Stop),
}

/// What every step of one blob phase shares: the store, the peer, what
/// was asked, the budget, and the bytes the events' phase spent of it.
#[derive(Clone, Copy)]
pub(super) struct Run<'a> {
    pub(super) store: &'a Store,
    pub(super) peer: &'a Peer,
    pub(super) options: &'a SyncOptions,
    pub(super) budget: &'a Budget,
    pub(super) wire: u64,
}

/// Moves the blobs in `hashes` (referenced by the synced records) that one
/// side lacks, in the directions the options allow; `wire` bytes of the
/// budget went to the events.
pub(super) async fn sync(
    s: &mut Session<'_>,
    peer: &Peer,
    wire: u64,
    hashes: Vec<BlobHash>,
) -> Result<(), SyncError> {
    let (store, options, budget) = (s.store, s.options, &s.budget);
    let (summary, observer) = (&mut *s.summary, &mut *s.observer);
    let run = Run {
        store,
        peer,
        options,
        budget,
        wire,
    };
    // Which blobs are here, and how large: the shelf, off the runtime.
    let (here, absent) = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || {
            let mut here = Vec::new();
            let mut absent = Vec::new();
            for hash in hashes {
                match store.blobs().stat(&hash) {
                    Ok(Some(stat)) => here.push((stat.size, hash)),
                    _ => absent.push(hash),
                }
            }
            (here, absent)
        })
        .await
        .map_err(|source| SyncError::Task {
            what: "looking for blobs",
            source,
        })?
    };
    if options.direction.pulls() && !absent.is_empty() {
        observer.phase("finding blobs to fetch", Some(absent.len() as u64));
        let mut wanted = Vec::new();
        for (hash, found) in heads(peer, absent, observer).await {
            match found {
                Ok(Held::Whole(size)) => wanted.push((size, hash)),
                Ok(Held::Lacks { .. }) => {}
                Err(why) => note(summary, why.to_string()),
            }
        }
        // Smallest first: the most whole photos for the bytes.
        wanted.sort();
        summary.blobs_missing_here = wanted.len() as u64;
        observer.phase(
            "fetching blobs",
            Some(
                wanted
                    .iter()
                    .map(|(s, _)| (*s).min(options.max_blob_bytes))
                    .sum(),
            ),
        );
        for (size, hash) in wanted {
            if let Some(stop) = budget.spent(wire + summary.blob_bytes()) {
                summary.stopped = Some(stop);
                return Ok(());
            }
            match fetch(run, &hash, size, summary, observer).await? {
                Step::Done => summary.blobs_received += 1,
                Step::Refused(why) => {
                    summary.blobs_rejected += 1;
                    note(summary, why);
                }
                Step::Stopped(stop) => {
                    summary.stopped = Some(stop);
                    return Ok(());
                }
            }
        }
    }
    if options.direction.pushes() && !here.is_empty() {
        observer.phase("finding blobs to send", Some(here.len() as u64));
        let sizes: std::collections::HashMap<BlobHash, u64> =
            here.iter().map(|(size, hash)| (*hash, *size)).collect();
        let mut lacking = Vec::new();
        let hashes = here.into_iter().map(|(_, hash)| hash).collect();
        for (hash, found) in heads(peer, hashes, observer).await {
            match found {
                Ok(Held::Whole(_)) => {}
                Ok(Held::Lacks { kept }) => {
                    let size = sizes.get(&hash).copied().unwrap_or(0);
                    let kept = if kept < size { kept } else { 0 };
                    lacking.push((size - kept, hash, kept));
                }
                Err(why) => note(summary, why.to_string()),
            }
        }
        // What is left to send, least first: cut uploads near their end,
        // then the smallest photos.
        lacking.sort();
        summary.blobs_missing_there = lacking.len() as u64;
        observer.phase(
            "sending blobs",
            Some(lacking.iter().map(|(s, ..)| *s).sum()),
        );
        upload::send_all(run, summary, observer, lacking).await?;
    }
    Ok(())
}

pub(super) fn note(summary: &mut Summary, why: String) {
    tracing::debug!(problem = %why, "blob sync");
    if summary.first_blob_problem.is_none() {
        summary.first_blob_problem = Some(why);
    }
}

/// Asks the peer about each blob, a few at a time.
async fn heads(
    peer: &Peer,
    hashes: Vec<BlobHash>,
    observer: &mut dyn Observer,
) -> Vec<(BlobHash, Result<Held, SyncError>)> {
    let mut answers = futures_util::stream::iter(hashes)
        .map(|hash| async move { (hash, peer.head(&hash).await) })
        .buffer_unordered(PARALLEL_HEADS);
    let mut out = Vec::new();
    while let Some(answer) = answers.next().await {
        observer.advance(1);
        out.push(answer);
    }
    out
}

/// Downloads one blob into its partial file, resuming what an earlier
/// run left, then checks and stores it.
async fn fetch(
    run: Run<'_>,
    hash: &BlobHash,
    size: u64,
    summary: &mut Summary,
    observer: &mut dyn Observer,
) -> Result<Step, SyncError> {
    let Run {
        store,
        peer,
        options,
        budget,
        wire,
    } = run;
    let max = options.max_blob_bytes;
    if size > max {
        return Ok(Step::Refused(format!(
            "blob {hash} is {size} bytes, more than the {max} taken from a peer"
        )));
    }
    let local = |source: std::io::Error| SyncError::BlobFile {
        hash: *hash,
        source,
    };
    // One download of a blob at a time, across peers and processes; held
    // until it is stored or dropped.
    let Some(_downloading) = store.blobs().download_lock(hash).map_err(local)? else {
        return Ok(Step::Refused(format!(
            "blob {hash}: another download of it is under way"
        )));
    };
    // Off the runtime: on a bucket, a request to the object store.
    let here = {
        let (store, hash) = (store.clone(), *hash);
        tokio::task::spawn_blocking(move || store.blobs().contains(&hash))
            .await
            .map_err(|source| SyncError::Task {
                what: "looking for a blob",
                source,
            })?
    };
    if here {
        return Ok(Step::Done);
    }
    let partial = store.blobs().partial_path(hash);
    let mut have = tokio::fs::metadata(&partial).await.map_or(0, |m| m.len());
    if have >= size {
        // Longer than the whole: not a prefix of this blob.
        have = 0;
    }
    let mut request = peer.client.get(peer.url(&hash.to_hex())?);
    if have > 0 {
        request = request.header(header::RANGE, format!("bytes={have}-"));
    }
    let response = match within(budget, options.patience, request.send()).await {
        Wait::Done(r) => r.map_err(http)?,
        Wait::Stopped(stop) => return Ok(Step::Stopped(stop)),
        Wait::TimedOut => return Err(SyncError::Timeout("waiting for a blob")),
    };
    let resumed = match response.status() {
        StatusCode::PARTIAL_CONTENT if have > 0 => {
            let range = response
                .headers()
                .get(header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !range.starts_with(&format!("bytes {have}-")) {
                return Ok(Step::Refused(format!(
                    "blob {hash}: the peer answered a range request with {range:?}"
                )));
            }
            true
        }
        StatusCode::OK => false,
        StatusCode::NOT_FOUND => return Ok(Step::Refused(format!("the peer lost blob {hash}"))),
        status => return Ok(Step::Refused(format!("GET /{hash} answered {status}"))),
    };
    if resumed {
        summary.blobs_resumed += 1;
        tracing::debug!(%hash, from = have, "resuming a blob");
    } else {
        have = 0;
    }
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(&partial)
        .await
        .map_err(local)?;
    observer.advance(have);
    let mut response = response;
    // Bounded: every round takes at least one byte, and the total is capped.
    loop {
        let chunk = match within(budget, options.patience, response.chunk()).await {
            Wait::Done(chunk) => chunk,
            Wait::Stopped(stop) => {
                file.flush().await.map_err(local)?;
                return Ok(Step::Stopped(stop));
            }
            Wait::TimedOut => {
                file.flush().await.map_err(local)?;
                return Err(SyncError::Timeout("waiting for blob bytes"));
            }
        };
        let chunk = match chunk {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                file.flush().await.map_err(local)?;
                return Err(http(e));
            }
        };
        have += chunk.len() as u64;
        if have > max {
            drop(file);
            let _ = tokio::fs::remove_file(&partial).await;
            return Ok(Step::Refused(format!("blob {hash} runs past {max} bytes")));
        }
        file.write_all(&chunk).await.map_err(local)?;
        summary.blob_bytes_in += chunk.len() as u64;
        observer.advance(chunk.len() as u64);
        if let Some(stop) = budget.spent(wire + summary.blob_bytes()) {
            file.flush().await.map_err(local)?;
            return Ok(Step::Stopped(stop));
        }
    }
    file.flush().await.map_err(local)?;
    drop(file);
    let store = store.clone();
    let hash = *hash;
    tokio::task::spawn_blocking(move || admit(&store, &hash))
        .await
        .map_err(|source| SyncError::Task {
            what: "checking a blob",
            source,
        })?
}

/// Checks a finished download (its hash, and the admission rule every
/// door applies) and moves it into the store, or drops it.
fn admit(store: &Store, hash: &BlobHash) -> Result<Step, SyncError> {
    match store.blobs().adopt_partial(hash) {
        Ok(_) => Ok(Step::Done),
        Err(
            e @ (samizdat_store::BlobError::Corrupt { .. } | samizdat_store::BlobError::Refused(_)),
        ) => Ok(Step::Refused(format!("blob {hash} from the peer: {e}"))),
        Err(source) => Err(SyncError::Blob {
            hash: *hash,
            source,
        }),
    }
}

/// Uploads one blob (BUD-02).
enum Wait<T> {
    Done(T),
    Stopped(Stop),
    TimedOut,
}

/// Waits for `future` at most `patience`, and not past the window.
async fn within<T>(
    budget: &Budget,
    patience: Duration,
    future: impl std::future::Future<Output = T>,
) -> Wait<T> {
    let (wait, closes) = match budget.remaining() {
        Some(left) if left < patience => (left, true),
        _ => (patience, false),
    };
    match tokio::time::timeout(wait, future).await {
        Ok(v) => Wait::Done(v),
        Err(_) if closes => Wait::Stopped(Stop::Window),
        Err(_) => Wait::TimedOut,
    }
}
