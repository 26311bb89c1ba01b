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
    // Cut a little way into the events.
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
