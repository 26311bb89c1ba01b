//! The benchmark's client: plain connections, events sent one at a
//! time or many in flight, queries timed to their `EOSE`; replies read
//! with the node's own [`RelayMessage`].

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use samizdat_node::client::wire::{self, Dial, Socket};
use samizdat_node::proto::Bounds;
use samizdat_node::proto::client::{RelayMessage, send};
use samizdat_node::proto::filter::Filter;
use samizdat_node::route::RelayUrl;
use serde_json::Value;
use tokio::sync::Semaphore;
use yawc::{Frame, OpCode};

use super::{ANSWER_TIMEOUT, Relay};
use crate::progress;

/// A plain client, as most Nostr clients are: no compression, no Nagle.
pub(super) async fn connect(relay: &Relay) -> Result<Socket> {
    let dial = Dial {
        max_message_bytes: 16 * 1024 * 1024,
        compress: false,
        patience: ANSWER_TIMEOUT,
    };
    let url = RelayUrl::parse(&relay.url)?;
    wire::connect(&url, dial, None, Arc::default())
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

/// `["OK", id, accepted, message]` → (id, accepted, message); `None` for
/// any other message.
fn ok_of(text: &str) -> Option<(String, bool, String)> {
    match RelayMessage::parse(text).ok()? {
        RelayMessage::Ok {
            id,
            accepted,
            message,
        } => Some((id.into_owned(), accepted, message.into_owned())),
        _ => None,
    }
}

/// One connection, one event at a time: send, wait for its `OK`.
pub(super) async fn ingest_serial(
    relay: &Relay,
    lines: &[Arc<str>],
    ids: &[String],
) -> Result<f64> {
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
pub(crate) async fn ingest_parallel(
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
pub(super) async fn query_latency(
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
        let filter = Filter::parse(&filter(&mut rng).to_string(), &Bounds::default())
            .context("a benchmark filter")?;
        let started = Instant::now();
        socket.send(Frame::text(send::req(&id, &[&filter]))).await?;
        let mut received = 0;
        loop {
            let text = next_text(&mut socket).await?;
            match RelayMessage::parse(&text) {
                Ok(RelayMessage::Event { sub, .. }) if sub == id => received += 1,
                Ok(RelayMessage::Eose { sub }) if sub == id => break,
                Ok(RelayMessage::Closed { sub, message }) if sub == id => {
                    bail!("{} refused a query: {message}", relay.name)
                }
                _ => {}
            }
        }
        latencies.push(started.elapsed());
        if received == 0 {
            bail!(
                "{} returned nothing for a query that matches events",
                relay.name
            );
        }
        socket.send(Frame::text(send::close(&id))).await?;
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
