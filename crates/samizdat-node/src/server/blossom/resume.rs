//! Resumable uploads, samizdat's extension of BUD-02, for links that are
//! cut mid-photo. An upload whose authorization names its blob (an `x`
//! tag, and `X-SHA-256` saying the same) keeps what comes in
//! `blobs/tmp/<sha256>.<uploader>.upload` as it comes: each uploader's
//! own, which no other key can add to, stop, see or drop. If it is cut,
//! `HEAD /upload` with that key's authorization answers `Upload-Offset:
//! N`, and the sender goes on with `PUT /upload`, `Upload-Offset: N` and
//! the rest of the bytes; its newer upload stops an older one still
//! waiting on a dead link. Nothing kept is a blob
//! until the whole hashes to its name and passes the admission rule, as
//! any upload must; what fails is dropped. Cut uploads are capped in all
//! (`blossom.partial_upload_bytes`) and swept a day after they were last
//! added to.
//!
//! A server without this extension never answers `Upload-Offset`, so a
//! sender never resumes with it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use samizdat_core::BlobHash;
use samizdat_store::Store;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use crate::pace::BodyError;

use super::answer::{Answer, BlossomError, OFFSET};

/// How long a cut upload is kept after it was last added to.
pub(crate) const KEPT_FOR: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// What an upload request says about resuming: the blob it names
/// (`X-SHA-256`) and where its body starts in the blob.
pub(super) struct Resume {
    pub hash: Option<BlobHash>,
    pub offset: u64,
}

pub(super) fn read(headers: &HeaderMap) -> Answer<Resume> {
    let text = |name: &str| headers.get(name).and_then(|h| h.to_str().ok());
    let hash = text("x-sha-256")
        .map(|h| super::blob_name(h.trim()))
        .transpose()
        .map_err(|_| BlossomError::new(StatusCode::BAD_REQUEST, "X-SHA-256 is not a SHA-256"))?;
    let offset = match text(OFFSET) {
        None => 0,
        Some(n) => n.trim().parse::<u64>().map_err(|_| {
            BlossomError::new(
                StatusCode::BAD_REQUEST,
                "Upload-Offset is not a number of bytes",
            )
        })?,
    };
    Ok(Resume { hash, offset })
}

/// The bytes kept of the cut upload `key`, which must be `offset` long:
/// otherwise `409` says how many are kept (its length is looked at
/// before anything is read).
pub(super) async fn prefix(store: &Store, key: Key, offset: u64) -> Answer<Vec<u8>> {
    let store = store.clone();
    let read = tokio::task::spawn_blocking(move || {
        let (hash, uploader) = key;
        let have = store
            .blobs()
            .partial_upload_len(&hash, &uploader)
            .unwrap_or(0);
        if have != offset {
            return Ok(Err(have));
        }
        store.blobs().partial_upload(&hash, &uploader).map(Ok)
    })
    .await
    .map_err(BlossomError::internal)?
    .map_err(BlossomError::internal)?;
    match read {
        Ok(kept) if kept.len() as u64 == offset => Ok(kept),
        Ok(kept) => Err(conflict(kept.len() as u64, offset)),
        Err(have) => Err(conflict(have, offset)),
    }
}

fn conflict(have: u64, offset: u64) -> BlossomError {
    BlossomError::new(
        StatusCode::CONFLICT,
        format!("this node keeps {have} bytes of that upload, not {offset}; go on from there"),
    )
    .with_offset(Some(have))
}

/// Uploads of named blobs in progress, one per blob and uploader. A newer
/// upload tells the older one to stop: a sender whose link was cut comes
/// back before the node has noticed that the old connection is gone.
#[derive(Default)]
pub(crate) struct InProgress {
    uploads: Mutex<HashMap<Key, (u64, watch::Sender<bool>)>>,
    next: AtomicU64,
}

/// A cut upload's owner: the blob, and the key its uploads are signed by.
/// Only that key can add to it, stop it, see it or drop it.
pub(super) type Key = (BlobHash, [u8; 32]);

/// One upload's turn at its cut-upload file; given back on drop.
pub(super) struct Turn {
    registry: Arc<InProgress>,
    key: Key,
    id: u64,
    stop: watch::Receiver<bool>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut uploads = self
            .registry
            .uploads
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if uploads.get(&self.key).is_some_and(|(id, _)| *id == self.id) {
            uploads.remove(&self.key);
        }
    }
}

/// How long a newer upload waits for an older one of the same blob to
/// let go, in steps.
const TAKE_OVER_STEP: Duration = Duration::from_millis(20);
const TAKE_OVER_STEPS: usize = 250;

impl InProgress {
    /// Takes the turn at `key`, telling an older upload of it (by the same
    /// key) to stop and waiting (a bounded time) until it has; `None` if it
    /// would not.
    pub(super) async fn take(registry: &Arc<InProgress>, key: Key) -> Option<Turn> {
        for _ in 0..TAKE_OVER_STEPS {
            {
                let mut uploads = registry.uploads.lock().unwrap_or_else(|e| e.into_inner());
                match uploads.get(&key) {
                    Some((_, older)) => {
                        let _ = older.send(true);
                    }
                    None => {
                        let id = registry.next.fetch_add(1, Ordering::Relaxed);
                        let (tell, stop) = watch::channel(false);
                        uploads.insert(key, (id, tell));
                        return Some(Turn {
                            registry: Arc::clone(registry),
                            key,
                            id,
                            stop,
                        });
                    }
                }
            }
            tokio::time::sleep(TAKE_OVER_STEP).await;
        }
        None
    }
}

/// Reads an upload's body, as `pace::read_partial` does, adding each
/// piece to the blob's cut-upload file as it comes (when `file` is given),
/// so that wherever the link breaks, what came is kept. A newer upload of
/// the blob (`turn`) stops it.
pub(super) async fn read_body(
    body: axum::body::Body,
    limit: usize,
    mut file: Option<tokio::fs::File>,
    turn: Option<&mut Turn>,
) -> (Vec<u8>, Option<BodyError>) {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut pace = crate::pace::Pace::start();
    let mut bytes = Vec::new();
    let mut stop = turn.map(|t| t.stop.clone());
    let stopped = async |stop: &mut Option<watch::Receiver<bool>>| match stop {
        Some(stop) => {
            let _ = stop.wait_for(|s| *s).await;
        }
        None => std::future::pending().await,
    };
    // Bounded: each turn takes a piece within PIECE_WITHIN, and the pace
    // check ends a body that comes too slowly.
    loop {
        let next = tokio::time::timeout(crate::pace::PIECE_WITHIN, stream.next());
        let piece = tokio::select! {
            piece = next => piece,
            () = stopped(&mut stop) => {
                return (bytes, Some(BodyError::Slow(crate::pace::TooSlow)));
            }
        };
        let piece = match piece {
            Err(_) => return (bytes, Some(crate::pace::TooSlow.into())),
            Ok(None) => return (bytes, None),
            Ok(Some(Err(e))) => return (bytes, Some(BodyError::Cut(e))),
            Ok(Some(Ok(piece))) => piece,
        };
        if bytes.len().saturating_add(piece.len()) > limit {
            return (bytes, Some(BodyError::TooLarge(limit)));
        }
        // Flushed piece by piece: the next upload's `prefix` reads the file.
        if let Some(out) = file.as_mut()
            && let Err(e) = async {
                out.write_all(&piece).await?;
                out.flush().await
            }
            .await
        {
            tracing::warn!(error = %e, "keeping an upload as it comes; going on without");
            file = None;
        }
        bytes.extend_from_slice(&piece);
        if let Err(e) = pace.piece(piece.len()) {
            return (bytes, Some(e.into()));
        }
    }
}

/// Opens the cut-upload file `key` to add to (see `read_body`), when
/// all cut uploads stay within `cap` with `room` more.
pub(super) async fn open(store: &Store, key: Key, room: u64, cap: u64) -> Option<tokio::fs::File> {
    let store = store.clone();
    let (hash, uploader) = key;
    let opened = tokio::task::spawn_blocking(move || {
        store
            .blobs()
            .open_partial_upload(&hash, &uploader, room, cap)
    })
    .await;
    match opened {
        Ok(Ok(Some(file))) => Some(tokio::fs::File::from_std(file)),
        Ok(Ok(None)) => {
            tracing::info!(hash = %hash.to_hex(), "an upload not kept as it comes: no room");
            None
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "opening a cut-upload file");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "opening a cut-upload file");
            None
        }
    }
}

/// Forgets the cut upload `key`: finished, or gone wrong.
pub(super) async fn forget(store: &Store, key: Key) {
    let store = store.clone();
    let (hash, uploader) = key;
    let dropped =
        tokio::task::spawn_blocking(move || store.blobs().drop_partial_upload(&hash, &uploader))
            .await;
    if let Ok(Err(e)) = dropped {
        tracing::warn!(error = %e, "dropping a cut upload");
    }
}

/// How many bytes of the cut upload `key` are kept, for `HEAD /upload`.
pub(super) fn kept(store: &Store, key: &Key) -> Option<u64> {
    store.blobs().partial_upload_len(&key.0, &key.1)
}
