//! `samizdat serve`: run the node (relay and Blossom server) until SIGINT
//! or SIGTERM.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{Context as _, Result};
use samizdat_node::{CONFIG_FILE, Config, Node};

use crate::cli::ServeArgs;
use crate::context::Context;
use crate::exit::Code;

pub fn run(ctx: &Context, args: ServeArgs) -> Result<Code> {
    if !ctx.is_initialised() {
        super::init::create(ctx)?;
        eprintln!("created samizdat data directory {}", ctx.data.display());
    }
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| ctx.data.join(CONFIG_FILE));
    let mut config = Config::load(&config_path)?;
    if args.lan {
        config.lan.enabled = true;
    }
    match args.listen {
        // Discovery is for other machines: serve them too.
        None if config.lan.enabled && config.listen.ip().is_loopback() => {
            config.listen.set_ip(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        }
        None => {}
        // `--listen` alone: every interface, on the configured port.
        Some(None) => config.listen.set_ip(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        Some(Some(addr)) => config.listen = addr,
    }
    // Held until the node stops: `vault lock` waits for it.
    let _lock = super::hold(&ctx.data, "packing it away")?;
    let store = ctx.store()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("samizdat-node")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let node = Node::bind(config, store).await?;
        let addr = node.local_addr();
        announce(ctx, addr);
        node.run(stop_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(Code::Success)
}

/// Says where the node serves: one line a script can read, then hints.
fn announce(ctx: &Context, addr: SocketAddr) {
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({
                "relay": format!("ws://{addr}"),
                "blossom": format!("http://{addr}"),
                "data": ctx.data,
            })
        );
    } else {
        println!("samizdat node serving on ws://{addr} (Nostr relay) and http://{addr} (Blossom)");
        println!("data directory: {}", ctx.data.display());
        if addr.ip().is_unspecified() {
            println!(
                "listening on every network interface: anyone who can reach this machine \
                 can read public records and leave new ones"
            );
        } else if addr.ip().is_loopback() {
            println!("only this machine can connect; `--listen` serves the local network");
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
