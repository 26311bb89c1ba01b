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
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use rand::RngExt;
use rayon::prelude::*;
use samizdat_core::nostr::prelude::{Event, Keys, Kind, Timestamp};
use samizdat_core::sign::Draft;
use samizdat_node::client::wire::{self, Dial, Socket};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use yawc::{Frame, OpCode};

use crate::BenchRelayArgs;
use crate::ingest::WORDS;
use crate::progress;

/// Authors and topics of the generated events: an author/kind query and a
/// tag query each select about 1% of the store.
const AUTHORS: usize = 100;
const TOPICS: usize = 100;
/// Results asked for by each benchmark query.
const QUERY_LIMIT: usize = 100;
/// How long any one answer may take before the run is abandoned.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// Rounds of each floor measurement (a flush, a round trip).
const FLOOR_ROUNDS: u32 = 500;

/// The least one acknowledged event costs on this machine, whoever stores
/// it: the sender waits for a durable flush, for its message to cross to
/// another process and the answer to come back, and for one signature
/// check. Nothing else is counted, so the true ceiling is lower.
struct Floor {
    flush: Duration,
    round_trip: Duration,
    verify: Duration,
}

impl Floor {
    fn measure(verify_per_s: f64, cores: usize) -> Result<Floor> {
        Ok(Floor {
            flush: flush_floor()?,
            round_trip: round_trip_floor()?,
            verify: Duration::from_secs_f64(cores as f64 / verify_per_s),
        })
    }

    /// Events per second with one in flight, at best.
    fn per_s(&self) -> f64 {
        1.0 / (self.flush + self.round_trip + self.verify).as_secs_f64()
    }
}

/// One 8 KiB page rewritten in place and flushed with `fdatasync`, in a
/// temporary directory (where the relays keep their data too): the least
/// a durable commit waits for. Mean of [`FLOOR_ROUNDS`].
fn flush_floor() -> Result<Duration> {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let file = std::fs::File::create(dir.path().join("flush"))?;
    let page = [0x5a_u8; 8192];
    file.write_all_at(&page, 0)?;
    file.sync_all()?;
    let started = Instant::now();
    for _ in 0..FLOOR_ROUNDS {
        file.write_all_at(&page, 0)?;
        file.sync_data()?;
    }
    Ok(started.elapsed() / FLOOR_ROUNDS)
}

/// 64 bytes to another thread over loopback TCP and back: the least a
/// message and its answer take between a client and a server. Mean of
/// [`FLOOR_ROUNDS`].
fn round_trip_floor() -> Result<Duration> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut socket, _) = listener.accept()?;
        socket.set_nodelay(true)?;
        socket.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        let mut message = [0u8; 64];
        for _ in 0..FLOOR_ROUNDS {
            socket.read_exact(&mut message)?;
            socket.write_all(&message)?;
        }
        Ok(())
    });
    let mut socket = std::net::TcpStream::connect(address)?;
    socket.set_nodelay(true)?;
    socket.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    let mut message = [7u8; 64];
    let started = Instant::now();
    for _ in 0..FLOOR_ROUNDS {
        socket.write_all(&message)?;
        socket.read_exact(&mut message)?;
    }
    let took = started.elapsed() / FLOOR_ROUNDS;
    echo.join()
        .map_err(|_| anyhow!("the echo thread panicked"))?
        .context("echoing over loopback")?;
    Ok(took)
}

/// One relay under test: a child process, its data directory and its log.
struct Relay {
    name: &'static str,
    url: String,
    child: Child,
    data: tempfile::TempDir,
    _logs: tempfile::TempDir,
}

impl Relay {
    fn samizdat() -> Result<Relay> {
        let data = tempfile::tempdir().context("creating a data directory")?;
        let logs = tempfile::tempdir().context("creating a log directory")?;
        // The defaults protect a node from one client; here one client is
        // the whole load, so the per-client budgets are lifted.
        let config = data.path().join("samizdat.toml");
        std::fs::write(
            &config,
            "[relay]\nevents_per_second = 10000000\nevents_per_second_per_ip = 10000000\n\
             queries_per_second = 10000000\n",
        )?;
        let exe = crate::samizdat_exe()?;
        let log = std::fs::File::create(logs.path().join("serve.log"))?;
        let mut child = Command::new(exe)
            .arg("--data")
            .arg(data.path().join("node"))
            .args(["--json", "serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("starting samizdat serve")?;
        let stdout = child.stdout.take().context("samizdat serve's output")?;
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)?;
        let announced: Value =
            serde_json::from_str(&line).with_context(|| format!("samizdat serve said {line:?}"))?;
        let url = announced["relay"]
            .as_str()
            .context("samizdat serve did not say where it listens")?
            .to_string();
        Ok(Relay {
            name: "samizdat",
            url,
            child,
            data,
            _logs: logs,
        })
    }

    fn nostr_rs_relay(binary: &Path) -> Result<Relay> {
        let data = tempfile::tempdir().context("creating a data directory")?;
        let logs = tempfile::tempdir().context("creating a log directory")?;
        let port = free_port()?;
        let config = logs.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[info]\nrelay_url = \"ws://127.0.0.1:{port}/\"\nname = \"bench\"\n\
                 [database]\ndata_directory = {data:?}\n\
                 [network]\naddress = \"127.0.0.1\"\nport = {port}\n\
                 [options]\nreject_future_seconds = 1800\n\
                 [limits]\nmax_event_bytes = 262144\nmax_ws_message_bytes = 524288\n\
                 max_ws_frame_bytes = 524288\n",
                data = data.path().display().to_string(),
            ),
        )?;
        let log = std::fs::File::create(logs.path().join("relay.log"))?;
        let child = Command::new(binary)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut relay = Relay {
            name: "nostr-rs-relay",
            url: format!("ws://127.0.0.1:{port}"),
            child,
            data,
            _logs: logs,
        };
        // Up to ten seconds for it to open its port.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(relay);
            }
            if let Some(status) = relay.child.try_wait()? {
                bail!("nostr-rs-relay exited at start ({status})");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        relay.kill();
        bail!("nostr-rs-relay did not open port {port} within 10 s")
    }

    /// Resident and peak resident memory, in KiB.
    fn memory(&self) -> Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .with_context(|| format!("reading {}'s memory use", self.name))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok((field("VmRSS:"), field("VmHWM:")))
    }

    /// SIGTERM, then (bounded) wait; SIGKILL if it does not go.
    fn stop(&mut self) -> Result<()> {
        let pid = libc::pid_t::try_from(self.child.id()).context("process id")?;
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        for _ in 0..300 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill();
        bail!("{} did not stop within 30 s of SIGTERM", self.name)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

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
fn generate(n: usize) -> Result<(Vec<String>, Vec<Event>)> {
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

/// A plain client, as most Nostr clients are: no compression, no Nagle.
async fn connect(relay: &Relay) -> Result<Socket> {
    let dial = Dial {
        max_message_bytes: 16 * 1024 * 1024,
        compress: false,
        patience: ANSWER_TIMEOUT,
    };
    wire::connect(relay.url.as_str(), dial, None, Arc::default())
        .await
        .map_err(|e| anyhow!("connecting to {} at {}: {e}", relay.name, relay.url))
}

/// The next text message, within the answer timeout.
async fn next_text(socket: &mut (impl StreamExt<Item = Frame> + Unpin)) -> Result<String> {
    loop {
        let frame = tokio::time::timeout(ANSWER_TIMEOUT, socket.next())
            .await
            .map_err(|_| anyhow!("no answer within {ANSWER_TIMEOUT:?}"))?
            .ok_or_else(|| anyhow!("the relay closed the connection"))?;
        match frame.opcode() {
            OpCode::Text => return Ok(String::from_utf8(frame.into_payload().to_vec())?),
            OpCode::Close => bail!(
                "the relay closed the connection: {:?}",
                frame.close_reason().ok().flatten()
            ),
            _ => {}
        }
    }
}

/// `["OK", id, accepted, message]` → (id, accepted, message).
fn ok_of(text: &str) -> Option<(String, bool, String)> {
    let value: Value = serde_json::from_str(text).ok()?;
    let array = value.as_array()?;
    if array.first()?.as_str()? != "OK" {
        return None;
    }
    Some((
        array.get(1)?.as_str()?.to_string(),
        array.get(2)?.as_bool()?,
        array
            .get(3)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    ))
}

/// One connection, one event at a time: send, wait for its `OK`.
async fn ingest_serial(relay: &Relay, lines: &[Arc<str>], ids: &[String]) -> Result<f64> {
    let mut socket = connect(relay).await?;
    let bar = progress::bar(
        Some(lines.len() as u64),
        &format!("{}: one in flight", relay.name),
    );
    let started = Instant::now();
    for (line, id) in lines.iter().zip(ids) {
        socket.send(Frame::text(line.to_string())).await?;
        loop {
            let text = next_text(&mut socket).await?;
            if let Some((ok_id, accepted, message)) = ok_of(&text) {
                if ok_id != *id {
                    continue;
                }
                if !accepted {
                    bail!("{} refused an event: {message}", relay.name);
                }
                break;
            }
        }
        bar.inc(1);
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    let _ = socket.close().await;
    Ok(lines.len() as f64 / elapsed.as_secs_f64())
}

/// `connections` connections, each keeping up to `window` events in
/// flight, until every event has its `OK`.
async fn ingest_parallel(
    relay: &Relay,
    lines: &[Arc<str>],
    connections: usize,
    window: usize,
) -> Result<f64> {
    let bar = progress::bar(
        Some(lines.len() as u64),
        &format!("{}: {connections} connections", relay.name),
    );
    let chunk = lines.len().div_ceil(connections).max(1);
    let mut sockets = Vec::new();
    for _ in 0..connections {
        sockets.push(connect(relay).await?);
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (socket, part) in sockets.into_iter().zip(lines.chunks(chunk)) {
        let part: Vec<Arc<str>> = part.to_vec();
        let bar = bar.clone();
        let name = relay.name;
        tasks.spawn(async move {
            let (mut sink, mut stream) = socket.split();
            let credit = Arc::new(Semaphore::new(window));
            let total = part.len();
            let sender = {
                let credit = Arc::clone(&credit);
                tokio::spawn(async move {
                    for line in part {
                        credit.acquire().await?.forget();
                        sink.send(Frame::text(line.to_string())).await?;
                    }
                    anyhow::Ok(sink)
                })
            };
            let mut acknowledged = 0;
            while acknowledged < total {
                let text = next_text(&mut stream).await?;
                if let Some((_, accepted, message)) = ok_of(&text) {
                    if !accepted {
                        bail!("{name} refused an event: {message}");
                    }
                    acknowledged += 1;
                    credit.add_permits(1);
                    bar.inc(1);
                }
            }
            let mut sink = sender.await??;
            let _ = sink.close().await;
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    Ok(lines.len() as f64 / elapsed.as_secs_f64())
}

/// Sequential `REQ`s on one connection; returns (p50, p99) in ms from
/// sending the `REQ` to its `EOSE`.
async fn query_latency(
    relay: &Relay,
    queries: usize,
    filter: impl Fn(&mut rand::rngs::ThreadRng) -> Value,
) -> Result<(f64, f64)> {
    let mut socket = connect(relay).await?;
    let mut rng = rand::rng();
    let bar = progress::bar(Some(queries as u64), &format!("{}: queries", relay.name));
    let mut latencies = Vec::with_capacity(queries);
    for i in 0..queries {
        let id = format!("q{i}");
        let req = json!(["REQ", id, filter(&mut rng)]).to_string();
        let eose = json!(["EOSE", id]).to_string();
        let started = Instant::now();
        socket.send(Frame::text(req)).await?;
        let mut received = 0;
        loop {
            let text = next_text(&mut socket).await?;
            if text.starts_with(r#"["EVENT""#) {
                received += 1;
            } else if text == eose || text.replace(' ', "") == eose {
                break;
            } else if text.starts_with(r#"["CLOSED""#) && text.contains(&format!(r#""{id}""#)) {
                bail!("{} refused a query: {text}", relay.name);
            }
        }
        latencies.push(started.elapsed());
        if received == 0 {
            bail!(
                "{} returned nothing for a query that matches events",
                relay.name
            );
        }
        socket
            .send(Frame::text(json!(["CLOSE", id]).to_string()))
            .await?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let _ = socket.close().await;
    latencies.sort();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    Ok((at(0.50), at(0.99)))
}
