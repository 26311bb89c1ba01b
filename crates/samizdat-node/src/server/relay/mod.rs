//! The Nostr relay: NIP-01 over WebSocket, with NIP-09 (through the
//! store), NIP-42, NIP-45, NIP-50 and the server side of NIP-77.
//!
//! The wire JSON (`proto::message`) and NIP-01 filters
//! (`proto::filter`) are shared with the node's clients.
//!
//! - `conn`: one task per connection, with its back-pressure rules;
//! - `query`: store reads off the async runtime;
//! - `neg`: negentropy sessions; `auth`: NIP-42; `rate`: token buckets.

mod auth;
mod conn;
mod neg;
mod query;
mod rate;

use std::net::SocketAddr;
use std::sync::Arc;

use yawc::HttpWebSocket as WebSocket;

pub(crate) use rate::PerIp;

use crate::State;

/// Serves one upgraded WebSocket until it closes or the node stops.
pub(crate) async fn serve(
    state: Arc<State>,
    ws: WebSocket,
    peer: SocketAddr,
    host: Option<String>,
) {
    tracing::debug!(%peer, "relay connection opened");
    conn::Connection::new(state, ws, peer.ip(), host)
        .run()
        .await;
}
