use samizdat_core::nostr::prelude::Keys;
use samizdat_store::{InsertOutcome, Query};

use crate::{event, fixture, has, insert};

#[test]
fn deleted_events_are_gone_and_cannot_come_back() {
    let f = fixture();
    let (author, stranger) = (Keys::generate(), Keys::generate());
    let note = event(
        &author,
        1,
        1_650_000_000,
        &[&["t", "x"]],
        "Ложное сообщение",
    );
    let keep = event(&author, 1, 1_650_000_001, &[], "keep");
    insert(&f.store, &[note.clone(), keep.clone()]);

    // A stranger cannot delete someone else's record.
    let forged = event(
        &stranger,
        5,
        1_650_000_010,
        &[&["e", &note.id.to_hex()]],
        "",
    );
    assert_eq!(insert(&f.store, &[forged]), [InsertOutcome::Stored]);
    assert!(has(&f.store, note.id));

    let deletion = event(
        &author,
        5,
        1_650_000_020,
        &[&["e", &note.id.to_hex()], &["k", "1"]],
        "wrong place",
    );
    assert_eq!(
        insert(&f.store, std::slice::from_ref(&deletion)),
        [InsertOutcome::Stored]
    );
    assert!(!has(&f.store, note.id));
    assert!(
        f.store
            .query(&Query {
                tags: vec![('t', vec!["x".into()])],
                ..Default::default()
            })
            .expect("q")
            .is_empty()
    );
    assert!(
        f.store
            .query(&Query {
                search: Some("ложное".into()),
                ..Default::default()
            })
            .expect("q")
            .is_empty()
    );
    assert_eq!(
        insert(&f.store, std::slice::from_ref(&note)),
        [InsertOutcome::Deleted]
    );

    // Deleting a deletion has no effect (NIP-09).
    let undo = event(
        &author,
        5,
        1_650_000_030,
        &[&["e", &deletion.id.to_hex()]],
        "",
    );
    insert(&f.store, &[undo]);
    assert!(has(&f.store, deletion.id));
    assert!(has(&f.store, keep.id));
}

#[test]
fn deletion_arriving_first_still_wins() {
    let f = fixture();
    let author = Keys::generate();
    let note = event(&author, 1, 1_650_000_000, &[], "later arrival");
    let deletion = event(&author, 5, 1_650_000_020, &[&["e", &note.id.to_hex()]], "");
    insert(&f.store, &[deletion]);
    assert_eq!(insert(&f.store, &[note]), [InsertOutcome::Deleted]);
}

#[test]
fn address_deletion_removes_versions_up_to_its_time() {
    let f = fixture();
    let k = Keys::generate();
    let v1 = event(&k, 30023, 1_650_000_000, &[&["d", "a"]], "v1");
    insert(&f.store, std::slice::from_ref(&v1));
    let coordinate = format!("30023:{}:a", k.public_key().to_hex());
    insert(
        &f.store,
        &[event(&k, 5, 1_650_000_100, &[&["a", &coordinate]], "")],
    );
    assert!(
        f.store
            .query(&Query {
                kinds: Some(vec![30023]),
                ..Default::default()
            })
            .expect("q")
            .is_empty()
    );
    assert_eq!(insert(&f.store, &[v1]), [InsertOutcome::Deleted]);
    let v2 = event(&k, 30023, 1_650_000_200, &[&["d", "a"]], "v2");
    assert_eq!(insert(&f.store, &[v2]), [InsertOutcome::Stored]);
}
