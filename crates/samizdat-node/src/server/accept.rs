//! Taking connections in: how many, from whom, and how long each may take
//! to say what it wants.
//!
//! - The node raises its own descriptor limit at start (the soft limit up
//!   to the hard one) and keeps a reserve of descriptors for its store,
//!   its blob files and its outgoing links, so that `accept` never fails
//!   for everyone because one client opened too many connections.
//! - One address holds at most `connections.per_address` connections at
//!   once (an IPv6 client counts by its /64, the block one subscriber
//!   gets); past it, or past the total, a new connection is closed as
//!   soon as it is taken.
//! - Request headers must arrive within `connections.header_timeout`
//!   (also between requests on a kept-alive connection); bodies have their
//!   own deadlines where they are read, and relay connections theirs
//!   (`relay.idle_timeout`, `relay.write_timeout`).
//!
//! A connection's pass travels with its socket, so a connection upgraded
//! to a WebSocket still counts until the socket closes.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Descriptors kept back from connections for everything else the node
/// opens: the store's database and journal, blob files being written or
/// read, outgoing sync links, the LAN sockets.
pub const RESERVE: u64 = 128;

/// How long `accept` pauses after an error (descriptors exhausted after
/// all, say) before trying again, so that an error does not spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(50);

/// Raises the soft limit on open descriptors to the hard one and returns
/// the limit now in force.
pub fn raise_descriptor_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return 1024;
    }
    // An unlimited hard limit is refused by the kernel above `nr_open`.
    let wanted = limit.rlim_max.min(1 << 20);
    if limit.rlim_cur < wanted {
        let raised = libc::rlimit {
            rlim_cur: wanted,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            tracing::debug!(
                from = limit.rlim_cur,
                to = wanted,
                "raised the open-file limit"
            );
            return wanted;
        }
        tracing::warn!(
            limit = limit.rlim_cur,
            "could not raise the open-file limit"
        );
    }
    limit.rlim_cur
}

/// Counts connections by address and in total.
pub(crate) struct Gate {
    counts: Mutex<Counts>,
    per_address: usize,
    total: usize,
    /// When a refusal was last logged, so a flood logs once a minute.
    told: Mutex<Option<Instant>>,
}

#[derive(Default)]
struct Counts {
    by_address: HashMap<IpAddr, usize>,
    total: usize,
}

/// Why a connection was closed as soon as it was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Its address already holds its share.
    Address,
    /// The node holds all the connections its descriptors allow.
    Full,
}

impl Gate {
    /// A gate for `per_address` connections from one address and, with
    /// `descriptors` open files allowed, all of them but [`RESERVE`].
    pub fn new(per_address: usize, descriptors: u64) -> Arc<Gate> {
        let total = descriptors.saturating_sub(RESERVE).max(16);
        Arc::new(Gate {
            counts: Mutex::new(Counts::default()),
            per_address: per_address.max(1),
            total: usize::try_from(total).unwrap_or(usize::MAX),
            told: Mutex::new(None),
        })
    }

    /// Most connections the node holds at once.
    pub fn total(&self) -> usize {
        self.total
    }

    /// A pass for a connection from `ip`, or why there is none.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Pass, Refusal> {
        let key = key(ip);
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.total >= self.total {
            return Err(Refusal::Full);
        }
        let mine = counts.by_address.entry(key).or_insert(0);
        if *mine >= self.per_address {
            return Err(Refusal::Address);
        }
        *mine += 1;
        counts.total += 1;
        Ok(Pass {
            gate: Arc::clone(self),
            key,
        })
    }

    /// Connections held now, from `ip`'s address and in total.
    #[cfg(test)]
    fn held(&self, ip: IpAddr) -> (usize, usize) {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        (
            counts.by_address.get(&key(ip)).copied().unwrap_or(0),
            counts.total,
        )
    }

    fn refused(&self, ip: IpAddr, why: Refusal) {
        let now = Instant::now();
        let mut told = self.told.lock().unwrap_or_else(|p| p.into_inner());
        if told.is_some_and(|t| now.duration_since(t) < Duration::from_secs(60)) {
            tracing::debug!(%ip, ?why, "connection refused");
            return;
        }
        *told = Some(now);
        match why {
            Refusal::Address => tracing::warn!(
                %ip,
                limit = self.per_address,
                "an address holds its share of connections: closing its new ones"
            ),
            Refusal::Full => tracing::warn!(
                limit = self.total,
                "the node holds all the connections it can: closing new ones"
            ),
        }
    }
}

/// The address connections are counted under: an IPv4 address, or the
/// /64 of an IPv6 one (an IPv4 address mapped into IPv6 counts as itself).
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

/// One connection's place at the gate, given back when it is dropped.
pub(crate) struct Pass {
    gate: Arc<Gate>,
    key: IpAddr,
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut counts = self.gate.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.by_address.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.by_address.remove(&self.key);
            }
            counts.total = counts.total.saturating_sub(1);
        }
    }
}

/// A socket with its pass: the pass is given back when the socket closes,
/// whoever holds it then (the HTTP server, or a WebSocket after upgrade).
pub(crate) struct Counted {
    tcp: TcpStream,
    _pass: Pass,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// Takes the next connection the gate admits. Refused ones are closed at
/// once; errors of `accept` itself (descriptors exhausted despite the
/// reserve, a connection reset before it was taken) pause briefly.
pub(crate) async fn next(listener: &TcpListener, gate: &Arc<Gate>) -> (Counted, SocketAddr) {
    // Bounded by the node's life: returns with the first admitted client.
    loop {
        match listener.accept().await {
            Ok((tcp, addr)) => match gate.admit(addr.ip()) {
                Ok(pass) => {
                    // Answers are small messages that must leave at once.
                    if let Err(e) = tcp.set_nodelay(true) {
                        tracing::debug!(error = %e, "TCP_NODELAY");
                    }
                    return (Counted { tcp, _pass: pass }, addr);
                }
                Err(why) => {
                    gate.refused(addr.ip(), why);
                    drop(tcp);
                }
            },
            Err(e) => {
                tracing::debug!(error = %e, "accept");
                tokio::time::sleep(ACCEPT_PAUSE).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_share_and_gives_it_back() {
        let gate = Gate::new(3, RESERVE + 5);
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let held: Vec<Pass> = (0..3).map(|_| gate.admit(a).unwrap()).collect();
        assert_eq!(gate.admit(a).err(), Some(Refusal::Address));
        let other = gate.admit(b).unwrap();
        assert_eq!(gate.held(a), (3, 4));
        drop(held);
        assert_eq!(gate.held(a), (0, 1));
        assert!(gate.admit(a).is_ok());
        drop(other);
    }

    #[test]
    fn the_total_keeps_a_reserve() {
        let gate = Gate::new(100, RESERVE + 16);
        assert_eq!(gate.total(), 16);
        let held: Vec<Pass> = (0..16u8)
            .map(|i| gate.admit(IpAddr::from([10, 0, 0, i])).unwrap())
            .collect();
        assert_eq!(
            gate.admit("10.0.1.1".parse().unwrap()).err(),
            Some(Refusal::Full)
        );
        drop(held);
        assert!(gate.admit("10.0.1.1".parse().unwrap()).is_ok());
    }

    #[test]
    fn an_ipv6_client_counts_by_its_block() {
        let gate = Gate::new(2, RESERVE + 50);
        let one = gate.admit("2001:db8:1:2::1".parse().unwrap()).unwrap();
        let two = gate.admit("2001:db8:1:2:ffff::9".parse().unwrap()).unwrap();
        assert_eq!(
            gate.admit("2001:db8:1:2:abcd::1".parse().unwrap()).err(),
            Some(Refusal::Address)
        );
        assert!(gate.admit("2001:db8:1:3::1".parse().unwrap()).is_ok());
        // An IPv4 client seen through a dual-stack socket is itself.
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
        drop((one, two));
    }

    #[test]
    fn the_limit_is_raised_to_the_hard_one() {
        let limit = raise_descriptor_limit();
        let mut now = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut now) }, 0);
        assert_eq!(now.rlim_cur, limit);
        assert!(limit == now.rlim_max.min(1 << 20) || limit >= 1 << 20);
    }
}
