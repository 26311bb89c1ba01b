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

/// The kind of a Blossom authorization event (BUD-11).
pub const BLOSSOM_AUTH_KIND: u16 = 24242;
