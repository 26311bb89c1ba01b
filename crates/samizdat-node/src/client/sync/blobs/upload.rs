//! Blobs this side has and the peer lacks, uploaded (BUD-02) a few at a
//! time, the least left first. An upload is authorized by a kind 24242
//! event signed with a key made for this run: sync speaks for no one. A
//! samizdat peer keeps what came of an upload the link cut, and says so
//! (`Upload-Offset` on `HEAD`); the upload then goes on from there
//! instead of starting again.

use base64::Engine;
use futures_util::StreamExt;
use reqwest::{StatusCode, header};
use samizdat_core::BlobHash;
use samizdat_core::nostr::prelude::{Keys, Kind, Timestamp};
use samizdat_core::sign::Draft;

use super::{AUTH_SECONDS, Run, Step, Stop, Summary, SyncError, UPLOAD_OFFSET, http, note};
use crate::progress::Observer;

/// Uploads in flight at once: while one waits for its answer across a
/// long round trip, the others keep the link busy.
const UPLOADS_IN_FLIGHT: usize = 3;

/// Sends `lacking` (bytes left, blob, bytes the peer keeps of it), a few
/// at a time, in order.
pub(super) async fn send_all(
    run: Run<'_>,
    summary: &mut Summary,
    observer: &mut dyn Observer,
    lacking: Vec<(u64, BlobHash, u64)>,
) -> Result<(), SyncError> {
    let keys = upload_key(run.options.identity.as_ref(), run.peer.base().as_str());
    let (data, place) = (run.store.dir().to_path_buf(), run.peer.base().to_string());
    let mut begun = {
        let (data, place) = (data.clone(), place.clone());
        tokio::task::spawn_blocking(move || super::super::delivered::begun(&data, &place))
            .await
            .map_err(|source| SyncError::Task {
                what: "reading the uploads begun",
                source,
            })?
    };
    // Where the uploads begun before go on from: asked with this side's
    // key, which alone may see them.
    let again: Vec<BlobHash> = lacking
        .iter()
        .map(|(_, hash, _)| *hash)
        .filter(|hash| begun.contains(hash))
        .collect();
    let kept = offsets(run, &keys, again).await;
    let mut lacking: Vec<(u64, BlobHash, u64)> = lacking
        .into_iter()
        .map(|(left, hash, _)| match kept.get(&hash) {
            Some(&k) if k < left => (left - k, hash, k),
            _ => (left, hash, 0),
        })
        .collect();
    lacking.sort();
    let sent = upload_all(run, &keys, summary, observer, lacking, &mut begun).await;
    // Uploads begun and not finished: next time, their offsets are asked.
    let kept = tokio::task::spawn_blocking(move || {
        super::super::delivered::set_begun(&data, &place, &begun)
    })
    .await
    .map_err(|source| SyncError::Task {
        what: "remembering the uploads begun",
        source,
    })?;
    if let Err(e) = kept {
        tracing::warn!(error = %e, "remembering the uploads begun");
    }
    sent
}

/// The key uploads to one peer are signed with: derived from this node's
/// key and the peer's address, so that an upload cut in one run goes on
/// in the next (a node keeps a cut upload for the key that began it), and
/// peers cannot link the uploads they get to each other's; a fresh key
/// when this side has no node key.
fn upload_key(node: Option<&Keys>, peer: &str) -> Keys {
    use sha2::{Digest, Sha256};
    let Some(node) = node else {
        return Keys::generate();
    };
    let digest = Sha256::new()
        .chain_update(b"samizdat blossom upload key\0")
        .chain_update(node.secret_key().as_secret_bytes())
        .chain_update(peer.as_bytes())
        .finalize();
    samizdat_core::nostr::prelude::SecretKey::from_slice(&digest)
        .map(Keys::new)
        .unwrap_or_else(|_| Keys::generate())
}

/// How many bytes of each blob's cut upload by `keys` the peer keeps
/// (`HEAD /upload`, a few at a time); blobs it keeps nothing of are left
/// out.
async fn offsets(
    run: Run<'_>,
    keys: &Keys,
    hashes: Vec<BlobHash>,
) -> std::collections::HashMap<BlobHash, u64> {
    let mut answers = futures_util::stream::iter(hashes)
        .map(|hash| offset(run, keys, hash))
        .buffer_unordered(super::PARALLEL_HEADS);
    let mut kept = std::collections::HashMap::new();
    while let Some(answer) = answers.next().await {
        if let Some((hash, offset)) = answer {
            kept.insert(hash, offset);
        }
    }
    kept
}

/// How many bytes of its cut upload of `hash` by `keys` the peer keeps.
async fn offset(run: Run<'_>, keys: &Keys, hash: BlobHash) -> Option<(BlobHash, u64)> {
    let auth = authorization(keys, &hash).ok()?;
    let response = run
        .peer
        .client
        .head(run.peer.url("upload").ok()?)
        .header(header::AUTHORIZATION, auth)
        .header("x-sha-256", hash.to_hex())
        .send()
        .await
        .ok()?;
    let kept = response
        .headers()
        .get(UPLOAD_OFFSET)?
        .to_str()
        .ok()?
        .parse::<u64>()
        .ok()?;
    Some((hash, kept))
}

/// `Authorization: Nostr …` for uploading `hash`.
fn authorization(keys: &Keys, hash: &BlobHash) -> Result<String, SyncError> {
    let now = Timestamp::now().as_secs();
    let auth = Draft {
        kind: Kind::Custom(crate::proto::BLOSSOM_AUTH_KIND),
        created_at: Timestamp::from_secs(now),
        tags: vec![
            vec!["t".into(), "upload".into()],
            vec!["x".into(), hash.to_hex()],
            vec!["expiration".into(), (now + AUTH_SECONDS).to_string()],
        ],
        content: "samizdat sync".into(),
    }
    .sign(keys)
    .map_err(|e| SyncError::Protocol(e.to_string()))?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(auth.as_json());
    Ok(format!("Nostr {encoded}"))
}

/// The uploads themselves, in order, a few at a time; `begun` keeps the
/// blobs whose upload started and did not end.
async fn upload_all(
    run: Run<'_>,
    keys: &Keys,
    summary: &mut Summary,
    observer: &mut dyn Observer,
    lacking: Vec<(u64, BlobHash, u64)>,
    begun: &mut std::collections::HashSet<BlobHash>,
) -> Result<(), SyncError> {
    let mut queue = lacking.into_iter();
    let mut running = futures_util::stream::FuturesUnordered::new();
    let mut planned = 0u64;
    let mut stopped = None;
    // Bounded: each turn starts an upload or ends one.
    loop {
        while running.len() < UPLOADS_IN_FLIGHT && stopped.is_none() {
            let Some((left, hash, kept)) = queue.next() else {
                break;
            };
            // An upload that would overrun the byte budget is not begun.
            let used = run.wire + summary.blob_bytes() + planned + left;
            if let Some(stop) = run.budget.spent(used) {
                stopped = Some(stop);
                break;
            }
            planned += left;
            begun.insert(hash);
            running.push(async move { (left, hash, send(run, keys, hash, kept).await) });
        }
        let Some((left, hash, sent)) = running.next().await else {
            break;
        };
        planned -= left;
        let (step, bytes) = sent?;
        summary.blob_bytes_out += bytes;
        observer.advance(bytes);
        match step {
            Step::Done => {
                begun.remove(&hash);
                summary.blobs_sent += 1;
            }
            Step::Refused(why) => {
                begun.remove(&hash);
                summary.blobs_refused_by_peer += 1;
                note(summary, why);
            }
            Step::Stopped(stop) => stopped = Some(stop),
        }
    }
    if stopped.is_some() {
        summary.stopped = stopped;
    }
    Ok(())
}

/// Uploads one blob, going on from the `kept` bytes of a cut upload the
/// peer holds; returns how it ended and the bytes that crossed.
async fn send(
    run: Run<'_>,
    keys: &Keys,
    hash: BlobHash,
    kept: u64,
) -> Result<(Step, u64), SyncError> {
    let Run {
        store,
        peer,
        budget,
        ..
    } = run;
    let bytes = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.blobs().get(&hash))
            .await
            .map_err(|source| SyncError::Task {
                what: "reading a blob",
                source,
            })?
    };
    let bytes = match bytes {
        Ok(bytes) => bytes::Bytes::from(bytes),
        // A blob damaged here is not passed on.
        Err(e) => return Ok((Step::Refused(e.to_string()), 0)),
    };
    let auth = authorization(keys, &hash)?;
    let mut from = kept.min(bytes.len() as u64);
    // Twice at most: once more when the peer keeps another part than it
    // said (`409` with its offset).
    for _ in 0..2 {
        let rest = bytes.slice(usize::try_from(from).unwrap_or(0)..);
        let size = rest.len() as u64;
        let mut request = peer
            .client
            .put(peer.url("upload")?)
            .header(header::AUTHORIZATION, auth.as_str())
            .header("x-sha-256", hash.to_hex())
            .header(header::CONTENT_TYPE, "application/octet-stream");
        if from > 0 {
            request = request.header(UPLOAD_OFFSET, from.to_string());
        }
        let request = request.body(rest);
        // Cut at the window's close: a samizdat peer keeps what came.
        let response = match budget.remaining() {
            Some(left) => match tokio::time::timeout(left, request.send()).await {
                Ok(r) => r,
                Err(_) => return Ok((Step::Stopped(Stop::Window), 0)),
            },
            None => request.send().await,
        }
        .map_err(http)?;
        let status = response.status();
        if status.is_success() {
            return Ok((Step::Done, size));
        }
        let offset = response
            .headers()
            .get(UPLOAD_OFFSET)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if status == StatusCode::CONFLICT
            && let Some(offset) = offset
            && offset < bytes.len() as u64
        {
            from = offset;
            continue;
        }
        let reason = response
            .headers()
            .get("x-reason")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        return Ok((
            Step::Refused(format!("the peer refused blob {hash}: {status} {reason}")),
            size,
        ));
    }
    Ok((
        Step::Refused(format!(
            "the peer kept changing where blob {hash} should go on from"
        )),
        0,
    ))
}
