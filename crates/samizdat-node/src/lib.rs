//! The samizdat node: a Nostr relay and a Blossom blob server on one
//! port, over one data directory.
//!
//! - `server`: [`Node`], the handle (bind, run until a signal, drain);
//! - `config`: [`Config`], what `samizdat.toml` may say;
//! - `inbox`: sealed records addressed to one key, opened, published;
//! - `ingest`: the one way in for events (validate on every core, commit
//!   in batches, then tell live subscribers);
//! - `relay`: NIP-01 and friends over WebSocket;
//! - `blossom`: the blob server (BUD-01, 02, 04, 06, 11, 12);
//! - `outbound`: HTTP the node itself sends, with an address policy;
//! - `nip11`: the relay information document;
//! - `sync`: the client that reconciles a store with a peer (NIP-77, or
//!   `REQ` when the peer lacks it);
//! - `lan`: discovery of other nodes on the local network (mDNS);
//! - `peers`: continuous sync with the peers of `samizdat.toml`, and
//!   their status;
//! - `web`: the web interface (drop box, reading pages, status);
//! - `wire`: outgoing WebSockets (proxy, TLS, compression, byte counts).

mod accept;
pub mod blossom;
pub mod config;
pub mod inbox;
mod ingest;
pub mod lan;
mod live;
pub mod negkeys;
mod nip11;
pub mod nip77;
pub mod node_key;
pub mod outbound;
mod pace;
pub mod peers;
pub mod people;
pub mod proxy;
pub mod publish;
pub mod relay;
mod server;
pub mod sync;
pub mod web;
pub mod wire;

pub use config::{CONFIG_FILE, Config, ConfigError};
pub use ingest::{Announce, Ingest, IngestError};
pub(crate) use server::State;
pub use server::{Node, NodeError};
