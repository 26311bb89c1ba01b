//! `samizdat sync URL`: reconcile this store with a peer relay, with a
//! progress bar on a terminal and a summary at the end.

use anyhow::{Context as _, Result, bail};
use indicatif::ProgressBar;
use samizdat_node::client::proxy::Proxy;
use samizdat_node::client::sync::{Method, Stop, Summary, SyncOptions};
use samizdat_node::config::Direction;
use samizdat_node::progress::Observer;
use samizdat_node::proto::filter::Filter;
use samizdat_node::route::RelayUrl;
use serde_json::Value;

use crate::cli::SyncArgs;
use crate::context::Context;
use crate::exit::Code;
use crate::{output, progress};

/// Drives one progress bar per phase.
pub(crate) struct Bar(pub(crate) Option<ProgressBar>);

impl Observer for Bar {
    fn phase(&mut self, what: &str, total: Option<u64>) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
        self.0 = Some(progress::bar(total, what));
    }

    fn advance(&mut self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }
}

pub fn run(ctx: &Context, args: SyncArgs) -> Result<Code> {
    let filter = match &args.filter {
        None => Filter::default(),
        Some(text) => match serde_json::from_str(text) {
            Ok(Value::Object(map)) => {
                Filter::own(&map).with_context(|| format!("--filter {text}"))?
            }
            _ => bail!("--filter must be a JSON object, such as '{{\"kinds\":[1948]}}'"),
        },
    };
    let direction = if args.pull {
        Direction::Pull
    } else if args.push {
        Direction::Push
    } else {
        Direction::Both
    };
    let mut options = SyncOptions {
        direction,
        filter,
        patience: args.timeout,
        window: args.window,
        max_bytes: args.max_bytes,
        blobs: !args.no_blobs,
        blossom: args.blossom.clone(),
        proxy: args
            .proxy
            .as_deref()
            .map(Proxy::parse)
            .transpose()
            .context("--proxy")?,
        ..SyncOptions::default()
    };
    let url = RelayUrl::parse(&args.url)?;
    let store = ctx.store()?;
    let node = samizdat_node::node_key::load_or_create(&ctx.data)?;
    options.reads_for = samizdat_node::node_key::reads_for(&ctx.data, &node);
    options.identity = Some(node);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut bar = Bar(None);
    let mut summary = samizdat_node::client::sync::Summary::default();
    let synced = runtime.block_on(samizdat_node::client::sync::sync_into(
        &store,
        &url,
        &options,
        &mut bar,
        &mut summary,
    ));
    if let Some(bar) = bar.0.take() {
        bar.finish_and_clear();
    }
    // What crossed is said whether or not the link held.
    if let Err(e) = synced {
        if !ctx.json {
            println!("the link failed part-way; this much had crossed, and stays:");
        }
        report(ctx, &args.url, &summary)?;
        return Err(anyhow::Error::new(e).context(format!("syncing with {}", args.url)));
    }
    report(ctx, &args.url, &summary)?;
    let refused = summary.refused_by_peer
        + summary.rejected_from_peer
        + summary.blobs_rejected
        + summary.blobs_refused_by_peer;
    Ok(if refused > 0 || !summary.complete() {
        Code::Problems
    } else {
        Code::Success
    })
}

fn report(ctx: &Context, url: &str, s: &Summary) -> Result<()> {
    if ctx.json {
        println!("{}", serde_json::to_string(s)?);
        return Ok(());
    }
    if s.method == Method::Req {
        println!("{url} does not support NIP-77: differences found with REQ queries instead");
    }
    if s.authenticated {
        println!("authenticated to {url} with this node's key (NIP-42)");
    }
    println!(
        "received {} of {} events missing here ({} bytes), sent {} of {} missing there ({} bytes)",
        s.received, s.missing_here, s.received_bytes, s.sent, s.missing_there, s.sent_bytes
    );
    println!(
        "{} round trips, {} bytes in and {} bytes out on the wire, {:.2} s",
        s.round_trips, s.wire_in, s.wire_out, s.seconds
    );
    if s.blobs_missing_here + s.blobs_missing_there > 0 {
        println!(
            "blobs: received {} of {} missing here ({} bytes, {} resumed), sent {} of {} missing there ({} bytes)",
            s.blobs_received,
            s.blobs_missing_here,
            s.blob_bytes_in,
            s.blobs_resumed,
            s.blobs_sent,
            s.blobs_missing_there,
            s.blob_bytes_out
        );
    }
    if s.blobs_rejected + s.blobs_refused_by_peer > 0 {
        println!(
            "{} blobs from the peer were refused here and the peer refused {} (first problem: {})",
            s.blobs_rejected,
            s.blobs_refused_by_peer,
            s.first_blob_problem.as_deref().unwrap_or("none given")
        );
    }
    match s.stopped {
        Some(Stop::Window) => {
            println!("stopped: the window closed; run again to go on from here")
        }
        Some(Stop::Bytes) => {
            println!("stopped: the byte budget is spent; run again to go on from here")
        }
        None => {}
    }
    if s.rejected_from_peer > 0 {
        println!(
            "{} events from the peer failed validation and were not stored",
            s.rejected_from_peer
        );
    }
    if s.withheld > 0 {
        println!(
            "{} events not sent: their authors marked them protected (NIP-70), theirs alone to publish",
            s.withheld
        );
    }
    if s.refused_by_peer > 0 {
        println!(
            "the peer refused {} events (first reason: {})",
            s.refused_by_peer,
            s.first_refusal
                .as_deref()
                .map_or("none given".into(), |r| output::one_line(r, 200))
        );
    }
    if s.refused_before > 0 {
        println!(
            "{} events not sent: the peer refused them for good before",
            s.refused_before
        );
    }
    if let Some(held) = &s.held_back {
        println!("{url} {}.", output::one_line(held, 200));
        println!(
            "  To receive the ones sealed for you: create or unlock your identity on this node \
             (`samizdat id new`, or unlock the console), which vouches that this node reads \
             for it; or ask {url}'s operator to list this node's key (`samizdat peers` shows \
             it) in its carriers."
        );
    }
    Ok(())
}
