//! Outgoing HTTP: the node fetching something from elsewhere.
//!
//! A URL that a remote client hands the node (`PUT /mirror`) must not turn
//! the node into a way into the networks behind it: the router's admin
//! page, another service on loopback, a cloud metadata address. With
//! [`Reach::Public`] every address a name resolves to, every literal
//! address in a URL and every redirect target is checked, and the
//! connection goes only to public unicast addresses; the check sits in the
//! resolver, so there is no gap between checking a name and connecting.

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use reqwest::{StatusCode, Url};

use crate::client::proxy::Proxy;

/// Makes ring the process's TLS provider, which every HTTP client built
/// afterwards uses (reqwest is built without a provider of its own, so
/// that aws-lc's C and assembly need not be compiled). Idempotent; an
/// earlier install wins.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// Which addresses an outgoing request may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Public unicast addresses only.
    Public,
    /// Anything, loopback and private networks included (an operator's
    /// choice, or a test on loopback).
    Any,
}

impl Reach {
    fn allows(self, ip: IpAddr) -> bool {
        self == Reach::Any || is_public(ip)
    }
}

/// Why a fetch failed; the text goes back to the client that asked.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the URL is not http(s): {0}")]
    Scheme(String),
    #[error("the URL is not valid: {0}")]
    Url(String),
    #[error("refused: {0} is a loopback, private or otherwise non-public address")]
    NotPublic(String),
    #[error("the source answered {0}")]
    Status(StatusCode),
    #[error("the source holds more than {0} bytes")]
    TooLarge(u64),
    #[error("fetching failed: {0}")]
    Transport(String),
}

/// An HTTP client with an address policy, size caps and timeouts.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    reach: Reach,
}

impl Fetcher {
    /// With a `proxy`, the proxy resolves names and connects, so only
    /// literal addresses (in the URL and every redirect) can be checked
    /// against `reach` here.
    pub fn new(
        reach: Reach,
        timeout: Duration,
        proxy: Option<&Proxy>,
    ) -> Result<Fetcher, FetchError> {
        install_tls_provider();
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error("too many redirects");
            }
            match check_url(attempt.url(), reach) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        });
        let builder = reqwest::Client::builder()
            .user_agent(concat!("samizdat/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(Resolver { reach }))
            .redirect(policy)
            .connect_timeout(Duration::from_secs(15))
            .timeout(timeout);
        let client = build(builder, proxy)?;
        Ok(Fetcher { client, reach })
    }

    /// Downloads `url` whole, refusing more than `max` bytes (before the
    /// body, by `Content-Length`, and while reading it). Returns the bytes
    /// and the `Content-Type` the source gave.
    pub async fn get(&self, url: &str, max: u64) -> Result<(Vec<u8>, Option<String>), FetchError> {
        let url = Url::parse(url).map_err(|e| FetchError::Url(e.to_string()))?;
        check_url(&url, self.reach)?;
        let mut response = self.client.get(url).send().await.map_err(transport)?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status()));
        }
        if response.content_length().is_some_and(|n| n > max) {
            return Err(FetchError::TooLarge(max));
        }
        let mime = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_string());
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if bytes.len() as u64 + chunk.len() as u64 > max {
                return Err(FetchError::TooLarge(max));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((bytes, mime))
    }
}

/// An HTTP client for a peer the operator chose (sync): any address, and
/// a bound on each wait rather than on the whole request, so a large blob
/// on a slow link is cut only when it stalls, not for being slow.
pub fn peer_client(
    patience: Duration,
    proxy: Option<&Proxy>,
) -> Result<reqwest::Client, FetchError> {
    install_tls_provider();
    let builder = reqwest::Client::builder()
        .user_agent(concat!("samizdat/", env!("CARGO_PKG_VERSION")))
        .redirect(redirect::Policy::limited(MAX_REDIRECTS))
        .connect_timeout(patience)
        .read_timeout(patience);
    build(builder, proxy)
}

/// Finishes a client with `proxy` as its only proxy: proxies come from
/// samizdat's own configuration, never from the environment, which would
/// bypass the address policy.
fn build(
    builder: reqwest::ClientBuilder,
    proxy: Option<&Proxy>,
) -> Result<reqwest::Client, FetchError> {
    let mut builder = builder.no_proxy();
    if let Some(proxy) = proxy {
        builder = builder.proxy(
            proxy
                .for_http()
                .map_err(|e| FetchError::Transport(e.to_string()))?,
        );
    }
    builder
        .build()
        .map_err(|e| FetchError::Transport(e.to_string()))
}

/// The innermost cause says what went wrong ("connection refused", the
/// policy's refusal); reqwest's outer layers only repeat the URL.
pub(crate) fn transport(e: reqwest::Error) -> FetchError {
    let mut cause: &dyn StdError = &e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    if let Some(refusal) = cause.downcast_ref::<Refused>() {
        return FetchError::NotPublic(refusal.0.clone());
    }
    if e.is_timeout() {
        return FetchError::Transport("timed out".into());
    }
    FetchError::Transport(cause.to_string())
}

fn check_url(url: &Url, reach: Reach) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Scheme(url.scheme().to_string()));
    }
    let host = url
        .host_str()
        .ok_or_else(|| FetchError::Url("no host".into()))?;
    // A literal address is connected to without the resolver.
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    match literal.parse::<IpAddr>() {
        Ok(ip) if !reach.allows(ip) => Err(FetchError::NotPublic(ip.to_string())),
        _ => Ok(()),
    }
}

/// A resolver that drops the addresses the policy forbids.
struct Resolver {
    reach: Reach,
}

#[derive(Debug, thiserror::Error)]
#[error("refused: {0} resolves only to loopback, private or otherwise non-public addresses")]
struct Refused(String);

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.reach;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| reach.allows(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(Refused(host)) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// Whether `ip` is a public unicast address: not loopback, private,
/// link-local, shared (CGNAT), documentation, benchmarking, multicast,
/// reserved or unspecified; IPv4 inside IPv6 is judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                // IPv4-compatible (deprecated), NAT64 well-known, 6to4 and
                // Teredo embed IPv4 addresses that could be private.
                || (s[0..6] == [0; 6])
                || (s[0] == 0x64 && s[1] == 0xff9b)
                || s[0] == 0x2002
                || (s[0] == 0x2001 && s[1] == 0)
                // Documentation (2001:db8::/32) and discard (100::/64).
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x100 && s[1..4] == [0; 3]))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_not() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} is not public");
        }
        for ip in ["1.1.1.1", "8.8.8.8", "2a00:1450::1", "::ffff:8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn urls_are_checked_before_any_connection() {
        let check = |u: &str| check_url(&Url::parse(u).unwrap(), Reach::Public);
        assert!(matches!(
            check("http://127.0.0.1:4848/x"),
            Err(FetchError::NotPublic(_))
        ));
        assert!(matches!(
            check("http://[::1]/x"),
            Err(FetchError::NotPublic(_))
        ));
        assert!(matches!(
            check("file:///etc/passwd"),
            Err(FetchError::Scheme(_))
        ));
        assert!(check("https://example.org/x").is_ok());
        assert!(check_url(&Url::parse("http://127.0.0.1/").unwrap(), Reach::Any).is_ok());
    }
}
