//! `samizdat sync` against a real node: NIP-77 both ways, one way, nothing
//! twice, the `REQ` fallback, and bad input.

use samizdat_core::nostr::prelude::{Event, Keys, Kind};
use serde_json::{Value, json};

use crate::served::Served;
use crate::{Node, signed};

/// Writes `events` as JSON lines and imports them into `node`.
pub(crate) fn import(node: &Node, name: &str, events: &[&Event]) {
    let path = node.dir.path().join(name);
    let lines: Vec<String> = events.iter().map(|e| e.as_json()).collect();
    std::fs::write(&path, lines.join("\n") + "\n").expect("events written");
    node.ok(&["events", "import", path.to_str().expect("path")]);
}

pub(crate) fn notes(keys: &Keys, from: u64, n: u64, what: &str) -> Vec<Event> {
    (from..from + n)
        .map(|i| {
            signed(
                keys,
                Kind::TextNote,
                1_700_000_000 + i,
                &[&["t", "sync"]],
                &format!("{what} {i}"),
            )
        })
        .collect()
}

async fn count(served: &Served, author: &Keys) -> u64 {
    let mut client = served.client().await;
    client
        .send(json!(["COUNT", "c", {"authors": [author.public_key().to_hex()]}]))
        .await;
    client.recv().await[2]["count"].as_u64().expect("a count")
}

fn sync(node: &Node, url: &str, extra: &[&str]) -> Value {
    let mut args = vec!["sync", url];
    args.extend_from_slice(extra);
    node.json(&args).pop().expect("a summary")
}

/// A local store and a served node with an overlap: three events on both,
/// four only here, five only there.
fn two_sides(config: &str) -> (Node, Node, Served, Keys) {
    let keys = Keys::generate();
    let shared = notes(&keys, 0, 3, "shared");
    let here = notes(&keys, 100, 4, "only here");
    let there = notes(&keys, 200, 5, "only there");
    let local = Node::start();
    import(
        &local,
        "local.jsonl",
        &shared.iter().chain(&here).collect::<Vec<_>>(),
    );
    let remote = Node::start();
    import(
        &remote,
        "remote.jsonl",
        &shared.iter().chain(&there).collect::<Vec<_>>(),
    );
    let served = Served::start(&remote, config);
    (local, remote, served, keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negentropy_both_ways_then_nothing_twice() {
    let (local, _remote, served, keys) = two_sides("");
    let url = served.url();
    let summary = sync(&local, &url, &[]);
    assert_eq!(summary["method"], "negentropy", "{summary}");
    assert_eq!(summary["missing_here"], 5, "{summary}");
    assert_eq!(summary["received"], 5, "{summary}");
    assert_eq!(summary["missing_there"], 4, "{summary}");
    assert_eq!(summary["sent"], 4, "{summary}");
    assert_eq!(count(&served, &keys).await, 12);

    // Converged: a second run finds nothing to move either way.
    let again = sync(&local, &url, &[]);
    assert_eq!(again["missing_here"], 0, "{again}");
    assert_eq!(again["missing_there"], 0, "{again}");
    assert!(
        again["wire_out"].as_u64().expect("bytes") < 2_000,
        "reconciling equal sets is small: {again}"
    );
    let exported = local.dir.path().join("all.jsonl");
    local.ok(&["events", "export", "-o", exported.to_str().expect("path")]);
    let lines = std::fs::read_to_string(&exported).expect("export");
    assert_eq!(lines.lines().count(), 12, "{lines}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_way_and_filtered() {
    let (local, _remote, served, keys) = two_sides("");
    let url = served.url();
    // Pull only: the node is left as it was.
    let pulled = sync(&local, &url, &["--pull"]);
    assert_eq!(pulled["received"], 5, "{pulled}");
    assert_eq!(pulled["sent"], 0, "{pulled}");
    assert_eq!(count(&served, &keys).await, 8);
    // Push only, and only events after a time: two of the four.
    let filter = json!({"since": 1_700_000_102}).to_string();
    let pushed = sync(&local, &url, &["--push", "--filter", &filter]);
    assert_eq!(pushed["received"], 0, "{pushed}");
    assert_eq!(pushed["sent"], 2, "{pushed}");
    assert_eq!(count(&served, &keys).await, 10);
}

/// Pulls 400 notes from a node configured with `config`; returns the
/// bytes that crossed the socket inward and the events' JSON size.
fn pull_many(config: &str) -> (u64, u64) {
    let keys = Keys::generate();
    let many = notes(
        &keys,
        0,
        400,
        "a testimony about the square, seen from the north side",
    );
    let remote = Node::start();
    import(&remote, "many.jsonl", &many.iter().collect::<Vec<_>>());
    let served = Served::start(&remote, config);
    let local = Node::start();
    let summary = sync(&local, &served.url(), &["--pull"]);
    assert_eq!(summary["received"], 400, "{summary}");
    let json: u64 = many.iter().map(|e| e.as_json().len() as u64).sum();
    (summary["wire_in"].as_u64().expect("wire bytes"), json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_is_compressed_only_when_both_sides_agree() {
    // Both sides offer permessage-deflate: events cross in well under
    // their JSON size (the summary counts the socket's bytes).
    let (compressed, json) = pull_many("");
    assert!(
        compressed * 10 < json * 7,
        "compressed: {compressed} bytes on the wire for {json} bytes of events"
    );
    // A node that declines it (as relays without it do) still syncs, in
    // the clear.
    let (plain, json) = pull_many("[relay]\npermessage_deflate = false\n");
    assert!(
        plain > json,
        "uncompressed: {plain} bytes on the wire for {json} bytes of events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falls_back_to_req_when_the_peer_lacks_nip77() {
    let (local, _remote, served, keys) = two_sides("[relay]\nnegentropy = false\n");
    let url = served.url();
    let summary = sync(&local, &url, &[]);
    assert_eq!(summary["method"], "req", "{summary}");
    assert_eq!(summary["received"], 5, "{summary}");
    assert_eq!(summary["sent"], 4, "{summary}");
    assert_eq!(count(&served, &keys).await, 12);
    let again = sync(&local, &url, &[]);
    assert_eq!(again["received"], 0, "{again}");
    assert_eq!(again["missing_there"], 0, "{again}");
    // The text summary says how the difference was found.
    let text = local.ok(&["sync", &url, "--pull"]);
    assert!(text.contains("does not support NIP-77"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_filters_and_unreachable_peers_are_clear_errors() {
    let node = Node::start();
    let served = Served::start_owned(Node::start(), "");
    let url = served.url();
    let err = node.fails(&["sync", &url, "--filter", "[1]"], 1);
    assert!(err.contains("JSON object"), "{err}");
    let err = node.fails(&["sync", &url, "--filter", r#"{"kinds":"one"}"#], 1);
    assert!(err.contains("filter"), "{err}");
    // A port nobody listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    let err = node.fails(&["sync", &format!("ws://{closed}"), "--timeout", "5s"], 1);
    assert!(err.contains("connecting"), "{err}");
    // An address that is not one is refused before anything is dialled.
    let err = node.fails(&["sync", "not a url"], 1);
    assert!(
        err.contains("\"not a url\" is not a URL") && !err.contains("connecting"),
        "{err}"
    );
}

/// A hostile peer on loopback: no NIP-77 (`NOTICE` on `NEG-OPEN`), every
/// `REQ` answered with a forged event, a malformed one and a good one, and
/// every pushed event refused.
async fn hostile_peer(good: Event, forged: Value) -> std::net::SocketAddr {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        // The client connects at most three times a run (a second
        // connection to push on, once more for the fallback); two runs.
        for _ in 0..6 {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                continue;
            };
            let (good, forged) = (good.clone(), forged.clone());
            tokio::spawn(async move {
                for _ in 0..10_000 {
                    let Some(Ok(Message::Text(text))) = ws.next().await else {
                        return;
                    };
                    let message: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let replies = match message[0].as_str() {
                        Some("NEG-OPEN") => vec![json!(["NOTICE", "unknown message type"])],
                        Some("REQ") => {
                            let sub = &message[1];
                            vec![
                                json!(["EVENT", sub, forged]),
                                json!(["EVENT", sub, {"id": "zz", "kind": "one"}]),
                                json!([
                                    "EVENT",
                                    sub,
                                    serde_json::from_str::<Value>(&good.as_json()).expect("json")
                                ]),
                                json!(["EOSE", sub]),
                            ]
                        }
                        Some("EVENT") => {
                            vec![json!(["OK", message[1]["id"], false, "blocked: not here"])]
                        }
                        _ => vec![],
                    };
                    for reply in replies {
                        if ws.send(Message::text(reply.to_string())).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_peer_cannot_slip_in_forged_events() {
    let keys = Keys::generate();
    let local = Node::start();
    let ours = notes(&keys, 0, 2, "ours");
    import(&local, "ours.jsonl", &ours.iter().collect::<Vec<_>>());
    let good = signed(&keys, Kind::TextNote, 1_700_000_500, &[], "theirs, genuine");
    let mut forged: Value = serde_json::from_str(&good.as_json()).expect("json");
    forged["content"] = json!("theirs, altered after signing");
    let peer = hostile_peer(good.clone(), forged).await;

    let out = local
        .command(&[
            "--json",
            "sync",
            &format!("ws://{peer}"),
            "--timeout",
            "10s",
        ])
        .output()
        .expect("sync runs");
    assert_eq!(
        out.status.code(),
        Some(3),
        "refusals and bad events are reported: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(summary["method"], "req", "{summary}");
    assert_eq!(summary["received"], 1, "{summary}");
    // The forgery once (on the second page its id already belongs to the
    // genuine event, which came after it on the first), the malformed
    // event on both pages.
    assert_eq!(summary["rejected_from_peer"], 3, "{summary}");
    assert_eq!(summary["sent"], 0, "{summary}");
    assert_eq!(summary["refused_by_peer"], 2, "{summary}");
    assert_eq!(summary["first_refusal"], "blocked: not here", "{summary}");

    // What the peer refused for good is not sent to it again.
    let again = local
        .command(&[
            "--json",
            "sync",
            &format!("ws://{peer}"),
            "--timeout",
            "10s",
        ])
        .output()
        .expect("sync runs");
    let again: Value = serde_json::from_slice(&again.stdout).expect("summary");
    assert_eq!(again["refused_before"], 2, "{again}");
    assert_eq!(again["missing_there"], 0, "{again}");
    assert_eq!(again["refused_by_peer"], 0, "{again}");

    // Only the genuine event was stored beside ours.
    let exported = local.dir.path().join("all.jsonl");
    local.ok(&["events", "export", "-o", exported.to_str().expect("path")]);
    let lines = std::fs::read_to_string(&exported).expect("export");
    assert_eq!(lines.lines().count(), 3, "{lines}");
    assert!(lines.contains("theirs, genuine"));
    assert!(!lines.contains("altered after signing"));
}

/// nostr-rs-relay on a loopback port, stopped on drop.
pub(crate) struct RsRelay {
    child: std::process::Child,
    pub(crate) url: String,
    _dir: tempfile::TempDir,
}

impl RsRelay {
    pub(crate) fn start(binary: &std::ffi::OsStr) -> RsRelay {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let config = dir.path().join("config.toml");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        std::fs::write(
            &config,
            format!(
                "[info]\nrelay_url = \"ws://127.0.0.1:{port}/\"\nname = \"test\"\n\
                 [database]\ndata_directory = {:?}\n\
                 [network]\naddress = \"127.0.0.1\"\nport = {port}\n",
                data.display().to_string()
            ),
        )
        .expect("config");
        let log = std::fs::File::create(dir.path().join("relay.log")).expect("log");
        let child = std::process::Command::new(binary)
            .arg("--config")
            .arg(&config)
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("nostr-rs-relay starts");
        let relay = RsRelay {
            child,
            url: format!("ws://127.0.0.1:{port}"),
            _dir: dir,
        };
        // Up to ten seconds for it to open its port.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return relay;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("nostr-rs-relay did not open port {port} within 10 s");
    }
}

impl Drop for RsRelay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Against nostr-rs-relay, which has no NIP-77: the `REQ` fallback both
/// ways. `scripts/test` installs it and names it in
/// `SAMIZDAT_TEST_NOSTR_RS_RELAY`; a bare `cargo test` skips this.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_with_nostr_rs_relay_through_the_req_fallback() {
    let Some(binary) = std::env::var_os("SAMIZDAT_TEST_NOSTR_RS_RELAY") else {
        eprintln!("skipped: SAMIZDAT_TEST_NOSTR_RS_RELAY is not set (scripts/test sets it)");
        return;
    };
    let relay = RsRelay::start(&binary);
    let keys = Keys::generate();
    let shared = notes(&keys, 0, 3, "shared");
    let here = notes(&keys, 100, 4, "only here");
    let there = notes(&keys, 200, 5, "only there");

    // Seed the relay: a store pushes eight events to it.
    let seeder = Node::start();
    import(
        &seeder,
        "seed.jsonl",
        &shared.iter().chain(&there).collect::<Vec<_>>(),
    );
    let seeded = sync(&seeder, &relay.url, &["--push"]);
    assert_eq!(seeded["method"], "req", "{seeded}");
    assert_eq!(seeded["sent"], 8, "{seeded}");

    let local = Node::start();
    import(
        &local,
        "local.jsonl",
        &shared.iter().chain(&here).collect::<Vec<_>>(),
    );
    let summary = sync(&local, &relay.url, &[]);
    assert_eq!(summary["method"], "req", "{summary}");
    assert_eq!(summary["received"], 5, "{summary}");
    assert_eq!(summary["missing_there"], 4, "{summary}");
    assert_eq!(summary["sent"], 4, "{summary}");
    let again = sync(&local, &relay.url, &[]);
    assert_eq!(again["received"], 0, "{again}");
    assert_eq!(again["missing_there"], 0, "{again}");

    // A fresh store takes everything the relay now holds: twelve.
    let fresh = Node::start();
    let pulled = sync(&fresh, &relay.url, &["--pull"]);
    assert_eq!(pulled["received"], 12, "{pulled}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_push_slows_down_and_gets_everything_across() {
    let keys = Keys::generate();
    let local = Node::start();
    let many = notes(&keys, 0, 150, "a backlog");
    import(&local, "backlog.jsonl", &many.iter().collect::<Vec<_>>());
    // A peer that takes 50 events a second (a bucket of 100).
    let served = Served::start_owned(
        Node::start(),
        "[relay]\nevents_per_second = 50\nevents_per_second_per_ip = 50\n",
    );
    let out = local.run(&["--json", "sync", &served.url(), "--push"]);
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(out.status.code(), Some(0), "{summary}");
    assert_eq!(summary["sent"], 150, "{summary}");
    assert_eq!(summary["refused_by_peer"], 0, "{summary}");
    assert_eq!(count(&served, &keys).await, 150);
}

/// A node the peer lists in `nodes` authenticates with its node key and
/// publishes at a node's pace: the same backlog, the same slow limits for
/// clients, and not one event is answered `rate-limited:`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_node_is_not_paced_like_an_anonymous_client() {
    let keys = Keys::generate();
    let local = Node::start();
    let many = notes(&keys, 0, 400, "a backlog");
    import(&local, "backlog.jsonl", &many.iter().collect::<Vec<_>>());
    local.ok(&["peers"]);
    let secret = std::fs::read_to_string(local.data().join("node.key")).expect("node key");
    let node = Keys::parse(secret.trim()).expect("a key").public_key();
    let served = Served::start_owned(
        Node::start(),
        &format!(
            "nodes = [\"{}\"]\n[relay]\nevents_per_second = 50\nevents_per_second_per_ip = 50\n",
            node.to_hex()
        ),
    );
    let summary = sync(&local, &served.url(), &["--push"]);
    assert_eq!(summary["authenticated"], true, "{summary}");
    assert_eq!(summary["sent"], 400, "{summary}");
    assert_eq!(summary["rate_limited"], 0, "{summary}");
    assert_eq!(count(&served, &keys).await, 400);

    // Another node, not listed, is paced as a client and told so.
    let stranger = Node::start();
    let more = notes(&keys, 1_000, 400, "another backlog");
    import(&stranger, "more.jsonl", &more.iter().collect::<Vec<_>>());
    let summary = sync(&stranger, &served.url(), &["--push"]);
    assert_eq!(summary["sent"], 400, "{summary}");
    assert!(summary["rate_limited"].as_u64() > Some(0), "{summary}");
}
