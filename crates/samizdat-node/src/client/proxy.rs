//! Outgoing connections through a proxy (`route::Proxy`, parsed with the
//! configuration): SOCKS5, including Tor's, with RFC 1929 credentials, or
//! an HTTP proxy with `CONNECT` and `Proxy-Authorization: Basic`. The
//! same URL configures the HTTP client (reqwest), so blobs take the same
//! path as events.

use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::route::Scheme;
pub use crate::route::{Proxy, ProxyError};

/// Longest proxy answer to `CONNECT` read before giving up.
const MAX_CONNECT_ANSWER: usize = 16 * 1024;

impl Proxy {
    /// A TCP stream to `host:port` through the proxy, ready for whatever
    /// goes over it (a WebSocket handshake, TLS).
    pub async fn connect(
        &self,
        host: &str,
        port: u16,
        patience: Duration,
    ) -> Result<TcpStream, ProxyError> {
        tokio::time::timeout(patience, self.connect_now(host, port))
            .await
            .map_err(|_| ProxyError::Timeout(self.to_string()))?
    }

    async fn connect_now(&self, host: &str, port: u16) -> Result<TcpStream, ProxyError> {
        let proxy = (self.host.as_str(), self.port);
        match self.scheme {
            Scheme::Socks5(remote_dns) => {
                let target = if remote_dns {
                    tokio_socks::TargetAddr::Domain(host.into(), port)
                } else {
                    let addr = tokio::net::lookup_host((host, port))
                        .await
                        .map_err(|e| ProxyError::Connect(self.to_string(), e.to_string()))?
                        .next()
                        .ok_or_else(|| {
                            ProxyError::Connect(self.to_string(), format!("{host} has no address"))
                        })?;
                    tokio_socks::TargetAddr::Ip(addr)
                };
                let stream = match &self.credentials {
                    Some((user, pass)) => {
                        tokio_socks::tcp::Socks5Stream::connect_with_password(
                            proxy, target, user, pass,
                        )
                        .await
                    }
                    None => tokio_socks::tcp::Socks5Stream::connect(proxy, target).await,
                }
                .map_err(|e| self.socks_error(e))?;
                Ok(stream.into_inner())
            }
            Scheme::HttpConnect => {
                let mut stream = TcpStream::connect(proxy)
                    .await
                    .map_err(|e| ProxyError::Connect(self.to_string(), e.to_string()))?;
                let _ = stream.set_nodelay(true);
                let authority = if host.contains(':') {
                    format!("[{host}]:{port}")
                } else {
                    format!("{host}:{port}")
                };
                let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
                if let Some((user, pass)) = &self.credentials {
                    let token =
                        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
                    request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
                }
                request.push_str("\r\n");
                stream
                    .write_all(request.as_bytes())
                    .await
                    .map_err(|e| ProxyError::Connect(self.to_string(), e.to_string()))?;
                self.read_connect_answer(&mut stream).await?;
                Ok(stream)
            }
        }
    }

    /// Reads the proxy's answer to `CONNECT` byte by byte, so that not one
    /// byte of the tunnel is taken with it.
    async fn read_connect_answer(&self, stream: &mut TcpStream) -> Result<(), ProxyError> {
        let mut head = Vec::with_capacity(256);
        let mut byte = [0u8; 1];
        // Bounded by MAX_CONNECT_ANSWER bytes.
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() >= MAX_CONNECT_ANSWER {
                return Err(ProxyError::Refused(
                    self.to_string(),
                    "an answer to CONNECT without end".into(),
                ));
            }
            let n = stream
                .read(&mut byte)
                .await
                .map_err(|e| ProxyError::Connect(self.to_string(), e.to_string()))?;
            if n == 0 {
                return Err(ProxyError::Refused(
                    self.to_string(),
                    "closed the connection instead of answering CONNECT".into(),
                ));
            }
            head.push(byte[0]);
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {}
            _ => {
                return Err(ProxyError::Refused(
                    self.to_string(),
                    "not an HTTP answer to CONNECT".into(),
                ));
            }
        }
        match response.code {
            Some(200..=299) => Ok(()),
            Some(code) => Err(ProxyError::Refused(
                self.to_string(),
                format!("{code} {}", response.reason.unwrap_or("")),
            )),
            None => Err(ProxyError::Refused(
                self.to_string(),
                "no status in the answer to CONNECT".into(),
            )),
        }
    }

    fn socks_error(&self, e: tokio_socks::Error) -> ProxyError {
        match e {
            tokio_socks::Error::Io(e) => ProxyError::Connect(self.to_string(), e.to_string()),
            tokio_socks::Error::ProxyServerUnreachable => {
                ProxyError::Connect(self.to_string(), "nothing answers there".into())
            }
            other => ProxyError::Refused(self.to_string(), other.to_string()),
        }
    }
}
