//! The Blossom blob server, on the relay's port.
//!
//! - `GET`/`HEAD /<sha256>[.ext]` (BUD-01), with single-range requests;
//! - `PUT /upload` (BUD-02): stored unmodified, or refused;
//! - `PUT /mirror` (BUD-04): the same, for a blob fetched from a URL, which
//!   must match the authorization's `x` tag; loopback and private
//!   addresses are refused unless the operator allows them;
//! - `HEAD /upload` (BUD-06): may this upload go ahead?
//! - `GET /list/<pubkey>` and `DELETE /<sha256>` (BUD-12);
//! - kind 24242 authorization (BUD-11) for upload and delete.
//!
//! The witness comes first: bytes are stored only by the admission rule
//! of every door (`samizdat_media::admit`, run by the store). An uploaded
//! photo or video that still carries identifying metadata (GPS position,
//! camera serial, times, thumbnails…) is refused with the list of what it
//! carries, because BUD-02 forbids changing a blob and storing it would
//! publish the witness's location; any other format is refused; encrypted
//! data (a sealed file) is stored as it is.

mod answer;
pub mod auth;
mod range;
mod resume;
mod upload;

pub(crate) use resume::KEPT_FOR as CUT_UPLOADS_KEPT_FOR;
pub(crate) use upload::upload;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State as Extract};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use samizdat_core::BlobHash;
use samizdat_core::blob::MEDIA_TYPES;
use samizdat_core::nostr::prelude::{Event, PublicKey, Timestamp};
use samizdat_media::MediaType;
use samizdat_store::{OwnedBlob, Store};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

pub use answer::BlossomError;
use answer::{Answer, not_kept};
use auth::{AuthError, Verb};

use crate::client::outbound::{FetchError, Fetcher};
use crate::server::relay::PerIp;
use crate::server::{Shared, State};

/// What only Blossom holds.
pub(crate) struct Own {
    /// The client `PUT /mirror` downloads with, when mirroring is on.
    pub mirror: Option<Fetcher>,
    /// Upload budget per address, in bytes.
    pub upload_bytes: PerIp,
    /// Upload bodies read at once: each may hold up to
    /// `blossom.max_upload_bytes` in memory.
    pub bodies: tokio::sync::Semaphore,
    /// Uploads of named blobs in progress (see `resume`).
    pub uploads: Arc<resume::InProgress>,
}

/// Blossom's part of the node's state.
#[derive(Clone)]
pub(crate) struct Blossom {
    pub node: Arc<Shared>,
    pub blossom: Arc<Own>,
}

impl axum::extract::FromRef<State> for Blossom {
    fn from_ref(state: &State) -> Blossom {
        Blossom {
            node: Arc::clone(&state.node),
            blossom: Arc::clone(&state.blossom),
        }
    }
}

/// `<64 hex>[.ext]` → the hash. Anything else is no blob address.
fn blob_name(name: &str) -> Answer<BlobHash> {
    let hex = name.split_once('.').map_or(name, |(h, _)| h);
    let mut bytes = [0u8; 32];
    if hex.len() != 64 || hex::decode_to_slice(hex, &mut bytes).is_err() {
        return Err(BlossomError::new(
            StatusCode::NOT_FOUND,
            "not a blob address: /<sha256>[.ext]",
        ));
    }
    Ok(BlobHash::from_bytes(bytes))
}

/// The URL suffix for a stored type (`.jpg`…), from the protocol's list.
fn extension(mime: Option<&str>) -> String {
    MEDIA_TYPES
        .iter()
        .find(|(m, _)| Some(*m) == mime)
        .map(|(_, ext)| format!(".{ext}"))
        .unwrap_or_default()
}

fn descriptor(headers: &HeaderMap, blob: &OwnedBlob) -> Value {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let hex = blob.hash.to_hex();
    json!({
        "url": format!("http://{host}/{hex}{}", extension(blob.mime.as_deref())),
        "sha256": hex,
        "size": blob.size,
        "type": blob.mime.as_deref().unwrap_or("application/octet-stream"),
        "uploaded": blob.uploaded,
    })
}

/// Reads and verifies the authorization header; the signature is checked
/// on a blocking thread.
async fn authorize(
    headers: &HeaderMap,
    verb: Verb,
    hash: Option<&BlobHash>,
) -> Answer<(PublicKey, Event)> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let event = auth::parse(header)?;
    let event = tokio::task::spawn_blocking(move || event.verify().map(|()| event))
        .await
        .map_err(BlossomError::internal)?
        .map_err(|_| AuthError::BadSignature)?;
    let pubkey = auth::check(&event, verb, hash, Timestamp::now())?;
    Ok((pubkey, event))
}

/// How long an upload waits for its turn to be read.
const WAIT_FOR_TURN: std::time::Duration = std::time::Duration::from_secs(60);

/// Spends `bytes` of the address's upload budget, or says it is spent.
fn spend(state: &Blossom, peer: SocketAddr, bytes: u64) -> Answer<()> {
    let ip = peer.ip().to_canonical();
    if state
        .blossom
        .upload_bytes
        .take_n(ip, bytes as f64, std::time::Instant::now())
    {
        return Ok(());
    }
    Err(BlossomError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "this address has uploaded its {} bytes for the hour; try again later",
            state.node.config.blossom.upload_bytes_per_hour
        ),
    ))
}

/// Refuses a blob no stored record names when the uploads waiting for a
/// record already fill `blossom.unreferenced_bytes`.
fn within_quota(store: &Store, quota: u64, hash: &BlobHash, size: u64) -> Answer<()> {
    if store.blob_is_referenced(hash)? || store.blobs().contains(hash) {
        return Ok(());
    }
    let waiting = store.unreferenced_blob_bytes()?;
    if waiting.saturating_add(size) > quota {
        return Err(BlossomError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            format!(
                "this node already keeps {waiting} bytes of uploads that no record names (at \
                 most {quota}); publish the records that name yours, or delete what you do not \
                 need, then upload again"
            ),
        ));
    }
    Ok(())
}

/// Stores `bytes` (whose hash is `hash`), if the admission rule takes
/// them, and records `pubkey` as an owner. The type served is the rule's:
/// a cleaned format's, or `application/octet-stream` for encrypted data,
/// whatever the sender said.
async fn keep(
    state: &Blossom,
    pubkey: PublicKey,
    hash: BlobHash,
    bytes: Vec<u8>,
) -> Answer<OwnedBlob> {
    let store = state.node.ingest.store().clone();
    let quota = state.node.config.blossom.unreferenced_bytes;
    tokio::task::spawn_blocking(move || -> Answer<OwnedBlob> {
        within_quota(&store, quota, &hash, bytes.len() as u64)?;
        let kept = store.blobs().put(&bytes).map_err(not_kept)?;
        let blob = OwnedBlob {
            hash,
            size: bytes.len() as u64,
            mime: Some(kept.admitted.mime().to_string()),
            uploaded: Timestamp::now().as_secs(),
        };
        store.add_blob_owner(pubkey, blob.clone())?;
        // A delete of the same blob may have run between the write and the
        // owner record; the record is in now, so make sure the bytes are.
        if !store.blobs().contains(&hash) {
            store.blobs().put(&bytes).map_err(not_kept)?;
        }
        Ok(blob)
    })
    .await
    .map_err(BlossomError::internal)?
}

/// Largest `PUT /mirror` request body: `{"url": ...}`.
const MIRROR_BODY_BYTES: usize = 8 * 1024;

#[derive(serde::Deserialize)]
struct MirrorRequest {
    url: String,
}

/// BUD-04: fetch the blob at a URL, check it against the authorization's
/// `x` tag, and keep it as if it had been uploaded.
pub(crate) async fn mirror(
    Extract(state): Extract<Blossom>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Answer<Json<Value>> {
    let Some(fetcher) = state.blossom.mirror.clone() else {
        return Err(BlossomError::new(
            StatusCode::FORBIDDEN,
            "mirroring is turned off on this node",
        ));
    };
    // The authorization is checked before anything is fetched: only an
    // upload authorization that names the blob may make the node download.
    let (pubkey, event) = authorize(&headers, Verb::Upload, None).await?;
    if auth::hashes(&event).next().is_none() {
        return Err(AuthError::Hash.into());
    }
    let body = axum::body::to_bytes(body, MIRROR_BODY_BYTES)
        .await
        .map_err(|_| {
            BlossomError::new(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large")
        })?;
    let request: MirrorRequest = serde_json::from_slice(&body).map_err(|e| {
        BlossomError::new(
            StatusCode::BAD_REQUEST,
            format!("the body must be JSON {{\"url\": \"...\"}}: {e}"),
        )
    })?;
    let max = state.node.config.blossom.max_upload_bytes;
    let (bytes, _) = fetcher.get(&request.url, max).await.map_err(|e| match e {
        FetchError::Scheme(_) | FetchError::Url(_) => {
            BlossomError::new(StatusCode::BAD_REQUEST, e.to_string())
        }
        FetchError::NotPublic(_) => BlossomError::new(StatusCode::FORBIDDEN, e.to_string()),
        FetchError::TooLarge(_) => BlossomError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
        FetchError::Status(_) | FetchError::Transport(_) => {
            BlossomError::new(StatusCode::BAD_GATEWAY, e.to_string())
        }
    })?;
    let (bytes, hash) = tokio::task::spawn_blocking(move || {
        let hash = BlobHash::from_bytes(Sha256::digest(&bytes).into());
        (bytes, hash)
    })
    .await
    .map_err(BlossomError::internal)?;
    if !auth::hashes(&event).any(|x| x.eq_ignore_ascii_case(&hash.to_hex())) {
        return Err(BlossomError::new(
            StatusCode::CONFLICT,
            format!(
                "the blob at the URL has SHA-256 {}, which the authorization does not name",
                hash.to_hex()
            ),
        ));
    }
    spend(&state, peer, bytes.len() as u64)?;
    let owned = keep(&state, pubkey, hash, bytes).await?;
    tracing::info!(hash = %owned.hash.to_hex(), size = owned.size, "blob mirrored");
    Ok(Json(descriptor(&headers, &owned)))
}

/// BUD-06: may an upload with these headers go ahead? With the
/// authorization's key, also how much of its cut upload of the blob is
/// kept (`Upload-Offset`).
pub(crate) async fn upload_check(
    Extract(state): Extract<Blossom>,
    headers: HeaderMap,
) -> Answer<Response> {
    let get = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| headers.get(*n).and_then(|h| h.to_str().ok()))
            .map(str::to_string)
    };
    let size =
        get(&["x-content-length", "blossom-content-length"]).and_then(|s| s.parse::<u64>().ok());
    let max = state.node.config.blossom.max_upload_bytes;
    if size.is_some_and(|n| n > max) {
        return Err(BlossomError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("blobs are limited to {max} bytes"),
        ));
    }
    // Default deny, as for the bytes: a type samizdat cleans, or
    // encrypted data. The bytes themselves are checked on upload.
    if let Some(mime) = get(&["x-content-type", "blossom-content-type"]) {
        let essence = mime
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let accepted = essence.is_empty()
            || essence == "application/octet-stream"
            || MEDIA_TYPES.iter().any(|(m, _)| *m == essence);
        if !accepted {
            return Err(BlossomError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "refused: {mime} files may carry identifying metadata that samizdat \
                     cannot remove; only {} without metadata, or encrypted files, are accepted",
                    samizdat_media::CLEANED
                ),
            ));
        }
    }
    let hash = get(&["x-sha-256"])
        .or_else(|| get(&["digest"]).and_then(|d| d.strip_prefix("SHA-256=").map(str::to_string)))
        .map(|h| blob_name(&h))
        .transpose()
        .map_err(|_| BlossomError::new(StatusCode::BAD_REQUEST, "X-SHA-256 is not a SHA-256"))?;
    let (pubkey, _) = authorize(&headers, Verb::Upload, hash.as_ref()).await?;
    // What this key's cut upload of the blob left, if anything: its
    // sender goes on from there (see `resume`).
    let kept = hash.and_then(|h| resume::kept(state.node.ingest.store(), &(h, pubkey.to_bytes())));
    let mut answer = StatusCode::OK.into_response();
    if let Some(kept) = kept {
        answer
            .headers_mut()
            .insert(answer::OFFSET, HeaderValue::from(kept));
    }
    Ok(answer)
}

pub(crate) async fn get_blob(
    Extract(state): Extract<Blossom>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Answer<Response> {
    let hash = blob_name(&name)?;
    let store = state.node.ingest.store();
    let (len, mime) = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || about_blob(&store, &hash))
            .await
            .map_err(BlossomError::internal)??
    };
    let wanted = headers
        .get(header::RANGE)
        .and_then(|h| h.to_str().ok())
        .map(|h| range::parse(h, len));
    let (status, start, count) = match wanted {
        None | Some(range::Range::Ignore) => (StatusCode::OK, 0, len),
        Some(range::Range::Bytes { start, end }) => {
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        Some(range::Range::Unsatisfiable) => {
            let mut response =
                BlossomError::new(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable")
                    .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(response);
        }
    };
    let body = blob_body(store, hash, start, count).await?;
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    let value = |s: String| HeaderValue::from_str(&s).map_err(BlossomError::internal);
    h.insert(header::CONTENT_TYPE, value(mime)?);
    h.insert(header::CONTENT_LENGTH, value(count.to_string())?);
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // A blob is whatever its uploader says it is: opened on its own in a
    // browser, it runs nothing and gets an origin of its own, so it can
    // never act as this node's web pages (or its console).
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The content never changes under its name.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            value(format!("bytes {start}-{}/{len}", start + count - 1))?,
        );
    }
    Ok(response)
}

/// Blobs read from a bucket at once, each holding a blocking thread.
static REMOTE_READS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(64);

/// A stored blob's size and media type (as its owner said, or else as
/// its first bytes show); an error of 404 when it is not here.
fn about_blob(store: &samizdat_store::Store, hash: &BlobHash) -> Answer<(u64, String)> {
    let stat = store
        .blobs()
        .stat(hash)
        .map_err(BlossomError::internal)?
        .ok_or_else(|| BlossomError::new(StatusCode::NOT_FOUND, "no such blob"))?;
    if let Some(mime) = store.describe_blob(hash)?.and_then(|b| b.mime) {
        return Ok((stat.size, mime));
    }
    let mut head = Vec::with_capacity(16);
    store
        .blobs()
        .open_read(hash, Some(0..stat.size.min(16)))
        .and_then(|r| {
            std::io::Read::read_to_end(&mut std::io::Read::take(r, 16), &mut head).map_err(|e| {
                samizdat_store::BlobError::Io {
                    hash: *hash,
                    source: e,
                }
            })
        })
        .map_err(BlossomError::internal)?;
    let mime = MediaType::detect(&head).map_or("application/octet-stream", MediaType::mime);
    Ok((stat.size, mime.to_string()))
}

/// The `count` bytes of a blob from `start`, as a body that streams: from
/// its file when blobs are in a local folder, else from the shelf through
/// a blocking reader.
async fn blob_body(
    store: &samizdat_store::Store,
    hash: BlobHash,
    start: u64,
    count: u64,
) -> Answer<Body> {
    if let Some(path) = store.blobs().local_path(&hash) {
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BlossomError::new(StatusCode::NOT_FOUND, "no such blob"));
            }
            Err(e) => return Err(BlossomError::internal(e)),
        };
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(BlossomError::internal)?;
        let stream = tokio_util::io::ReaderStream::new(file.take(count));
        return Ok(Body::from_stream(stream));
    }
    // Each read from a bucket holds a blocking thread while its client
    // takes the bytes: only so many at once, so slow readers cannot take
    // the threads every other task needs.
    let permit = REMOTE_READS.try_acquire().map_err(|_| {
        BlossomError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many blobs are being read at once; try again in a minute",
        )
    })?;
    let reader = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || {
            store.blobs().open_read(&hash, Some(start..start + count))
        })
        .await
        .map_err(BlossomError::internal)?
        .map_err(|e| match e {
            // Removed since it was asked about.
            samizdat_store::BlobError::NotFound(_) => {
                BlossomError::new(StatusCode::NOT_FOUND, "no such blob")
            }
            e => BlossomError::internal(e),
        })?
    };
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut reader = reader;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let sent = match std::io::Read::read(&mut reader, &mut buf) {
                Ok(0) => return,
                Ok(n) => sender.blocking_send(Ok(buf[..n].to_vec())),
                Err(e) => {
                    let _ = sender.blocking_send(Err(e));
                    return;
                }
            };
            // The client went away.
            if sent.is_err() {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    Ok(Body::from_stream(stream))
}

#[derive(serde::Deserialize)]
pub(crate) struct Span {
    since: Option<u64>,
    until: Option<u64>,
}

pub(crate) async fn list(
    Extract(state): Extract<Blossom>,
    Path(pubkey): Path<String>,
    Query(span): Query<Span>,
    headers: HeaderMap,
) -> Answer<Json<Value>> {
    let bad = || {
        BlossomError::new(
            StatusCode::BAD_REQUEST,
            "the public key must be 64 hex digits",
        )
    };
    let key = PublicKey::from_hex(&pubkey).map_err(|_| bad())?;
    if pubkey.len() != 64 {
        return Err(bad());
    }
    // Listing is public; an authorization, when sent, must still be valid.
    if headers.contains_key(header::AUTHORIZATION) {
        authorize(&headers, Verb::List, None).await?;
    }
    let store = state.node.ingest.store().clone();
    let blobs =
        tokio::task::spawn_blocking(move || store.blobs_owned_by(key, span.since, span.until))
            .await
            .map_err(BlossomError::internal)??;
    let list: Vec<Value> = blobs.iter().map(|b| descriptor(&headers, b)).collect();
    Ok(Json(Value::Array(list)))
}

pub(crate) async fn delete(
    Extract(state): Extract<Blossom>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Answer<Json<Value>> {
    let hash = blob_name(&name)?;
    let (pubkey, _) = authorize(&headers, Verb::Delete, Some(&hash)).await?;
    let store = state.node.ingest.store().clone();
    let release = tokio::task::spawn_blocking(move || store.release_blob(pubkey, hash))
        .await
        .map_err(BlossomError::internal)??;
    if !release.was_owner {
        return Err(BlossomError::new(
            StatusCode::NOT_FOUND,
            "this key has not uploaded that blob",
        ));
    }
    let message = if release.still_needed {
        "deleted from your list; the bytes stay because other uploads or stored records need them"
    } else {
        "deleted"
    };
    Ok(Json(json!({ "message": message })))
}
