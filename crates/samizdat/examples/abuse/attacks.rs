//! The attacks, each run by one hostile client until told to stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use samizdat_core::nostr::prelude::{Keys, Kind};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use super::{Attack, Scale, blossom_auth, connect_from, leave_testimony, noise_png, opaque, sign};

/// Runs `attack` until `stop`.
pub(crate) async fn attack(
    kind: Attack,
    addr: SocketAddr,
    scale: Arc<Scale>,
    stop: Arc<AtomicBool>,
) {
    let stopped = || stop.load(Ordering::Relaxed);
    let mut tasks = Vec::new();
    match kind {
        Attack::SlowForms | Attack::SlowUploads => {
            for i in 2..6u8 {
                let stop = Arc::clone(&stop);
                tasks.push(tokio::spawn(async move {
                    // Each sender starts again when it is cut, until stopped.
                    for _ in 0..100 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let head = match kind {
                            Attack::SlowForms => format!(
                                "POST /submit/testimony HTTP/1.1\r\nHost: {addr}\r\n\
                                 Cookie: samizdat_csrf={}\r\n\
                                 Content-Type: multipart/form-data; boundary=B\r\n\
                                 Content-Length: 60000000\r\n\r\n--B\r\n",
                                "ab".repeat(32)
                            ),
                            _ => format!(
                                "PUT /upload HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\n\
                                 Content-Length: 1000000\r\n\r\n",
                                blossom_auth(&Keys::generate(), None)
                            ),
                        };
                        trickle(addr, [127, 0, 0, i], head.as_bytes(), &stop).await;
                    }
                }));
            }
        }
        Attack::Slowloris => {
            let mut held = Vec::new();
            for _ in 0..scale.loris {
                if let Ok(mut s) = connect_from(addr, [127, 0, 0, 2]).await {
                    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await;
                    held.push(s);
                }
            }
            // Bounded: stops with the attack; a header line every 5 s.
            while !stopped() {
                for s in &mut held {
                    let _ = s.write_all(b"X-a: b\r\n").await;
                }
                for _ in 0..50 {
                    if stopped() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        Attack::NonReader => {
            let url = format!("ws://{addr}");
            let Ok((mut silent, _)) = tokio_tungstenite::connect_async(&url).await else {
                return;
            };
            let _ = silent
                .send(Message::text(r#"["REQ","all",{"kinds":[1]}]"#))
                .await;
            let Ok((mut publisher, _)) = tokio_tungstenite::connect_async(&url).await else {
                return;
            };
            let keys = Keys::generate();
            for i in 0..scale.events {
                if stopped() {
                    break;
                }
                // Hex of noise: deflate halves it, no more, so the
                // subscriber's socket fills and the node must hold or drop.
                let body = hex::encode(opaque(i as u64, 50_000));
                let event = sign(&keys, Kind::TextNote, Vec::new(), format!("{i} {body}"));
                if publisher
                    .send(Message::text(format!(r#"["EVENT",{event}]"#)))
                    .await
                    .is_err()
                {
                    break;
                }
                // Its OK (or anything), so the publisher is not the one
                // who buffers.
                let _ = tokio::time::timeout(Duration::from_secs(5), publisher.next()).await;
            }
            // Held open, unread, until the attack stops.
            while !stopped() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            drop(silent);
        }
        Attack::UploadBurst => {
            for round in 0..scale.rounds as u64 {
                let mut burst = Vec::new();
                for i in 0..20u64 {
                    burst.push(tokio::spawn(async move {
                        let from = [127, 0, 1, (i + 1) as u8];
                        let client = reqwest::Client::builder()
                            .local_address(std::net::IpAddr::from(from))
                            .timeout(Duration::from_secs(120))
                            .build()
                            .ok()?;
                        let blob = opaque(round * 100 + i, 4 * 1024 * 1024);
                        let hash = hex::encode(Sha256::digest(&blob));
                        client
                            .put(format!("http://{addr}/upload"))
                            .header("Authorization", blossom_auth(&Keys::generate(), Some(hash)))
                            .body(blob)
                            .send()
                            .await
                            .ok()
                            .map(|answer| answer.status().as_u16())
                    }));
                }
                let mut taken = 0;
                for b in burst {
                    taken += usize::from(matches!(b.await, Ok(Some(200))));
                }
                eprintln!("upload burst, round {round}: {taken} of 20 stored");
                if stopped() {
                    break;
                }
            }
        }
        Attack::LargeForms => {
            let photos: Vec<Vec<u8>> = (0..8).map(|i| noise_png(i, 5_000_000)).collect();
            let photos = Arc::new(photos);
            for round in 0..scale.rounds {
                let mut burst = Vec::new();
                for i in 0..8usize {
                    let photos = Arc::clone(&photos);
                    burst.push(tokio::spawn(async move {
                        let from = [127, 0, 2, (i + 1) as u8];
                        let text = format!("большая форма {round} {i}");
                        leave_testimony(addr, from, &text, &[("photo.png", &photos[i])]).await
                    }));
                }
                for b in burst {
                    let _ = b.await;
                }
                if stopped() {
                    break;
                }
            }
        }
        Attack::EventFlood => {
            for c in 0..4u8 {
                let stop = Arc::clone(&stop);
                tasks.push(tokio::spawn(async move {
                    let Ok(tcp) = connect_from(addr, [127, 0, 0, 3]).await else {
                        return;
                    };
                    let url = format!("ws://{addr}");
                    let Ok((ws, _)) = tokio_tungstenite::client_async(url, tcp).await else {
                        return;
                    };
                    let (mut tx, mut rx) = ws.split();
                    let reader = tokio::spawn(async move { while rx.next().await.is_some() {} });
                    let keys = Keys::generate();
                    // Bounded: at most 200,000 events, or until stopped.
                    for i in 0..200_000u64 {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let event =
                            sign(&keys, Kind::TextNote, Vec::new(), format!("flood {c} {i}"));
                        if tx
                            .send(Message::text(format!(r#"["EVENT",{event}]"#)))
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                    reader.abort();
                }));
            }
        }
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// Sends `head`, then a byte every two seconds until the node answers or
/// cuts, or the attack stops (at most 60 bytes).
async fn trickle(addr: SocketAddr, from: [u8; 4], head: &[u8], stop: &AtomicBool) {
    let Ok(mut stream) = connect_from(addr, from).await else {
        tokio::time::sleep(Duration::from_millis(200)).await;
        return;
    };
    let _ = stream.write_all(head).await;
    let mut answer = [0u8; 256];
    for _ in 0..60 {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        tokio::select! {
            _ = stream.read(&mut answer) => return,
            () = tokio::time::sleep(Duration::from_secs(2)) => {
                if stream.write_all(b"x").await.is_err() {
                    return;
                }
            }
        }
    }
}
