//! Nothing acknowledged is lost: SIGKILL an import in the middle, restart,
//! and every event the import had reported committed is there.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use samizdat_core::nostr::prelude::Keys;
use samizdat_store::{Query, Store};

use crate::{Node, note};

const EVENTS: u64 = 40_000;

#[test]
fn sigkill_during_import_loses_nothing_reported_committed() {
    let node = Node::start();
    let keys = Keys::generate();
    let events: Vec<_> = (0..EVENTS)
        .into_par_iter()
        .map(|i| note(&keys, i))
        .collect();
    let file = node.dir.path().join("large.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
    for e in &events {
        writeln!(out, "{}", e.as_json()).expect("write");
    }
    drop(out);

    let mut child = node
        .command(&["--json", "events", "import", file.to_str().expect("path")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn import");
    let stdout = child.stdout.take().expect("stdout");
    let started = Instant::now();
    let mut lines = BufReader::new(stdout).lines();
    let mut committed_through = 0u64;
    // Kill as soon as the first batch is reported committed.
    for line in lines.by_ref() {
        let line = line.expect("read");
        let value: serde_json::Value = serde_json::from_str(&line).expect("json");
        if let Some(n) = value["committed"]["committed_through_line"].as_u64() {
            committed_through = n;
            child.kill().expect("SIGKILL");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no commit reported"
        );
    }
    // Lines already in the pipe were printed after their commits too.
    for line in lines {
        let Ok(line) = line else { break };
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line)
            && let Some(n) = value["committed"]["committed_through_line"].as_u64()
        {
            committed_through = committed_through.max(n);
        }
    }
    let status = child.wait().expect("wait");
    assert!(!status.success(), "the import was killed, not finished");
    assert!(
        committed_through > 0 && committed_through < EVENTS,
        "killed mid-import at line {committed_through}"
    );

    let store = Store::open(&node.data()).expect("reopen after the kill");
    let reported: Vec<_> = events[..committed_through as usize]
        .iter()
        .map(|e| e.id)
        .collect();
    for ids in reported.chunks(500) {
        let found = store
            .count(&Query {
                ids: Some(ids.to_vec()),
                ..Default::default()
            })
            .expect("count");
        assert_eq!(
            found,
            ids.len() as u64,
            "an event reported committed is missing"
        );
    }
    drop(store);
    node.ok(&["verify"]);

    // Importing again completes the store, and skips what is there.
    let summary = node.json(&["events", "import", file.to_str().expect("path")]);
    let summary = &summary.last().expect("summary")["summary"];
    assert_eq!(summary["rejected"], 0);
    assert_eq!(
        summary["stored"].as_u64().unwrap_or(0) + summary["duplicate"].as_u64().unwrap_or(0),
        EVENTS
    );
    assert!(summary["duplicate"].as_u64().unwrap_or(0) >= committed_through);
}
