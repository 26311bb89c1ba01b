//! `PUT /upload` (BUD-02): a blob from a client, checked before anything
//! is spent, read at the least pace, kept only if it hashes to what the
//! authorization names and passes the admission rule; resumable when cut
//! (see `resume`).

use std::net::SocketAddr;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use samizdat_core::BlobHash;
use samizdat_core::nostr::prelude::Timestamp;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::answer::{Answer, BlossomError};
use super::auth::{self, Verb};
use super::{Blossom, WAIT_FOR_TURN, authorize, descriptor, keep, resume, spend};

pub(crate) async fn upload(
    Extract(state): Extract<Blossom>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Answer<Json<Value>> {
    // The authorization is checked (signature included) before anything
    // is spent or read: a stranger's unsigned requests cost nothing.
    let (pubkey, event) = authorize(&headers, Verb::Upload, None).await?;
    // A cut upload is kept, and continued, only for a blob that both the
    // request and its authorization name (see `resume`).
    let resume = resume::read(&headers)?;
    let named = resume
        .hash
        .filter(|h| auth::check(&event, Verb::Upload, Some(h), Timestamp::now()).is_ok())
        .map(|h| (h, pubkey.to_bytes()));
    if resume.offset > 0 && named.is_none() {
        return Err(BlossomError::new(
            StatusCode::BAD_REQUEST,
            "Upload-Offset goes with X-SHA-256 naming a blob the authorization names",
        ));
    }
    let max = state.node.config.blossom.max_upload_bytes;
    let too_large = || {
        BlossomError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("blobs are limited to {max} bytes"),
        )
    };
    // A body whose length is not said up front is refused: the budget is
    // spent on the length before the body is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<u64>().ok())
        .ok_or_else(|| {
            BlossomError::new(
                StatusCode::LENGTH_REQUIRED,
                "an upload must say its Content-Length",
            )
        })?;
    if resume.offset.saturating_add(declared) > max {
        return Err(too_large());
    }
    // A few bodies in memory at once, each up to `max_upload_bytes`.
    let _reading = tokio::time::timeout(WAIT_FOR_TURN, state.blossom.bodies.acquire())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            BlossomError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the node is busy with other uploads; try again in a moment",
            )
        })?;
    let store = state.node.ingest.store().clone();
    // A named upload takes its turn (stopping an older upload of the
    // blob by the same key), goes on from what that key's upload left,
    // and keeps what comes as it comes.
    let mut turn = match named {
        Some(key) => resume::InProgress::take(&state.blossom.uploads, key).await,
        None => None,
    };
    if resume.offset > 0 && turn.is_none() {
        return Err(BlossomError::new(
            StatusCode::CONFLICT,
            "another upload of this blob is still going on; try again in a moment",
        ));
    }
    let (mut bytes, file) = match (named, &turn) {
        (Some(key), Some(_)) => {
            // From the start, an upload replaces whatever was kept.
            if resume.offset == 0 {
                resume::forget(&store, key).await;
            }
            let prefix = resume::prefix(&store, key, resume.offset).await?;
            let cap = state.node.config.blossom.partial_upload_bytes;
            (prefix, resume::open(&store, key, declared, cap).await)
        }
        _ => (Vec::new(), None),
    };
    // Spent once the request is known to go ahead.
    spend(&state, peer, declared)?;
    bytes.reserve_exact(usize::try_from(declared).unwrap_or(0));
    let limit = usize::try_from(declared.min(max)).unwrap_or(usize::MAX);
    // At the minimum pace: a body that trickles to hold its place is cut.
    let (body, stopped) = resume::read_body(body, limit, file, turn.as_mut()).await;
    bytes.extend_from_slice(&body);
    drop(body);
    if let Some(e) = stopped {
        if let Some(key) = named
            && turn.is_some()
            && matches!(e, crate::pace::BodyError::TooLarge(_))
        {
            resume::forget(&store, key).await;
        }
        return Err(match e {
            crate::pace::BodyError::TooLarge(_) => too_large(),
            crate::pace::BodyError::Slow(_) => {
                BlossomError::new(StatusCode::REQUEST_TIMEOUT, "the upload arrived too slowly")
            }
            crate::pace::BodyError::Cut(e) => {
                BlossomError::new(StatusCode::BAD_REQUEST, format!("the upload was cut: {e}"))
            }
        });
    }
    let (bytes, hash) = tokio::task::spawn_blocking(move || {
        let hash = BlobHash::from_bytes(Sha256::digest(&bytes).into());
        (bytes, hash)
    })
    .await
    .map_err(BlossomError::internal)?;
    if let (Some(key), Some(_)) = (named, &turn) {
        // Finished or wrong, what was kept of it is done with.
        resume::forget(&store, key).await;
    }
    drop(turn);
    auth::check(&event, Verb::Upload, Some(&hash), Timestamp::now())?;
    let owned = keep(&state, pubkey, hash, bytes).await?;
    tracing::info!(hash = %owned.hash.to_hex(), size = owned.size, "blob uploaded");
    Ok(Json(descriptor(&headers, &owned)))
}
