//! Events in PostgreSQL (`[store] events = "postgres://…"`): moved there
//! and back by `store copy`, each checked; two front nodes over one
//! database, each seeing what the other stores, live. Runs when
//! `SAMIZDAT_TEST_POSTGRES` names a server (`scripts/postgres start`
//! writes it; `scripts/test` starts one); skipped, saying so, without.

use samizdat_core::nostr::prelude::{Keys, Kind};
use serde_json::json;

use crate::Node;
use crate::served::{Client, Served};
use crate::store::verified;

/// A new database of its own on the test server, dropped with it.
pub(crate) struct TestDb {
    server: String,
    name: String,
    pub url: String,
}

impl TestDb {
    /// `None`, saying so, when no server is given.
    pub(crate) fn create() -> Option<TestDb> {
        let server = match std::env::var("SAMIZDAT_TEST_POSTGRES") {
            Ok(s) if !s.is_empty() => s,
            _ => {
                assert!(
                    std::env::var("SAMIZDAT_TEST_POSTGRES_REQUIRED").is_err(),
                    "SAMIZDAT_TEST_POSTGRES_REQUIRED is set but SAMIZDAT_TEST_POSTGRES names no server"
                );
                eprintln!("no PostgreSQL (SAMIZDAT_TEST_POSTGRES): the database's case is skipped");
                return None;
            }
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("samizdat_it_{}_{nanos}", std::process::id());
        admin(&server, format!("CREATE DATABASE {name}")).expect("create database");
        let (base, _) = server.rsplit_once('/').expect("a database in the URL");
        Some(TestDb {
            url: format!("{base}/{name}"),
            server,
            name,
        })
    }

    pub(crate) fn settings(&self) -> String {
        format!("[store]\nevents = \"{}\"\n", self.url)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = admin(
            &self.server,
            format!("DROP DATABASE {} WITH (FORCE)", self.name),
        );
    }
}

/// Runs `sql` on the server, on a thread of its own: the blocking client
/// cannot run inside an async test's runtime.
fn admin(server: &str, sql: String) -> Result<(), postgres::Error> {
    let server = server.to_string();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&server, postgres::NoTls)?;
        client.batch_execute(&sql)
    })
    .join()
    .expect("the admin thread")
}

fn counted(node: &Node) -> u64 {
    let out = node.ok(&["--json", "events", "export"]);
    out.lines().filter(|l| !l.trim().is_empty()).count() as u64
}

/// (id, first_seen) of every event in the database at `url`.
fn first_seen_in_postgres(url: &str) -> Vec<(Vec<u8>, i64)> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        client
            .query("SELECT id, first_seen FROM events", &[])
            .expect("query")
            .iter()
            .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, i64>(1)))
            .collect()
    })
    .join()
    .expect("the reading thread")
}

/// (id, first_seen) of every event in the node's SQLite file.
fn first_seen_in_sqlite(node: &Node) -> Vec<(Vec<u8>, i64)> {
    let conn = rusqlite::Connection::open(node.data().join("samizdat.db")).expect("open");
    let mut stmt = conn
        .prepare("SELECT id, first_seen FROM events")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn events_go_to_postgres_and_back_checked_and_resumed() {
    let Some(db) = TestDb::create() else {
        return;
    };
    let node = Node::start();
    node.add_photo_testimony("the queue at the checkpoint");
    node.add_photo_testimony("the same queue, an hour later");
    let here = counted(&node);
    assert!(here >= 2, "the records are stored");

    // Seen a day before the copy, so the copy's own time cannot pass for it.
    rusqlite::Connection::open(node.data().join("samizdat.db"))
        .expect("open")
        .execute("UPDATE events SET first_seen = first_seen - 86400", [])
        .expect("aged");
    let out = node.ok(&["--json", "store", "copy", "--events-to", &db.url]);
    let first: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(first["stored"], here, "{first}");
    assert!(first["blob_owners"].as_u64() >= Some(0), "{first}");
    // Each event keeps when this archive first saw it.
    let mut there = first_seen_in_postgres(&db.url);
    let mut here_seen = first_seen_in_sqlite(&node);
    there.sort();
    here_seen.sort();
    assert_eq!(there, here_seen, "first seen kept");
    // Run again (after a cut, say): nothing is stored twice.
    let out = node.ok(&["--json", "store", "copy", "--events-to", &db.url]);
    let again: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(
        (again["stored"].as_u64(), again["already_there"].as_u64()),
        (Some(0), Some(here))
    );

    // The node now keeps its events in PostgreSQL: all there, all good,
    // and what it stores from now on goes there.
    std::fs::write(node.data().join("samizdat.toml"), db.settings()).expect("settings");
    assert_eq!(counted(&node), here);
    let report = verified(&node);
    assert!(report.contains("0 corrupt"), "{report}");
    node.add_photo_testimony("a third, after the move");
    assert_eq!(counted(&node), here + 1);

    // And back: only the new one is new to the data directory's SQLite.
    let out = node.ok(&["--json", "store", "copy", "--events-to", "sqlite"]);
    let back: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(
        (back["stored"].as_u64(), back["already_there"].as_u64()),
        (Some(1), Some(here))
    );
    std::fs::remove_file(node.data().join("samizdat.toml")).expect("settings");
    assert_eq!(counted(&node), here + 1);
    verified(&node);
}

#[test]
fn a_database_that_cannot_be_used_is_refused_clearly() {
    let node = Node::start();
    node.add_photo_testimony("a record to move");
    for (place, says) in [
        ("sqlite", "already kept"),
        ("mysql://127.0.0.1/samizdat", "only postgres://"),
        (
            "postgres://samizdat:hunter2secret@127.0.0.1:9/x",
            "password in the URL",
        ),
        (
            "postgres://samizdat@127.0.0.1:9/x?password=hunter2secret",
            "password in the URL",
        ),
        (
            "postgres://samizdat@127.0.0.1:9/x?host=10.9.9.9",
            "one host",
        ),
        (
            "postgres://samizdat@127.0.0.1:9/samizdat",
            "the place to copy events to",
        ),
    ] {
        let said = node.fails(&["store", "copy", "--events-to", place], 1);
        assert!(said.contains(says), "{place}: {said}");
        assert!(!said.contains("hunter2secret"), "{said}");
    }
    // A node told to serve from a database with a password in its URL
    // does not start, and does not print it.
    std::fs::write(
        node.data().join("samizdat.toml"),
        "[store]\nevents = \"postgres://u:hunter2secret@127.0.0.1:9/x\"\n",
    )
    .expect("settings");
    let said = node.fails(&["events", "export"], 1);
    assert!(said.contains("password in the URL"), "{said}");
    assert!(!said.contains("hunter2secret"), "{said}");
    std::fs::remove_file(node.data().join("samizdat.toml")).expect("settings");
    verified(&node);
}

/// Two front nodes over one database: what a client publishes to one is
/// in the other's answers and reaches the other's live subscribers.
#[test]
fn two_front_nodes_share_one_database_live() {
    let Some(db) = TestDb::create() else {
        return;
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(share_live(&db));
}

async fn share_live(db: &TestDb) {
    let (one, two) = (Node::start(), Node::start());
    let (a, b) = (
        Served::start(&one, &db.settings()),
        Served::start(&two, &db.settings()),
    );
    let (a, b) = (format!("ws://{}", a.addr), format!("ws://{}", b.addr));
    let keys = Keys::generate();
    let mut on_b = Client::connect(&b).await;
    let mut on_a = Client::connect(&a).await;
    assert!(
        on_b.req("live", vec![json!({"kinds": [1]})])
            .await
            .is_empty()
    );
    assert!(
        on_a.req("live", vec![json!({"kinds": [1]})])
            .await
            .is_empty()
    );
    let mut publisher_a = Client::connect(&a).await;
    let mut publisher_b = Client::connect(&b).await;
    for i in 0..3u64 {
        let to_a = crate::signed(
            &keys,
            Kind::TextNote,
            1_700_000_000 + i,
            &[],
            &format!("to a {i}"),
        );
        let to_b = crate::signed(
            &keys,
            Kind::TextNote,
            1_700_000_100 + i,
            &[],
            &format!("to b {i}"),
        );
        assert!(publisher_a.publish(&to_a).await.0);
        assert!(publisher_b.publish(&to_b).await.0);
        // Each subscriber gets both: one from its own node, one from the
        // other through the database's notification.
        let mut got = Vec::new();
        for _ in 0..2 {
            let m = on_b.recv().await;
            assert_eq!(m[0], "EVENT", "{m}");
            got.push(m[2]["id"].as_str().expect("id").to_string());
        }
        got.sort();
        let mut want = vec![to_a.id.to_hex(), to_b.id.to_hex()];
        want.sort();
        assert_eq!(got, want, "live on b");
        let mut got = Vec::new();
        for _ in 0..2 {
            let m = on_a.recv().await;
            assert_eq!(m[0], "EVENT", "{m}");
            got.push(m[2]["id"].as_str().expect("id").to_string());
        }
        got.sort();
        assert_eq!(got, want, "live on a");
    }
    // Stored once, in both nodes' answers.
    let mut reader = Client::connect(&b).await;
    assert_eq!(
        reader
            .req_once("all", vec![json!({"kinds": [1]})])
            .await
            .len(),
        6
    );
    let mut reader = Client::connect(&a).await;
    assert_eq!(
        reader
            .req_once("all", vec![json!({"kinds": [1]})])
            .await
            .len(),
        6
    );
}

/// Runs `scripts/postgres VERB DIR`.
fn postgres_script(verb: &str, dir: &str) {
    let status = std::process::Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/postgres"
        ))
        .args([verb, dir])
        .status()
        .expect("scripts/postgres runs");
    assert!(status.success(), "postgres {verb}");
}

/// The database crashes (SIGKILL of the server and every backend) while
/// a client publishes, and starts again: every event the node said `OK`
/// to is there, and the node takes events again without a restart of its
/// own. Needs the server to itself, so it runs only when
/// `SAMIZDAT_TEST_POSTGRES_DIR` names the folder `scripts/postgres`
/// started it in (`scripts/test` runs it alone after the suite,
/// `scripts/cluster-test` in its own run).
#[test]
fn acknowledged_events_outlive_a_database_crash() {
    let Ok(pg_dir) = std::env::var("SAMIZDAT_TEST_POSTGRES_DIR") else {
        eprintln!("no PostgreSQL folder (SAMIZDAT_TEST_POSTGRES_DIR): the crash is not tried");
        return;
    };
    let db = TestDb::create().expect("a server, with its folder");
    let node = Node::start();
    let served = Served::start(&node, &db.settings());
    let url = format!("ws://{}", served.addr);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let keys = Keys::generate();
    let (acknowledged, refused) = runtime.block_on(async {
        let mut client = Client::connect(&url).await;
        let mut acknowledged = Vec::new();
        let mut refused = 0u32;
        let mut after_restart = 0u32;
        let mut restarted = false;
        // Bounded: 400 events, and 60 s.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        for i in 0..400u64 {
            if i == 100 {
                postgres_script("kill", &pg_dir);
            }
            if i == 150 {
                postgres_script("restart", &pg_dir);
                restarted = true;
            }
            let e = crate::signed(
                &keys,
                Kind::TextNote,
                1_700_000_000 + i,
                &[],
                &format!("n {i}"),
            );
            let (ok, message) = client.publish(&e).await;
            if ok {
                acknowledged.push(e.id);
                if restarted {
                    after_restart += 1;
                }
            } else {
                assert!(message.starts_with("error:"), "{message}");
                refused += 1;
            }
            if restarted && after_restart >= 50 || std::time::Instant::now() > deadline {
                break;
            }
        }
        assert!(
            after_restart >= 50,
            "the node takes events again after the restart"
        );
        (acknowledged, refused)
    });
    assert!(
        refused > 0,
        "events sent while the database was down were refused"
    );
    // Every acknowledged event is there, read through a fresh node too.
    drop(served);
    let store = Served::start(&node, &db.settings());
    let ids: Vec<String> = runtime.block_on(async {
        let mut reader = Client::connect(&format!("ws://{}", store.addr)).await;
        reader
            .req_once("all", vec![json!({"kinds": [1], "limit": 1000})])
            .await
            .iter()
            .map(|e| e["id"].as_str().expect("id").to_string())
            .collect()
    });
    for id in &acknowledged {
        assert!(ids.contains(&id.to_hex()), "acknowledged {id} was lost");
    }
}

/// A row altered at rest (its text changed, its signature not) is named
/// and not copied; the others are, and the copy says there were problems.
#[test]
fn a_tampered_event_is_named_and_not_copied() {
    let Some(db) = TestDb::create() else {
        return;
    };
    let node = Node::start();
    node.add_photo_testimony("the queue at the checkpoint");
    node.add_photo_testimony("the same queue, an hour later");
    let here = counted(&node);
    let conn = rusqlite::Connection::open(node.data().join("samizdat.db")).expect("open");
    let (id, json): (Vec<u8>, String) = conn
        .query_row(
            "SELECT id, json FROM events WHERE json LIKE '%an hour later%'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the second record");
    conn.execute(
        "UPDATE events SET json = ?1 WHERE id = ?2",
        rusqlite::params![json.replace("an hour later", "a day earlier"), id],
    )
    .expect("altered");
    drop(conn);
    let out = node.run(&["--json", "store", "copy", "--events-to", &db.url]);
    assert_eq!(out.status.code(), Some(3), "a problem is said");
    let copied: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    let id = id.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(copied["invalid"], json!([id]), "{copied}");
    assert_eq!(copied["stored"], here - 1, "{copied}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&id));
    assert!(first_seen_in_postgres(&db.url).iter().all(|(stored, _)| {
        stored
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            != id
    }));
}
