//! Outgoing WebSocket connections, as every part of the node that dials a
//! relay makes them: TCP directly or through a proxy, TLS for `wss://`,
//! the handshake offering permessage-deflate (RFC 7692, taken only if the
//! peer agrees, so relays without it still work), and every byte that
//! crosses the socket counted.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_util::either::Either;

use crate::client::proxy::{Proxy, ProxyError};
use crate::route::RelayUrl;

/// The byte stream under a client WebSocket.
pub type Io = Counted<Either<TcpStream, TlsStream<TcpStream>>>;

/// A client WebSocket.
pub type Socket = yawc::WebSocket<Io>;

/// How a client WebSocket is set up.
#[derive(Debug, Clone, Copy)]
pub struct Dial {
    /// Largest message taken from the peer.
    pub max_message_bytes: usize,
    /// Offer permessage-deflate.
    pub compress: bool,
    /// Bound on the whole of connecting: TCP, proxy, TLS, handshake.
    pub patience: Duration,
}

/// Bytes read from and written to one or more sockets.
#[derive(Debug, Default)]
pub struct Meter {
    read: AtomicU64,
    written: AtomicU64,
}

impl Meter {
    pub fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// Why a WebSocket could not be opened, each with its cause.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error("timed out")]
    Timeout,
    #[error("{source}{}", tcp_hint(source))]
    Tcp { source: io::Error },
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error("{host} is not a name TLS can check: {source}")]
    ServerName {
        host: String,
        source: tokio_rustls::rustls::pki_types::InvalidDnsNameError,
    },
    #[error("TLS: {source}")]
    Tls { source: io::Error },
    #[error("WebSocket handshake{via}: {source}")]
    Handshake {
        via: String,
        source: yawc::WebSocketError,
    },
}

/// What to check when a TCP connection fails the usual ways.
fn tcp_hint(error: &io::Error) -> &'static str {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => {
            " (nothing listens there: is the node running, and is the port right?)"
        }
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
            " (no route there: is this machine on a network that reaches it, or does it need --proxy?)"
        }
        _ => "",
    }
}

/// Opens a WebSocket to `url` (`ws://` or `wss://`), directly or through
/// `proxy`, counting its bytes into `meter`.
pub async fn connect(
    url: &RelayUrl,
    dial: Dial,
    proxy: Option<&Proxy>,
    meter: Arc<Meter>,
) -> Result<Socket, DialError> {
    tokio::time::timeout(dial.patience, connect_now(url, dial, proxy, meter))
        .await
        .map_err(|_| DialError::Timeout)?
}

async fn connect_now(
    url: &RelayUrl,
    dial: Dial,
    proxy: Option<&Proxy>,
    meter: Arc<Meter>,
) -> Result<Socket, DialError> {
    let tls = url.tls();
    let host = url.host().to_string();
    let port = url.port();
    let tcp = match proxy {
        None => TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|source| DialError::Tcp { source })?,
        Some(proxy) => proxy.connect(&host, port, dial.patience).await?,
    };
    // Small messages both ways, many of them awaited: no Nagle.
    let _ = tcp.set_nodelay(true);
    let io = if tls {
        let name = ServerName::try_from(host.clone())
            .map_err(|source| DialError::ServerName { host, source })?;
        let stream = TlsConnector::from(tls_config())
            .connect(name, tcp)
            .await
            .map_err(|source| DialError::Tls { source })?;
        Either::Right(stream)
    } else {
        Either::Left(tcp)
    };
    let io = Counted { inner: io, meter };
    let mut options = yawc::Options::default()
        .with_max_payload_read(dial.max_message_bytes)
        .with_max_read_buffer(dial.max_message_bytes)
        .with_utf8();
    if dial.compress {
        options = options.with_low_latency_compression();
    }
    let via = proxy.map_or(String::new(), |p| format!(" through {p}"));
    yawc::WebSocket::handshake(url.url().clone(), io, options)
        .await
        .map_err(|source| DialError::Handshake { via, source })
}

/// The system's trust roots, loaded once.
fn tls_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            crate::client::outbound::install_tls_provider();
            let mut roots = RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                tracing::warn!(error = %e, "reading the system's TLS trust roots");
            }
            let (added, ignored) = roots.add_parsable_certificates(found.certs);
            tracing::debug!(added, ignored, "TLS trust roots");
            Arc::new(
                ClientConfig::builder()
                    .with_root_certificates(roots)
                    .with_no_client_auth(),
            )
        })
        .clone()
}

/// A stream that counts what passes through it.
pub struct Counted<S> {
    inner: S,
    meter: Arc<Meter>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before);
        self.meter.read.fetch_add(read as u64, Ordering::Relaxed);
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = polled {
            self.meter.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = polled {
            self.meter.written.fetch_add(n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
