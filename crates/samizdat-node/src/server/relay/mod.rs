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

use crate::server::{Shared, State};

/// What only the relay holds.
pub(crate) struct Own {
    /// Per-IP publishing budget, across that address's connections.
    pub per_ip: PerIp,
}

/// The relay's part of the node's state.
#[derive(Clone)]
pub(crate) struct Relay {
    pub node: Arc<Shared>,
    pub relay: Arc<Own>,
}

impl axum::extract::FromRef<State> for Relay {
    fn from_ref(state: &State) -> Relay {
        Relay {
            node: Arc::clone(&state.node),
            relay: Arc::clone(&state.relay),
        }
    }
}

/// Serves one upgraded WebSocket until it closes or the node stops.
pub(crate) async fn serve(state: Relay, ws: WebSocket, peer: SocketAddr, host: Option<String>) {
    tracing::debug!(%peer, "relay connection opened");
    conn::Connection::new(state, ws, peer.ip(), host)
        .run()
        .await;
}
