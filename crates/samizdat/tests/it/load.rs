//! What one hostile or broken client can do to everyone else: nothing.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::Node;
use crate::served::Served;

#[test]
fn slow_clients_do_not_keep_the_node_from_stopping() {
    let node = Node::start();
    let mut served = Served::start(&node, "");
    // Headers trickled and never finished; a form announced as 60 MB that
    // sends a few bytes; both left open.
    let mut headers = TcpStream::connect(served.addr).expect("connects");
    headers
        .write_all(b"GET /timeline HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .expect("writes");
    let mut form = TcpStream::connect(served.addr).expect("connects");
    form.write_all(
        b"POST /submit/testimony HTTP/1.1\r\nHost: 127.0.0.1\r\n\
          Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 60000000\r\n\r\n--B\r\n",
    )
    .expect("writes");
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let status = served.stop(libc::SIGTERM);
    let took = started.elapsed();
    assert!(status.success(), "{status:?}");
    // It once waited for them for ever; now a few seconds at most.
    assert!(took < Duration::from_secs(10), "stopping took {took:?}");
    drop((headers, form));
}

#[test]
fn a_second_signal_stops_the_node_at_once() {
    let node = Node::start();
    let mut served = Served::start(&node, "");
    let mut slow = TcpStream::connect(served.addr).expect("connects");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .expect("writes");
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: signals to our own child process.
    unsafe { libc::kill(served.child.id() as i32, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let status = served.stop(libc::SIGINT);
    assert!(started.elapsed() < Duration::from_secs(2), "{status:?}");
    drop(slow);
}

/// A form announced as 60 MB from loopback address `from`, with a cookie
/// that looks like a token, trickling a byte every two seconds (at most
/// 60 of them); ends when the node cuts it.
async fn trickle(addr: std::net::SocketAddr, from: [u8; 4], cookie: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::from((from, 0)))
        .expect("bind");
    let mut stream = socket.connect(addr).await.expect("connects");
    let cookie = if cookie {
        format!("Cookie: samizdat_csrf={}\r\n", "ab".repeat(32))
    } else {
        String::new()
    };
    let head = format!(
        "POST /submit/testimony HTTP/1.1\r\nHost: {addr}\r\n{cookie}\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 60000000\r\n\r\n\
         --B\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n"
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let mut answer = vec![0u8; 4096];
    for _ in 0..60 {
        tokio::select! {
            n = stream.read(&mut answer) => {
                let n = n.unwrap_or(0);
                return String::from_utf8_lossy(&answer[..n]).to_string();
            }
            () = tokio::time::sleep(Duration::from_secs(2)) => {
                if stream.write_all(b"x").await.is_err() {
                    return "cut".into();
                }
            }
        }
    }
    "never cut".into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_forms_do_not_block_the_drop_box() {
    let node = Node::start();
    let served = Served::start(&node, "");
    // Without the token's cookie: refused before the body.
    let refused = trickle(served.addr, [127, 0, 0, 9], false).await;
    assert!(refused.starts_with("HTTP/1.1 403"), "{refused}");
    // Four slow senders from four addresses hold the four slots...
    let slow: Vec<_> = (2..6u8)
        .map(|i| tokio::spawn(trickle(served.addr, [127, 0, 0, i], true)))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // ...and a witness's form still gets through, once they are cut.
    let witness = crate::web::Session::open(&served, "/submit/testimony").await;
    let fields =
        crate::web::testimony(&witness.token, "Пришла, пока другие тянули время", "public");
    let (status, page) = witness
        .post("/submit/testimony", crate::web::form(&fields, &[]))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{page}");
    for sender in slow {
        let answer = sender.await.expect("joined");
        assert_ne!(answer, "never cut");
    }
    assert_eq!(node.json(&["list"]).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_refused_for_load_gets_their_text_back_and_a_wait() {
    let node = Node::start();
    let served = Served::start(&node, "");
    // Another form from the same address is being read, slowly.
    let slow = tokio::spawn(trickle(served.addr, [127, 0, 0, 1], true));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let witness = crate::web::Session::open(&served, "/submit/testimony").await;
    let text = "Задержали троих у входа в метро, увезли в автозаке";
    let fields = crate::web::testimony(&witness.token, text, "public");
    let photo = std::fs::read(crate::tour_photo()).expect("photo");
    let body = crate::web::form(&fields, &[("photo.jpg", &photo)]);
    let answer = witness.send("/submit/testimony", body).await;
    assert_eq!(answer.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        answer
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("60")
    );
    let page = answer.text().await.expect("a page");
    assert!(page.contains(text), "{page}");
    assert!(page.contains("<textarea"), "the form again: {page}");
    assert!(node.json(&["list"]).is_empty());
    assert_ne!(slow.await.expect("joined"), "never cut");
}

#[test]
fn what_a_cut_import_left_is_swept_and_a_running_one_is_not() {
    use std::os::fd::AsRawFd;
    let node = Node::start();
    let data = node.data();
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    let spool = |name: &str, locked: bool| {
        let dir = data.join(name);
        std::fs::create_dir(&dir).expect("spool");
        std::fs::write(dir.join("events-000000.jsonl"), b"decrypted testimonies").expect("member");
        let lock = std::fs::File::create(dir.join(".lock")).expect("lock");
        if locked {
            // SAFETY: flock on a descriptor this test holds.
            unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        }
        std::fs::File::open(&dir)
            .and_then(|d| d.set_modified(hour_ago))
            .expect("aged");
        (dir, lock)
    };
    let (cut, _) = spool("bundle-cut1", false);
    let (running, held) = spool("bundle-run1", true);
    let out = node.run(&["verify"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("removed 1 spool"),
        "{out:?}"
    );
    assert!(!cut.exists(), "a cut import's spool is gone");
    assert!(running.exists(), "a running import's spool stays");
    drop(held);
}

#[test]
fn a_sync_cut_by_the_peer_still_says_what_crossed() {
    use samizdat_core::nostr::prelude::Keys;
    let keys = Keys::generate();
    let source = Node::start();
    let many = crate::sync::notes(&keys, 0, 2_000, &"a long testimony ".repeat(20));
    crate::sync::import(&source, "many.jsonl", &many.iter().collect::<Vec<_>>());
    let served = Served::start(&source, "");
    let proxy = crate::faulty::Faulty::start(served.addr);
    // Cut a little way into the events. The link is slow enough that
    // the puller reads as fast as it comes: a reset drops whatever sits
    // unread in the receiving socket, and on a fast link that can be
    // every event sent before the cut.
    proxy.throttle(256 * 1024);
    proxy.fault_after(300_000, crate::faulty::Fault::Cut);
    let puller = Node::start();
    let out = puller.run(&["sync", &proxy.url(), "--pull"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("the link failed part-way"), "{stdout}");
    assert!(stdout.contains("received "), "{stdout}");
    // What it says crossed is there.
    let said: u64 = stdout
        .split("received ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a count");
    let exported = puller.dir.path().join("pulled.jsonl");
    puller.ok(&[
        "events",
        "export",
        "--output",
        exported.to_str().expect("path"),
    ]);
    let stored = std::fs::read_to_string(&exported)
        .expect("exported")
        .lines()
        .count() as u64;
    assert!(said > 0, "{stdout}");
    assert_eq!(stored, said, "{stdout}");
}

/// How many of `sockets` the node has closed, waiting at most `within`.
async fn closed(sockets: &mut [tokio::net::TcpStream], within: Duration) -> usize {
    use tokio::io::AsyncReadExt;
    let deadline = tokio::time::Instant::now() + within;
    let mut count = 0;
    for socket in sockets.iter_mut() {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout_at(deadline, socket.read(&mut byte)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            count += 1;
        }
    }
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_connection() {
    use std::os::unix::process::CommandExt;
    let node = Node::start();
    // A common default: 256 descriptors, the hard limit well above.
    let served = Served::start_with(
        &node,
        "[connections]\nheader_timeout = \"3s\"\n",
        |command| {
            // SAFETY: setrlimit between fork and exec touches only the child.
            unsafe {
                command.pre_exec(|| {
                    let limit = libc::rlimit {
                        rlim_cur: 256,
                        rlim_max: 4096,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        },
    );
    // 600 idle connections from one address, more than the node's
    // descriptors before it raised them.
    let mut idle = Vec::new();
    for _ in 0..600 {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(std::net::SocketAddr::from(([127, 0, 0, 2], 0)))
            .expect("bind");
        idle.push(socket.connect(served.addr).await.expect("connects"));
    }
    // Its share is kept, the rest closed at once.
    let cut = closed(&mut idle[256..], Duration::from_secs(2)).await;
    assert_eq!(cut, 600 - 256);
    // Everyone else is served meanwhile, at once.
    let started = std::time::Instant::now();
    let page = crate::http()
        .get(format!("http://{}/timeline", served.addr))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("a page while one address holds its share");
    assert!(page.status().is_success());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Connections that send no request are closed after the header timeout.
    let kept = &mut idle[..256];
    assert_eq!(closed(kept, Duration::from_secs(6)).await, 256);
    let log = std::fs::read_to_string(node.dir.path().join("serve.log")).unwrap_or_default();
    assert!(!log.contains("Too many open files"), "{log}");
}

/// A signed Blossom upload announced as 1 MB from loopback address `from`,
/// trickling a byte every two seconds (at most 30); the node's answer.
async fn trickle_upload(addr: std::net::SocketAddr, from: [u8; 4]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let keys = samizdat_core::nostr::prelude::Keys::generate();
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::from((from, 0)))
        .expect("bind");
    let mut stream = socket.connect(addr).await.expect("connects");
    let head = format!(
        "PUT /upload HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {}\r\n\
         Content-Length: 1000000\r\n\r\n",
        crate::blossom::authorization(&keys, "upload", &[])
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let mut answer = vec![0u8; 4096];
    for _ in 0..30 {
        tokio::select! {
            n = stream.read(&mut answer) => {
                let n = n.unwrap_or(0);
                return String::from_utf8_lossy(&answer[..n]).to_string();
            }
            () = tokio::time::sleep(Duration::from_secs(2)) => {
                if stream.write_all(b"x").await.is_err() {
                    return "cut".into();
                }
            }
        }
    }
    "never cut".into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_uploads_do_not_block_blossom() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let slow: Vec<_> = (2..6u8)
        .map(|i| tokio::spawn(trickle_upload(served.addr, [127, 0, 0, i])))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A real upload gets through once the tricklers are cut.
    let blob = crate::blossom::opaque(50_000);
    let hash = crate::blossom::sha256(&blob);
    let keys = samizdat_core::nostr::prelude::Keys::generate();
    let answer = crate::http()
        .put(format!("http://{}/upload", served.addr))
        .header(
            "Authorization",
            crate::blossom::authorization(&keys, "upload", &[&hash]),
        )
        .body(blob)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    for sender in slow {
        let answer = sender.await.expect("joined");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
}

/// The resident memory of process `pid`, in bytes.
pub fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_never_reads_costs_the_node_its_bound_and_no_more() {
    use samizdat_core::nostr::prelude::{Keys, Kind};
    use serde_json::json;
    let node = Node::start();
    let served = Served::start(
        &node,
        "[relay]\nlive_backlog_bytes = 8388608\n\
         events_per_second = 100000\nevents_per_second_per_ip = 100000\n",
    );
    let pid = served.child.id();
    let keys = Keys::generate();
    let mut never_reads = served.client().await;
    assert!(
        never_reads
            .req("live", vec![json!({"kinds": [1]})])
            .await
            .is_empty()
    );
    let mut publisher = served.client().await;
    let before = rss(pid);
    let mut peak = before;
    // 400 events of 120 KB: 48 MB of JSON, about 145 MB held if the
    // backlog were counted in events alone.
    let body = "w".repeat(120_000);
    for i in 0..400u64 {
        let event = crate::signed(
            &keys,
            Kind::TextNote,
            1_700_000_000 + i,
            &[],
            &format!("{i} {body}"),
        );
        assert!(publisher.publish(&event).await.0);
        if i % 25 == 0 {
            peak = peak.max(rss(pid));
        }
    }
    peak = peak.max(rss(pid));
    let grew = peak.saturating_sub(before);
    // The ring's 8 MiB, the store's page cache (32 MiB) and buffers.
    assert!(grew < 100 << 20, "the node grew by {} MiB", grew >> 20);
    // The subscriber, reading at last, finds its subscription closed.
    let mut reason = None;
    for _ in 0..500 {
        let m = never_reads.recv().await;
        if m[0] == "CLOSED" {
            reason = m[2].as_str().map(str::to_string);
            break;
        }
    }
    let reason = reason.expect("the subscription was closed");
    assert!(reason.starts_with("error: too slow"), "{reason}");
}

/// Stores `bytes` as a blob no record names (what a record refused after
/// its photo was written once left), dated two hours back.
fn plant_orphan(node: &Node, bytes: &[u8]) -> String {
    let store = samizdat_store::Store::open(&node.data()).expect("store");
    let hash = store.blobs().put(bytes).expect("put").hash;
    let then = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
    std::fs::File::open(store.blobs().local_path(&hash).expect("blobs in a folder"))
        .and_then(|f| f.set_modified(then))
        .expect("aged");
    hash.to_hex()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_no_record_needs_are_reported_and_collected() {
    let node = Node::start();
    node.add_photo_testimony("Фото остаётся: запись его называет");
    let orphan = plant_orphan(&node, &crate::blossom::opaque(3_000));
    // `verify` removes it and says so; the record's photo stays.
    let out = node.run(&["verify"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("removed 1 blob(s) (3000 bytes)"), "{said}");
    let summary = node.json(&["verify"]).pop().expect("a summary");
    assert_eq!(summary["blobs"], 1, "{summary}");
    assert_eq!(summary["removed_unneeded_blobs"], 0, "{summary}");
    // A running node collects at start: the public copy is gone.
    let second = plant_orphan(&node, &crate::blossom::opaque(4_000));
    let served = Served::start(&node, "");
    let client = crate::http();
    let mut status = reqwest::StatusCode::OK;
    for _ in 0..50 {
        status = client
            .get(format!("http://{}/{second}", served.addr))
            .send()
            .await
            .expect("an answer")
            .status();
        if status == reqwest::StatusCode::NOT_FOUND {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
    assert_ne!(orphan, second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_other_notes_does_not_hide_the_testimonies() {
    use samizdat_core::nostr::prelude::{Keys, Kind, Timestamp};
    let node = Node::start();
    node.ok(&[
        "testimony",
        "add",
        "--lang",
        "ru",
        "Видел задержание у суда",
    ]);
    // 600 plain notes, newer than the testimony (within the clock's
    // allowance), as any relay client may publish.
    let keys = Keys::generate();
    let now = Timestamp::now().as_secs();
    let flood: Vec<_> = (0..600)
        .map(|i| {
            crate::signed(
                &keys,
                Kind::TextNote,
                now + 5 + i / 4,
                &[],
                &format!("noise {i}"),
            )
        })
        .collect();
    crate::sync::import(&node, "flood.jsonl", &flood.iter().collect::<Vec<_>>());
    let served = Served::start(&node, "");
    let page = crate::http()
        .get(format!("http://{}/timeline", served.addr))
        .send()
        .await
        .expect("the timeline")
        .text()
        .await
        .expect("a page");
    assert!(page.contains("Видел задержание у суда"), "{page}");
    assert!(!page.contains("noise 5"), "{page}");
}
