//! Local-network discovery (`serve --lan`): the node announces itself by
//! mDNS/DNS-SD as `_samizdat._tcp.local.` and keeps in step with every
//! other samizdat node it finds, both ways, with no configuration and no
//! internet: a room of laptops and phones on one Wi-Fi (or one cable)
//! shares its records while the uplink is cut.
//!
//! What it reveals, to anyone on the same network segment: that a
//! samizdat node runs at this address and port. The instance name is
//! random for each start (not the host name, not a key) and the TXT
//! record says only the protocol version. Off by default.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use mdns_sd::{IfKind, ResolvedService, ServiceDaemon, ServiceEvent, ServiceInfo};
use rand::RngExt;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::config::PeerConfig;
use crate::peers::{Kept, Peers};
use crate::sync::Direction;

/// The DNS-SD service type samizdat nodes announce and look for.
pub const SERVICE: &str = "_samizdat._tcp.local.";

/// Why discovery could not start.
#[derive(Debug, thiserror::Error)]
#[error("local-network discovery (mDNS): {0}")]
pub struct LanError(String);

impl From<mdns_sd::Error> for LanError {
    fn from(e: mdns_sd::Error) -> Self {
        LanError(e.to_string())
    }
}

/// Announces the node serving on `addr` and keeps in step with every
/// other node found, until `shutdown`.
pub fn start(
    addr: SocketAddr,
    peers: Arc<Peers>,
    mut shutdown: watch::Receiver<bool>,
    tasks: &TaskTracker,
) -> Result<(), LanError> {
    if addr.ip().is_loopback() {
        return Err(LanError(
            "the node listens on loopback only, so no other machine could reach it; \
             serve the local network with --listen"
                .into(),
        ));
    }
    let daemon = ServiceDaemon::new()?;
    // Never announce or look on loopback: other machines are the point.
    daemon.disable_interface(IfKind::LoopbackV4)?;
    daemon.disable_interface(IfKind::LoopbackV6)?;
    let instance = format!("samizdat-{:016x}", rand::rng().random::<u64>());
    let host = format!("{instance}.local.");
    let properties = [("v", "1")];
    let info = if addr.ip().is_unspecified() {
        ServiceInfo::new(SERVICE, &instance, &host, (), addr.port(), &properties[..])?
            .enable_addr_auto()
    } else {
        ServiceInfo::new(
            SERVICE,
            &instance,
            &host,
            addr.ip(),
            addr.port(),
            &properties[..],
        )?
    };
    let own = info.get_fullname().to_string();
    daemon.register(info)?;
    let events = daemon.browse(SERVICE)?;
    tracing::info!(instance = %own, port = addr.port(), "announcing on the local network");
    tasks.spawn(async move {
        let mut found: HashMap<String, (String, Kept)> = HashMap::new();
        // Bounded by the node's life: one round per discovery event.
        loop {
            let event = tokio::select! {
                e = events.recv_async() => e,
                _ = shutdown.changed() => break,
            };
            let Ok(event) = event else { break };
            match event {
                ServiceEvent::ServiceResolved(service) if service.fullname != own => {
                    let candidates = addresses_of(&service);
                    let known = |url: &String| {
                        candidates
                            .iter()
                            .any(|a| *url == format!("ws://{a}"))
                    };
                    if found.get(&service.fullname).is_some_and(|(u, _)| known(u)) {
                        continue;
                    }
                    let Some(addr) = reachable(&candidates).await else {
                        continue;
                    };
                    let url = format!("ws://{addr}");
                    tracing::info!(peer = %url, name = %service.fullname, "found on the local network");
                    let peer = PeerConfig {
                        url: url.clone(),
                        direction: Direction::Both,
                        filter: None,
                        blobs: true,
                        blossom: None,
                        proxy: None,
                        interval: None,
                    };
                    // Local addresses: never through a proxy.
                    let kept = peers.add(&peer, None, true);
                    if let Some((_, old)) = found.insert(service.fullname.clone(), (url, kept)) {
                        peers.retire(&old);
                    }
                }
                ServiceEvent::ServiceRemoved(_, fullname) => {
                    if let Some((url, kept)) = found.remove(&fullname) {
                        tracing::info!(peer = %url, "left the local network");
                        peers.retire(&kept);
                    }
                }
                _ => {}
            }
        }
        if let Ok(done) = daemon.unregister(&own) {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), done.recv_async()).await;
        }
        let _ = daemon.shutdown();
    });
    Ok(())
}

/// The addresses a found node announced, IPv4 first (they need no
/// scope), then routable IPv6 (link-local IPv6 needs an interface scope
/// a URL cannot carry).
fn addresses_of(service: &ResolvedService) -> Vec<SocketAddr> {
    let mut addresses: Vec<IpAddr> = service
        .addresses
        .iter()
        .map(|a| a.to_ip_addr())
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
        .filter(|ip| match ip {
            IpAddr::V4(_) => true,
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
        })
        .collect();
    addresses.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    addresses
        .into_iter()
        .map(|ip| SocketAddr::new(ip, service.port))
        .collect()
}

/// The first of `candidates` that accepts a connection from here (a node
/// on several networks announces addresses this one cannot reach), or
/// else the first, which its keeper retries with backoff.
async fn reachable(candidates: &[SocketAddr]) -> Option<SocketAddr> {
    // Bounded: a few addresses, two seconds each.
    for addr in candidates.iter().take(MAX_PROBES) {
        let probe = tokio::net::TcpStream::connect(addr);
        if let Ok(Ok(_)) = tokio::time::timeout(PROBE_TIMEOUT, probe).await {
            return Some(*addr);
        }
    }
    candidates.first().copied()
}

/// Addresses of one found node tried, and how long each.
const MAX_PROBES: usize = 4;
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
