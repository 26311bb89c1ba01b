//! How the node reaches out: directly, or through a proxy (SOCKS5,
//! including Tor's, or HTTP `CONNECT`), as the configuration says. Parsed
//! once, when the configuration loads; `client::proxy` connects through
//! it.
//!
//! - `socks5h://host:port` hands the peer's *name* to the proxy, which
//!   resolves it: nothing about the peer is asked of the local DNS, and
//!   `.onion` names work. This is the form to use with Tor.
//! - `socks5://host:port` resolves the name here and hands over the
//!   address.
//! - `http://host:port` asks the proxy to `CONNECT` to `name:port`.
//!
//! `user:password@` in the URL is sent to a SOCKS5 proxy (RFC 1929) or as
//! `Proxy-Authorization: Basic` to an HTTP one; it is never shown.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
pub use url::Url;

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
pub(crate) enum Scheme {
    /// SOCKS5; `true` when the proxy resolves names.
    Socks5(bool),
    HttpConnect,
}

/// A proxy to reach peers through.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    pub(crate) scheme: Scheme,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) credentials: Option<(String, String)>,
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
}

/// A proxy in the configuration: its URL, checked when the file loads.
/// Written back without its password.
impl<'de> Deserialize<'de> for Proxy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Proxy, D::Error> {
        let text = String::deserialize(d)?;
        Proxy::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Proxy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// How one peer or relay is reached, when it differs from the node's
/// own `proxy`: `"direct"`, or a proxy URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Direct,
    Via(Proxy),
}

impl Route {
    /// The proxy to use: this route's, or else `fallback` (the node's).
    pub fn pick(route: Option<&Route>, fallback: Option<&Proxy>) -> Option<Proxy> {
        match route {
            Some(Route::Direct) => None,
            Some(Route::Via(proxy)) => Some(proxy.clone()),
            None => fallback.cloned(),
        }
    }
}

impl<'de> Deserialize<'de> for Route {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Route, D::Error> {
        let text = String::deserialize(d)?;
        if text == "direct" {
            return Ok(Route::Direct);
        }
        Proxy::parse(&text)
            .map(Route::Via)
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for Route {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Route::Direct => s.serialize_str("direct"),
            Route::Via(proxy) => proxy.serialize(s),
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

/// Why a relay's address was refused.
#[derive(Debug, thiserror::Error)]
pub enum RelayUrlError {
    #[error(
        "{text:?} is not a URL ({source}); a relay's address looks like ws://host:port or wss://host"
    )]
    NotUrl {
        text: String,
        source: url::ParseError,
    },
    #[error("{0:?} is not a WebSocket URL; a relay's address begins with ws:// or wss://")]
    Scheme(String),
    #[error("{0:?} has no host; a relay's address looks like ws://host:port or wss://host")]
    NoHost(String),
}

/// At most the first 80 characters of `text`, to show in a message.
fn shown(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// A relay's address, `ws://` or `wss://` with a host: checked once, when
/// it is read (from the configuration, the command line, discovery), so
/// that what dials it only connects. It is shown, and named in NIP-42
/// answers, as it was given.
#[derive(Clone)]
pub struct RelayUrl {
    text: String,
    url: Url,
}

impl PartialEq for RelayUrl {
    fn eq(&self, other: &RelayUrl) -> bool {
        self.text == other.text
    }
}

impl Eq for RelayUrl {}

impl std::hash::Hash for RelayUrl {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl RelayUrl {
    pub fn parse(text: &str) -> Result<RelayUrl, RelayUrlError> {
        let url = Url::parse(text).map_err(|source| RelayUrlError::NotUrl {
            text: shown(text),
            source,
        })?;
        if !matches!(url.scheme(), "ws" | "wss") {
            return Err(RelayUrlError::Scheme(shown(text)));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(RelayUrlError::NoHost(shown(text)));
        }
        Ok(RelayUrl {
            text: text.to_string(),
            url,
        })
    }

    /// The relay on a socket address, unencrypted (LAN discovery, tests).
    pub fn on(address: std::net::SocketAddr) -> RelayUrl {
        let text = format!("ws://{address}");
        match Url::parse(&text) {
            Ok(url) => RelayUrl { text, url },
            // A socket address always makes a URL.
            Err(_) => unreachable!("{text} is a URL"),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Whether the link is TLS (`wss://`).
    pub fn tls(&self) -> bool {
        self.url.scheme() == "wss"
    }

    /// The host, without the brackets of an IPv6 address.
    pub fn host(&self) -> &str {
        self.url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
    }

    pub fn port(&self) -> u16 {
        self.url.port().unwrap_or(if self.tls() { 443 } else { 80 })
    }
}

impl fmt::Display for RelayUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RelayUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RelayUrl({})", self.as_str())
    }
}

impl std::str::FromStr for RelayUrl {
    type Err = RelayUrlError;

    fn from_str(text: &str) -> Result<RelayUrl, RelayUrlError> {
        RelayUrl::parse(text)
    }
}

impl<'de> Deserialize<'de> for RelayUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RelayUrl, D::Error> {
        let text = String::deserialize(d)?;
        RelayUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for RelayUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
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

    #[test]
    fn a_relay_address_is_ws_or_wss_with_a_host() {
        let url = RelayUrl::parse("wss://relay.example/").unwrap();
        assert!(url.tls());
        assert_eq!((url.host(), url.port()), ("relay.example", 443));
        let url = RelayUrl::parse("ws://[::1]:4848").unwrap();
        assert_eq!((url.host(), url.port()), ("::1", 4848));
        assert_eq!(
            RelayUrl::on("127.0.0.1:9".parse().unwrap()).as_str(),
            "ws://127.0.0.1:9"
        );
        for (bad, says) in [
            ("http://127.0.0.1:1", "ws:// or wss://"),
            ("127.0.0.1:1", "ws://host:port"),
            ("ws://", "ws://host:port"),
            ("javascript:alert(1)", "ws:// or wss://"),
        ] {
            let err = RelayUrl::parse(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
