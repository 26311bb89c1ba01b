//! Witness safety at every door, tried as an attacker would: a file that
//! could expose a witness is refused by every way bytes come in; the
//! console, the status and the peers answer only the operator on this
//! machine; a wiped directory stays wiped.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{COOKIE, HOST};
use samizdat_core::nostr::prelude::{Keys, Timestamp};
use samizdat_core::sign::Draft;
use samizdat_core::tags::Place;
use samizdat_core::testimony::Testimony;
use samizdat_core::{Attachment, kind};
use sha2::{Digest, Sha256};

use crate::blossom::{authorization, opaque, sha256};
use crate::faulty::Faulty;
use crate::served::Served;
use crate::web::Console;
use crate::{Node, contains};

/// A TIFF, as cameras and scanners write them (and DNG raw photos, which
/// are TIFF): make, serial and GPS position in its directory, then the
/// picture.
pub(crate) fn tiff_with_gps() -> Vec<u8> {
    let mut out = b"II*\0\x08\0\0\0".to_vec();
    let strings: [(u16, &[u8]); 3] = [
        (0x010F, b"ACME-CAMERA\0"),
        (0xA431, b"SN-4417-0042\0"),
        (0x8825, b"GPS 43.2389N 76.8897E\0"),
    ];
    let data_at = 8 + 2 + strings.len() * 12 + 4;
    let mut data = Vec::new();
    out.extend_from_slice(&(strings.len() as u16).to_le_bytes());
    for (tag, value) in strings {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(&((data_at + data.len()) as u32).to_le_bytes());
        data.extend_from_slice(value);
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&data);
    out.extend(opaque(20_000));
    out
}

/// The tour photo (GPS, make, serial) with one junk byte in front.
fn junk_jpeg() -> Vec<u8> {
    let mut bytes = vec![0u8];
    bytes.extend(std::fs::read(crate::tour_photo()).expect("the tour photo"));
    bytes
}

/// Plants `bytes` in a store's blob directory behind its back, as an
/// older release's rule or a damaged disk could have left it.
fn plant(node: &Node, bytes: &[u8]) -> String {
    let hex = hex::encode(Sha256::digest(bytes));
    let dir = node.data().join("blobs").join(&hex[..2]);
    std::fs::create_dir_all(&dir).expect("blob dir");
    std::fs::write(dir.join(&hex), bytes).expect("planted");
    hex
}

/// A public testimony that attaches blob `hash` (NIP-92), stored in
/// `node`.
fn testimony_naming(node: &Node, keys: &Keys, hash: &str, size: usize) {
    let testimony = Testimony {
        text: "A photo from the square".into(),
        lang: "en".into(),
        place: Place {
            text: None,
            geohash: None,
        },
        observed: None,
        attachments: vec![Attachment {
            hash: hash.parse().expect("a hash"),
            mime: "image/jpeg".into(),
            size: size as u64,
            dim: None,
        }],
        topics: Vec::new(),
    };
    let event = Draft {
        kind: kind::TESTIMONY,
        created_at: Timestamp::from_secs(1_700_000_000),
        tags: testimony.tags(),
        content: testimony.content(),
    }
    .sign(keys)
    .expect("signs");
    crate::sync::import(node, "testimony.jsonl", &[&event]);
}

fn blob_is_stored(node: &Node, hash: &str) -> bool {
    node.data()
        .join("blobs")
        .join(&hash[..2])
        .join(hash)
        .exists()
}

#[test]
fn the_command_line_refuses_what_it_cannot_clean_and_says_what_to_do() {
    let node = Node::start();
    for (name, bytes) in [("scan.tiff", tiff_with_gps()), ("photo.jpg", junk_jpeg())] {
        let path = node.dir.path().join(name);
        std::fs::write(&path, bytes).expect("written");
        let err = node.fails(
            &[
                "testimony",
                "add",
                "x",
                "--lang",
                "en",
                "--attach",
                path.to_str().expect("path"),
            ],
            1,
        );
        assert!(
            err.contains("--keep-metadata with --seal-to"),
            "{name}: {err}"
        );
    }
    assert!(node.json(&["list"]).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blossom_takes_clean_media_and_encrypted_files_only() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let base = format!("http://{}", served.addr);
    let keys = Keys::generate();
    let put = |bytes: Vec<u8>| {
        let auth = authorization(&keys, "upload", &[&sha256(&bytes)]);
        crate::http()
            .put(format!("{base}/upload"))
            .header("authorization", auth)
            .body(bytes)
            .send()
    };
    for (what, bytes, named) in [
        ("a TIFF with GPS", tiff_with_gps(), "TIFF"),
        (
            "a JPEG with a junk byte in front",
            junk_jpeg(),
            "JPEG (with 1 byte",
        ),
        (
            "HTML that sends the browser elsewhere",
            b"<!DOCTYPE html><meta http-equiv=refresh content='0;url=http://evil.example/'>"
                .to_vec(),
            "HTML",
        ),
        (
            "plain text",
            "Алматы, 5 января, 14:30, 43.2389 76.8897; ACME-PHONE"
                .as_bytes()
                .to_vec(),
            "text",
        ),
    ] {
        let hash = sha256(&bytes);
        let answer = put(bytes).await.expect("answers");
        assert_eq!(
            answer.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{what}"
        );
        let reason = answer
            .headers()
            .get("x-reason")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(reason.contains(named), "{what}: {reason}");
        assert!(!blob_is_stored(&node, &hash), "{what} was stored");
    }
    // An encrypted file is taken, and served as opaque bytes.
    let sealed = opaque(5_000);
    let answer = put(sealed.clone()).await.expect("answers");
    assert_eq!(answer.status(), StatusCode::OK);
    let got = crate::http()
        .get(format!("{base}/{}", sha256(&sealed)))
        .send()
        .await
        .expect("answers");
    assert_eq!(got.headers()["content-type"], "application/octet-stream");

    // Mirroring, a connection any stranger could make the node open, is
    // off unless the operator turns it on.
    let auth = authorization(&keys, "upload", &[&sha256(&sealed)]);
    let answer = crate::http()
        .put(format!("{base}/mirror"))
        .header("authorization", auth)
        .body(r#"{"url":"http://127.0.0.1:9/blob"}"#)
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_bundles_and_the_mirror_refuse_what_an_older_rule_let_in() {
    // A store holding a TIFF with GPS under a public record: what an
    // older release's rule let in through an unknown format.
    let old = Node::start();
    let keys = Keys::generate();
    let tiff = tiff_with_gps();
    let hash = plant(&old, &tiff);
    testimony_naming(&old, &keys, &hash, tiff.len());

    // A bundle carries it; the importer refuses the blob, keeps the note.
    let bundle = old.dir.path().join("old.bundle");
    let bundle = bundle.to_str().expect("path");
    old.ok(&["bundle", "export", "-o", bundle]);
    let importer = Node::start();
    let out = importer.run(&["bundle", "import", bundle]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("blob refused") && stderr.contains("TIFF"),
        "{stderr}"
    );
    assert_eq!(importer.json(&["list"]).len(), 1);
    assert!(!blob_is_stored(&importer, &hash));

    // Sync pulls the note and refuses the blob.
    let served = Served::start(&old, "");
    let puller = Node::start();
    // Exit code 3: it ran, and found something bad (the blob).
    let out = puller.run(&["--json", "sync", &served.url(), "--pull"]);
    let summary = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(3), "{summary}");
    assert!(summary.contains("TIFF"), "{summary}");
    assert!(!blob_is_stored(&puller, &hash), "{summary}");
    assert_eq!(puller.json(&["list"]).len(), 1);
    drop(served);

    // The published mirror leaves it out, and says so.
    let site = old.dir.path().join("site");
    let said = old.ok(&["publish", "site", "-o", site.to_str().expect("path")]);
    assert!(said.contains("left out"), "{said}");
    for entry in walk(&site) {
        let bytes = std::fs::read(&entry).expect("readable");
        assert!(!contains(&bytes, b"SN-4417-0042"), "{}", entry.display());
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_answers_the_operator_alone() {
    let node = Node::start();
    let served = Served::start(&node, "[[peers]]\nurl = \"ws://127.0.0.1:9\"\n");
    let operator = Console::open(&served).await;
    let client = operator.client.clone();
    let base = operator.base.clone();
    let access = operator.cookies.clone();
    let get = |url: String, host: Option<&str>, cookie: Option<&str>| {
        let mut request = client.get(url);
        if let Some(host) = host {
            request = request.header(HOST, host.to_string());
        }
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie.to_string());
        }
        request.send()
    };

    // The operator, with the key: the console, the status, the peers.
    let console = get(format!("{base}/console"), None, Some(&access))
        .await
        .expect("answers");
    assert_eq!(console.status(), StatusCode::OK);
    let node_page = get(format!("{base}/node"), None, Some(&access))
        .await
        .expect("answers")
        .text()
        .await
        .expect("page");
    assert!(node_page.contains("ws://127.0.0.1:9"));

    // Through a forwarder on this machine (socat, `ssh -R`, an onion
    // service): loopback, `Host: localhost`, no header, no key: nothing.
    let forwarder = Faulty::start(served.addr);
    let through = format!("http://{}", forwarder.addr);
    for path in ["/console", "/status", "/console?key=guess"] {
        let answer = get(format!("{through}{path}"), Some("localhost"), None)
            .await
            .expect("answers");
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let node_page = get(format!("{through}/node"), Some("localhost"), None)
        .await
        .expect("answers")
        .text()
        .await
        .expect("page");
    assert!(!node_page.contains("ws://127.0.0.1:9"), "the peers leak");

    // A reverse proxy that forwards the operator's own cookie still says
    // the request is not from here.
    for header in ["forwarded", "x-forwarded-for", "x-real-ip", "via"] {
        let answer = client
            .get(format!("{base}/console"))
            .header(COOKIE, &access)
            .header(header, "for=203.0.113.9")
            .send()
            .await
            .expect("answers");
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{header}");
    }
    // A form from another site, or from another port of this machine
    // (where the browser sends the console's cookies too), is refused.
    for (name, value, status) in [
        ("sec-fetch-site", "cross-site", StatusCode::FORBIDDEN),
        ("sec-fetch-site", "same-site", StatusCode::FORBIDDEN),
        ("sec-fetch-site", "same-origin", StatusCode::SEE_OTHER),
    ] {
        let answer = operator
            .client
            .post(format!("{base}/console/lock"))
            .header(COOKIE, &access)
            .header(name, value)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={}", operator.token))
            .send()
            .await
            .expect("answers");
        assert_eq!(answer.status(), status, "{name}: {value}");
    }
    // A page of another site, whose name points at 127.0.0.1.
    let answer = get(
        format!("{base}/console"),
        Some("evil.example"),
        Some(&access),
    )
    .await
    .expect("answers");
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unlock_attempts_is_held_back() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let console = Console::open(&served).await;
    let started = Instant::now();
    let attempts = (0..16).map(|i| {
        let console = console.clone();
        tokio::spawn(async move {
            let guess = format!("guess {i}");
            console
                .post("/console/unlock", &[("passphrase", &guess)])
                .await
                .status()
        })
    });
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.expect("joined"));
    }
    let held = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let tried = statuses
        .iter()
        .filter(|s| **s == StatusCode::FORBIDDEN)
        .count();
    assert_eq!(held + tried, 16, "{statuses:?}");
    // At most one derivation runs at a time, and each wrong one makes the
    // next wait: most of the flood is turned away without a derivation.
    assert!(tried <= 3, "{tried} passphrases were tried: {statuses:?}");
    assert!(started.elapsed() < Duration::from_secs(60));
    // Even the right passphrase waits its turn now.
    let mut console = console;
    assert_eq!(
        console.unlock_with(crate::PASSPHRASE).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_file_opens_as_a_download_in_a_sandbox() {
    let node = Node::start();
    let npub = node
        .json(&["id", "show"])
        .pop()
        .and_then(|v| v["npub"].as_str().map(str::to_string))
        .expect("npub");
    let page = node.dir.path().join("page.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><meta http-equiv=refresh content='0;url=http://evil.example/'>",
    )
    .expect("written");
    let lines = node.json(&[
        "testimony",
        "add",
        "A page from the square",
        "--lang",
        "en",
        "--seal-to",
        &npub,
        "--keep-metadata",
        page.to_str().expect("path"),
    ]);
    let file_wrap = lines
        .iter()
        .find(|l| l["sealed"] == "untouched")
        .and_then(|l| l["wrap"].as_str())
        .expect("the sealed file")
        .to_string();
    let served = Served::start(&node, "");
    let console = Console::unlock(&served).await;
    let file = console
        .client
        .get(format!("{}/console/file/{file_wrap}", console.base))
        .header(COOKIE, &console.cookies)
        .send()
        .await
        .expect("answers");
    assert_eq!(file.status(), StatusCode::OK);
    let header = |name: &str| {
        file.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(header("content-type"), "application/octet-stream");
    assert!(header("content-disposition").starts_with("attachment"));
    assert!(header("content-security-policy").contains("sandbox"));
    assert_eq!(header("x-content-type-options"), "nosniff");
}

#[test]
fn wipe_stops_a_running_node_and_nothing_comes_back() {
    let node = Node::start();
    let served = Served::start(&node, "[[peers]]\nurl = \"ws://127.0.0.1:9\"\n");
    let mut served = served;
    let data = node.data();
    assert!(data.join("console.url").exists());
    let out = node.ok(&["wipe", "--yes"]);
    assert!(out.contains("wiped"), "{out}");
    // The node was stopped by the wipe, not left to write on.
    let deadline = Instant::now() + Duration::from_secs(10);
    while served.child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the node still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Nothing comes back: not the directory, not the peer list.
    std::thread::sleep(Duration::from_secs(3));
    assert!(!data.exists(), "the data directory came back");
}

#[test]
fn a_node_whose_directory_disappears_stops_and_makes_nothing_again() {
    let node = Node::start();
    let mut served = Served::start(&node, "[[peers]]\nurl = \"ws://127.0.0.1:9\"\n");
    let data = node.data();
    // Moved away in one step (a removal races with the node's own writes).
    let moved = node.dir.path().join("moved");
    std::fs::rename(&data, &moved).expect("moved from under the node");
    let status = served.stop_by_itself(Duration::from_secs(15));
    assert!(!status.success(), "{status:?}");
    assert!(!data.exists(), "the data directory came back");
    let log = std::fs::read_to_string(node.dir.path().join("serve.log")).unwrap_or_default();
    assert!(log.contains("disappeared"), "{log}");
}

/// Sends `request` as it is and reads the answer's text (bounded).
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).to_string()
}

/// Uploads `bytes` from the loopback address `from` (127.0.0.0/8 is all
/// this machine): another address, another budget.
async fn upload_from(base: &str, keys: &Keys, from: [u8; 4], bytes: Vec<u8>) -> reqwest::Response {
    crate::http();
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .build()
        .expect("client");
    let auth = authorization(keys, "upload", &[&sha256(&bytes)]);
    client
        .put(format!("{base}/upload"))
        .header("authorization", auth)
        .body(bytes)
        .send()
        .await
        .expect("answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_fill_the_disk() {
    let node = Node::start();
    let served = Served::start(
        &node,
        "[blossom]\nupload_bytes_per_hour = 100000\nunreferenced_bytes = 150000\n",
    );
    let base = format!("http://{}", served.addr);
    let keys = Keys::generate();
    // Unsigned requests that claim big bodies cost the address nothing;
    // a body whose length is not said is refused.
    for _ in 0..3 {
        let forged = crate::http()
            .put(format!("{base}/upload"))
            .header("authorization", "Nostr eyJraW5kIjoyNDI0Mn0")
            .header("content-length", "99999")
            .body(vec![0u8; 99_999])
            .send()
            .await
            .expect("answers");
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    }
    let chunked = opaque(1_000);
    let auth = authorization(&keys, "upload", &[&sha256(&chunked)]);
    let mut request = format!(
        "PUT /upload HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3e8\r\n",
        served.addr
    )
    .into_bytes();
    request.extend_from_slice(&chunked);
    request.extend_from_slice(b"\r\n0\r\n\r\n");
    let answer = raw_exchange(served.addr, &request).await;
    assert!(answer.starts_with("HTTP/1.1 411"), "{answer}");
    let first = upload_from(&base, &keys, [127, 0, 0, 1], opaque(60_000)).await;
    assert_eq!(first.status(), StatusCode::OK);
    // The budget of the hour is spent: refused before the body is stored.
    let second = opaque(60_001);
    let refused = upload_from(&base, &keys, [127, 0, 0, 1], second.clone()).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(!blob_is_stored(&node, &sha256(&second)));
    // Another address has its own budget.
    let other = upload_from(&base, &keys, [127, 0, 0, 2], second.clone()).await;
    assert_eq!(other.status(), StatusCode::OK);
    // 120,000 bytes wait for a record; a third address's upload would
    // take them past the 150,000 the node keeps waiting.
    let third = opaque(40_000);
    let full = upload_from(&base, &keys, [127, 0, 0, 3], third.clone()).await;
    assert_eq!(full.status(), StatusCode::INSUFFICIENT_STORAGE);
    let reason = full
        .headers()
        .get("x-reason")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(reason.contains("no record names"), "{reason}");
    // Once a record names the first upload, there is room again.
    testimony_naming(&node, &keys, &sha256(&opaque(60_000)), 60_000);
    let again = upload_from(&base, &keys, [127, 0, 0, 3], third).await;
    assert_eq!(again.status(), StatusCode::OK);
}

/// `samizdat serve` on a data directory in a tmpfs of `size` that a new
/// mount namespace holds (so the test needs no privilege beyond user
/// namespaces); `None` where those are not allowed.
fn serve_on_small_disk(node: &Node, size: &str, config: &str) -> Option<Served> {
    use std::io::BufRead;
    let disk = node.dir.path().join("disk");
    std::fs::create_dir_all(&disk).expect("mount point");
    let config_path = node.dir.path().join("small.toml");
    std::fs::write(&config_path, config).expect("config");
    let bin = env!("CARGO_BIN_EXE_samizdat");
    let script = format!(
        "mount -t tmpfs -o size={size} tmpfs \"$0\" || exit 97; \
         \"$1\" --data \"$0/data\" init >/dev/null && \
         \"$1\" --data \"$0/data\" id new --name documenter >/dev/null 2>&1 && \
         exec \"$1\" --data \"$0/data\" --json serve --listen 127.0.0.1:0 --config \"$2\""
    );
    let mut child = std::process::Command::new("unshare")
        .args(["--mount", "--map-root-user", "sh", "-c", &script])
        .arg(&disk)
        .arg(bin)
        .arg(&config_path)
        .env("SAMIZDAT_PASSPHRASE", crate::PASSPHRASE)
        .stdout(std::process::Stdio::piped())
        .stderr(
            std::fs::File::create(node.dir.path().join("serve.log"))
                .map_or_else(|_| std::process::Stdio::null(), std::process::Stdio::from),
        )
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line).ok()?;
    if line.is_empty() {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    }
    let announced: serde_json::Value = serde_json::from_str(&line).ok()?;
    let addr = announced["relay"]
        .as_str()?
        .trim_start_matches("ws://")
        .parse()
        .ok()?;
    Some(Served::from_child(
        child,
        addr,
        announced["console"].as_str()?.to_string(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_new_data_and_keeps_what_it_has() {
    let node = Node::start();
    let Some(served) = serve_on_small_disk(&node, "6m", "") else {
        eprintln!("skipped: this system allows no user or mount namespace to make a small disk");
        return;
    };
    let base = format!("http://{}", served.addr);
    let keys = Keys::generate();
    // Blobs until the disk refuses one: a clear answer, nothing half kept.
    let mut kept = Vec::new();
    let mut refusal = None;
    for i in 0..40 {
        let blob = opaque(400_000 + i);
        let answer = upload_from(&base, &keys, [127, 0, 0, 1], blob.clone()).await;
        match answer.status() {
            StatusCode::OK => kept.push(blob),
            status => {
                let reason = answer
                    .headers()
                    .get("x-reason")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                refusal = Some((status, reason));
                break;
            }
        }
    }
    let (status, reason) = refusal.expect("the disk filled up");
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{reason}");
    assert!(reason.contains("disk is full"), "{reason}");
    assert!(!kept.is_empty());
    // Events until the disk refuses one; each acknowledged one stays.
    let mut client = served.client().await;
    let mut acknowledged = Vec::new();
    let mut event_refusal = None;
    for i in 0..20_000u64 {
        let note = crate::signed(
            &keys,
            samizdat_core::nostr::prelude::Kind::TextNote,
            1_700_000_000 + i,
            &[],
            &"a testimony that fills the disk ".repeat(30),
        );
        let (ok, message) = client.publish(&note).await;
        if ok {
            acknowledged.push(note.id.to_hex());
        } else {
            event_refusal = Some(message);
            break;
        }
    }
    let message = event_refusal.expect("the disk refused an event");
    assert!(message.contains("disk is full"), "{message}");
    // A witness at the drop box is told so, in words, with a 507, keeps
    // what they wrote, and is shown no path of the node's.
    let witness = crate::web::Session::open(&served, "/submit/testimony").await;
    let text = "Свидетельство, которое не поместилось на диск";
    let fields = crate::web::testimony(&witness.token, text, "public");
    let (status, page) = witness
        .post("/submit/testimony", crate::web::form(&fields, &[]))
        .await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE, "{page}");
    assert!(page.contains(text), "the text comes back");
    assert!(
        !page.contains("/data") && !page.contains("os error"),
        "{page}"
    );
    // Everything stored stays readable and whole.
    for blob in &kept {
        let got = crate::http()
            .get(format!("{base}/{}", sha256(blob)))
            .send()
            .await
            .expect("answers");
        assert_eq!(got.status(), StatusCode::OK);
        assert_eq!(got.bytes().await.expect("body").as_ref(), blob.as_slice());
    }
    let stored = client
        .req_once(
            "all",
            vec![serde_json::json!({"kinds": [1], "limit": 100_000})],
        )
        .await;
    assert_eq!(stored.len(), acknowledged.len());
    // Room made (a blob deleted by its uploader): the node takes data
    // again, with no restart.
    let first = sha256(&kept[0]);
    let delete = crate::http()
        .delete(format!("{base}/{first}"))
        .header("authorization", authorization(&keys, "delete", &[&first]))
        .send()
        .await
        .expect("answers");
    assert_eq!(delete.status(), StatusCode::OK);
    let note = crate::signed(
        &keys,
        samizdat_core::nostr::prelude::Kind::TextNote,
        1_600_000_000,
        &[],
        "after the disk was freed",
    );
    let (ok, message) = client.publish(&note).await;
    assert!(ok, "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_sealed_junk_is_read_a_page_at_a_time() {
    let node = Node::start();
    let npub = node
        .json(&["id", "show"])
        .pop()
        .and_then(|v| v["npub"].as_str().map(str::to_string))
        .expect("npub");
    let me = node
        .json(&["id", "show"])
        .pop()
        .and_then(|v| v["pubkey"].as_str().map(str::to_string))
        .expect("pubkey");
    // A real sealed record, then 130 wraps addressed to the documenter
    // that open to nothing, newer than it and all in one second.
    node.ok(&[
        "testimony",
        "add",
        "Запечатано: у акимата задержали двоих",
        "--lang",
        "ru",
        "--seal-to",
        &npub,
    ]);
    let stranger = Keys::generate();
    let at = Timestamp::now().as_secs() + 60;
    let junk: Vec<_> = (0..130)
        .map(|i| {
            crate::signed(
                &stranger,
                samizdat_core::nostr::prelude::Kind::GiftWrap,
                at,
                &[&["p", &me]],
                &format!("not a sealed record {i}"),
            )
        })
        .collect();
    crate::sync::import(&node, "junk.jsonl", &junk.iter().collect::<Vec<_>>());
    let served = Served::start(&node, "");
    let console = Console::unlock(&served).await;
    let mut page = console.page("/console").await;
    let mut unreadable = Vec::new();
    // Bounded: the record must be on the third page.
    for _ in 0..5 {
        let count = page
            .split(" sealed record(s) addressed to you could not be opened")
            .next()
            .and_then(|head| head.rsplit('>').next())
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap_or(0);
        unreadable.push(count);
        if page.contains("задержали") {
            break;
        }
        // The link named so (the language links carry this page's query).
        let older = page
            .split("\">Older sealed records")
            .next()
            .and_then(|head| head.rsplit("href=\"").next())
            .filter(|link| link.starts_with("/console?older="))
            .expect("a link to older records")
            .to_string();
        page = console.page(&older).await;
    }
    assert!(
        page.contains("задержали"),
        "the real record is reached: {unreadable:?}"
    );
    assert_eq!(unreadable, vec![50, 50, 30], "a page of junk at a time");
    assert!(!page.contains("Older sealed records"), "the last page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_in_upper_case_hex_is_invalid_not_a_duplicate() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let mut client = served.client().await;
    let keys = Keys::generate();
    let note = crate::signed(
        &keys,
        samizdat_core::nostr::prelude::Kind::TextNote,
        1_700_000_000,
        &[],
        "written once",
    );
    let mut upper: serde_json::Value = serde_json::from_str(&note.as_json()).expect("json");
    let id = upper["id"].as_str().expect("id").to_uppercase();
    upper["id"] = id.clone().into();
    // Before and after the same event is stored in its own spelling.
    for _ in 0..2 {
        client.send(serde_json::json!(["EVENT", upper])).await;
        let ok = client.recv().await;
        assert_eq!(ok[0], "OK");
        assert_eq!(ok[2], false, "{ok}");
        assert!(ok[3].as_str().unwrap_or("").starts_with("invalid:"), "{ok}");
        let (stored, _) = client.publish(&note).await;
        assert!(stored);
    }
}
