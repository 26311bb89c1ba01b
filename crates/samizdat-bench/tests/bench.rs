//! The benches run end to end on a few events and report every figure,
//! the floors under the store and under one acknowledged event included.

use std::process::Command;

/// Runs `samizdat-bench ARGS…`, which must succeed, and gives its stdout.
/// The benches that start `samizdat` find it beside this binary, where
/// `cargo test --workspace` builds it.
fn bench(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_samizdat-bench"))
        .args(args)
        .env("SAMIZDAT_LOG", "warn")
        .output()
        .expect("samizdat-bench runs");
    assert!(
        out.status.success(),
        "samizdat-bench {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The last line of stdout: the bench's JSON summary.
fn summary(out: &str) -> serde_json::Value {
    let line = out.lines().last().expect("a summary line");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

fn positive(value: &serde_json::Value, what: &str) -> f64 {
    let x = value
        .as_f64()
        .unwrap_or_else(|| panic!("{what} missing: {value}"));
    assert!(x > 0.0, "{what} is {x}");
    x
}

#[test]
fn ingest_reports_the_sqlite_floors() {
    let out = bench(&["ingest", "--events", "300", "--cores", "1"]);
    let s = summary(&out);
    assert_eq!(s["events"], 300);
    let cpu = &s["cpu_us_per_event"];
    for field in ["verify_only", "validate_only", "store_only", "ingest"] {
        positive(&cpu[field], field);
    }
    positive(&cpu["sqlite_floor_bare"], "bare floor");
    positive(&cpu["sqlite_floor_indexed"], "indexed floor");
    let ceiling = &s["cpu_ratio_ceiling_on_sqlite_floor"];
    positive(&ceiling["bare"], "ceiling on the bare floor");
    positive(&ceiling["indexed"], "ceiling on the indexed floor");
}

#[test]
fn relay_reports_the_floor_under_one_event_in_flight() {
    let out = bench(&[
        "relay",
        // Enough for every topic a tag query may pick to have events.
        "--events",
        "800",
        "--serial",
        "50",
        "--queries",
        "5",
    ]);
    let s = summary(&out);
    let floor = &s["one_in_flight_ceiling"];
    let flush = positive(&floor["flush_us"], "flush");
    let round_trip = positive(&floor["round_trip_us"], "round trip");
    let verify = positive(&floor["verify_us"], "signature check");
    let per_s = positive(&floor["events_per_s"], "ceiling");
    // The ceiling is the three floors added up, and nothing else.
    let expected = 1e6 / (flush + round_trip + verify);
    assert!(
        (per_s - expected).abs() <= expected * 0.01 + 1.0,
        "{per_s} events/s from {flush} + {round_trip} + {verify} µs"
    );
    positive(
        &s["samizdat"]["ingest_serial_events_per_s"],
        "one in flight",
    );
    assert!(floor.get("left_at_3x_nostr_rs_relay_us").is_none());
}

#[test]
fn sync_engine_sends_what_the_crate_sends() {
    let out = bench(&[
        "sync",
        "--events",
        "6000",
        "--differ",
        "100",
        "--transfer",
        "300",
        // Small frames: answers are cut and resumed.
        "--frame-bytes",
        "4096",
    ]);
    let s = summary(&out);
    let (baseline, engine, reconcile) = (&s["baseline"], &s["engine"], &s["reconcile"]);
    // Byte for byte the crate's messages: the same round trips and bytes.
    assert_eq!(engine["round_trips"], baseline["round_trips"]);
    assert_eq!(engine["bytes"], baseline["bytes"]);
    assert_eq!(reconcile["round_trips"], baseline["round_trips"]);
    assert!(baseline["round_trips"].as_u64().expect("round trips") > 2);
    positive(&engine["seconds"], "engine time");
    positive(&reconcile["wire_bytes"], "wire bytes");
    positive(&s["transfer"]["push_per_second"], "push");
    positive(&s["transfer"]["store_per_second"], "stored from memory");
}
