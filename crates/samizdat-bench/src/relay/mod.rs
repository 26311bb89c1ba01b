//! `samizdat-bench relay`: `samizdat serve` beside nostr-rs-relay, both
//! started here on loopback, fed the same generated events and asked the
//! same queries, phase by phase in one run, so that the figures compare
//! on a shared, noisy machine.
//!
//! Phases, each run against every relay before the next begins:
//! 1. signature verification alone on every core (the ceiling of ingest),
//!    and the floor under one acknowledged event, whoever stores it: a
//!    flush of one page, a loopback round trip, one signature check;
//! 2. ingest with one event in flight on one connection;
//! 3. ingest of the rest over several connections, many events in flight;
//! 4. `REQ` latency (sent → `EOSE`) for author/kind and tag filters;
//! 5. resident memory, then a graceful stop and the bytes on disk.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use rand::RngExt;
use rayon::prelude::*;
use samizdat_core::nostr::prelude::{Event, Keys, Kind, Timestamp};
use samizdat_core::sign::Draft;
use serde_json::json;

use crate::BenchRelayArgs;
use crate::ingest::WORDS;

mod client;
mod floor;
pub(crate) mod process;

pub(crate) use client::ingest_parallel;
use client::{ingest_serial, query_latency};
use floor::Floor;
use process::{Relay, dir_bytes};

/// Authors and topics of the generated events: an author/kind query and a
/// tag query each select about 1% of the store.
const AUTHORS: usize = 100;
const TOPICS: usize = 100;
/// Results asked for by each benchmark query.
const QUERY_LIMIT: usize = 100;
/// How long any one answer may take before the run is abandoned.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Figures for one relay.
#[derive(Default)]
struct Figures {
    serial_per_s: f64,
    parallel_per_s: f64,
    author_kind_ms: (f64, f64),
    tag_ms: (f64, f64),
    rss_kib: u64,
    peak_rss_kib: u64,
    disk_bytes: u64,
}

pub fn run(args: BenchRelayArgs) -> Result<()> {
    let BenchRelayArgs {
        events,
        serial,
        connections,
        window,
        queries,
        ref nostr_rs_relay,
    } = args;
    if events == 0 || serial > events || connections == 0 || window == 0 || queries == 0 {
        bail!("need --events ≥ 1, --serial ≤ --events, and --connections, --window, --queries ≥ 1");
    }
    if nostr_rs_relay.is_none() {
        eprintln!(
            "no --nostr-rs-relay given: measuring samizdat alone (scripts/bench-relay installs and passes it)"
        );
    }
    eprintln!("generating {events} signed notes from {AUTHORS} authors over {TOPICS} topics…");
    let (authors, generated) = generate(events)?;

    // Phase 1: the physical limit, on every core of the machine.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut verify = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let ok = generated
            .par_iter()
            .filter(|e| e.verify_signature())
            .count();
        verify.push(started.elapsed());
        if ok != events {
            bail!("{} generated events do not verify", events - ok);
        }
    }
    verify.sort();
    let verify_per_s = events as f64 / verify[1].as_secs_f64();
    eprintln!("signature verification alone: {verify_per_s:.0} events/s on {cores} cores");
    let floor = Floor::measure(verify_per_s, cores)?;
    eprintln!(
        "one event in flight: at most {:.0} events/s here, whoever stores it",
        floor.per_s()
    );

    let lines: Vec<Arc<str>> = generated
        .iter()
        .map(|e| Arc::from(format!(r#"["EVENT",{}]"#, e.as_json())))
        .collect();
    let ids: Vec<String> = generated.iter().map(|e| e.id.to_hex()).collect();
    let json_bytes = generated.iter().map(|e| e.as_json().len()).sum::<usize>() / events;
    drop(generated);

    let mut relays = Vec::new();
    if let Some(binary) = nostr_rs_relay {
        relays.push(Relay::nostr_rs_relay(binary)?);
    }
    relays.push(Relay::samizdat()?);
    let mut figures: HashMap<&'static str, Figures> = HashMap::new();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the benchmark runtime")?;
    runtime.block_on(async {
        for relay in &relays {
            let per_s = ingest_serial(relay, &lines[..serial], &ids[..serial]).await?;
            figures.entry(relay.name).or_default().serial_per_s = per_s;
            eprintln!("{}: {per_s:.0} events/s, one in flight", relay.name);
        }
        for relay in &relays {
            let per_s = ingest_parallel(relay, &lines[serial..], connections, window).await?;
            figures.entry(relay.name).or_default().parallel_per_s = per_s;
            eprintln!(
                "{}: {per_s:.0} events/s, {connections} connections × {window} in flight",
                relay.name
            );
        }
        for relay in &relays {
            let f = figures.entry(relay.name).or_default();
            f.author_kind_ms = query_latency(relay, queries, |rng| {
                let author = &authors[rng.random_range(0..AUTHORS)];
                json!({"authors": [author], "kinds": [1], "limit": QUERY_LIMIT})
            })
            .await?;
            f.tag_ms = query_latency(relay, queries, |rng| {
                let topic = format!("topic-{}", rng.random_range(0..TOPICS));
                json!({"#t": [topic], "limit": QUERY_LIMIT})
            })
            .await?;
            eprintln!(
                "{}: REQ author/kind p50 {:.2} ms p99 {:.2} ms; tag p50 {:.2} ms p99 {:.2} ms",
                relay.name, f.author_kind_ms.0, f.author_kind_ms.1, f.tag_ms.0, f.tag_ms.1
            );
        }
        anyhow::Ok(())
    })?;
    for relay in &mut relays {
        let f = figures.entry(relay.name).or_default();
        (f.rss_kib, f.peak_rss_kib) = relay.memory()?;
        relay.stop()?;
        f.disk_bytes = dir_bytes(relay.data.path());
    }

    report(
        &figures,
        &relays.iter().map(|r| r.name).collect::<Vec<_>>(),
        Report {
            events,
            serial,
            connections,
            window,
            queries,
            cores,
            verify_per_s,
            json_bytes,
            floor,
        },
    );
    Ok(())
}

struct Report {
    events: usize,
    serial: usize,
    connections: usize,
    window: usize,
    queries: usize,
    cores: usize,
    verify_per_s: f64,
    json_bytes: usize,
    floor: Floor,
}

fn report(figures: &HashMap<&'static str, Figures>, names: &[&'static str], r: Report) {
    let get = |name: &str| figures.get(name);
    let per_event = |f: &Figures| f.disk_bytes / r.events as u64;
    println!(
        "\n{} events ({} bytes of JSON each on average); {} sent one at a time, the rest over {} \
         connections with {} in flight each; {} queries of each kind, limit {QUERY_LIMIT}\n",
        r.events, r.json_bytes, r.serial, r.connections, r.window, r.queries
    );
    print!("| measure |");
    for name in names {
        print!(" {name} |");
    }
    println!();
    print!("|---|");
    for _ in names {
        print!("---:|");
    }
    println!();
    let row = |label: &str, cell: &dyn Fn(&Figures) -> String| {
        print!("| {label} |");
        for name in names {
            print!(" {} |", get(name).map_or_else(String::new, cell));
        }
        println!();
    };
    row("ingest, 1 in flight (events/s)", &|f| {
        format!("{:.0}", f.serial_per_s)
    });
    row(
        &format!("ingest, {} connections (events/s)", r.connections),
        &|f| format!("{:.0}", f.parallel_per_s),
    );
    row("REQ author+kind p50 / p99 (ms)", &|f| {
        format!("{:.2} / {:.2}", f.author_kind_ms.0, f.author_kind_ms.1)
    });
    row("REQ tag p50 / p99 (ms)", &|f| {
        format!("{:.2} / {:.2}", f.tag_ms.0, f.tag_ms.1)
    });
    row("resident memory (MiB)", &|f| {
        format!("{:.0}", f.rss_kib as f64 / 1024.0)
    });
    row("peak resident memory (MiB)", &|f| {
        format!("{:.0}", f.peak_rss_kib as f64 / 1024.0)
    });
    row("bytes on disk per event", &|f| per_event(f).to_string());
    println!(
        "\nsignature verification alone: {:.0} events/s on {} cores",
        r.verify_per_s, r.cores
    );

    let us = |d: Duration| (d.as_secs_f64() * 1e7).round() / 10.0;
    println!(
        "one event in flight, whoever stores it: at most {:.0} events/s here (a flush of one page \
         {} µs, a loopback round trip {} µs, one signature check {} µs)",
        r.floor.per_s(),
        us(r.floor.flush),
        us(r.floor.round_trip),
        us(r.floor.verify)
    );

    let mut summary = json!({
        "events": r.events,
        "cores": r.cores,
        "verify_events_per_s": r.verify_per_s.round(),
        "json_bytes_per_event": r.json_bytes,
        "one_in_flight_ceiling": {
            "events_per_s": r.floor.per_s().round(),
            "flush_us": us(r.floor.flush),
            "round_trip_us": us(r.floor.round_trip),
            "verify_us": us(r.floor.verify),
        },
    });
    for name in names {
        if let Some(f) = get(name) {
            summary[*name] = json!({
                "ingest_serial_events_per_s": f.serial_per_s.round(),
                "ingest_parallel_events_per_s": f.parallel_per_s.round(),
                "req_author_kind_ms": [f.author_kind_ms.0, f.author_kind_ms.1],
                "req_tag_ms": [f.tag_ms.0, f.tag_ms.1],
                "rss_kib": f.rss_kib,
                "peak_rss_kib": f.peak_rss_kib,
                "disk_bytes_per_event": per_event(f),
            });
        }
    }
    let round2 = |x: f64| (x * 100.0).round() / 100.0;
    if let Some(ours) = get("samizdat") {
        let mut ratios = json!({
            "parallel_ingest_to_verify": round2(ours.parallel_per_s / r.verify_per_s),
        });
        if let Some(theirs) = get("nostr-rs-relay") {
            ratios["serial_ingest_vs_nostr_rs_relay"] =
                json!(round2(ours.serial_per_s / theirs.serial_per_s));
            ratios["serial_ceiling_vs_nostr_rs_relay"] =
                json!(round2(r.floor.per_s() / theirs.serial_per_s));
            // What one event may cost beyond the floor, at three times
            // nostr-rs-relay's one-in-flight rate.
            let left = 1.0 / (3.0 * theirs.serial_per_s) - 1.0 / r.floor.per_s();
            summary["one_in_flight_ceiling"]["left_at_3x_nostr_rs_relay_us"] =
                json!((left * 1e7).round() / 10.0);
            ratios["parallel_ingest_vs_nostr_rs_relay"] =
                json!(round2(ours.parallel_per_s / theirs.parallel_per_s));
            ratios["rss_vs_nostr_rs_relay"] =
                json!(round2(ours.rss_kib as f64 / theirs.rss_kib.max(1) as f64));
            ratios["disk_vs_nostr_rs_relay"] = json!(round2(
                per_event(ours) as f64 / per_event(theirs).max(1) as f64
            ));
        }
        println!(
            "samizdat: parallel ingest is {:.2} of the verification limit (target ≥ 0.50)",
            ratios["parallel_ingest_to_verify"].as_f64().unwrap_or(0.0)
        );
        if let Some(x) = ratios["serial_ingest_vs_nostr_rs_relay"].as_f64() {
            println!("samizdat: one-in-flight ingest is {x:.2}× nostr-rs-relay's (target ≥ 3)");
        }
        if let Some(x) = ratios["serial_ceiling_vs_nostr_rs_relay"].as_f64() {
            println!(
                "the floor above allows any durable relay at most {x:.2}× nostr-rs-relay's \
                 one-in-flight rate (nostr-rs-relay does not flush a commit: synchronous=NORMAL)"
            );
        }
        if let Some(left) =
            summary["one_in_flight_ceiling"]["left_at_3x_nostr_rs_relay_us"].as_f64()
        {
            println!(
                "at 3× nostr-rs-relay, all the rest of an event (WebSocket, JSON, its id, the \
                 database rows and WAL pages) would have {left:.1} µs"
            );
        }
        summary["ratios"] = ratios;
    }
    println!("\n{summary}");
}

/// Notes with one topic tag each, from `AUTHORS` keys; returns the authors'
/// hex keys too.
pub(crate) fn generate(n: usize) -> Result<(Vec<String>, Vec<Event>)> {
    let keys: Vec<Keys> = (0..AUTHORS).map(|_| Keys::generate()).collect();
    let base = Timestamp::now().as_secs() - n as u64;
    let events = (0..n)
        .into_par_iter()
        .map(|i| {
            let words: Vec<&str> = (0..30)
                .map(|w| WORDS[(i * 7 + w * 13) % WORDS.len()])
                .collect();
            Draft {
                kind: Kind::TextNote,
                created_at: Timestamp::from_secs(base + i as u64),
                tags: vec![vec!["t".into(), format!("topic-{}", (i / 7) % TOPICS)]],
                content: format!("{} {i}", words.join(" ")),
            }
            .sign(&keys[i % AUTHORS])
            .map_err(anyhow::Error::from)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((
        keys.iter().map(|k| k.public_key().to_hex()).collect(),
        events,
    ))
}
