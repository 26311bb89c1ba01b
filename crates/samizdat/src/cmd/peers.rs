//! `samizdat peers`: the peers of samizdat.toml and how `serve` last found
//! each (from `peers.json`, which the node keeps up to date).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use samizdat_node::client::peers::{PeerStatus, STATUS_FILE, State};
use samizdat_node::{CONFIG_FILE, Config};
use serde::Deserialize;

use crate::context::Context;
use crate::exit::Code;
use crate::time;

#[derive(Deserialize)]
struct Saved {
    updated: u64,
    peers: Vec<PeerStatus>,
}

pub fn run(ctx: &Context, config: Option<PathBuf>) -> Result<Code> {
    ctx.require_initialised()?;
    let config_path = config.unwrap_or_else(|| ctx.data.join(CONFIG_FILE));
    let config = Config::load(&config_path)?;
    let status_path = ctx.data.join(STATUS_FILE);
    let saved: Option<Saved> = match std::fs::read_to_string(&status_path) {
        Ok(text) => Some(
            serde_json::from_str(&text)
                .with_context(|| format!("reading {}", status_path.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", status_path.display())),
    };
    let (updated, known) = saved.map_or((None, Vec::new()), |s| (Some(s.updated), s.peers));
    // The configuration says which peers there are; the node's file says
    // how each was doing when it last ran.
    let mut peers: Vec<PeerStatus> = config
        .peers
        .iter()
        .map(|p| {
            known
                .iter()
                .find(|k| k.url == p.url.as_str() && !k.found)
                .cloned()
                .unwrap_or_else(|| PeerStatus {
                    url: p.url.to_string(),
                    direction: Some(p.direction),
                    ..PeerStatus::default()
                })
        })
        .collect();
    // And the peers the node found on the local network (`--lan`).
    peers.extend(known.into_iter().filter(|k| k.found));
    if ctx.json {
        for peer in &peers {
            println!("{}", serde_json::to_string(peer)?);
        }
        return Ok(Code::Success);
    }
    let node = samizdat_node::node_key::load_or_create(&ctx.data)?.public_key();
    println!(
        "this node: {} (a peer that lists it in `nodes` takes its records at a node's pace; \
         in `carriers`, also hands it sealed records to carry)",
        crate::output::npub(&node)
    );
    if !config.nodes.is_empty() {
        println!(
            "known nodes: {} node(s) publish here at a node's pace",
            config.nodes.len()
        );
    }
    if !config.carriers.is_empty() {
        println!(
            "carriers: {} node(s) are handed every sealed record",
            config.carriers.len()
        );
    }
    if peers.is_empty() {
        println!(
            "no peers: add a [[peers]] table with a url to {} (see samizdat.example.toml), \
             or let `samizdat serve --lan` find nodes on the local network",
            config_path.display()
        );
        return Ok(Code::Success);
    }
    match updated {
        Some(at) => println!("as `samizdat serve` last saw them, at {}:", time::show(at)),
        None => println!("`samizdat serve` has not run with these peers yet"),
    }
    let now = jiff::Timestamp::now().as_second().max(0) as u64;
    for p in &peers {
        let direction = match p.direction {
            Some(d) => serde_json::to_value(d)?
                .as_str()
                .unwrap_or("both")
                .to_string(),
            None => "both".into(),
        };
        let state = match p.state {
            State::Idle => "idle",
            State::Syncing => "syncing",
            State::Retrying => "retrying",
            State::Gone => "gone",
        };
        let found = if p.found {
            ", found on the local network"
        } else {
            ""
        };
        println!("{}  ({direction}, {state}{found})", p.url);
        match p.last_success {
            Some(at) => println!(
                "  last success {}; since the node started: {} events in, {} out, {} blobs in, {} out",
                ago(now, at),
                p.received,
                p.sent,
                p.blobs_received,
                p.blobs_sent
            ),
            None => println!("  never synced"),
        }
        if let (Some(error), Some(at)) = (&p.last_error, p.last_error_at) {
            println!(
                "  last error {}: {error}{}",
                ago(now, at),
                if p.failures > 0 {
                    format!(" ({} failures in a row)", p.failures)
                } else {
                    String::new()
                }
            );
        }
        if p.waiting > 0 {
            println!("  {} events new here since the last success", p.waiting);
        }
        if let Some(at) = p.next_attempt
            && at > now
        {
            println!("  next attempt in {}", span(at - now));
        }
    }
    Ok(Code::Success)
}

fn ago(now: u64, at: u64) -> String {
    format!("{} ago ({})", span(now.saturating_sub(at)), time::show(at))
}

fn span(seconds: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(seconds)).to_string()
}
