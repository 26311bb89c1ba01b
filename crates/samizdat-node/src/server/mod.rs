//! The node as a handle: bind, serve, shut down.
//!
//! One port carries everything: a WebSocket upgrade on `/` is the relay,
//! `GET /` with `Accept: application/nostr+json` is the NIP-11 document,
//! and the Blossom routes serve blobs.

mod accept;
pub mod blossom;
mod chores;
mod nip11;
pub mod relay;
mod routes;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use samizdat_core::nostr::prelude::{PublicKey, ToBech32};
use samizdat_store::Store;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_util::task::TaskTracker;
use tower_service::Service;

use crate::client::outbound::{FetchError, Fetcher, Reach};
use crate::client::peers::{self, Peers};
use crate::config::Config;
use crate::ingest::Ingest;
use accept::Gate;
use relay::PerIp;

/// Drop-box forms read at once (memory: this many times
/// `web.max_upload_bytes` at most).
const UPLOADS_AT_ONCE: usize = 4;

/// How long shutdown lets HTTP requests in progress finish: a client that
/// trickles its headers or its body is dropped after this.
const HTTP_DRAIN: Duration = Duration::from_secs(2);
/// How long shutdown then waits for relay connections to send the `OK`s
/// of what they took (every one already durable) and close.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a live event stays in the ring: far longer than any reading
/// subscriber needs, and past a connection's write deadline.
const LIVE_AGE: Duration = Duration::from_secs(60);

/// What every service shares.
pub(crate) struct Shared {
    pub config: Config,
    pub ingest: Ingest,
    /// Store reads that may run at once.
    pub reads: Semaphore,
    /// Turns true when the node begins to shut down.
    pub shutdown: watch::Receiver<bool>,
    /// Upgraded connections, which the HTTP server no longer tracks.
    pub connections: TaskTracker,
    /// The peers kept in step, and how each is doing.
    pub peers: Arc<Peers>,
}

/// The router's state: what the services share and what each holds
/// alone. A service takes its part through axum's `FromRef`
/// ([`relay::Relay`], [`blossom::Blossom`], [`web::Web`]), so that it
/// sees only its own.
#[derive(Clone)]
pub(crate) struct State {
    pub node: Arc<Shared>,
    pub relay: Arc<relay::Own>,
    pub blossom: Arc<blossom::Own>,
    pub web: Arc<web::Own>,
}

/// Why the node could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("serving: {0}")]
    Serve(std::io::Error),
    #[error("setting up outgoing HTTP: {0}")]
    Outbound(#[from] FetchError),
    #[error(transparent)]
    Lan(#[from] crate::client::lan::LanError),
    #[error(transparent)]
    NodeKey(#[from] crate::node_key::NodeKeyError),
    #[error(
        "the data directory {0} disappeared (wiped, or moved away) while the node ran: it \
         stopped, and made nothing there again"
    )]
    DataGone(std::path::PathBuf),
}

/// A bound node. Binding comes first, so a caller (or a test on port 0)
/// knows the address before anything is served.
pub struct Node {
    listener: TcpListener,
    state: State,
    stop: watch::Sender<bool>,
    gate: Arc<Gate>,
}

impl Node {
    pub async fn bind(config: Config, store: Store) -> Result<Node, NodeError> {
        let descriptors = accept::raise_descriptor_limit();
        let gate = Gate::new(config.connections.per_address, descriptors);
        tracing::debug!(
            descriptors,
            connections = gate.total(),
            per_address = config.connections.per_address,
            "connection limits"
        );
        let addr = config.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| NodeError::Bind { addr, source })?;
        let node_key = crate::node_key::load_or_create(store.dir())?;
        tracing::info!(
            node = %node_key.public_key().to_bech32().unwrap_or_default(),
            carriers = config.carriers.len(),
            "node key (peers list it in `carriers` to hand this node sealed records)"
        );
        let (stop, shutdown) = watch::channel(false);
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let mirror = if config.blossom.mirror {
            let reach = if config.blossom.mirror_private_addresses {
                Reach::Any
            } else {
                Reach::Public
            };
            Some(Fetcher::new(
                reach,
                config.blossom.mirror_timeout,
                config.proxy.as_ref(),
            )?)
        } else {
            None
        };
        let store_dir = store.dir().to_path_buf();
        let ingest = Ingest::new(
            store,
            config.events,
            crate::live::Bounds {
                events: config.relay.live_backlog,
                bytes: config.relay.live_backlog_bytes,
                age: LIVE_AGE,
            },
        );
        ingest.follow_other_front_nodes();
        let connections = TaskTracker::new();
        let peers = peers::start(
            &config,
            node_key,
            ingest.store(),
            ingest.announcer(),
            shutdown.clone(),
            &connections,
        );
        if config.lan.enabled {
            let local = listener.local_addr().unwrap_or(addr);
            crate::client::lan::start(
                local,
                config.lan.max_peers,
                peers.clone(),
                shutdown.clone(),
                &connections,
            )?;
        }
        let documenters = documenters(&config, store_dir.as_path());
        let per_hour = f64::from(config.web.submissions_per_hour);
        let console = crate::server::web::Console::new();
        let web = web::Own {
            submissions: PerIp::with(per_hour / 3600.0, per_hour),
            forms: web::FormSlots::default(),
            uploads: Semaphore::new(UPLOADS_AT_ONCE),
            documenters,
            console,
            registry: crate::people::Cached::default(),
        };
        let blossom = blossom::Own {
            mirror,
            upload_bytes: {
                let per_hour = config.blossom.upload_bytes_per_hour as f64;
                PerIp::with(per_hour / 3600.0, per_hour)
            },
            bodies: Semaphore::new(UPLOADS_AT_ONCE),
            uploads: Arc::default(),
        };
        let relay = relay::Own {
            per_ip: PerIp::new(config.relay.events_per_second_per_ip),
        };
        let state = State {
            node: Arc::new(Shared {
                ingest,
                reads: Semaphore::new(cores * 4),
                shutdown,
                connections,
                peers,
                config,
            }),
            relay: Arc::new(relay),
            blossom: Arc::new(blossom),
            web: Arc::new(web),
        };
        chores::lock_when_idle(&state);
        chores::let_go_after_bursts(&state);
        chores::collect_unneeded_blobs(&state);
        Ok(Node {
            listener,
            state,
            stop,
            gate,
        })
    }

    /// The console's access key, for the operator: `serve` prints it in
    /// the console's address and writes it where only its owner reads.
    pub fn console_key(&self) -> &str {
        self.state.web.console.access_key()
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.state.node.config.listen)
    }

    /// Serves until `signal` completes, then shuts down gracefully: stops
    /// accepting, lets every connection send the `OK`s for what it took,
    /// closes connections with a reason, and returns. Events acknowledged
    /// are durable before their `OK`; dropping the store afterwards
    /// commits anything still queued.
    pub async fn run(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), NodeError> {
        let Node {
            listener,
            state,
            stop,
            gate,
        } = self;
        let app = routes::router(state.clone());
        let dir = state.node.ingest.store().dir().to_path_buf();
        let gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let watch_for_stop = {
            let (dir, gone) = (dir.clone(), Arc::clone(&gone));
            async move {
                tokio::select! {
                    () = signal => {
                        tracing::info!("shutting down: no new connections; finishing open ones");
                    }
                    () = chores::data_gone(dir) => {
                        gone.store(true, std::sync::atomic::Ordering::SeqCst);
                        tracing::error!("the data directory disappeared: stopping at once");
                    }
                }
                let _ = stop.send(true);
            }
        };
        let http = TaskTracker::new();
        let accepting = serve_http(
            listener,
            app,
            gate,
            state.node.config.connections.header_timeout,
            state.node.shutdown.clone(),
            http.clone(),
        );
        tokio::spawn(watch_for_stop);
        accepting.await;
        // Shutdown takes a bounded time whatever clients do: requests still
        // arriving after HTTP_DRAIN are dropped with their connections.
        http.close();
        if tokio::time::timeout(HTTP_DRAIN, http.wait()).await.is_err() {
            tracing::warn!("HTTP clients still sending after {HTTP_DRAIN:?}: dropped");
        }
        state.node.connections.close();
        let gone = gone.load(std::sync::atomic::Ordering::SeqCst);
        // Nothing left to finish for a directory that is gone.
        let drain = if gone {
            Duration::from_secs(1)
        } else {
            DRAIN_TIMEOUT
        };
        if tokio::time::timeout(drain, state.node.connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close in time");
        }
        tracing::info!("node stopped");
        if gone {
            return Err(NodeError::DataGone(dir));
        }
        Ok(())
    }
}

/// Takes connections until the node stops, serving each on a task of
/// `http`: HTTP/1.1 with upgrades (the relay's WebSocket), headers within
/// `header_timeout`. When the node stops, each connection finishes the
/// request it is answering and closes; the caller bounds how long.
async fn serve_http(
    listener: TcpListener,
    app: Router,
    gate: Arc<Gate>,
    header_timeout: Duration,
    shutdown: watch::Receiver<bool>,
    http: TaskTracker,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout);
    let mut stopped = shutdown.clone();
    // Bounded by the node's life: ends when the node stops.
    loop {
        let (io, addr) = tokio::select! {
            taken = accept::next(&listener, &gate) => taken,
            () = stopping(&mut stopped) => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(addr));
            let mut app = app.clone();
            async move { app.call(request).await }
        });
        let conn = builder
            .serve_connection(hyper_util::rt::TokioIo::new(io), service)
            .with_upgrades();
        let mut stop = shutdown.clone();
        http.spawn(async move {
            tokio::pin!(conn);
            let served = tokio::select! {
                served = conn.as_mut() => served,
                () = stopping(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = served {
                tracing::debug!(%addr, error = %e, "connection ended");
            }
        });
    }
}

/// Completes once the node is stopping.
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}

/// Who reads sealed drop-box submissions: the configured documenters, or
/// else the node's default identity.
fn documenters(config: &Config, dir: &std::path::Path) -> Vec<PublicKey> {
    if !config.web.documenters.is_empty() {
        return config.web.documenters.iter().map(|d| d.0).collect();
    }
    let keys = samizdat_store::KeyStore::new(dir.join("keys"));
    keys.default_name()
        .ok()
        .flatten()
        .and_then(|name| keys.get(&name).ok())
        .and_then(|entry| entry.public_key().ok())
        .into_iter()
        .collect()
}
