//! `samizdat sync` against a real node: NIP-77 both ways, one way, nothing
//! twice, the `REQ` fallback, and bad input.

use samizdat_core::nostr::prelude::{Event, Keys, Kind};
use serde_json::{Value, json};

use crate::served::Served;
use crate::{Node, signed};

/// Writes `events` as JSON lines and imports them into `node`.
fn import(node: &Node, name: &str, events: &[&Event]) {
    let path = node.dir.path().join(name);
    let lines: Vec<String> = events.iter().map(|e| e.as_json()).collect();
    std::fs::write(&path, lines.join("\n") + "\n").expect("events written");
    node.ok(&["events", "import", path.to_str().expect("path")]);
}

fn notes(keys: &Keys, from: u64, n: u64, what: &str) -> Vec<Event> {
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
    let served = Served::start(&Node::start(), "");
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
    let err = node.fails(&["sync", "not a url"], 1);
    assert!(err.contains("connecting"), "{err}");
}
