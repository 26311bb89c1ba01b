//! `samizdat-bench sync`: sync between two stores over a real loopback
//! WebSocket, each figure beside a baseline measured in the same run.
//!
//! 1. **Reconciliation**: two stores of `--events` events that differ by
//!    `--differ` (half only on each side, spread over the whole time
//!    range). `samizdat sync` against a node serving the other store, beside
//!    the `negentropy` crate reconciling the same id sets in memory: time,
//!    round trips, bytes. samizdat's own NIP-77 engine is also timed in
//!    memory on the same sets, to tell its work from the link's.
//! 2. **Full transfer**: `--transfer` events pushed to an empty node, and
//!    pulled by an empty store, in events/s beside the receiver's
//!    signature-verification limit (every core), and in wire bytes per
//!    event beside the events' JSON size; beside them, the same events
//!    validated and stored from memory, the receiver without the link.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use negentropy::{Id, Negentropy, NegentropyStorageVector};
use rayon::prelude::*;
use samizdat_core::nostr::prelude::{Event, Timestamp};
use samizdat_core::{Limits, VerifiedEvent, validate};
use samizdat_node::client::sync::{Summary, SyncOptions};
use samizdat_node::config::Direction;
use samizdat_node::progress::Quiet;
use samizdat_node::proto::nip77::Reconciler;
use samizdat_node::proto::nip77::keys::KeyStorage;
use samizdat_node::route::RelayUrl;
use samizdat_node::{Config, Node};
use samizdat_store::Store;
use serde_json::json;

use crate::{BenchSyncArgs, Shape};

/// Events validated and committed per batch while building the stores.
const BATCH: usize = 10_000;

pub fn run(args: BenchSyncArgs) -> Result<()> {
    if args.differ < 2 || args.differ > args.events {
        bail!("--differ must be between 2 and --events");
    }
    let work = tempfile::tempdir().context("creating a work directory")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;

    // The two sides: `common` on both, `half` only on each.
    let half = args.differ / 2;
    let common = args.events - half;
    eprintln!("bench sync: signing {} events", common + 2 * half);
    let events = crate::ingest::generate(common + 2 * half, Shape::Note)?;
    let stride = (common + 2 * half) / half;
    let (mut only_a, mut only_b, mut shared) = (Vec::new(), Vec::new(), Vec::new());
    for (i, event) in events.into_iter().enumerate() {
        match (i % stride, i / stride < half) {
            (0, true) => only_a.push(event),
            (1, true) => only_b.push(event),
            _ => shared.push(event),
        }
    }
    let a_dir = work.path().join("a");
    let b_dir = work.path().join("b");
    eprintln!("bench sync: storing {} shared events", shared.len());
    fill(&open(&a_dir)?, &shared)?;
    copy_dir(&a_dir, &b_dir)?;
    let (a, b) = (open(&a_dir)?, open(&b_dir)?);
    // Both nodes have been running: their keys are in memory already, and
    // the differing events arrive since (and are merged in when asked).
    let cached = args.events + args.differ;
    let warm = Instant::now();
    a.all_keys(cached)?;
    b.all_keys(cached)?;
    let warm = warm.elapsed().as_secs_f64() / 2.0;
    fill(&a, &only_a)?;
    fill(&b, &only_b)?;

    // Baseline: the negentropy crate on the same id sets, in memory.
    let keys = |side: &[&[Event]]| -> Vec<(u64, [u8; 32])> {
        side.iter()
            .flat_map(|events| events.iter())
            .map(|e| (e.created_at.as_secs(), e.id.to_bytes()))
            .collect()
    };
    let baseline = in_memory(
        keys(&[&shared, &only_a]),
        keys(&[&shared, &only_b]),
        args.frame_bytes,
    )?;
    // Our engine on the same sets, in memory: what the link adds is the
    // rest of the time over loopback.
    let engine = engine_in_memory(
        keys(&[&shared, &only_a]),
        keys(&[&shared, &only_b]),
        args.frame_bytes,
    )?;

    eprintln!("bench sync: reconciling over loopback");
    // The node's own defaults, but for the size of one reconciliation
    // set (500,000 by default; a larger set is refused and the client
    // splits it by time, which costs round trips the baseline does not
    // pay) and the frame size the baseline uses.
    let mut config = Config {
        listen: "127.0.0.1:0".parse()?,
        ..Config::default()
    };
    config.relay.max_negentropy_items = args.events + args.differ;
    config.relay.negentropy_cached_keys = cached;
    config.relay.negentropy_frame_bytes = args.frame_bytes;
    // What the link and the two stores can do, not the publishing rate a
    // node allows one client (1,000 events/s by default; a push paces
    // itself to it).
    config.relay.events_per_second = 1_000_000;
    config.relay.events_per_second_per_ip = 1_000_000;
    let reconciled = runtime.block_on(over_loopback(&a, b, config.clone(), Direction::Both))?;
    if reconciled.received as usize != half || reconciled.sent as usize != half {
        bail!(
            "reconciliation moved {} and {} events, not {half} each way",
            reconciled.received,
            reconciled.sent
        );
    }
    drop(a);

    // Full transfer to an empty peer, both ways, beside verification.
    let n = args.transfer.min(shared.len());
    let sample = &shared[..n];
    let json_bytes: usize = sample.iter().map(|e| e.as_json().len()).sum();
    let verify_rate = {
        let started = Instant::now();
        let bad = sample.par_iter().filter(|e| e.verify().is_err()).count();
        if bad > 0 {
            bail!("{bad} generated events failed verification");
        }
        n as f64 / started.elapsed().as_secs_f64()
    };
    // The receiver without the link: the same events validated on every
    // core and committed, from memory, into an empty store.
    let full_dir = work.path().join("full");
    let store_rate = {
        let full = open(&full_dir)?;
        let started = Instant::now();
        fill(&full, sample)?;
        n as f64 / started.elapsed().as_secs_f64()
    };
    eprintln!("bench sync: pushing {n} events to an empty node");
    let pushed = runtime.block_on(over_loopback(
        &open(&full_dir)?,
        open(&work.path().join("empty-node"))?,
        config.clone(),
        Direction::Push,
    ))?;
    eprintln!("bench sync: pulling {n} events into an empty store");
    let pulled = runtime.block_on(over_loopback(
        &open(&work.path().join("empty-store"))?,
        open(&full_dir)?,
        config,
        Direction::Pull,
    ))?;
    if pushed.sent as usize != n || pulled.received as usize != n {
        bail!(
            "the full transfer moved {} and {} events, not {n}",
            pushed.sent,
            pulled.received
        );
    }

    let rate = |s: &Summary, moved: u64| moved as f64 / (s.seconds - s.reconcile_seconds);
    let push_rate = rate(&pushed, pushed.sent);
    let pull_rate = rate(&pulled, pulled.received);
    let per_event_json = json_bytes as f64 / n as f64;
    let push_wire = (pushed.wire_out + pushed.wire_in) as f64 / n as f64;
    let pull_wire = (pulled.wire_out + pulled.wire_in) as f64 / n as f64;

    println!(
        "reconciliation of {} vs {} events differing by {} ({} each way):",
        args.events, args.events, args.differ, half
    );
    println!(
        "  negentropy in memory (frames ≤ {} B): {:>8.1} ms  {:>3} round trips  {:>10} bytes",
        args.frame_bytes,
        baseline.seconds * 1e3,
        baseline.round_trips,
        baseline.bytes
    );
    println!(
        "  samizdat's engine in memory:          {:>8.1} ms  {:>3} round trips  {:>10} bytes",
        engine.seconds * 1e3,
        engine.round_trips,
        engine.bytes
    );
    println!(
        "  samizdat sync over loopback:          {:>8.1} ms  {:>3} round trips  {:>10} bytes on the wire",
        reconciled.reconcile_seconds * 1e3,
        reconciled.reconcile_round_trips,
        reconciled.reconcile_wire
    );
    println!(
        "  (each side's keys were in memory, as on a running node; reading and sorting them \
         from disk once took {:.0} ms a side)",
        warm * 1e3
    );
    let time_ratio = reconciled.reconcile_seconds / baseline.seconds;
    let bytes_ratio = reconciled.reconcile_wire as f64 / baseline.bytes as f64;
    println!("  ratio: time {time_ratio:.2}×, bytes {bytes_ratio:.2}× (target ≤ 1.5× each)");
    println!(
        "  then moved the {} missing events in {:.2} s",
        args.differ,
        reconciled.seconds - reconciled.reconcile_seconds
    );
    println!("full transfer of {n} events to an empty peer:");
    println!("  signature verification, every core:   {verify_rate:>9.0} events/s");
    println!(
        "  stored from memory, no link:          {store_rate:>9.0} events/s  ({:.2}× verification)",
        store_rate / verify_rate
    );
    println!(
        "  push:                                 {push_rate:>9.0} events/s  ({:.2}× verification; target ≥ 0.5)",
        push_rate / verify_rate
    );
    println!(
        "  pull:                                 {pull_rate:>9.0} events/s  ({:.2}× verification)",
        pull_rate / verify_rate
    );
    println!(
        "  wire bytes per event: push {push_wire:.0}, pull {pull_wire:.0}, beside {per_event_json:.0} of JSON \
         ({:.2}× and {:.2}×; target ≤ 0.7)",
        push_wire / per_event_json,
        pull_wire / per_event_json
    );
    println!(
        "{}",
        json!({
            "events": args.events,
            "differ": args.differ,
            "baseline": {
                "seconds": baseline.seconds,
                "round_trips": baseline.round_trips,
                "bytes": baseline.bytes,
            },
            "engine": {
                "seconds": engine.seconds,
                "round_trips": engine.round_trips,
                "bytes": engine.bytes,
            },
            "reconcile": {
                "cold_keys_seconds_per_side": warm,
                "seconds": reconciled.reconcile_seconds,
                "round_trips": reconciled.reconcile_round_trips,
                "wire_bytes": reconciled.reconcile_wire,
                "time_ratio": time_ratio,
                "bytes_ratio": bytes_ratio,
            },
            "transfer": {
                "events": n,
                "verify_per_second": verify_rate,
                "store_per_second": store_rate,
                "store_ratio": store_rate / verify_rate,
                "push_per_second": push_rate,
                "pull_per_second": pull_rate,
                "push_ratio": push_rate / verify_rate,
                "pull_ratio": pull_rate / verify_rate,
                "json_bytes_per_event": per_event_json,
                "push_wire_per_event": push_wire,
                "pull_wire_per_event": pull_wire,
            },
        })
    );
    Ok(())
}

fn open(dir: &Path) -> Result<Store> {
    Store::open(dir).with_context(|| format!("opening {}", dir.display()))
}

/// Validates (every core) and stores `events`.
pub(crate) fn fill(store: &Store, events: &[Event]) -> Result<()> {
    let limits = Limits::default();
    let now = Timestamp::now();
    for chunk in events.chunks(BATCH) {
        let verified: Vec<VerifiedEvent> = chunk
            .par_iter()
            .map(|e| validate(e.clone(), &limits, now))
            .collect::<Result<_, _>>()?;
        store.insert(verified)?;
    }
    Ok(())
}

/// Copies a closed store's directory.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

struct Baseline {
    seconds: f64,
    round_trips: u64,
    /// Both ways, as NIP-77 puts them on the wire (hex).
    bytes: u64,
}

/// The `negentropy` crate alone: `ours` initiates against `theirs`, both
/// in memory, frames limited as the node limits its own.
fn in_memory(
    ours: Vec<(u64, [u8; 32])>,
    theirs: Vec<(u64, [u8; 32])>,
    frame_bytes: u64,
) -> Result<Baseline> {
    let storage = |keys: Vec<(u64, [u8; 32])>| -> Result<NegentropyStorageVector> {
        let mut storage = NegentropyStorageVector::with_capacity(keys.len());
        for (at, id) in keys {
            storage.insert(at, Id::from_byte_array(id))?;
        }
        storage.seal()?;
        Ok(storage)
    };
    let (ours, theirs) = (storage(ours)?, storage(theirs)?);
    let started = Instant::now();
    let mut client = Negentropy::owned(ours, 0)?;
    let mut server = Negentropy::owned(theirs, frame_bytes)?;
    let first = client.initiate()?;
    let (mut have, mut need) = (Vec::new(), Vec::new());
    rounds(
        started,
        first,
        |message| Ok(server.reconcile(message)?),
        |answer| Ok(client.reconcile_with_ids(answer, &mut have, &mut need)?),
    )
}

/// samizdat's NIP-77 engine alone, as [`in_memory`] runs the crate: the
/// same sets, the same frame limit, both sides in this thread.
fn engine_in_memory(
    ours: Vec<(u64, [u8; 32])>,
    theirs: Vec<(u64, [u8; 32])>,
    frame_bytes: u64,
) -> Result<Baseline> {
    let (ours, theirs) = (KeyStorage::vector(ours), KeyStorage::vector(theirs));
    let started = Instant::now();
    let mut client = Reconciler::new(ours, 0)?;
    let mut server = Reconciler::new(theirs, frame_bytes)?;
    let first = client.initiate()?;
    let (mut have, mut need) = (Vec::new(), Vec::new());
    rounds(
        started,
        first,
        |message| Ok(server.answer(message)?),
        |answer| Ok(client.next(answer, &mut have, &mut need)?),
    )
}

/// Plays a reconciliation in memory from the initiator's `first` message:
/// `answer` is the other side, `next` the initiator.
fn rounds(
    started: Instant,
    first: Vec<u8>,
    mut answer: impl FnMut(&[u8]) -> Result<Vec<u8>>,
    mut next: impl FnMut(&[u8]) -> Result<Option<Vec<u8>>>,
) -> Result<Baseline> {
    let mut message = first;
    let (mut round_trips, mut bytes) = (0u64, 0u64);
    // Bounded: reconciliation ends in a few dozen rounds.
    for _ in 0..10_000 {
        round_trips += 1;
        bytes += 2 * message.len() as u64;
        let reply = answer(&message)?;
        bytes += 2 * reply.len() as u64;
        match next(&reply)? {
            Some(following) => message = following,
            None => {
                return Ok(Baseline {
                    seconds: started.elapsed().as_secs_f64(),
                    round_trips,
                    bytes,
                });
            }
        }
    }
    bail!("the in-memory reconciliation did not end")
}

/// Serves `theirs` on a loopback port and syncs `ours` with it.
async fn over_loopback(
    ours: &Store,
    theirs: Store,
    config: Config,
    direction: Direction,
) -> Result<Summary> {
    let node = Node::bind(config, theirs).await?;
    let url = RelayUrl::on(node.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(node.run(async move {
        let _ = stopped.await;
    }));
    let options = SyncOptions {
        direction,
        blobs: false,
        max_items: usize::MAX,
        cached_keys: usize::MAX,
        patience: Duration::from_secs(120),
        ..SyncOptions::default()
    };
    let summary = samizdat_node::client::sync::sync(ours, &url, &options, &mut Quiet).await;
    let _ = stop.send(());
    serving.await??;
    Ok(summary?)
}
