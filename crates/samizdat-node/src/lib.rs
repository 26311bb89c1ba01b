//! The samizdat node: a Nostr relay and a Blossom blob server on one
//! port, over one data directory, and the clients it runs. Its folders
//! are its layers, each importing only from those below it (see
//! `docs/ARCHITECTURE.md`, "Layers inside the node", and `tests/layers.rs`):
//!
//! - `proto`: the Nostr messages both sides speak (filters, relay
//!   messages, NIP-77 negentropy), knowing no configuration;
//! - foundations: `config` ([`Config`], what `samizdat.toml` may say),
//!   `node_key`, `pace`, `progress` (one observer for long operations),
//!   `route`, `zone`;
//! - the node's own work: `ingest` (the one way in for events: validate
//!   on every core, commit, then tell live subscribers; one at a time or
//!   in batches),
//!   `import` (JSON lines of events, a chunk validated while the last
//!   commits),
//!   `live`, `inbox` (sealed records addressed to one key), `people`
//!   (the registry from the store), `submission` (a witness's record
//!   stripped, built, signed and sealed, off the runtime), `views` (what
//!   the web pages and the mirror show, in each language);
//! - `client`: what the node sends out: outgoing WebSockets (`wire`,
//!   `proxy`), HTTP with an address policy (`outbound`), `sync` with a
//!   peer (NIP-77, or `REQ` when the peer lacks it), continuous `peers`,
//!   `lan` discovery, publishing to public relays (`relays`);
//! - `mirror`: the static mirror of the public records and its check;
//! - `server`: [`Node`] (bind, run until a signal, drain) and what it
//!   serves: the relay, Blossom, the web interface.

pub mod call;
pub mod client;
pub mod config;
pub mod import;
pub mod inbox;
pub mod ingest;
mod live;
pub mod mirror;
pub mod node_key;
mod pace;
pub mod people;
pub mod progress;
pub mod proto;
pub mod route;
pub mod server;
pub mod submission;
pub mod views;
pub mod zone;

pub use config::{CONFIG_FILE, Config, ConfigError};
pub use ingest::{Announce, Ingest, IngestError};
pub use server::{Node, NodeError};
