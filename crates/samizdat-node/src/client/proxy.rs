//! Outgoing connections through a proxy: SOCKS5, including Tor's, or an
//! HTTP proxy with `CONNECT`.
//!
//! - `socks5h://host:port` hands the peer's *name* to the proxy, which
//!   resolves it: nothing about the peer is asked of the local DNS, and
//!   `.onion` names work. This is the form to use with Tor.
//! - `socks5://host:port` resolves the name here and hands over the
//!   address.
//! - `http://host:port` asks the proxy to `CONNECT` to `name:port`.
//!
//! `user:password@` in the URL is sent to a SOCKS5 proxy (RFC 1929) or as
//! `Proxy-Authorization: Basic` to an HTTP one. The same URL configures
//! the HTTP client (reqwest), so blobs take the same path as events.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest proxy answer to `CONNECT` read before giving up.
const MAX_CONNECT_ANSWER: usize = 16 * 1024;

/// Why a proxy could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("proxy {0:?}: {1}")]
    Url(String, String),
    #[error("connecting to the proxy {0}: {1}")]
    Connect(String, String),
    #[error("the proxy {0} refused: {1}")]
    Refused(String, String),
    #[error("the proxy {0} timed out")]
    Timeout(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    /// SOCKS5; `true` when the proxy resolves names.
    Socks5(bool),
    HttpConnect,
}

/// A proxy to reach peers through.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    scheme: Scheme,
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
    url: Url,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string())
    }
}

/// Shown without the password.
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.url.scheme();
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

impl Proxy {
    /// Parses `socks5://`, `socks5h://` or `http://` `[user:pass@]host:port`.
    pub fn parse(text: &str) -> Result<Proxy, ProxyError> {
        let bad = |why: &str| ProxyError::Url(redact(text), why.to_string());
        let url = Url::parse(text).map_err(|e| bad(&e.to_string()))?;
        let scheme = match url.scheme() {
            "socks5h" => Scheme::Socks5(true),
            "socks5" => Scheme::Socks5(false),
            "http" => Scheme::HttpConnect,
            _ => return Err(bad("the scheme must be socks5h://, socks5:// or http://")),
        };
        let host = url
            .host_str()
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| bad("no port (Tor's is usually 9050)"))?;
        if url.path() != "/" && !url.path().is_empty() {
            return Err(bad("a proxy URL has no path"));
        }
        let credentials = (!url.username().is_empty()).then(|| {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .map_or_else(|_| s.to_string(), |d| d.into_owned())
            };
            (decode(url.username()), decode(url.password().unwrap_or("")))
        });
        Ok(Proxy {
            scheme,
            host,
            port,
            credentials,
            url,
        })
    }

    /// The proxy as reqwest takes it, so HTTP goes the same way.
    pub fn for_http(&self) -> Result<reqwest::Proxy, ProxyError> {
        reqwest::Proxy::all(self.url.as_str())
            .map_err(|e| ProxyError::Url(self.to_string(), e.to_string()))
    }

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

/// `text` with any password replaced, for error messages.
fn redact(text: &str) -> String {
    match Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_kinds_and_refuses_the_rest() {
        let tor = Proxy::parse("socks5h://127.0.0.1:9050").unwrap();
        assert_eq!(tor.scheme, Scheme::Socks5(true));
        assert_eq!((tor.host.as_str(), tor.port), ("127.0.0.1", 9050));
        assert_eq!(Proxy::parse("socks5://[::1]:1080").unwrap().host, "::1");
        let http = Proxy::parse("http://user:p%40ss@127.0.0.1:3128").unwrap();
        assert_eq!(http.scheme, Scheme::HttpConnect);
        assert_eq!(
            http.credentials,
            Some(("user".to_string(), "p@ss".to_string()))
        );
        // The password never shows.
        assert_eq!(http.to_string(), "http://127.0.0.1:3128");
        assert!(!format!("{http:?}").contains("p%40ss"));
        for bad in [
            "ftp://127.0.0.1:21",
            "https://127.0.0.1:443",
            "socks5h://127.0.0.1",
            "127.0.0.1:9050",
            "socks5://127.0.0.1:1080/path",
        ] {
            assert!(Proxy::parse(bad).is_err(), "{bad}");
        }
        let err = Proxy::parse("ftp://u:secret@127.0.0.1:21").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
