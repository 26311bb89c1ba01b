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

use mdns_sd::{IfKind, ResolvedService, ScopedIp, ServiceDaemon, ServiceEvent, ServiceInfo};
use rand::RngExt;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::client::peers::{Kept, Peers};
use crate::config::Direction;
use crate::config::PeerConfig;
use crate::route::RelayUrl;

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
    max_peers: usize,
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
        let mut found: HashMap<String, (RelayUrl, Kept)> = HashMap::new();
        // Bounded by the node's life: one round per discovery event.
        loop {
            let event = tokio::select! {
                e = events.recv_async() => e,
                _ = shutdown.changed() => break,
            };
            let Ok(event) = event else { break };
            match event {
                ServiceEvent::ServiceResolved(service) if service.fullname != own => {
                    let candidates = admissible(&heard(&service), service.port, &Net::here());
                    if candidates.is_empty() {
                        tracing::warn!(name = %service.fullname, "ignored a node that announced no address of this local network");
                        continue;
                    }
                    if !found.contains_key(&service.fullname) && found.len() >= max_peers {
                        tracing::warn!(name = %service.fullname, max_peers, "ignored a node found on the local network: enough found already");
                        continue;
                    }
                    let known = |url: &RelayUrl| {
                        candidates.iter().any(|a| *url == RelayUrl::on(*a))
                    };
                    if found.get(&service.fullname).is_some_and(|(u, _)| known(u)) {
                        continue;
                    }
                    let Some(addr) = reachable(&candidates).await else {
                        continue;
                    };
                    let url = RelayUrl::on(addr);
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

/// One network this machine is on: an interface and an address with its
/// prefix.
#[derive(Debug, Clone)]
pub struct Net {
    pub interface: String,
    pub ip: IpAddr,
    pub prefix: u8,
}

impl Net {
    /// The networks of this machine's interfaces, now.
    pub fn here() -> Vec<Net> {
        if_addrs::get_if_addrs()
            .unwrap_or_default()
            .into_iter()
            .map(|i| Net {
                interface: i.name,
                ip: i.addr.ip(),
                prefix: match i.addr {
                    if_addrs::IfAddr::V4(v4) => v4.prefixlen,
                    if_addrs::IfAddr::V6(v6) => v6.prefixlen,
                },
            })
            .collect()
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32u8),
            IpAddr::V6(v6) => (u128::from(v6), 128u8),
        };
        let ((a, width), (b, other)) = (bits(self.ip), bits(ip));
        if width != other || self.prefix > width {
            return false;
        }
        let mask = if self.prefix == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(self.prefix))
        };
        a & mask == b & mask
    }
}

/// Whether an address may be a node of this local network: private or
/// link-local IPv4, unique-local IPv6 (link-local IPv6 needs a scope a URL
/// cannot carry), never loopback, public or anything else.
fn local_kind(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// The addresses of a found node that this node will dial: each a local
/// kind of address inside a network of the interface the announcement
/// was heard on, IPv4 first. An announcement of a public address (or one
/// heard on another interface than its network's) is no node of this
/// network: dialling it would hand records, gift wraps included, to
/// whoever sent it.
pub fn admissible(heard: &[(IpAddr, Vec<String>)], port: u16, nets: &[Net]) -> Vec<SocketAddr> {
    let mut out: Vec<IpAddr> = heard
        .iter()
        .filter(|(ip, _)| local_kind(*ip))
        .filter(|(ip, interfaces)| {
            nets.iter()
                .any(|n| interfaces.contains(&n.interface) && n.contains(*ip) && n.ip != *ip)
        })
        .map(|(ip, _)| *ip)
        .collect();
    out.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    out.dedup();
    out.into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect()
}

/// The addresses a found node announced, with the interfaces each was
/// heard on.
fn heard(service: &ResolvedService) -> Vec<(IpAddr, Vec<String>)> {
    service
        .addresses
        .iter()
        .map(|a| match a {
            ScopedIp::V4(v4) => (
                IpAddr::V4(*v4.addr()),
                v4.interface_ids().iter().map(|i| i.name.clone()).collect(),
            ),
            ScopedIp::V6(v6) => (IpAddr::V6(*v6.addr()), vec![v6.scope_id().name.clone()]),
            #[allow(unreachable_patterns)]
            _ => (IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), Vec::new()),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn nets() -> Vec<Net> {
        vec![
            Net {
                interface: "wlan0".into(),
                ip: "192.168.1.20".parse().unwrap(),
                prefix: 24,
            },
            Net {
                interface: "eth0".into(),
                ip: "10.0.5.2".parse().unwrap(),
                prefix: 16,
            },
            Net {
                interface: "wlan0".into(),
                ip: "fd12:3456::20".parse().unwrap(),
                prefix: 64,
            },
        ]
    }

    fn on(ip: &str, interface: &str) -> (IpAddr, Vec<String>) {
        (ip.parse().unwrap(), vec![interface.to_string()])
    }

    #[test]
    fn only_local_addresses_of_the_network_they_were_heard_on() {
        let got = admissible(
            &[
                on("203.0.113.7", "wlan0"),  // public: never
                on("198.51.100.1", "eth0"),  // public: never
                on("127.0.0.1", "wlan0"),    // loopback: never
                on("192.168.1.33", "eth0"),  // private, but not eth0's network
                on("192.168.2.33", "wlan0"), // private, another network
                on("192.168.1.20", "wlan0"), // this machine itself
                on("fe80::1", "wlan0"),      // link-local IPv6: no scope in a URL
                on("2001:db8::1", "wlan0"),  // global IPv6
                on("fd12:3456::7", "wlan0"), // unique-local, this network
                on("10.0.9.9", "eth0"),      // private, this network
                on("192.168.1.33", "wlan0"), // private, this network
            ],
            4848,
            &nets(),
        );
        let want: Vec<SocketAddr> = ["10.0.9.9:4848", "192.168.1.33:4848", "[fd12:3456::7]:4848"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        assert_eq!(got, want);
        assert!(admissible(&[on("203.0.113.7", "wlan0")], 4848, &nets()).is_empty());
    }
}
