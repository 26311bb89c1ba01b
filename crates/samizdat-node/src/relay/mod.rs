//! The Nostr relay: NIP-01 over WebSocket, with NIP-09 (through the
//! store), NIP-42, NIP-45, NIP-50 and the server side of NIP-77.
//!
//! - `message`: the wire JSON, in and out (nothing else knows it);
//! - `filter`: NIP-01 filters, as store queries and as live matchers;
//! - `conn`: one task per connection, with its back-pressure rules;
//! - `query`: store reads off the async runtime;
//! - `neg`: negentropy sessions; `auth`: NIP-42; `rate`: token buckets.

mod auth;
mod conn;
pub(crate) mod filter;
mod message;
mod neg;
mod query;
mod rate;

use std::net::SocketAddr;
use std::sync::Arc;

use yawc::HttpWebSocket as WebSocket;

pub use filter::{Filter, FilterError};
pub use message::{ClientMessage, MessageError, SubId};
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
