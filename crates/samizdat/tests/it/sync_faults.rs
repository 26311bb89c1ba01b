//! Sync over a bad link, with the fault-injecting proxy between a local
//! store and a served node: blobs follow records both ways; a download cut
//! or stalled part-way resumes where it stopped and nothing that crossed
//! crosses again; a window too short or a byte budget too small for
//! everything carries every record before any blob; hostile blobs stay
//! out.

use reqwest::StatusCode;
use samizdat_core::nostr::prelude::{Event, Keys, Kind};
use serde_json::Value;

use crate::blossom::{authorization, opaque, sha256, static_source};
use crate::faulty::{Fault, Faulty};
use crate::served::Served;
use crate::{Node, signed, tour_photo};

const MIB: usize = 1024 * 1024;

/// A note that references a blob, as a record with a photo does.
fn with_blob(keys: &Keys, at: u64, hash: &str) -> Event {
    signed(
        keys,
        Kind::TextNote,
        1_700_000_000 + at,
        &[&[
            "imeta",
            &format!("url http://127.0.0.1/{hash}"),
            &format!("x {hash}"),
            "m application/octet-stream",
        ]],
        &format!("a record with blob {hash}"),
    )
}

/// A served node holding an opaque blob of each size in `sizes`, each
/// referenced by a note, and `plain` notes without blobs.
pub(crate) async fn remote(sizes: &[usize], plain: u64) -> (Node, Served, Vec<Vec<u8>>) {
    let node = Node::start();
    let served = Served::start(&node, "[blossom]\nmax_upload_bytes = 20000000\n");
    let keys = Keys::generate();
    let http = crate::http();
    let mut client = served.client().await;
    let mut blobs = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        // Distinct bytes for each blob: a different tail.
        let mut blob = opaque(size);
        blob[size - 1] = i as u8;
        let hash = sha256(&blob);
        let response = http
            .put(format!("http://{}/upload", served.addr))
            .header("authorization", authorization(&keys, "upload", &[&hash]))
            .body(blob.clone())
            .send()
            .await
            .expect("upload");
        assert_eq!(response.status(), StatusCode::OK);
        let (accepted, why) = client.publish(&with_blob(&keys, i as u64, &hash)).await;
        assert!(accepted, "{why}");
        blobs.push(blob);
    }
    for i in 0..plain {
        let note = signed(
            &keys,
            Kind::TextNote,
            1_700_001_000 + i,
            &[],
            &format!("plain {i}"),
        );
        let (accepted, why) = client.publish(&note).await;
        assert!(accepted, "{why}");
    }
    (node, served, blobs)
}

/// Runs `samizdat --json sync` and returns its exit code and summary (if
/// it got as far as one).
pub(crate) fn sync(node: &Node, url: &str, extra: &[&str]) -> (Option<i32>, Option<Value>, String) {
    let mut args = vec!["--json", "sync", url];
    args.extend_from_slice(extra);
    let out = node.run(&args);
    let summary = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next_back()
        .and_then(|l| serde_json::from_str(l).ok());
    (
        out.status.code(),
        summary,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The bytes of `blob` as `node` holds them, if it does.
pub(crate) fn held(node: &Node, blob: &[u8]) -> Option<Vec<u8>> {
    let out = node.run(&["blob", "get", &sha256(blob)]);
    out.status.success().then_some(out.stdout)
}

fn partials(node: &Node) -> usize {
    std::fs::read_dir(node.data().join("blobs").join("tmp")).map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_or_stalled_blob_resumes_and_nothing_crosses_twice() {
    let (_remote, served, blobs) = remote(&[20_000, 3 * MIB], 5).await;
    let proxy = Faulty::start(served.addr);
    let local = Node::start();
    // A photo of our own, for the other direction.
    let photo = tour_photo();
    local.ok(&[
        "testimony",
        "add",
        "a crowd at the bridge",
        "--lang",
        "en",
        "--attach",
        photo.to_str().expect("path"),
    ]);

    // The link drops a megabyte into the blobs: the records and the small
    // blob are kept, the large one is left part-way.
    proxy.fault_after(MIB as u64, Fault::Cut);
    let (code, _, stderr) = sync(&local, &proxy.url(), &["--timeout", "5s"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("link"), "a cut says so: {stderr}");
    assert_eq!(held(&local, &blobs[0]).as_deref(), Some(&blobs[0][..]));
    assert_eq!(held(&local, &blobs[1]), None, "no partial blob is served");
    assert_eq!(partials(&local), 1);

    // The link comes back but stalls after another megabyte: the wait for
    // bytes ends, and the download keeps what it has.
    proxy.restore();
    proxy.fault_after(MIB as u64, Fault::Stall);
    let (code, summary, stderr) = sync(&local, &proxy.url(), &["--timeout", "2s"]);
    assert_eq!(code, Some(1), "{summary:?} {stderr}");
    assert!(stderr.contains("timed out"), "a stall says so: {stderr}");

    // A good link: what crossed before does not cross again.
    proxy.restore();
    let before = proxy.bytes_down();
    let (code, summary, stderr) = sync(&local, &proxy.url(), &[]);
    let summary = summary.unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert_eq!(code, Some(0), "{summary} {stderr}");
    assert_eq!(
        summary["missing_here"], 0,
        "the records crossed in the first run: {summary}"
    );
    assert_eq!(summary["blobs_missing_here"], 1, "{summary}");
    assert_eq!(summary["blobs_received"], 1, "{summary}");
    assert_eq!(summary["blobs_resumed"], 1, "{summary}");
    let fetched = summary["blob_bytes_in"].as_u64().expect("bytes");
    assert!(
        fetched <= (3 * MIB - 3 * MIB / 2) as u64,
        "about two of the three megabytes had crossed: {summary}"
    );
    assert!(proxy.bytes_down() - before < (2 * MIB) as u64);
    assert_eq!(held(&local, &blobs[1]).as_deref(), Some(&blobs[1][..]));
    assert_eq!(partials(&local), 0);
    // The photo went the other way, as the peer's Blossom server holds it.
    assert_eq!(summary["blobs_sent"], 1, "{summary}");

    // Converged.
    let (code, summary, stderr) = sync(&local, &proxy.url(), &[]);
    let summary = summary.unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert_eq!(code, Some(0), "{summary}");
    for field in [
        "missing_here",
        "missing_there",
        "blobs_missing_here",
        "blobs_missing_there",
    ] {
        assert_eq!(summary[field], 0, "{field}: {summary}");
    }
    // Every record and every blob here checks out.
    local.ok(&["verify"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_window_or_budget_carries_every_record_before_any_blob() {
    let (_remote, served, blobs) = remote(&[30_000, 60_000, 900_000], 40).await;
    let proxy = Faulty::start(served.addr);
    // 100 kB/s: the records take well under a second, the blobs ten.
    proxy.throttle(100_000);
    let local = Node::start();
    let (code, summary, stderr) = sync(&local, &proxy.url(), &["--pull", "--window", "3s"]);
    let summary = summary.unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert_eq!(code, Some(3), "an unfinished run says so: {summary}");
    assert_eq!(summary["stopped"], "window", "{summary}");
    assert_eq!(summary["missing_here"], 43, "{summary}");
    assert_eq!(summary["received"], 43, "every record crossed: {summary}");
    let received = summary["blobs_received"].as_u64().expect("count");
    assert!(received < 3, "not every blob: {summary}");
    // Smallest first: whichever blobs crossed are the small ones.
    for (i, blob) in blobs.iter().enumerate() {
        assert_eq!(
            held(&local, blob).is_some(),
            (i as u64) < received,
            "blob {i}"
        );
    }
    assert!(
        summary["seconds"].as_f64().expect("seconds") < 6.0,
        "stopped at the window: {summary}"
    );

    // The next run (a better link) carries on from there.
    proxy.restore();
    let (code, summary, stderr) = sync(&local, &proxy.url(), &["--pull"]);
    let summary = summary.unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert_eq!(code, Some(0), "{summary}");
    assert_eq!(summary["received"], 0, "{summary}");
    assert_eq!(summary["blobs_received"], 3 - received, "{summary}");
    for blob in &blobs {
        assert_eq!(held(&local, blob).as_deref(), Some(&blob[..]));
    }

    // A byte budget stops the same way: records, then small blobs, then
    // the budget is spent.
    let other = Node::start();
    let (code, summary, stderr) = sync(&other, &served.url(), &["--pull", "--max-bytes", "150k"]);
    let summary = summary.unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert_eq!(code, Some(3), "{summary}");
    assert_eq!(summary["stopped"], "bytes", "{summary}");
    assert_eq!(summary["received"], 43, "{summary}");
    assert_eq!(summary["blobs_received"], 2, "{summary}");
    let moved = summary["wire_in"].as_u64().expect("bytes")
        + summary["wire_out"].as_u64().expect("bytes")
        + summary["blob_bytes_in"].as_u64().expect("bytes");
    assert!(
        moved < 150 * 1024 + 64 * 1024,
        "stops within a read of the budget: {summary}"
    );
    let (code, summary, _) = sync(&other, &served.url(), &["--pull"]);
    assert_eq!(code, Some(0), "{summary:?}");
    assert_eq!(held(&other, &blobs[2]).as_deref(), Some(&blobs[2][..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_blobs_are_refused_and_nothing_is_kept() {
    // The records are honest; the Blossom server beside them answers
    // every hash with the tour photo, whose GPS tag could expose a witness.
    let photo = std::fs::read(tour_photo()).expect("tour photo");
    let hostile = static_source(photo.clone(), "image/jpeg").await;
    let remote = Node::start();
    let served = Served::start(&remote, "");
    let keys = Keys::generate();
    let mut client = served.client().await;
    let wrong = sha256(b"what the record names");
    for (i, hash) in [sha256(&photo), wrong].iter().enumerate() {
        let (accepted, why) = client.publish(&with_blob(&keys, i as u64, hash)).await;
        assert!(accepted, "{why}");
    }
    let local = Node::start();
    let blossom = format!("http://{hostile}");
    let (code, summary, stderr) = sync(&local, &served.url(), &["--pull", "--blossom", &blossom]);
    assert_eq!(partials(&local), 0, "refused bytes are not kept");
    assert_eq!(held(&local, &photo), None);
    let summary = summary.unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert_eq!(code, Some(3), "{summary}");
    assert_eq!(summary["received"], 2, "the records are kept: {summary}");
    assert_eq!(summary["blobs_rejected"], 2, "{summary}");
    assert_eq!(summary["blobs_received"], 0, "{summary}");
    let problem = summary["first_blob_problem"].as_str().expect("a reason");
    assert!(
        problem.contains("metadata") || problem.contains("its bytes hash to"),
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_by_the_window_goes_on_where_it_stopped() {
    // A store with a small and a large blob, each named by a record.
    let (source, served, blobs) = remote(&[20_000, 3 * MIB], 0).await;
    drop(served);
    let target = Node::start();
    let peer = Served::start(&target, "[blossom]\nmax_upload_bytes = 20000000\n");
    let proxy = Faulty::start(peer.addr);
    proxy.throttle(400_000);

    // The window closes with the large blob part-way up.
    let (code, summary, stderr) = sync(&source, &proxy.url(), &["--push", "--window", "4s"]);
    let summary = summary.unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert_eq!(code, Some(3), "{summary} {stderr}");
    assert_eq!(summary["stopped"], "window", "{summary}");
    assert_eq!(summary["sent"], 2, "{summary}");
    assert_eq!(summary["blobs_sent"], 1, "{summary}");
    assert_eq!(held(&target, &blobs[1]), None, "no partial blob is served");

    // The next window goes on from what the peer kept.
    proxy.restore();
    let (code, summary, stderr) = sync(&source, &proxy.url(), &["--push"]);
    let summary = summary.unwrap_or_else(|| panic!("no summary: {stderr}"));
    assert_eq!(code, Some(0), "{summary} {stderr}");
    assert_eq!(summary["blobs_sent"], 1, "{summary}");
    let sent = summary["blob_bytes_out"].as_u64().expect("bytes");
    assert!(
        sent < (3 * MIB - MIB / 2) as u64,
        "the part that crossed in the first window did not cross again: {summary}"
    );
    assert_eq!(held(&target, &blobs[1]).as_deref(), Some(&blobs[1][..]));
    target.ok(&["verify"]);
}
