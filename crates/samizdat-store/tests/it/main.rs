//! The store's behaviour, tested through its public API on a real SQLite
//! file in a temporary directory, with real signed events.

mod blobs;
mod deletion;
mod query;
mod search;
mod shelf;

use samizdat_core::nostr::prelude::{Event, Keys, Kind, Timestamp};
use samizdat_core::sign::Draft;
use samizdat_core::{Limits, VerifiedEvent, validate};
use samizdat_store::{InsertOutcome, Store};

/// A fixed clock, well after every `created_at` the tests use.
pub const NOW: u64 = 1_700_000_000;

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub store: Store,
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open store");
    Fixture { _dir: dir, store }
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
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = Keys::generate();
    let events: Vec<Event> = (0..50)
        .map(|i| event(&keys, 1, 1_650_000_000 + i, &[], &format!("note {i}")))
        .collect();
    {
        let store = Store::open(dir.path()).expect("open");
        assert!(
            insert(&store, &events)
                .iter()
                .all(|o| *o == InsertOutcome::Stored)
        );
    }
    let store = Store::open(dir.path()).expect("reopen");
    let all = store.query(&Default::default()).expect("query");
    assert_eq!(all.len(), 50);
    assert_eq!(
        insert(&store, &events[..3]),
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
