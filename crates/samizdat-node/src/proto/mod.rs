//! The Nostr messages a relay and its clients exchange: filters
//! ([`filter`]), the relay's half of the messages ([`message`]: what
//! clients send, read; what the relay sends, written), the client's half
//! ([`client`]: what a client sends, written; what a relay sends, read),
//! NIP-77 negentropy reconciliation ([`nip77`]); and the kind of
//! Blossom's authorization events, which the server checks and the
//! node's own uploads sign.

pub mod client;
pub mod filter;
pub mod message;
pub mod nip77;

/// How much one client message may ask of a relay. The protocol layer
/// knows no configuration: the relay's `[relay]` limits give these
/// (`RelayLimits::bounds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Filters in one `REQ` or `COUNT`.
    pub max_filters: usize,
    /// Values in one filter, all lists together.
    pub max_filter_values: usize,
    /// Longest subscription id, in characters.
    pub max_subid_length: usize,
    /// Most stored events one filter returns.
    pub max_limit: usize,
    /// Stored events a filter without `limit` returns.
    pub default_limit: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_filters: 16,
            max_filter_values: 5_000,
            max_subid_length: 64,
            max_limit: 1_000,
            default_limit: 500,
        }
    }
}

/// The kind of a Blossom authorization event (BUD-11).
pub const BLOSSOM_AUTH_KIND: u16 = 24242;
