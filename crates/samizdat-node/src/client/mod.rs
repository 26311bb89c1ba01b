//! What the node sends out: outgoing WebSockets through a proxy if one is
//! set ([`wire`], [`proxy`]), HTTP with an address policy
//! ([`outbound`]), reconciliation with a peer ([`sync`]), continuous
//! sync with the configured peers ([`peers`]) and those found on the
//! local network ([`lan`]), and publishing to public relays
//! ([`relays`]).

pub mod lan;
pub mod outbound;
pub mod peers;
pub mod proxy;
pub mod relays;
pub mod sync;
pub mod wire;
