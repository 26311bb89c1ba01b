//! The node's configuration: `samizdat.toml` in the data directory, every
//! key optional, every default chosen for a laptop serving its owner.
//! `samizdat.example.toml` at the top of the repository documents each key.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use samizdat_core::Limits;
use samizdat_core::nostr::prelude::PublicKey;
use serde::{Deserialize, Serialize};

use crate::proto::filter::Filter;
use crate::route::{Proxy, RelayUrl, Route};

/// Which way events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Only take what the peer has.
    Pull,
    /// Only give what the peer lacks.
    Push,
    /// Both.
    Both,
}

impl Direction {
    pub fn pulls(self) -> bool {
        matches!(self, Direction::Pull | Direction::Both)
    }

    pub fn pushes(self) -> bool {
        matches!(self, Direction::Push | Direction::Both)
    }
}

/// File name of the configuration inside a data directory.
pub const CONFIG_FILE: &str = "samizdat.toml";

/// Everything `samizdat serve` can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The proxy every outgoing connection goes through (sync with peers,
    /// Blossom mirror downloads): `socks5h://127.0.0.1:9050` for Tor,
    /// `socks5://…` or `http://…` (CONNECT). None by default.
    pub proxy: Option<Proxy>,
    /// Where the node listens. Loopback by default: serving a network is a
    /// choice the operator makes (`--listen`), because every device that
    /// can reach the port can read public records and leave new ones.
    pub listen: SocketAddr,
    /// What the node says about itself (NIP-11).
    pub info: Info,
    /// Limits on what one event may be; applied to every ingest path.
    pub events: Limits,
    /// How many connections the node takes, and how long each may take
    /// to send a request.
    pub connections: ConnectionLimits,
    /// Limits and back-pressure for relay clients.
    pub relay: RelayLimits,
    /// Limits for the Blossom blob server.
    pub blossom: BlossomConfig,
    /// How the node keeps in step with its peers.
    pub sync: SyncConfig,
    /// The nodes and relays this node keeps in step with (`[[peers]]`).
    pub peers: Vec<PeerConfig>,
    /// Discovery of other nodes on the local network.
    pub lan: LanConfig,
    /// Node keys (npub or hex) that this node hands every sealed record
    /// (gift wrap) to, once they authenticate (NIP-42): the nodes trusted
    /// to carry sealed records on. Anyone else gets only the gift wraps
    /// addressed to the key they authenticated as. `samizdat peers` shows
    /// this node's own key.
    pub carriers: Vec<KeyText>,
    /// Node keys of the nodes this node syncs with, written like
    /// `carriers`: once one authenticates (NIP-42) it publishes at
    /// `[relay] node_events_per_second`, not at an anonymous client's
    /// pace. Carriers count as known nodes too.
    pub nodes: Vec<KeyText>,
    /// The web interface: drop box, reading pages, documenters' console.
    pub web: WebConfig,
    /// Where `samizdat publish relays` pushes the public records.
    pub publish: PublishConfig,
    /// The time zone of the people this node serves, as an IANA name
    /// (`Asia/Almaty`) or an offset (`+06:00`): the drop box's forms
    /// offer it first for when something happened. UTC when absent;
    /// never the server process's own zone.
    pub timezone: Option<crate::zone::Zone>,
    /// Where records and blobs are kept: the data directory by default.
    pub store: samizdat_store::StoreSettings,
}

/// A public key as written in the file: npub or hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyText(pub PublicKey);

impl TryFrom<String> for KeyText {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        PublicKey::parse(text.trim())
            .map(KeyText)
            .map_err(|_| format!("{text:?} is not a public key (npub1… or 64 hex digits)"))
    }
}

impl From<KeyText> for String {
    fn from(key: KeyText) -> String {
        key.0.to_hex()
    }
}

impl Config {
    /// Whether `key` is a node this node knows: listed in `nodes` or in
    /// `carriers`.
    pub fn is_known_node(&self, key: &PublicKey) -> bool {
        self.nodes.iter().chain(&self.carriers).any(|k| k.0 == *key)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            proxy: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 4848)),
            info: Info::default(),
            events: Limits::default(),
            connections: ConnectionLimits::default(),
            relay: RelayLimits::default(),
            blossom: BlossomConfig::default(),
            sync: SyncConfig::default(),
            peers: Vec::new(),
            lan: LanConfig::default(),
            carriers: Vec::new(),
            nodes: Vec::new(),
            web: WebConfig::default(),
            publish: PublishConfig::default(),
            timezone: None,
            store: Default::default(),
        }
    }
}

/// The NIP-11 relay information document's free-text fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Info {
    pub name: String,
    pub description: String,
    /// Hex public key of the operator, if they want to be reachable.
    pub pubkey: Option<String>,
    /// How to reach the operator (an email or URI), if they want to be.
    pub contact: Option<String>,
}

impl Default for Info {
    fn default() -> Self {
        Info {
            name: "samizdat".into(),
            description: "A samizdat node: eyewitness records, kept and passed on.".into(),
            pubkey: None,
            contact: None,
        }
    }
}

/// What one relay client may do. Each limit protects the others: a
/// client over a limit is told so with the NIP-01 prefix, and the node
/// keeps serving everyone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayLimits {
    /// Largest WebSocket message, in bytes. Larger frames close the
    /// connection (code 1009): reading them would already cost the memory.
    pub max_message_bytes: usize,
    /// Open subscriptions per connection.
    pub max_subscriptions: usize,
    /// Filters in one `REQ` or `COUNT`.
    pub max_filters: usize,
    /// Values in one filter, all lists together (ids, authors, kinds, tag
    /// values). Keeps a filter within what one SQL statement can carry.
    pub max_filter_values: usize,
    /// Longest subscription id, in characters (NIP-01 says 64).
    pub max_subid_length: usize,
    /// Most stored events one filter returns; a larger `limit` is cut to it.
    pub max_limit: usize,
    /// Stored events a filter without `limit` returns.
    pub default_limit: usize,
    /// Events per second one connection may publish (a token bucket that
    /// holds `2 ×` this many).
    pub events_per_second: u32,
    /// Events per second all connections from one IP address may publish
    /// together.
    pub events_per_second_per_ip: u32,
    /// Events per second a known node (`nodes`, `carriers`) may publish
    /// on one connection once it has authenticated; no limit per address
    /// applies to it. What it sends is still checked like anything else,
    /// and `max_events_in_flight` still holds it to the pace of commits.
    pub node_events_per_second: u32,
    /// Queries (`REQ`, `COUNT`, `NEG-OPEN`) per second per connection.
    pub queries_per_second: u32,
    /// Events one connection may have waiting for their commit at once.
    /// When it is reached the node stops reading from that connection
    /// until commits catch up.
    pub max_events_in_flight: usize,
    /// Events a live subscriber may fall behind before its subscriptions
    /// are closed (`CLOSED` with `error: too slow`) rather than buffered.
    pub live_backlog: usize,
    /// The same in memory: the bytes the node holds for live subscribers,
    /// all of them together (an event holds about three times its JSON).
    pub live_backlog_bytes: usize,
    /// A connection that sends nothing for this long is closed.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// A connection that does not take a message for this long is closed.
    #[serde(with = "humantime_serde")]
    pub write_timeout: Duration,
    /// Most events in one negentropy reconciliation (NIP-77). A larger set
    /// gets `NEG-ERR` `blocked:`; the client narrows its filter (by time)
    /// and reconciles in parts. Each event costs 40 bytes while open.
    pub max_negentropy_items: usize,
    /// Keys of stored events (40 bytes each) kept in memory between
    /// reconciliations, so that a sync of the whole store, or of a time
    /// range of it, reads and sorts nothing. A store with more events
    /// reads each reconciliation's keys from disk instead.
    pub negentropy_cached_keys: usize,
    /// Largest negentropy message the node sends, in bytes (0: no limit).
    pub negentropy_frame_bytes: u64,
    /// Whether the node answers NIP-77 at all. Off, `NEG-OPEN` is an
    /// unknown message, as on relays without NIP-77, and peers fall back
    /// to syncing with `REQ`.
    pub negentropy: bool,
    /// Compress messages with clients that offer permessage-deflate
    /// (RFC 7692). Events shrink to about half; each such connection
    /// holds about 300 KiB of compression state.
    pub permessage_deflate: bool,
    /// The names clients reach this relay by (`relay.example.org`,
    /// `abc….onion`, `192.168.1.5:4848`). When set, an `AUTH` must name
    /// one of them in its `relay` tag (NIP-42), so that an answer signed
    /// for another relay and passed on is refused; when empty, the tag
    /// must name the `Host` the client connected with.
    pub names: Vec<String>,
}

impl RelayLimits {
    /// What one client message may ask for.
    pub fn bounds(&self) -> crate::proto::Bounds {
        crate::proto::Bounds {
            max_filters: self.max_filters,
            max_filter_values: self.max_filter_values,
            max_subid_length: self.max_subid_length,
            max_limit: self.max_limit,
            default_limit: self.default_limit,
        }
    }
}

impl Default for RelayLimits {
    fn default() -> Self {
        RelayLimits {
            max_message_bytes: 512 * 1024,
            max_subscriptions: 32,
            max_filters: 16,
            max_filter_values: 5_000,
            max_subid_length: 64,
            max_limit: 1_000,
            default_limit: 500,
            events_per_second: 1_000,
            events_per_second_per_ip: 2_000,
            node_events_per_second: 50_000,
            queries_per_second: 50,
            max_events_in_flight: 512,
            live_backlog: 4_096,
            live_backlog_bytes: 64 * 1024 * 1024,
            idle_timeout: Duration::from_secs(600),
            write_timeout: Duration::from_secs(30),
            max_negentropy_items: 500_000,
            negentropy_cached_keys: 2_000_000,
            negentropy_frame_bytes: 128 * 1024,
            negentropy: true,
            permessage_deflate: true,
            names: Vec::new(),
        }
    }
}

/// Connections of every kind (web, relay, Blossom) on the node's port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionLimits {
    /// Connections one address may hold at once (an IPv6 client counts by
    /// its /64). Past it, its new connections are closed at once. Behind
    /// an onion service or a reverse proxy every client comes from the
    /// same address: raise it there.
    pub per_address: usize,
    /// How long a client may take to send a request's headers, and to
    /// start its next request on a kept-alive connection.
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            per_address: 256,
            header_timeout: Duration::from_secs(15),
        }
    }
}

/// The Blossom blob server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlossomConfig {
    /// Largest blob accepted, in bytes, by upload or mirror.
    pub max_upload_bytes: u64,
    /// Whether `PUT /mirror` (BUD-04) fetches blobs from other servers.
    /// Off by default: it is a connection any stranger can make the node
    /// open, and a node published as an onion service would reveal its
    /// address by it. When on, it goes through `proxy` if one is set (and
    /// then never directly).
    pub mirror: bool,
    /// Whether a mirror URL may point at loopback, private or link-local
    /// addresses. Off: a client could otherwise make the node fetch from
    /// the networks behind it (a router's admin page, a local service).
    pub mirror_private_addresses: bool,
    /// How long one mirror download may take.
    #[serde(with = "humantime_serde")]
    pub mirror_timeout: Duration,
    /// Bytes one address may upload (or have mirrored) per hour, in
    /// bursts of as much: one client cannot fill the disk.
    pub upload_bytes_per_hour: u64,
    /// Most bytes of uploaded blobs that no stored record names yet (a
    /// client uploads the photo, then publishes the record): past it,
    /// new unreferenced uploads are refused until records name the old
    /// ones or their uploaders delete them.
    pub unreferenced_bytes: u64,
    /// Most bytes kept of uploads that were cut part-way, all together, so
    /// that their senders go on from where the link broke (`Upload-Offset`)
    /// instead of starting again. Each is kept a day.
    pub partial_upload_bytes: u64,
}

impl Default for BlossomConfig {
    fn default() -> Self {
        BlossomConfig {
            max_upload_bytes: 64 * 1024 * 1024,
            mirror: false,
            mirror_private_addresses: false,
            mirror_timeout: Duration::from_secs(120),
            upload_bytes_per_hour: 512 * 1024 * 1024,
            unreferenced_bytes: 1024 * 1024 * 1024,
            partial_upload_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Continuous sync with the `[[peers]]`: when, and how patiently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// How often each peer is synced when nothing else prompts it (give or
    /// take a tenth, so that many nodes do not all call at once).
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// How long after a new local record its peers are synced, so that
    /// records that arrive together travel together.
    #[serde(with = "humantime_serde")]
    pub settle: Duration,
    /// The wait after a first failure; it doubles with each further
    /// failure, up to `max_retry`, with random jitter.
    #[serde(with = "humantime_serde")]
    pub retry: Duration,
    #[serde(with = "humantime_serde")]
    pub max_retry: Duration,
    /// How long to wait for any one answer from a peer.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            interval: Duration::from_secs(600),
            settle: Duration::from_secs(2),
            retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(900),
            timeout: Duration::from_secs(30),
        }
    }
}

/// The web interface served on the node's port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Whether browsers get the web interface (the drop box and the
    /// reading pages). The relay and Blossom are served either way.
    pub enabled: bool,
    /// Largest form a browser may send, in bytes, files included.
    pub max_upload_bytes: usize,
    /// Records one address may leave through the drop box per hour.
    pub submissions_per_hour: u32,
    /// Who may read what witnesses seal through the drop box (npub or
    /// hex). When empty, the node's default identity (`samizdat id use`)
    /// is the documenter; with neither, the drop box takes only public
    /// records.
    pub documenters: Vec<KeyText>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            enabled: true,
            max_upload_bytes: 64 * 1024 * 1024,
            submissions_per_hour: 30,
            documenters: Vec::new(),
        }
    }
}

/// Local-network discovery (mDNS/DNS-SD), also `serve --lan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LanConfig {
    /// Announce this node on the local network and keep in step with
    /// every other samizdat node found there. Off by default: it tells
    /// everyone on the network that a samizdat node runs here.
    pub enabled: bool,
    /// Most nodes kept in step with at once by discovery: a flood of
    /// announcements does not become a flood of connections.
    pub max_peers: usize,
}

impl Default for LanConfig {
    fn default() -> Self {
        LanConfig {
            enabled: false,
            max_peers: 16,
        }
    }
}

/// One peer the node keeps in step with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The peer's relay: `ws://host:port` or `wss://host`.
    pub url: RelayUrl,
    /// `pull`, `push` or `both`.
    #[serde(default = "both")]
    pub direction: Direction,
    /// Which events: a NIP-01 filter as a TOML table, such as
    /// `{ kinds = [1948, 1949] }`. All events when absent.
    #[serde(default)]
    pub filter: Option<Filter>,
    /// Whether the blobs the records reference follow them.
    #[serde(default = "yes")]
    pub blobs: bool,
    /// The peer's Blossom server, when not at the relay's own address.
    #[serde(default)]
    pub blossom: Option<url::Url>,
    /// This peer's own proxy, instead of the global one; `"direct"` for
    /// none.
    #[serde(default)]
    pub proxy: Option<Route>,
    /// This peer's own `[sync] interval`.
    #[serde(default, with = "humantime_serde::option")]
    pub interval: Option<Duration>,
}

/// `samizdat publish relays`: the public relays that get the public
/// records (`[[publish.relays]]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishConfig {
    pub relays: Vec<PublishRelay>,
}

/// One public relay to publish to, with its own limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishRelay {
    /// `wss://host` (or `ws://` on loopback).
    pub url: RelayUrl,
    /// Most events sent per second: public relays limit their writers.
    #[serde(default = "publish_rate")]
    pub events_per_second: f64,
    /// Most events sent in one run; all of them when absent.
    #[serde(default)]
    pub max_events: Option<u64>,
    /// How many times a lost or refused connection is tried again, with
    /// a doubling wait and jitter, before the relay is given up for
    /// this run.
    #[serde(default = "publish_retries")]
    pub retries: u32,
    /// This relay's own proxy, instead of the global one; `"direct"` for
    /// none.
    #[serde(default)]
    pub proxy: Option<Route>,
}

impl PublishRelay {
    /// A relay with the default limits.
    pub fn new(url: RelayUrl) -> PublishRelay {
        PublishRelay {
            url,
            events_per_second: publish_rate(),
            max_events: None,
            retries: publish_retries(),
            proxy: None,
        }
    }
}

fn publish_rate() -> f64 {
    10.0
}

fn publish_retries() -> u32 {
    5
}

fn both() -> Direction {
    Direction::Both
}

fn yes() -> bool {
    true
}

/// Why a configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// Said by line and message alone: TOML's own rendering quotes the
    /// line, and a line may hold a secret (a proxy's password). The error
    /// is kept, but not as a source a report would print.
    #[error("{path}, line {line}: {}", .error.message())]
    Parse {
        path: String,
        line: usize,
        error: Box<toml::de::Error>,
    },
}

impl Config {
    /// Reads `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        Config::parse(&text).map_err(|error| ConfigError::Parse {
            path: path.display().to_string(),
            line: error.span().map_or(0, |span| {
                text.get(..span.start)
                    .map_or(0, |before| before.matches('\n').count() + 1)
            }),
            error: Box::new(error),
        })
    }

    pub fn parse(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_are_read_when_the_file_loads_and_a_password_is_never_shown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(CONFIG_FILE);
        let load = |text: &str| {
            std::fs::write(&path, text).expect("write");
            Config::load(&path)
        };
        let config = load(
            "proxy = \"socks5h://127.0.0.1:9050\"\n\n[[peers]]\nurl = \"ws://127.0.0.1:9\"\nproxy = \"direct\"\n",
        )
        .expect("loads");
        assert_eq!(
            config.proxy.as_ref().map(ToString::to_string).as_deref(),
            Some("socks5h://127.0.0.1:9050")
        );
        assert_eq!(config.peers[0].proxy, Some(Route::Direct));
        let err = load("\nproxy = \"ftp://u:secret@127.0.0.1:21\"\n").expect_err("refused");
        let said = err.to_string();
        assert!(said.contains("line 2") && said.contains("scheme"), "{said}");
        assert!(!said.contains("secret"), "{said}");
        assert!(std::error::Error::source(&err).is_none());
    }

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn durations_are_human() {
        let c = Config::parse("[relay]\nidle_timeout = \"2m\"\n").unwrap();
        assert_eq!(c.relay.idle_timeout, Duration::from_secs(120));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Config::parse("[relay]\nmax_subscription = 3\n").unwrap_err();
        assert!(err.to_string().contains("max_subscription"), "{err}");
    }

    #[test]
    fn peers_take_a_url_and_optional_direction_filter_and_interval() {
        let c = Config::parse(
            "[[peers]]\nurl = \"ws://127.0.0.1:4849\"\n\n\
             [[peers]]\nurl = \"ws://127.0.0.1:4850\"\ndirection = \"push\"\n\
             filter = { kinds = [1948, 1949], since = 1700000000 }\ninterval = \"1m\"\n",
        )
        .unwrap();
        assert_eq!(c.peers.len(), 2);
        assert_eq!(c.peers[0].direction, Direction::Both);
        assert!(c.peers[0].blobs);
        assert_eq!(c.peers[1].direction, Direction::Push);
        assert_eq!(
            c.peers[1].filter.as_ref().unwrap().to_json(),
            serde_json::json!({"kinds": [1948, 1949], "since": 1_700_000_000})
        );
        assert_eq!(c.peers[1].interval, Some(Duration::from_secs(60)));
        let err =
            Config::parse("[[peers]]\nurl = \"ws://127.0.0.1:1\"\ndirection = \"sideways\"\n")
                .unwrap_err();
        assert!(err.to_string().contains("sideways"), "{err}");
    }

    #[test]
    fn carriers_and_nodes_are_node_keys() {
        let npub = "npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6";
        let key = PublicKey::parse(npub).unwrap();
        let c = Config::parse(&format!("carriers = [\"{npub}\"]\n")).unwrap();
        assert_eq!(c.carriers[0].0, key);
        assert!(c.is_known_node(&key), "a carrier is a known node");
        let n = Config::parse(&format!("nodes = [\"{}\"]\n", key.to_hex())).unwrap();
        assert!(n.is_known_node(&key) && n.carriers.is_empty());
        assert!(!Config::default().is_known_node(&key));
        for list in ["carriers", "nodes"] {
            let err = Config::parse(&format!("{list} = [\"npub1nope\"]\n")).unwrap_err();
            assert!(err.to_string().contains("not a public key"), "{err}");
        }
    }

    #[test]
    fn where_blobs_are_kept_is_read_and_a_key_in_the_url_refused() {
        use samizdat_store::shelf::BlobsAt;
        let config = Config::parse(
            "[store]\nblobs = \"s3://archive/city?endpoint=http://127.0.0.1:3900&region=garage\"\n",
        )
        .expect("parses");
        let BlobsAt::S3(at) = &config.store.blobs.0 else {
            panic!("a bucket");
        };
        assert_eq!(
            (at.bucket.as_str(), at.prefix.as_str()),
            ("archive", "city/")
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(CONFIG_FILE);
        std::fs::write(
            &path,
            "[store]\nblobs = \"s3://GK1:hunter2@archive?endpoint=http://127.0.0.1:3900\"\n",
        )
        .expect("write");
        let said = Config::load(&path).expect_err("refused").to_string();
        assert!(said.contains("line 2"), "{said}");
        assert!(!said.contains("hunter2"), "{said}");
        // Events in PostgreSQL: read; a password in the URL refused,
        // and not quoted back; anything else but sqlite refused.
        let config = Config::parse("[store]\nevents = \"postgres://samizdat@127.0.0.1/archive\"\n")
            .expect("parses");
        assert_eq!(
            config.store.events.0,
            samizdat_store::EventsAt::Postgres("postgres://samizdat@127.0.0.1/archive".into())
        );
        std::fs::write(
            &path,
            "[store]\nevents = \"postgres://samizdat:hunter2@127.0.0.1/archive\"\n",
        )
        .expect("write");
        let said = Config::load(&path).expect_err("refused").to_string();
        assert!(said.contains("password in the URL"), "{said}");
        assert!(!said.contains("hunter2"), "{said}");
        assert!(Config::parse("[store]\nevents = \"mysql://127.0.0.1/x\"\n").is_err());
    }

    #[test]
    fn the_example_file_is_the_defaults() {
        let text = include_str!("../../../samizdat.example.toml");
        assert_eq!(Config::parse(text).unwrap(), Config::default());
    }
}
