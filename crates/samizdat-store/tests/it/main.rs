//! The store's behaviour, tested through its public API with real signed
//! events: the conformance suite every event store is held to. It runs on
//! a real SQLite file in a temporary directory, and, when
//! `SAMIZDAT_TEST_EVENTS` names a PostgreSQL server
//! (`postgres://USER@HOST:PORT/DB`, as `scripts/postgres start` writes
//! it), on a fresh database of that server for each test instead
//! (`scripts/test` runs it both ways).

mod blobs;
mod deletion;
mod query;
mod search;
mod shared;
mod shelf;

use samizdat_core::nostr::prelude::{Event, Keys, Kind, Timestamp};
use samizdat_core::sign::Draft;
use samizdat_core::{Limits, VerifiedEvent, validate};
use samizdat_store::{InsertOutcome, Store};

/// A fixed clock, well after every `created_at` the tests use.
pub const NOW: u64 = 1_700_000_000;

pub struct Fixture {
    pub store: Store,
    pub _dir: tempfile::TempDir,
    db: Option<TestDb>,
}

impl Fixture {
    /// Whether the events are in PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.db.is_some()
    }

    /// A second store on the same events, as a second front node (or a
    /// second process on one data directory) has.
    pub fn second(&self) -> Store {
        open(self._dir.path(), self.db.as_ref())
    }

    /// Closes the store (its writer commits what it holds) and opens it
    /// again on the same data.
    pub fn reopen(&mut self) {
        let dir = self._dir.path().to_path_buf();
        self.store = open(&dir, self.db.as_ref());
    }
}

/// A database of its own on the server `SAMIZDAT_TEST_EVENTS` names,
/// dropped with the fixture.
struct TestDb {
    server: String,
    name: String,
}

impl TestDb {
    fn create(server: &str) -> TestDb {
        let name = format!(
            "samizdat_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let mut admin = postgres::Client::connect(server, postgres::NoTls).expect("connect");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create the test database");
        TestDb {
            server: server.to_string(),
            name,
        }
    }

    fn url(&self) -> String {
        let mut url = url::Url::parse(&self.server).expect("server URL");
        url.set_path(&self.name);
        url.to_string()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name));
        }
    }
}

static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn open(dir: &std::path::Path, db: Option<&TestDb>) -> Store {
    match db {
        None => Store::open(dir).expect("open store"),
        Some(db) => {
            let target = samizdat_store::PgTarget::parse(&db.url(), None).expect("test URL");
            let events = samizdat_store::Postgres::open(target, Default::default())
                .expect("open the PostgreSQL event store");
            let shelf = std::sync::Arc::new(samizdat_store::shelf::Folder::new(dir.join("blobs")));
            Store::with_events(dir, Box::new(events), shelf).expect("open store")
        }
    }
}

/// A store in a new temporary directory, its events where
/// `SAMIZDAT_TEST_EVENTS` says (SQLite in the directory when unset).
pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = std::env::var("SAMIZDAT_TEST_EVENTS")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|server| TestDb::create(&server));
    let store = open(dir.path(), db.as_ref());
    Fixture {
        store,
        _dir: dir,
        db,
    }
}

pub fn event(keys: &Keys, kind: u16, at: u64, tags: &[&[&str]], content: &str) -> Event {
    Draft {
        kind: Kind::from_u16(kind),
        created_at: Timestamp::from_secs(at),
        tags: tags
            .iter()
            .map(|t| t.iter().map(|s| s.to_string()).collect())
            .collect(),
        content: content.into(),
    }
    .sign(keys)
    .expect("signs")
}

pub fn verified(e: Event) -> VerifiedEvent {
    validate(e, &Limits::default(), Timestamp::from_secs(NOW)).expect("valid")
}

pub fn insert(store: &Store, events: &[Event]) -> Vec<InsertOutcome> {
    store
        .insert(events.iter().cloned().map(verified).collect())
        .expect("insert")
}

/// Whether the store holds the event with this id.
pub fn has(store: &Store, id: samizdat_core::nostr::prelude::EventId) -> bool {
    let query = samizdat_store::Query {
        ids: Some(vec![id]),
        ..Default::default()
    };
    store.count(&query).expect("count") == 1
}

pub fn ids(events: &[samizdat_store::StoredEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| e.event().expect("parses").id.to_hex())
        .collect()
}

#[test]
fn reopening_keeps_every_committed_event() {
    let mut f = fixture();
    let keys = Keys::generate();
    let events: Vec<Event> = (0..50)
        .map(|i| event(&keys, 1, 1_650_000_000 + i, &[], &format!("note {i}")))
        .collect();
    assert!(
        insert(&f.store, &events)
            .iter()
            .all(|o| *o == InsertOutcome::Stored)
    );
    f.reopen();
    let store = &f.store;
    let all = store.query(&Default::default()).expect("query");
    assert_eq!(all.len(), 50);
    assert_eq!(
        insert(store, &events[..3]),
        vec![InsertOutcome::Duplicate; 3]
    );
}

#[test]
fn concurrent_writers_are_grouped_and_all_answered() {
    let f = fixture();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = f.store.clone();
            std::thread::spawn(move || {
                let keys = Keys::generate();
                let mut stored = 0;
                for i in 0..25 {
                    let e = event(
                        &keys,
                        1,
                        1_650_000_000 + i,
                        &[],
                        &format!("thread {t} note {i}"),
                    );
                    stored += insert(&store, &[e])
                        .iter()
                        .filter(|o| **o == InsertOutcome::Stored)
                        .count();
                }
                stored
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    assert_eq!(total, 100);
    assert_eq!(f.store.count(&Default::default()).expect("count"), 100);
}
