//! `scripts/abuse`: each attack of one hostile client on a real node,
//! while a normal client reads (a relay `REQ` and the timeline page, every
//! 100 ms) and a witness leaves a testimony through the drop box. Prints a
//! table: the normal client's latencies during the attack, the node's
//! memory before, at its peak and after, whether the witness's form was
//! stored, and how long the node took to stop under the attack.
//!
//! Loopback only (several 127.0.0.x source addresses); every attack and
//! every wait is bounded in count and time. Exits 1 when a witness's form
//! was lost or a stop took 5 s or more.
//!
//! Usage: abuse BINARY [--short] [--only WORD]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use samizdat_core::nostr::prelude::{Keys, Kind, Timestamp};
use samizdat_core::sign::Draft;
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

mod attacks;

use attacks::attack;

const BOUNDARY: &str = "abuse-boundary-Qx7Yb2";
/// What a normal request that failed or never came back counts as.
const FAILED: Duration = Duration::from_secs(5);
const MIB: f64 = 1024.0 * 1024.0;

#[derive(Clone, Copy, Debug)]
enum Attack {
    SlowForms,
    Slowloris,
    NonReader,
    UploadBurst,
    SlowUploads,
    LargeForms,
    EventFlood,
}

impl Attack {
    const ALL: [Attack; 7] = [
        Attack::SlowForms,
        Attack::Slowloris,
        Attack::NonReader,
        Attack::UploadBurst,
        Attack::SlowUploads,
        Attack::LargeForms,
        Attack::EventFlood,
    ];

    fn name(self) -> &'static str {
        match self {
            Attack::SlowForms => "4 forms trickled (60 MB announced)",
            Attack::Slowloris => "idle connections from one address",
            Attack::NonReader => "a subscriber that never reads",
            Attack::UploadBurst => "20 Blossom uploads of 4 MB at once",
            Attack::SlowUploads => "4 Blossom uploads trickled",
            Attack::LargeForms => "8 forms with a 5 MB photo at once",
            Attack::EventFlood => "an event flood from one address",
        }
    }
}

struct Scale {
    window: Duration,
    settle: Duration,
    loris: usize,
    events: usize,
    rounds: usize,
}

struct Node {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start(binary: &str) -> Node {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data = dir.path().join("data");
        let run = |args: &[&str]| {
            let out = Command::new(binary)
                .arg("--data")
                .arg(&data)
                .args(args)
                .env("SAMIZDAT_PASSPHRASE", "abuse run passphrase")
                .output()
                .expect("samizdat runs");
            assert!(out.status.success(), "samizdat {args:?}: {out:?}");
        };
        run(&["init"]);
        let config = dir.path().join("samizdat.toml");
        // Budgets high enough that the normal client and the witness are
        // not the ones held back; every attack comes from elsewhere.
        std::fs::write(&config, "[web]\nsubmissions_per_hour = 1000\n").expect("config");
        let mut child = Command::new(binary)
            .arg("--data")
            .arg(&data)
            .args(["--json", "serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("serve says where it listens");
        let announced: serde_json::Value = serde_json::from_str(&line).expect("json");
        let addr = announced["relay"]
            .as_str()
            .and_then(|r| r.trim_start_matches("ws://").parse().ok())
            .expect("an address");
        Node {
            child,
            addr,
            _dir: dir,
        }
    }

    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// SIGTERM, then the time until the process is gone (at most 30 s).
    fn stop(&mut self) -> Duration {
        let started = Instant::now();
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        started.elapsed()
    }
}

/// A TCP connection from loopback address `from`.
async fn connect_from(addr: SocketAddr, from: [u8; 4]) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((from, 0)))?;
    socket.connect(addr).await
}

fn sign(keys: &Keys, kind: Kind, tags: Vec<Vec<String>>, content: String) -> String {
    Draft {
        kind,
        created_at: Timestamp::now(),
        tags,
        content,
    }
    .sign(keys)
    .expect("signs")
    .as_json()
}

/// A kind 24242 upload authorization, naming `hash` when given.
fn blossom_auth(keys: &Keys, hash: Option<String>) -> String {
    let expiration = (Timestamp::now().as_secs() + 600).to_string();
    let mut tags = vec![
        vec!["t".into(), "upload".into()],
        vec!["expiration".into(), expiration],
    ];
    tags.extend(hash.map(|h| vec!["x".into(), h]));
    let event = sign(keys, Kind::Custom(24242), tags, "abuse run".into());
    format!(
        "Nostr {}",
        base64::engine::general_purpose::STANDARD.encode(event)
    )
}

/// Bytes as uniform as an encrypted file's, different for each `seed`.
fn opaque(seed: u64, n: usize) -> Vec<u8> {
    (0..n.div_ceil(32) as u64)
        .flat_map(|i| {
            Sha256::new()
                .chain_update(seed.to_le_bytes())
                .chain_update(i.to_le_bytes())
                .finalize()
        })
        .take(n)
        .collect()
}

/// A PNG of noise of about `bytes` (noise does not compress): clean media.
fn noise_png(seed: u64, bytes: usize) -> Vec<u8> {
    let side = ((bytes / 3) as f64).sqrt() as u32;
    let pixels = opaque(seed, (side * side * 3) as usize);
    let image = image::RgbImage::from_raw(side, side, pixels).expect("an image");
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("encodes");
    out.into_inner()
}

fn form(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (file_name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; \
                 filename=\"{file_name}\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Opens the testimony form from `from` and posts `text` with `files`;
/// the answer's status, or `None` when none came.
async fn leave_testimony(
    addr: SocketAddr,
    from: [u8; 4],
    text: &str,
    files: &[(&str, &[u8])],
) -> Option<u16> {
    let client = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(from))
        .timeout(Duration::from_secs(120))
        .build()
        .ok()?;
    let page = client
        .get(format!("http://{addr}/submit/testimony"))
        .send()
        .await
        .ok()?;
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("samizdat_csrf="))?
        .split(';')
        .next()?
        .to_string();
    let html = page.text().await.ok()?;
    let token = html
        .split("name=\"csrf\" value=\"")
        .nth(1)?
        .split('"')
        .next()?
        .to_string();
    let body = form(
        &[
            ("csrf", &token),
            ("text", text),
            ("lang", "ru"),
            ("visibility", "public"),
        ],
        files,
    );
    let answer = client
        .post(format!("http://{addr}/submit/testimony"))
        .header("Cookie", cookie)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .ok()?;
    Some(answer.status().as_u16())
}

/// The normal client: a `REQ` over one WebSocket and a timeline page, in
/// turn, every 100 ms until `stop`; each one's latency.
async fn normal_client(addr: SocketAddr, stop: Arc<AtomicBool>) -> (Vec<Duration>, Vec<Duration>) {
    let (mut reqs, mut pages) = (Vec::new(), Vec::new());
    let http = reqwest::Client::builder()
        .timeout(FAILED)
        .build()
        .expect("a client");
    let mut ws = None;
    // Bounded: until stopped, each turn at most 2 × FAILED.
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        if ws.is_none() {
            ws = tokio::time::timeout(
                FAILED,
                tokio_tungstenite::connect_async(format!("ws://{addr}")),
            )
            .await
            .ok()
            .and_then(Result::ok)
            .map(|(ws, _)| ws);
        }
        let answered = match ws.as_mut() {
            Some(socket) => {
                let asked = socket
                    .send(Message::text(r#"["REQ","n",{"limit":20}]"#))
                    .await
                    .is_ok();
                asked
                    && tokio::time::timeout(FAILED, async {
                        while let Some(Ok(m)) = socket.next().await {
                            if m.to_text().is_ok_and(|t| t.starts_with(r#"["EOSE""#)) {
                                return true;
                            }
                        }
                        false
                    })
                    .await
                    .unwrap_or(false)
            }
            None => false,
        };
        if answered {
            reqs.push(started.elapsed());
            if let Some(socket) = ws.as_mut() {
                let _ = socket.send(Message::text(r#"["CLOSE","n"]"#)).await;
            }
        } else {
            reqs.push(FAILED);
            ws = None;
        }
        let started = Instant::now();
        let page = match http.get(format!("http://{addr}/timeline")).send().await {
            Ok(answer) if answer.status().is_success() => answer.bytes().await.is_ok(),
            _ => false,
        };
        pages.push(if page { started.elapsed() } else { FAILED });
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (reqs, pages)
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort();
    let at = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[at].as_secs_f64() * 1000.0
}

struct Row {
    attack: Attack,
    req: (f64, f64),
    page: (f64, f64),
    witness: String,
    rss: (f64, f64, f64),
    settled_in: Option<Duration>,
    stop: Duration,
}

async fn run_one(binary: &str, kind: Attack, scale: &Arc<Scale>) -> Row {
    let mut node = Node::start(binary);
    let addr = node.addr;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = node.rss();
    let stop = Arc::new(AtomicBool::new(false));
    let attacking = tokio::spawn(attack(kind, addr, Arc::clone(scale), Arc::clone(&stop)));
    let normal = tokio::spawn(normal_client(addr, Arc::clone(&stop)));
    // The witness comes when the attack is under way.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let witness = tokio::spawn(async move {
        leave_testimony(
            addr,
            [127, 0, 0, 1],
            "Свидетельство, оставленное во время атаки",
            &[],
        )
        .await
    });
    let mut peak = before;
    let started = Instant::now();
    while started.elapsed() < scale.window {
        peak = peak.max(node.rss());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let witness = match tokio::time::timeout(Duration::from_secs(90), witness).await {
        Ok(Ok(Some(200))) => "stored".to_string(),
        Ok(Ok(Some(code))) => format!("refused ({code})"),
        _ => "no answer".to_string(),
    };
    stop.store(true, Ordering::Relaxed);
    let (mut reqs, mut pages) = normal.await.unwrap_or_default();
    let _ = tokio::time::timeout(Duration::from_secs(30), attacking).await;
    // Memory after: sampled until it is under 100 MiB, or the settle time.
    let settling = Instant::now();
    let mut settled_in = None;
    let mut after = node.rss();
    while settling.elapsed() < scale.settle {
        peak = peak.max(after);
        if (after as f64) < 100.0 * MIB {
            settled_in = Some(settling.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        after = node.rss();
    }
    // Stopping under the attack: started again, then SIGTERM.
    let again = Arc::new(AtomicBool::new(false));
    let attacking = tokio::spawn(attack(kind, addr, Arc::clone(scale), Arc::clone(&again)));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stop_took = tokio::task::block_in_place(|| node.stop());
    again.store(true, Ordering::Relaxed);
    let _ = tokio::time::timeout(Duration::from_secs(30), attacking).await;
    Row {
        attack: kind,
        req: (percentile(&mut reqs, 0.5), percentile(&mut reqs, 0.99)),
        page: (percentile(&mut pages, 0.5), percentile(&mut pages, 0.99)),
        witness,
        rss: (before as f64 / MIB, peak as f64 / MIB, after as f64 / MIB),
        settled_in,
        stop: stop_took,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(binary) = args.first().cloned() else {
        eprintln!("usage: abuse BINARY [--short] [--only WORD]");
        std::process::exit(2);
    };
    let short = args.iter().any(|a| a == "--short");
    // `--only WORD`: the attacks whose name holds the word.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    samizdat_node::client::outbound::install_tls_provider();
    // The slowloris run holds many descriptors of its own.
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: get/setrlimit on structs we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max.min(1 << 16);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    let scale = Arc::new(if short {
        Scale {
            window: Duration::from_secs(12),
            settle: Duration::from_secs(20),
            loris: 600,
            events: 300,
            rounds: 1,
        }
    } else {
        Scale {
            window: Duration::from_secs(30),
            settle: Duration::from_secs(60),
            loris: 1_500,
            events: 2_000,
            rounds: 3,
        }
    });
    println!(
        "| attack | REQ p50 / p99 (ms) | page p50 / p99 (ms) | witness's form | RSS before / peak / after (MiB) | under 100 MiB after | stop under attack |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut failed = false;
    for kind in Attack::ALL {
        if only
            .as_ref()
            .is_some_and(|w| !kind.name().contains(w.as_str()))
        {
            continue;
        }
        let row = run_one(&binary, kind, &scale).await;
        failed |= row.witness != "stored" || row.stop >= Duration::from_secs(5);
        println!(
            "| {} | {:.0} / {:.0} | {:.0} / {:.0} | {} | {:.0} / {:.0} / {:.0} | {} | {:.1} s |",
            row.attack.name(),
            row.req.0,
            row.req.1,
            row.page.0,
            row.page.1,
            row.witness,
            row.rss.0,
            row.rss.1,
            row.rss.2,
            row.settled_in.map_or_else(
                || "no".to_string(),
                |d| format!("in {:.0} s", d.as_secs_f64())
            ),
            row.stop.as_secs_f64(),
        );
    }
    if failed {
        eprintln!("abuse: a witness's form was lost or a stop took 5 s or more");
        std::process::exit(1);
    }
}
