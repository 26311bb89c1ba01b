//! Sync through proxies: a SOCKS5 proxy (with names resolved by the
//! proxy, as Tor does) and an HTTP proxy (CONNECT), both written here on
//! loopback. The peer is named `peer.samizdat.test`, a name only the
//! proxies know, so a sync that works went through them, events and blobs
//! alike, and asked nothing of the local DNS.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::Node;
use crate::served::Served;
use crate::sync_faults::{held, remote, sync};

/// The name the proxies resolve to loopback; nothing else knows it.
const PEER_NAME: &str = "peer.samizdat.test";

/// What a proxy was asked: one line per connection.
type Log = Arc<Mutex<Vec<String>>>;

fn resolve(host: &str) -> &str {
    if host == PEER_NAME { "127.0.0.1" } else { host }
}

/// Reads exactly `n` bytes.
async fn take(stream: &mut TcpStream, n: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; n];
    stream.read_exact(&mut buf).await.ok()?;
    Some(buf)
}

/// A proxy on loopback that runs `session` for each connection.
async fn proxy<F, Fut>(session: F) -> (SocketAddr, Log)
where
    F: Fn(TcpStream, Log) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Option<()>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log: Log = Arc::default();
    let shared = log.clone();
    tokio::spawn(async move {
        // Ends with the test's runtime.
        for _ in 0..256 {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(session(client, shared.clone()));
        }
    });
    (addr, log)
}

/// A SOCKS5 proxy (RFC 1928, with RFC 1929 user/password when offered)
/// that logs `user target` for each CONNECT.
async fn socks5_proxy() -> (SocketAddr, Log) {
    proxy(socks5_session).await
}

async fn socks5_session(mut client: TcpStream, log: Log) -> Option<()> {
    let greeting = take(&mut client, 2).await?;
    let methods = take(&mut client, usize::from(greeting[1])).await?;
    let mut user = "-".to_string();
    if methods.contains(&2) {
        client.write_all(&[5, 2]).await.ok()?;
        let head = take(&mut client, 2).await?;
        let name = take(&mut client, usize::from(head[1])).await?;
        let len = take(&mut client, 1).await?;
        let pass = take(&mut client, usize::from(len[0])).await?;
        user = format!(
            "{}:{}",
            String::from_utf8_lossy(&name),
            String::from_utf8_lossy(&pass)
        );
        client.write_all(&[1, 0]).await.ok()?;
    } else {
        client.write_all(&[5, 0]).await.ok()?;
    }
    let request = take(&mut client, 4).await?;
    let host = match request[3] {
        1 => {
            let ip = take(&mut client, 4).await?;
            format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
        }
        3 => {
            let len = take(&mut client, 1).await?;
            String::from_utf8(take(&mut client, usize::from(len[0])).await?).ok()?
        }
        _ => return None,
    };
    let port = take(&mut client, 2).await?;
    let port = u16::from_be_bytes([port[0], port[1]]);
    log.lock()
        .expect("log")
        .push(format!("{user} {host}:{port}"));
    let mut upstream = TcpStream::connect((resolve(&host), port)).await.ok()?;
    client
        .write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])
        .await
        .ok()?;
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    Some(())
}

/// An HTTP proxy: `CONNECT host:port` tunnels, any other method is
/// forwarded as it came (absolute-form). Logs the request line's first
/// two words.
async fn http_proxy() -> (SocketAddr, Log) {
    proxy(http_session).await
}

async fn http_session(mut client: TcpStream, log: Log) -> Option<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = client.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut words = text.split_whitespace();
    let method = words.next()?.to_string();
    let target = words.next()?.to_string();
    log.lock().expect("log").push(format!("{method} {target}"));
    let authority = if method == "CONNECT" {
        target.clone()
    } else {
        target
            .strip_prefix("http://")?
            .split('/')
            .next()?
            .to_string()
    };
    let (host, port) = authority.rsplit_once(':')?;
    let mut upstream = TcpStream::connect((resolve(host), port.parse::<u16>().ok()?))
        .await
        .ok()?;
    if method == "CONNECT" {
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .ok()?;
    } else {
        upstream.write_all(&head).await.ok()?;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    Some(())
}

fn logged(log: &Log) -> Vec<String> {
    log.lock().expect("log").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_goes_through_socks5_with_names_resolved_by_the_proxy() {
    let (_remote, served, blobs) = remote(&[40_000], 3).await;
    let (proxy, log) = socks5_proxy().await;
    let url = format!("ws://{PEER_NAME}:{}", served.addr.port());
    let local = Node::start();

    // Without the proxy the name means nothing here.
    let (code, _, stderr) = sync(&local, &url, &["--timeout", "5s"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("connecting"), "{stderr}");

    let through = format!("socks5h://alice:s3cret@{proxy}");
    let (code, summary, stderr) = sync(&local, &url, &["--proxy", &through]);
    let summary = summary.unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert_eq!(code, Some(0), "{summary} {stderr}");
    assert_eq!(summary["received"], 4, "{summary}");
    assert_eq!(summary["blobs_received"], 1, "{summary}");
    assert_eq!(held(&local, &blobs[0]).as_deref(), Some(&blobs[0][..]));
    let asked = logged(&log);
    let target = format!("alice:s3cret {PEER_NAME}:{}", served.addr.port());
    // The WebSocket and the HTTP client both went through, by name.
    assert!(asked.len() >= 2, "{asked:?}");
    assert!(asked.iter().all(|a| *a == target), "{asked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_goes_through_an_http_proxy() {
    let (_remote, served, blobs) = remote(&[40_000], 3).await;
    let (proxy, log) = http_proxy().await;
    let port = served.addr.port();
    let url = format!("ws://{PEER_NAME}:{port}");
    let local = Node::start();
    let (code, summary, stderr) = sync(&local, &url, &["--proxy", &format!("http://{proxy}")]);
    let summary = summary.unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert_eq!(code, Some(0), "{summary} {stderr}");
    assert_eq!(summary["received"], 4, "{summary}");
    assert_eq!(summary["blobs_received"], 1, "{summary}");
    assert_eq!(held(&local, &blobs[0]).as_deref(), Some(&blobs[0][..]));
    let asked = logged(&log);
    assert!(
        asked.contains(&format!("CONNECT {PEER_NAME}:{port}")),
        "the WebSocket tunnels: {asked:?}"
    );
    assert!(
        asked
            .iter()
            .any(|a| a.contains(&format!(" http://{PEER_NAME}:{port}/"))),
        "Blossom requests go through the proxy: {asked:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_proxies_are_clear_errors() {
    let local = Node::start();
    let url = "ws://127.0.0.1:1";
    let err = local.fails(&["sync", url, "--proxy", "ftp://127.0.0.1:21"], 1);
    assert!(err.contains("socks5h://"), "{err}");
    let err = local.fails(
        &["sync", url, "--proxy", "socks5h://u:hunter2@127.0.0.1"],
        1,
    );
    assert!(err.contains("port"), "{err}");
    assert!(!err.contains("hunter2"), "a password is never shown: {err}");
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let err = local.fails(
        &[
            "sync",
            url,
            "--proxy",
            &format!("socks5h://{closed}"),
            "--timeout",
            "5s",
        ],
        1,
    );
    assert!(err.contains("connecting to the proxy"), "{err}");
    // A wss:// peer that does not speak TLS: a TLS error, not a crash.
    let plain = Served::start_owned(Node::start(), "");
    let err = local.fails(
        &["sync", &format!("wss://{}", plain.addr), "--timeout", "5s"],
        1,
    );
    assert!(err.contains("connecting"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reaches_its_peers_through_the_configured_proxy() {
    let (_remote, served, blobs) = remote(&[40_000], 3).await;
    let (proxy, log) = socks5_proxy().await;
    let node = Node::start();
    let config = format!(
        "proxy = \"socks5h://{proxy}\"\n\n[[peers]]\nurl = \"ws://{PEER_NAME}:{}\"\ndirection = \"pull\"\n",
        served.addr.port()
    );
    let local = Served::start(&node, &config);
    let start = Instant::now();
    // Bounded: 30 s, a look every 200 ms.
    loop {
        let mut client = local.client().await;
        client.send(json!(["COUNT", "n", {}])).await;
        let count: Value = client.recv().await[2]["count"].clone();
        if count == 4 && held(&node, &blobs[0]).is_some() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "not synced through the proxy: {count}, {:?}",
            logged(&log)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!logged(&log).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_resets_mid_download_does_not_kill_the_node() {
    let (_remote, mut served, blobs) = remote(&[3 * 1024 * 1024], 0).await;
    let hash = crate::blossom::sha256(&blobs[0]);
    for _ in 0..5 {
        let mut socket = TcpStream::connect(served.addr).await.expect("connect");
        socket
            .write_all(format!("GET /{hash} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .expect("request");
        let mut first = [0u8; 1024];
        let _ = socket.read(&mut first).await;
        // Reset (zero linger), while the node still has megabytes to write.
        #[allow(deprecated)]
        let _ = socket.set_linger(Some(Duration::ZERO));
        drop(socket);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        served.child.try_wait().expect("status").is_none(),
        "the node is still running"
    );
    let got = crate::http()
        .get(format!("http://{}/{hash}", served.addr))
        .send()
        .await
        .expect("the node still answers");
    assert_eq!(got.bytes().await.expect("body").len(), blobs[0].len());
    let status = served.stop(libc::SIGTERM);
    assert!(status.success(), "{status:?}");
}
