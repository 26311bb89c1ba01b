//! Continuous sync in `samizdat serve`: three nodes as real processes on
//! loopback converge after writes on each, with no duplicates; new
//! records go out without waiting for the interval; what arrives by sync
//! reaches live subscribers; an unreachable peer is retried with backoff
//! while the node serves on; `samizdat peers` and `/status` tell how each
//! peer is doing.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use samizdat_core::nostr::prelude::{Event, Keys, Kind};
use serde_json::{Value, json};

use crate::served::Served;
use crate::sync::notes;
use crate::{Node, signed};

fn import(node: &Node, events: &[Event]) {
    crate::sync::import(node, "seed.jsonl", &events.iter().collect::<Vec<_>>());
}

/// The ids a served node holds, by asking it over its relay.
async fn ids(served: &Served) -> BTreeSet<String> {
    let mut client = served.client().await;
    client
        .req_once("all", vec![json!({"limit": 1000})])
        .await
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_string())
        .collect()
}

/// Waits (at most `limit`) until every node holds exactly `want`.
async fn converge(nodes: &[&Served], want: &BTreeSet<String>, limit: Duration) {
    let start = Instant::now();
    // Bounded by `limit`, one look every 200 ms.
    loop {
        let mut all = true;
        for node in nodes {
            if ids(node).await != *want {
                all = false;
            }
        }
        if all {
            return;
        }
        if start.elapsed() > limit {
            let mut seen = Vec::new();
            for node in nodes {
                seen.push(ids(node).await.len());
            }
            panic!(
                "not converged after {limit:?}: want {}, have {seen:?}",
                want.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `samizdat peers`, with the configuration `Served` wrote beside the data.
fn peers_status(node: &Node) -> Vec<Value> {
    let config = node.dir.path().join("samizdat.toml");
    node.json(&["peers", "--config", config.to_str().expect("path")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_converge_and_an_unreachable_peer_is_retried() {
    let keys = Keys::generate();
    let (a, b, c) = (Node::start(), Node::start(), Node::start());
    let seeds = [
        notes(&keys, 0, 20, "written on a"),
        notes(&keys, 100, 15, "written on b"),
        notes(&keys, 200, 10, "written on c"),
    ];
    import(&a, &seeds[0]);
    import(&b, &seeds[1]);
    import(&c, &seeds[2]);
    // A shared event: it must end up once everywhere.
    let shared = signed(&keys, Kind::TextNote, 1_700_000_999, &[], "on every node");
    for node in [&a, &b, &c] {
        import(node, std::slice::from_ref(&shared));
    }
    let served_b = Served::start(&b, "");
    let served_c = Served::start(&c, "");
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };
    // A keeps in step with B (often) and C (only when prompted: its
    // interval is an hour, so whatever reaches C after the start went
    // because something new was stored on A), and with a peer that is
    // not there.
    let config = format!(
        "[sync]\nsettle = \"200ms\"\nretry = \"300ms\"\nmax_retry = \"2s\"\ntimeout = \"5s\"\n\n\
         [[peers]]\nurl = \"{}\"\ninterval = \"1s\"\n\n\
         [[peers]]\nurl = \"{}\"\ninterval = \"1h\"\n\n\
         [[peers]]\nurl = \"ws://{dead}\"\n",
        served_b.url(),
        served_c.url()
    );
    let served_a = Served::start(&a, &config);
    let mut want: BTreeSet<String> = seeds.iter().flatten().map(|e| e.id.to_hex()).collect();
    want.insert(shared.id.to_hex());
    let all = [&served_a, &served_b, &served_c];
    converge(&all, &want, Duration::from_secs(30)).await;

    // A live subscriber on A sees what arrives there by sync.
    let mut live = served_a.client().await;
    let sub = live
        .req("live", vec![json!({"kinds": [1], "since": 1_700_005_000})])
        .await;
    assert!(sub.is_empty());

    // New writes on A and on B, after the start.
    let on_a = signed(&keys, Kind::TextNote, 1_700_005_001, &[], "later, on a");
    let on_b = signed(&keys, Kind::TextNote, 1_700_005_002, &[], "later, on b");
    let (accepted, why) = served_a.client().await.publish(&on_a).await;
    assert!(accepted, "{why}");
    let (accepted, why) = served_b.client().await.publish(&on_b).await;
    assert!(accepted, "{why}");
    want.insert(on_a.id.to_hex());
    want.insert(on_b.id.to_hex());
    converge(&all, &want, Duration::from_secs(30)).await;
    // B's write reached C through A, without C's hour passing.
    let mut got = BTreeSet::new();
    for _ in 0..2 {
        let message = live.recv().await;
        assert_eq!(message[0], "EVENT", "{message}");
        got.insert(message[2]["id"].as_str().expect("id").to_string());
    }
    assert!(got.contains(&on_b.id.to_hex()), "{got:?}");

    // No duplicates: every node counts exactly the distinct events.
    for served in all {
        let mut client = served.client().await;
        client.send(json!(["COUNT", "n", {}])).await;
        assert_eq!(
            client.recv().await[2]["count"],
            want.len(),
            "{}",
            served.url()
        );
    }

    // The status: both live peers synced, the dead one retried with
    // growing waits while everything else went on.
    let start = Instant::now();
    let status = loop {
        let status = peers_status(&a);
        if status[2]["failures"].as_u64().unwrap_or(0) >= 3
            || start.elapsed() > Duration::from_secs(20)
        {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(status.len(), 3, "{status:?}");
    for peer in &status[..2] {
        assert!(peer["last_success"].as_u64().is_some(), "{peer}");
        assert_eq!(peer["failures"], 0, "{peer}");
    }
    assert!(
        status[0]["received"].as_u64().expect("count") >= 16,
        "{status:?}"
    );
    let dead_status = &status[2];
    assert!(dead_status["last_success"].is_null(), "{dead_status}");
    assert!(
        dead_status["failures"].as_u64().expect("failures") >= 3,
        "{dead_status}"
    );
    assert!(
        dead_status["last_error"]
            .as_str()
            .expect("error")
            .contains("connecting"),
        "{dead_status}"
    );
    assert_eq!(dead_status["state"], "retrying", "{dead_status}");
    let config = a.dir.path().join("samizdat.toml");
    let text = a.ok(&["peers", "--config", config.to_str().expect("path")]);
    assert!(text.contains(&served_b.url()), "{text}");
    assert!(text.contains("failures in a row"), "{text}");

    // `/status` answers this machine's operator, with the access key; to
    // anyone else (another site's page in the same browser, say) nothing.
    let status = format!("http://{}/status", served_a.addr);
    let refused = crate::http()
        .get(&status)
        .header("Origin", "http://evil.example")
        .send()
        .await
        .expect("status");
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let answer = crate::http()
        .get(&status)
        .bearer_auth(served_a.console_key())
        .send()
        .await
        .expect("status");
    assert!(
        answer
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    let body: Value = answer.json().await.expect("json");
    assert_eq!(body["peers"].as_array().expect("peers").len(), 3, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_peer_configuration_stops_the_node_with_a_clear_error() {
    let node = Node::start();
    for (config, expect) in [
        ("[[peers]]\nurl = \"http://127.0.0.1:1\"\n", "ws://"),
        ("[[peers]]\nurl = \"not a url\"\n", "not a url"),
        (
            "[[peers]]\nurl = \"ws://127.0.0.1:1\"\nfilter = { kinds = \"one\" }\n",
            "filter",
        ),
        ("[[peers]]\ndirection = \"pull\"\n", "url"),
    ] {
        let path = node.dir.path().join("bad.toml");
        std::fs::write(&path, config).expect("config");
        let err = node.fails(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--config",
                path.to_str().expect("path"),
            ],
            1,
        );
        assert!(err.contains(expect), "{config}: {err}");
    }
    let text = node.ok(&["peers"]);
    assert!(text.contains("no peers"), "{text}");
    // Discovery on loopback alone could find nobody: said, not ignored.
    let err = node.fails(&["serve", "--lan", "--listen", "127.0.0.1:0"], 1);
    assert!(err.contains("loopback"), "{err}");
}
