//! What a shared event store must hold to when several front nodes write
//! it at once (for SQLite, several processes on one data directory), and
//! what every store must do with sealed records and hostile values.

use samizdat_core::nostr::prelude::{Event, Keys};
use samizdat_store::{InsertOutcome, Query, Store};

use crate::{event, fixture, has, ids, insert};

#[test]
fn two_front_nodes_see_each_others_events() {
    let f = fixture();
    let other = f.second();
    let keys = Keys::generate();
    let a = event(&keys, 1, 1_650_000_100, &[&["t", "kyiv"]], "from a");
    let b = event(&keys, 1, 1_650_000_200, &[&["t", "kyiv"]], "from b");
    assert_eq!(
        insert(&f.store, std::slice::from_ref(&a)),
        [InsertOutcome::Stored]
    );
    assert_eq!(
        insert(&other, std::slice::from_ref(&b)),
        [InsertOutcome::Stored]
    );
    for store in [&f.store, &other] {
        let found = store
            .query(&Query {
                tags: vec![('t', vec!["kyiv".into()])],
                ..Default::default()
            })
            .expect("query");
        assert_eq!(ids(&found), [b.id.to_hex(), a.id.to_hex()]);
        assert_eq!(store.all_keys(10).expect("keys").expect("within").len(), 2);
    }
    // The same event by both: stored once, a duplicate for the second.
    assert_eq!(
        insert(&other, std::slice::from_ref(&a)),
        [InsertOutcome::Duplicate]
    );
}

/// Front nodes racing on one address keep exactly its newest version, and
/// a deletion racing its target leaves the target gone.
#[test]
fn racing_front_nodes_keep_the_rules() {
    let f = fixture();
    let other = f.second();
    let keys = Keys::generate();
    let versions: Vec<Event> = (0..40)
        .map(|i| {
            event(
                &keys,
                30_078,
                1_650_000_000 + i,
                &[&["d", "case-17"]],
                &format!("version {i}"),
            )
        })
        .collect();
    let notes: Vec<Event> = (0..40)
        .map(|i| event(&keys, 1, 1_650_000_000 + i, &[], &format!("note {i}")))
        .collect();
    let deletions: Vec<Event> = notes
        .iter()
        .map(|n| event(&keys, 5, 1_650_001_000, &[&["e", &n.id.to_hex()]], ""))
        .collect();
    // Each node gets every other version, one at a time, in opposite
    // orders; one node gets the notes, the other their deletions.
    let run = |store: Store, versions: Vec<Event>, singles: Vec<Event>| {
        std::thread::spawn(move || {
            for (v, s) in versions.into_iter().zip(singles) {
                insert(&store, &[v]);
                insert(&store, &[s]);
            }
        })
    };
    let mut evens: Vec<Event> = versions.iter().step_by(2).cloned().collect();
    let odds: Vec<Event> = versions.iter().skip(1).step_by(2).cloned().collect();
    evens.reverse();
    let first = run(f.store.clone(), evens, notes[..20].to_vec());
    let second = run(other.clone(), odds, deletions[..20].to_vec());
    first.join().expect("first node");
    second.join().expect("second node");
    for store in [&f.store, &other] {
        let kept = store
            .query(&Query {
                kinds: Some(vec![30_078]),
                ..Default::default()
            })
            .expect("query");
        assert_eq!(
            ids(&kept),
            [versions[39].id.to_hex()],
            "one version, the newest"
        );
        for note in &notes[..20] {
            assert!(!has(store, note.id), "a deleted note stayed");
        }
        // And a deleted note cannot come back by either node.
        assert_eq!(insert(store, &notes[..1]), [InsertOutcome::Deleted]);
    }
}

#[test]
fn sealed_records_are_seen_only_by_their_recipients() {
    let f = fixture();
    let (alice, bob, wrapper) = (Keys::generate(), Keys::generate(), Keys::generate());
    let to_alice = event(
        &wrapper,
        1059,
        1_650_000_100,
        &[&["p", &alice.public_key().to_hex()]],
        "sealed",
    );
    let public = event(&bob, 1, 1_650_000_200, &[], "public");
    insert(&f.store, &[to_alice.clone(), public.clone()]);
    let seen_by = |readers: Option<Vec<_>>| {
        let q = Query {
            gift_wraps_for: readers,
            ..Default::default()
        };
        let mut keys = 0;
        f.store
            .for_each_key(&q, |_, _| {
                keys += 1;
                true
            })
            .expect("keys");
        let found = ids(&f.store.query(&q).expect("query"));
        assert_eq!(f.store.count(&q).expect("count"), found.len() as u64);
        assert_eq!(keys, found.len());
        found
    };
    assert_eq!(
        seen_by(Some(vec![alice.public_key()])),
        [public.id.to_hex(), to_alice.id.to_hex()]
    );
    assert_eq!(seen_by(Some(vec![bob.public_key()])), [public.id.to_hex()]);
    assert_eq!(seen_by(Some(vec![])), [public.id.to_hex()]);
    assert_eq!(seen_by(None).len(), 2);
}

/// Values no database column type should be trusted with: a NUL in a tag
/// value and in an address, a word longer than a full-text index keeps.
#[test]
fn hostile_values_are_stored_and_found() {
    let f = fixture();
    let keys = Keys::generate();
    let nul_tag = event(&keys, 1, 1_650_000_100, &[&["t", "a\0b"]], "nul in a tag");
    let nul_address = event(&keys, 30_078, 1_650_000_200, &[&["d", "x\0y"]], "nul in d");
    let long_word = "ж".repeat(3000);
    let long = event(&keys, 1, 1_650_000_300, &[], &format!("{long_word} short"));
    let batch = [nul_tag.clone(), nul_address.clone(), long.clone()];
    assert_eq!(insert(&f.store, &batch), vec![InsertOutcome::Stored; 3]);
    let found = |q: Query| ids(&f.store.query(&q).expect("query"));
    assert_eq!(
        found(Query {
            tags: vec![('t', vec!["a\0b".into()])],
            ..Default::default()
        }),
        [nul_tag.id.to_hex()]
    );
    assert_eq!(
        found(Query {
            tags: vec![('d', vec!["x\0y".into()])],
            ..Default::default()
        }),
        [nul_address.id.to_hex()]
    );
    assert_eq!(
        found(Query {
            search: Some("short".into()),
            ..Default::default()
        }),
        [long.id.to_hex()]
    );
    // A newer version of the address with a NUL still replaces it.
    let newer = event(&keys, 30_078, 1_650_000_400, &[&["d", "x\0y"]], "newer");
    assert_eq!(
        insert(&f.store, std::slice::from_ref(&newer)),
        [InsertOutcome::Stored]
    );
    assert!(!has(&f.store, nul_address.id));
}

/// Events another front node stores reach this one's live subscribers
/// (only a shared database has other writers while a node runs).
#[test]
fn events_from_other_front_nodes_arrive_live() {
    let f = fixture();
    let Some(live) = f.store.events().others(Box::new(|| true)) else {
        assert!(!f.on_postgres(), "PostgreSQL must tell of other writers");
        return;
    };
    let other = f.second();
    let keys = Keys::generate();
    // Bounded: the listener is up within a few tries.
    let mut arrived = Vec::new();
    for i in 0..20u64 {
        let e = event(&keys, 1, 1_650_000_000 + i, &[], &format!("live {i}"));
        insert(&other, std::slice::from_ref(&e));
        // Our own writes are never echoed back.
        insert(&f.store, &[event(&keys, 1, 1_660_000_000 + i, &[], "own")]);
        if let Ok(batch) = live.recv_timeout(std::time::Duration::from_secs(2)) {
            arrived.extend(batch.into_iter().map(|s| s.id));
            if arrived.contains(&e.id) {
                break;
            }
        }
    }
    assert!(!arrived.is_empty(), "nothing arrived from the other node");
    let own: Vec<_> = f
        .store
        .query(&Query {
            since: Some(1_660_000_000),
            ..Default::default()
        })
        .expect("query")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert!(
        arrived.iter().all(|id| !own.contains(id)),
        "an own write came back"
    );
}

/// A batch larger than one transaction's share of locks (thousands of
/// events, a retraction naming hundreds) is stored whole, by the rules.
#[test]
fn a_batch_of_thousands_with_a_long_retraction_is_stored_by_the_rules() {
    let f = fixture();
    let keys = Keys::generate();
    let notes: Vec<Event> = (0..2500)
        .map(|i| event(&keys, 1, 1_650_000_000 + i, &[], &format!("note {i}")))
        .collect();
    let targets: Vec<String> = notes[..900].iter().map(|n| n.id.to_hex()).collect();
    let tags: Vec<Vec<&str>> = targets.iter().map(|t| vec!["e", t.as_str()]).collect();
    let tags: Vec<&[&str]> = tags.iter().map(Vec::as_slice).collect();
    let retraction = event(&keys, 5, 1_650_010_000, &tags, "");
    let mut batch = notes.clone();
    batch.push(retraction);
    let outcomes = insert(&f.store, &batch);
    assert!(outcomes.iter().all(|o| *o == InsertOutcome::Stored));
    let stored = f
        .store
        .count(&Query {
            kinds: Some(vec![1]),
            ..Default::default()
        })
        .expect("count");
    assert_eq!(stored, 1600);
    assert!(!has(&f.store, notes[0].id));
    assert!(has(&f.store, notes[900].id));
    assert_eq!(insert(&f.store, &notes[..1]), [InsertOutcome::Deleted]);
}
