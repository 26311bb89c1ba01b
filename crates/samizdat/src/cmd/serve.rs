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
    let listen_given = args.listen.is_some();
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
    for left in super::sweep(&ctx.data) {
        tracing::info!(path = %left.display(), "removed what a cut import or write left");
    }
    let store = ctx.store_with(&config.store)?;
    tracing::info!(blobs = %store.blobs().shelf().describe(), "blobs kept in");
    let web = config.web.enabled;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("samizdat-node")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let node = Node::bind(config, store).await?;
        let addr = node.local_addr();
        let console = console_url(addr, node.console_key());
        let written = match &console {
            Some(url) => write_console_url(&ctx.data, url),
            None => Ok(()),
        };
        let banner = Banner {
            addr,
            web,
            listen_given,
            console: console.as_deref(),
            written: written.is_ok(),
        };
        banner.show(ctx);
        if let Err(e) = written {
            tracing::warn!(error = %e, "writing {CONSOLE_FILE}");
        }
        let ran = node.run(stop_signal()).await;
        // The key dies with the node; a directory that is gone stays gone.
        let _ = std::fs::remove_file(ctx.data.join(CONSOLE_FILE));
        ran?;
        anyhow::Ok(())
    })?;
    // Tasks still running (a connection dropped at the deadline, a file
    // being cleaned) are not waited for long: every acknowledged event is
    // already durable, and the store commits what it holds when dropped.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(Code::Success)
}

/// Where the console's address (with its access key) is kept while the
/// node runs, readable by the data directory's owner only.
pub const CONSOLE_FILE: &str = "console.url";

/// The console's address on this machine, with the access key that lets
/// a browser in; `None` when the node listens on one other address only,
/// since the console answers on loopback alone.
fn console_url(addr: SocketAddr, key: &str) -> Option<String> {
    let host = match addr.ip() {
        IpAddr::V6(ip) if ip.is_loopback() => format!("[{ip}]"),
        IpAddr::V4(ip) if ip.is_loopback() => ip.to_string(),
        ip if ip.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
        _ => return None,
    };
    Some(format!("http://{host}:{}/console?key={key}", addr.port()))
}

fn write_console_url(data: &std::path::Path, url: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let path = data.join(CONSOLE_FILE);
    // A file left by a node that was killed names a dead key.
    let _ = std::fs::remove_file(&path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    writeln!(file, "{url}")
}

/// What the start-up banner says.
struct Banner<'a> {
    addr: SocketAddr,
    /// Whether the web interface (drop box, pages, console) is on.
    web: bool,
    /// Whether `--listen` was given: then no hint to use it.
    listen_given: bool,
    console: Option<&'a str>,
    /// Whether the console's address was written to its file.
    written: bool,
}

impl Banner<'_> {
    /// Says, in one short block, where to open the drop box, where the
    /// console is and who can reach them; with `--json`, one object. The
    /// console's key is printed only to a terminal (or to a script that
    /// asked for JSON), never into a log a service manager keeps.
    fn show(&self, ctx: &Context) {
        use std::io::IsTerminal;
        let addr = self.addr;
        let drop_box = self.drop_box_urls();
        if ctx.json {
            println!(
                "{}",
                serde_json::json!({
                    "relay": format!("ws://{addr}"),
                    "blossom": format!("http://{addr}"),
                    "drop_box": drop_box,
                    "data": ctx.data,
                    "console": self.console,
                })
            );
            return;
        }
        println!("samizdat is serving. Open in a browser:");
        if !self.web {
            println!("  no web pages: [web] enabled = false in samizdat.toml");
        } else {
            let reach = if addr.ip().is_loopback() {
                if self.listen_given {
                    "only this machine can reach it".to_string()
                } else {
                    "only this machine can reach it; `serve --listen` opens it to the local network"
                        .to_string()
                }
            } else if addr.ip().is_unspecified() {
                "anyone who can reach this machine can read public records and leave new ones"
                    .to_string()
            } else {
                format!("whoever can reach {}", addr.ip())
            };
            println!("  drop box     {}", drop_box.join("  "));
            println!("               {reach}");
            match self.console {
                None => println!(
                    "  console      none: it answers on loopback alone, and this node listens on {}",
                    addr.ip()
                ),
                Some(url) if std::io::stdout().is_terminal() => {
                    println!("  console      {url}");
                    println!("               for documenters, on this machine only");
                }
                Some(_) if self.written => println!(
                    "  console      its address, with its key, is in {}",
                    ctx.data.join(CONSOLE_FILE).display()
                ),
                Some(_) => {}
            }
        }
        println!(
            "Nostr relay ws://{addr} · Blossom http://{addr} · data {}",
            ctx.data.display()
        );
    }

    /// Where a witness opens the drop box: on every interface, this
    /// machine's addresses (loopback last).
    fn drop_box_urls(&self) -> Vec<String> {
        let port = self.addr.port();
        let url = |ip: IpAddr| match ip {
            IpAddr::V6(v6) => format!("http://[{v6}]:{port}/submit"),
            IpAddr::V4(v4) => format!("http://{v4}:{port}/submit"),
        };
        if !self.addr.ip().is_unspecified() {
            return vec![url(self.addr.ip())];
        }
        let mut ips: Vec<IpAddr> = samizdat_node::client::lan::Net::here()
            .into_iter()
            .map(|net| net.ip)
            .filter(|ip| ip.is_ipv4() && !ip.is_loopback())
            .collect();
        ips.sort();
        ips.dedup();
        ips.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
        ips.into_iter().map(url).collect()
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM; a second one ends the
/// process at once (what was acknowledged is already on the disk).
async fn stop_signal() {
    first_signal().await;
    tokio::spawn(async {
        first_signal().await;
        eprintln!("samizdat: stopped at once by a second signal");
        std::process::exit(130);
    });
}

async fn first_signal() {
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
