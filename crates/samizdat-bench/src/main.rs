//! `samizdat-bench`: samizdat's benchmarks, each measure beside a
//! baseline taken in the same run (signature verification, the negentropy
//! crate, nostr-rs-relay, exact lookups, a plain copy), because the
//! machines they run on are shared and noisy. The product binary does not
//! carry them, nor what only they use (rusqlite's floors, the negentropy
//! crate). The commands that start `samizdat` (relay, bundle, publish)
//! run the `samizdat` binary beside this one.

mod blobs;
mod bundle;
mod database;
mod drill;
mod ingest;
mod link;
mod people;
mod progress;
mod publish;
mod relay;
mod sync;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "samizdat-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Ingest generated signed events into a fresh store, beside signature
    /// verification alone, in the same run
    Ingest {
        /// How many events
        #[arg(long, default_value_t = 100_000)]
        events: usize,
        /// CPU cores to use (the process is pinned to them)
        #[arg(long, default_value_t = 1)]
        cores: usize,
        /// What the events look like
        #[arg(long, value_enum, default_value = "testimony")]
        shape: Shape,
    },
    /// Run `samizdat serve` (and nostr-rs-relay, if given) on loopback and
    /// measure both with the same events and queries: ingest with one and
    /// with many events in flight, REQ latency, memory, bytes on disk;
    /// beside signature verification on every core
    Relay(BenchRelayArgs),
    /// Sync two stores over loopback: reconciliation beside the negentropy
    /// crate in memory, full transfer beside signature verification
    Sync(BenchSyncArgs),
    /// Export and import a bundle of testimonies with photos, beside
    /// signature verification alone
    Bundle(BenchBundleArgs),
    /// Match new person reports against a registry on one core, beside
    /// exact lookups of the same reports
    People(BenchPeopleArgs),
    /// Publish a static mirror of generated testimonies, again after one
    /// new record, and check it; beside signature verification alone
    Publish(BenchPublishArgs),
    /// Upload and download 10 MB blobs through Blossom on a node that
    /// keeps blobs in its folder and on one that keeps them in an S3
    /// bucket (its key in SAMIZDAT_S3_ACCESS_KEY_ID and
    /// SAMIZDAT_S3_SECRET_ACCESS_KEY)
    Blobs(BenchBlobsArgs),
    /// Ingest over the relay on a node with its events in SQLite, on one
    /// with them in PostgreSQL, and on two front nodes over one
    /// PostgreSQL database at once
    Database(BenchDatabaseArgs),
    /// A distant link for the drill: a TCP proxy that delays each way by
    /// half a round trip, with jitter and the stalls of lost packets (the
    /// rate is the kernel's: `tc tbf`)
    Link(BenchLinkArgs),
    /// One side of the drill at scale, written into a data directory:
    /// person reports, testimonies, attestations, sealed records, photos
    /// and videos
    DrillData(BenchDrillDataArgs),
}

#[derive(Debug, Args)]
pub struct BenchDrillDataArgs {
    /// The data directory (made by `samizdat init`)
    #[arg(long)]
    pub data: PathBuf,
    /// Records in all
    #[arg(long, default_value_t = 10_000)]
    pub records: usize,
    /// Photos, 50 KB to 2 MB
    #[arg(long, default_value_t = 200)]
    pub photos: usize,
    /// Short videos, 2 to 7 MB
    #[arg(long, default_value_t = 10)]
    pub videos: usize,
    /// The documenter a tenth of the records are sealed for (npub or
    /// hex); without it, none are sealed
    #[arg(long)]
    pub sealed_to: Option<String>,
    /// Makes this side's records its own
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Short notes instead (written in batches, for a store of millions
    /// to reconcile), without files or sealed records
    #[arg(long)]
    pub notes: bool,
}

#[derive(Debug, Args)]
pub struct BenchDatabaseArgs {
    /// The server: postgres://USER@HOST:PORT/DATABASE (databases of
    /// their own are made beside it, and dropped)
    #[arg(long)]
    pub postgres: String,
    /// Notes ingested by each setup
    #[arg(long, default_value_t = 20_000)]
    pub events: usize,
    /// Connections to each node
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Events in flight on each connection
    #[arg(long, default_value_t = 64)]
    pub window: usize,
}

#[derive(Debug, Args)]
pub struct BenchBlobsArgs {
    /// The bucket: s3://BUCKET?endpoint=http://HOST:PORT[,…]
    #[arg(long)]
    pub bucket: String,
    /// Blobs each way
    #[arg(long, default_value_t = 8)]
    pub count: usize,
    /// Megabytes of each blob
    #[arg(long, default_value_t = 10)]
    pub size_mb: usize,
}

#[derive(Debug, Args)]
pub struct BenchLinkArgs {
    /// Where to listen
    #[arg(long)]
    pub listen: std::net::SocketAddr,
    /// Where to pass the connections on
    #[arg(long)]
    pub to: std::net::SocketAddr,
    /// Round trip added
    #[arg(long, value_parser = humantime::parse_duration, default_value = "300ms")]
    pub rtt: std::time::Duration,
    /// Largest change to each chunk's delay, either way (order is kept)
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0ms")]
    pub jitter: std::time::Duration,
    /// Share of packets lost (0.01 is 1 %): each loss stalls its way of
    /// the connection for a retransmission timeout
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
}

#[derive(Debug, Args)]
pub struct BenchPublishArgs {
    /// Testimonies in the mirror
    #[arg(long, default_value_t = 100_000)]
    pub records: usize,
    /// Photos, each attached to one testimony
    #[arg(long, default_value_t = 1_000)]
    pub blobs: usize,
}

#[derive(Debug, Args)]
pub struct BenchPeopleArgs {
    /// People in the registry
    #[arg(long, default_value_t = 100_000)]
    pub registry: usize,
    /// New reports to match against it
    #[arg(long, default_value_t = 10_000)]
    pub reports: usize,
}

#[derive(Debug, Args)]
pub struct BenchBundleArgs {
    /// Testimonies in the bundle
    #[arg(long, default_value_t = 100_000)]
    pub events: usize,
    /// Photos, each attached to one testimony
    #[arg(long, default_value_t = 1_000)]
    pub blobs: usize,
}

#[derive(Debug, Args)]
pub struct BenchSyncArgs {
    /// Events in each of the two stores
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// How many events only one side has (half on each)
    #[arg(long, default_value_t = 1_000)]
    pub differ: usize,
    /// Events moved to an empty peer
    #[arg(long, default_value_t = 100_000)]
    pub transfer: usize,
    /// Largest negentropy message the serving side sends (the node's
    /// default), for both the node and the in-memory baseline
    #[arg(long, default_value_t = 131_072)]
    pub frame_bytes: u64,
}

#[derive(Debug, Args)]
pub struct BenchRelayArgs {
    /// How many events to store
    #[arg(long, default_value_t = 100_000)]
    pub events: usize,
    /// How many of them go one at a time (send, wait for OK) on one
    /// connection; the rest go over --connections
    #[arg(long, default_value_t = 5_000)]
    pub serial: usize,
    /// Connections for the many-in-flight phase
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Events in flight on each of those connections
    #[arg(long, default_value_t = 256)]
    pub window: usize,
    /// REQs of each kind (author+kind, tag) for the latency figures
    #[arg(long, default_value_t = 1_000)]
    pub queries: usize,
    /// The nostr-rs-relay binary to compare with (scripts/bench-relay
    /// installs it and passes it here)
    #[arg(long, value_name = "PATH")]
    pub nostr_rs_relay: Option<PathBuf>,
}

/// Generated events for `bench ingest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shape {
    /// samizdat testimonies: ~1.1 KB of Cyrillic text, place, time, topic,
    /// self-labels (five indexed tags, ~40 search terms)
    Testimony,
    /// ordinary Nostr notes: ~250 bytes of text and one topic tag
    Note,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        BenchCommand::Ingest {
            events,
            cores,
            shape,
        } => ingest::run(events, cores, shape),
        BenchCommand::Relay(args) => relay::run(args),
        BenchCommand::Sync(args) => sync::run(args),
        BenchCommand::Bundle(args) => bundle::run(args),
        BenchCommand::People(args) => people::run(args),
        BenchCommand::Publish(args) => publish::run(args),
        BenchCommand::Blobs(args) => blobs::run(args),
        BenchCommand::Database(args) => database::run(args),
        BenchCommand::Link(args) => link::run(args),
        BenchCommand::DrillData(args) => drill::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("samizdat-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The `samizdat` binary beside this one (`cargo build --release` builds
/// both into `target/release`).
fn samizdat_exe() -> Result<PathBuf> {
    let here = std::env::current_exe().context("finding this program")?;
    let exe = here.with_file_name("samizdat");
    if !exe.is_file() {
        bail!(
            "{} is missing: build it first (cargo build --release -p samizdat)",
            exe.display()
        );
    }
    Ok(exe)
}
