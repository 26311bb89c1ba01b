//! Two front nodes over one Garage cluster of three nodes (replication
//! factor 3), started by `scripts/cluster-test`, which sets
//! `SAMIZDAT_TEST_GARAGE_DIR` (where `scripts/garage` keeps the nodes)
//! and the bucket's URL and key. Skipped, saying so, without it.

use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use samizdat_core::nostr::prelude::Keys;

use crate::Node;
use crate::blossom::{authorization, bucket_settings, opaque, sha256};
use crate::served::Served;

/// Kills Garage node `k` of the cluster with SIGKILL.
fn kill_garage_node(dir: &str, k: u32) {
    let status = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/garage"))
        .args(["kill", dir, &k.to_string()])
        .status()
        .expect("scripts/garage runs");
    assert!(status.success(), "garage node {k} killed");
}

async fn upload(http: &reqwest::Client, base: &str, keys: &Keys, blob: &[u8]) -> StatusCode {
    let hash = sha256(blob);
    http.put(format!("{base}/upload"))
        .header("authorization", authorization(keys, "upload", &[&hash]))
        .body(blob.to_vec())
        .send()
        .await
        .map_or(StatusCode::BAD_GATEWAY, |r| r.status())
}

/// Uploads go on while a Garage node is killed under them, and every
/// blob uploaded to one front node is read whole through the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_outlive_a_storage_node_killed_mid_upload() {
    let Ok(garage) = std::env::var("SAMIZDAT_TEST_GARAGE_DIR") else {
        eprintln!("no Garage cluster (scripts/cluster-test starts one): skipped");
        return;
    };
    let settings = bucket_settings().expect("the cluster's bucket");
    // Events in the cluster's PostgreSQL too, when it has one.
    let db = crate::database::TestDb::create();
    let events = db.as_ref().map_or(String::new(), |db| {
        let url = db.url.clone();
        format!("events = \"{url}\"\n")
    });
    let config = format!("{settings}{events}[blossom]\nmax_upload_bytes = 100000000\n");
    let (one, two) = (Node::start(), Node::start());
    let (a, b) = (Served::start(&one, &config), Served::start(&two, &config));
    let (a, b) = (format!("http://{}", a.addr), format!("http://{}", b.addr));
    let http = crate::http();
    let keys = Keys::generate();

    // Ten blobs of 3 MB and more, each past a multipart part or not.
    let blobs: Vec<Vec<u8>> = (0..10).map(|i| opaque(3_000_000 + i * 1_700_000)).collect();
    let sent: Vec<String> = blobs.iter().map(|b| sha256(b)).collect();
    let started = std::sync::Arc::new(tokio::sync::Notify::new());
    let killer = {
        let (started, garage) = (started.clone(), garage.clone());
        tokio::spawn(async move {
            started.notified().await;
            // Inside the upload: the front node is storing its parts.
            tokio::time::sleep(Duration::from_millis(150)).await;
            kill_garage_node(&garage, 1);
        })
    };
    for (i, blob) in blobs.iter().enumerate() {
        if i == 6 {
            // The node whose S3 port is the first endpoint dies during
            // this upload (11 MB: two parts): the requests it does not
            // answer go to the others.
            started.notify_one();
        }
        let status = upload(&http, &a, &keys, blob).await;
        assert_eq!(status, StatusCode::OK, "upload {i}");
    }
    killer.await.expect("the killer ran");
    // Read through the other front node, which never saw the uploads.
    for (blob, hash) in blobs.iter().zip(&sent) {
        let got = http
            .get(format!("{b}/{hash}"))
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .expect("download");
        assert_eq!(got.status(), StatusCode::OK, "{hash}");
        let body = got.bytes().await.expect("body");
        assert_eq!(sha256(&body), *hash);
        assert_eq!(body.len(), blob.len());
    }
    // A range, as a resumed download asks.
    let part = http
        .get(format!("{b}/{}", sent[9]))
        .header("range", "bytes=8388600-8388620")
        .send()
        .await
        .expect("range");
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.bytes().await.expect("body").as_ref(),
        &blobs[9][8_388_600..=8_388_620]
    );
    // With the events in the cluster's PostgreSQL, a record published to
    // one front node is live on the other and in its answers.
    if db.is_some() {
        let (a, b) = (
            a.replacen("http://", "ws://", 1),
            b.replacen("http://", "ws://", 1),
        );
        let mut on_b = crate::served::Client::connect(&b).await;
        let filter = serde_json::json!({"kinds": [1], "authors": [keys.public_key().to_hex()]});
        assert!(on_b.req("live", vec![filter.clone()]).await.is_empty());
        let note = crate::signed(
            &keys,
            samizdat_core::nostr::prelude::Kind::TextNote,
            1_700_000_000,
            &[],
            "seen at both",
        );
        let mut on_a = crate::served::Client::connect(&a).await;
        assert!(on_a.publish(&note).await.0);
        let live = on_b.recv().await;
        assert_eq!(live[2]["id"], note.id.to_hex(), "{live}");
        let mut reader = crate::served::Client::connect(&b).await;
        assert_eq!(reader.req_once("stored", vec![filter]).await.len(), 1);
    }
}
