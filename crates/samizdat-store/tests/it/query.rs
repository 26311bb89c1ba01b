use samizdat_core::nostr::prelude::{Event, Keys};
use samizdat_store::{InsertOutcome, Query, Store};

use crate::{NOW, event, fixture, ids, insert};

#[test]
fn filters_select_by_every_field() {
    let f = fixture();
    let (alice, bob) = (Keys::generate(), Keys::generate());
    let a1 = event(&alice, 1, 1_650_000_100, &[&["t", "almaty"]], "a1");
    let a2 = event(&alice, 7, 1_650_000_200, &[&["e", &"ab".repeat(32)]], "+");
    let b1 = event(
        &bob,
        1,
        1_650_000_300,
        &[&["t", "almaty"], &["t", "zhanaozen"]],
        "b1",
    );
    let b2 = event(&bob, 1, 1_650_000_400, &[&["t", "aktobe"]], "b2");
    assert_eq!(
        insert(&f.store, &[a1.clone(), a2.clone(), b1.clone(), b2.clone()]),
        vec![InsertOutcome::Stored; 4]
    );
    let q = |query: Query| ids(&f.store.query(&query).expect("query"));
    let hex = |e: &samizdat_core::nostr::prelude::Event| e.id.to_hex();

    assert_eq!(
        q(Query::default()),
        [hex(&b2), hex(&b1), hex(&a2), hex(&a1)]
    );
    assert_eq!(
        q(Query {
            ids: Some(vec![a2.id, b1.id]),
            ..Default::default()
        }),
        [hex(&b1), hex(&a2)]
    );
    assert_eq!(
        q(Query {
            authors: Some(vec![alice.public_key()]),
            ..Default::default()
        }),
        [hex(&a2), hex(&a1)]
    );
    assert_eq!(
        q(Query {
            kinds: Some(vec![7]),
            ..Default::default()
        }),
        [hex(&a2)]
    );
    assert_eq!(
        q(Query {
            tags: vec![('t', vec!["almaty".into()])],
            ..Default::default()
        }),
        [hex(&b1), hex(&a1)]
    );
    assert_eq!(
        q(Query {
            tags: vec![('t', vec!["almaty".into(), "aktobe".into()])],
            ..Default::default()
        }),
        [hex(&b2), hex(&b1), hex(&a1)]
    );
    assert_eq!(
        q(Query {
            tags: vec![
                ('t', vec!["almaty".into()]),
                ('t', vec!["zhanaozen".into()])
            ],
            ..Default::default()
        }),
        [hex(&b1)]
    );
    assert_eq!(
        q(Query {
            tags: vec![('t', vec!["almaty".into()])],
            authors: Some(vec![alice.public_key()]),
            ..Default::default()
        }),
        [hex(&a1)]
    );
    assert_eq!(
        q(Query {
            since: Some(1_650_000_200),
            until: Some(1_650_000_300),
            ..Default::default()
        }),
        [hex(&b1), hex(&a2)]
    );
    assert_eq!(
        q(Query {
            limit: Some(2),
            ..Default::default()
        }),
        [hex(&b2), hex(&b1)]
    );
    assert!(
        q(Query {
            ids: Some(vec![]),
            ..Default::default()
        })
        .is_empty()
    );
    assert!(
        q(Query {
            tags: vec![('t', vec!["nowhere".into()])],
            ..Default::default()
        })
        .is_empty()
    );
    assert_eq!(
        f.store
            .count(&Query {
                kinds: Some(vec![1]),
                limit: Some(1),
                ..Default::default()
            })
            .expect("count"),
        3
    );
}

#[test]
fn replaceable_and_addressable_keep_only_the_newest() {
    let f = fixture();
    let k = Keys::generate();
    let old = event(&k, 0, 1_650_000_000, &[], "{\"name\":\"old\"}");
    let new = event(&k, 0, 1_650_000_100, &[], "{\"name\":\"new\"}");
    assert_eq!(
        insert(&f.store, std::slice::from_ref(&new)),
        [InsertOutcome::Stored]
    );
    assert_eq!(
        insert(&f.store, std::slice::from_ref(&old)),
        [InsertOutcome::Superseded]
    );
    let art1 = event(&k, 30023, 1_650_000_000, &[&["d", "report"]], "v1");
    let art2 = event(&k, 30023, 1_650_000_500, &[&["d", "report"]], "v2");
    let other = event(&k, 30023, 1_650_000_000, &[&["d", "other"]], "x");
    assert_eq!(
        insert(&f.store, &[art1, other.clone(), art2.clone()]),
        vec![InsertOutcome::Stored; 3]
    );
    let got = ids(&f
        .store
        .query(&Query {
            kinds: Some(vec![0, 30023]),
            ..Default::default()
        })
        .expect("q"));
    assert_eq!(got, [art2.id.to_hex(), new.id.to_hex(), other.id.to_hex()]);
    let ephemeral = event(&k, 20001, 1_650_000_000, &[], "typing");
    assert_eq!(insert(&f.store, &[ephemeral]), [InsertOutcome::Ephemeral]);
}

/// Every query shape is served by an index, never by walking the table.
#[test]
fn query_plans_use_indexes() {
    let f = fixture();
    if f.on_postgres() {
        // PostgreSQL plans by statistics: on a table this small it rightly
        // scans, so plans are not a property of the interface.
        eprintln!("query plans are SQLite's: not checked on PostgreSQL");
        return;
    }
    let k = Keys::generate();
    let shapes = [
        Query {
            ids: Some(vec![event(&k, 1, 1_650_000_000, &[], "x").id]),
            ..Default::default()
        },
        Query {
            authors: Some(vec![k.public_key()]),
            ..Default::default()
        },
        Query {
            authors: Some(vec![k.public_key()]),
            kinds: Some(vec![1, 1948]),
            limit: Some(10),
            ..Default::default()
        },
        Query {
            kinds: Some(vec![1]),
            limit: Some(10),
            ..Default::default()
        },
        Query {
            tags: vec![('e', vec!["ab".repeat(32)])],
            ..Default::default()
        },
        Query {
            tags: vec![('t', vec!["a".into(), "b".into()])],
            kinds: Some(vec![1]),
            limit: Some(5),
            ..Default::default()
        },
        Query {
            since: Some(1_650_000_000),
            until: Some(1_660_000_000),
            ..Default::default()
        },
        Query {
            search: Some("Алматы".into()),
            ..Default::default()
        },
        Query {
            limit: Some(10),
            ..Default::default()
        },
    ];
    for q in shapes {
        let plan = f.store.explain(&q).expect("explain");
        let table_scan = plan.iter().any(|step| {
            step.starts_with("SCAN") && !step.contains("USING") && !step.contains("VIRTUAL TABLE")
        });
        assert!(!table_scan, "{q:?} scans a table: {plan:#?}");
    }
}

#[test]
fn what_is_new_since_a_mark_is_counted_with_or_without_a_filter() {
    let f = fixture();
    let keys = Keys::generate();
    assert_eq!(f.store.last_seq().expect("seq"), 0);
    let old = event(&keys, 1, 1_650_000_100, &[&["t", "almaty"]], "old");
    insert(&f.store, &[old]);
    let mark = f.store.last_seq().expect("seq");
    assert!(mark > 0);
    // Newer by arrival, older by created_at: arrival is what counts.
    let new = [
        event(&keys, 1, 1_600_000_000, &[&["t", "almaty"]], "new 1"),
        event(&keys, 7, 1_650_000_300, &[&["t", "almaty"]], "+"),
        event(&keys, 1, 1_650_000_400, &[&["t", "aktobe"]], "new 2"),
    ];
    insert(&f.store, &new);
    assert!(f.store.last_seq().expect("seq") >= mark + 3);
    let all = Query::default();
    assert_eq!(f.store.count_after(&all, mark).expect("count"), 3);
    assert_eq!(f.store.count_after(&all, 0).expect("count"), 4);
    let notes_in_almaty = Query {
        kinds: Some(vec![1]),
        tags: vec![('t', vec!["almaty".into()])],
        ..Default::default()
    };
    assert_eq!(
        f.store.count_after(&notes_in_almaty, mark).expect("count"),
        1
    );
    assert_eq!(f.store.count_after(&notes_in_almaty, 0).expect("count"), 2);
    let last = f.store.last_seq().expect("seq");
    assert_eq!(f.store.count_after(&all, last).expect("count"), 0);
}

#[test]
fn the_keys_kept_in_memory_follow_inserts_and_removals() {
    let f = fixture();
    let keys = Keys::generate();
    let key = |e: &samizdat_core::nostr::prelude::Event| (e.created_at.as_secs(), e.id.to_bytes());
    let sorted = |events: &[&samizdat_core::nostr::prelude::Event]| {
        let mut all: Vec<_> = events.iter().map(|e| key(e)).collect();
        all.sort_unstable();
        all
    };
    assert!(
        f.store
            .all_keys(10)
            .expect("keys")
            .expect("within")
            .is_empty()
    );
    let a = event(&keys, 1, 1_650_000_300, &[], "a");
    let b = event(&keys, 1, 1_650_000_100, &[], "b");
    insert(&f.store, &[a.clone(), b.clone()]);
    let first = f.store.all_keys(10).expect("keys").expect("within");
    assert_eq!(first.keys(), sorted(&[&a, &b]));
    // Unchanged: the same shared snapshot.
    let again = f.store.all_keys(10).expect("keys").expect("within");
    assert!(std::sync::Arc::ptr_eq(&first, &again));
    // New events are merged in, in order.
    let c = event(&keys, 1, 1_650_000_200, &[], "c");
    insert(&f.store, std::slice::from_ref(&c));
    assert_eq!(
        f.store.all_keys(10).expect("keys").expect("within").keys(),
        sorted(&[&a, &b, &c])
    );
    // A deletion removes a key (and adds its own).
    let deletion = event(&keys, 5, 1_650_000_400, &[&["e", &b.id.to_hex()]], "");
    insert(&f.store, std::slice::from_ref(&deletion));
    assert_eq!(
        f.store.all_keys(10).expect("keys").expect("within").keys(),
        sorted(&[&a, &c, &deletion])
    );
    // Over the bound: nothing kept, nothing returned.
    assert!(f.store.all_keys(2).expect("keys").is_none());
    assert_eq!(f.store.all_keys(3).expect("keys").expect("within").len(), 3);
}

/// A label naming `original` in `of`, about `target`.
fn label(keys: &Keys, at: u64, name: &str, target: &str, original: &str) -> Event {
    event(
        keys,
        1985,
        at,
        &[
            &["L", "samizdat"],
            &["l", name, "samizdat"],
            &["e", target],
            &["p", &keys.public_key().to_hex()],
            &["of", original],
        ],
        "",
    )
}

/// Another application's label whose `of` values are no event ids: too
/// short, not hex, 64 characters that are not hex.
fn foreign_label(keys: &Keys, original: &Event) -> Event {
    let hex = original.id.to_hex();
    event(
        keys,
        1985,
        1_650_000_050,
        &[
            &["L", "other.app"],
            &["l", "note", "other.app"],
            &["of", &hex[..62]],
            &["of", "not an id"],
            &["of", &"zz".repeat(32)],
        ],
        "",
    )
}

#[test]
fn labels_are_found_by_the_record_they_name_in_of() {
    let f = fixture();
    let keys = Keys::generate();
    let original = event(&keys, 1, 1_650_000_000, &[], "original");
    let other = event(&keys, 1, 1_650_000_001, &[], "another record");
    let translation = event(&keys, 1, 1_650_000_002, &[], "a translation");
    let (o, t, x) = (
        original.id.to_hex(),
        translation.id.to_hex(),
        other.id.to_hex(),
    );
    let translated = label(&keys, 1_650_000_100, "translation-of", &t, &o);
    let duplicate = label(&keys, 1_650_000_200, "duplicate-of", &x, &o);
    let elsewhere = label(&keys, 1_650_000_300, "translation-of", &t, &x);
    insert(
        &f.store,
        &[
            original.clone(),
            other.clone(),
            translation,
            translated.clone(),
            duplicate.clone(),
            elsewhere.clone(),
        ],
    );
    assert_eq!(
        insert(&f.store, &[foreign_label(&keys, &original)]),
        [InsertOutcome::Stored],
        "a label whose `of` names no id is still stored, naming nothing"
    );
    let naming = |id: &Event, limit| ids(&f.store.labels_naming(&id.id, limit).expect("labels"));
    assert_eq!(
        naming(&original, 10),
        [duplicate.id.to_hex(), translated.id.to_hex()]
    );
    assert_eq!(naming(&original, 1), [duplicate.id.to_hex()]);
    assert_eq!(naming(&other, 10), [elsewhere.id.to_hex()]);
    // A label its author retracts no longer names anything.
    let retraction = event(
        &keys,
        5,
        1_650_000_400,
        &[&["e", &translated.id.to_hex()]],
        "",
    );
    insert(&f.store, &[retraction]);
    assert_eq!(naming(&original, 10), [duplicate.id.to_hex()]);
}

#[test]
fn migration_four_finds_labels_stored_before_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = Keys::generate();
    let original = event(&keys, 1, 1_650_000_000, &[], "original");
    let translation = event(&keys, 1, 1_650_000_002, &[], "a translation");
    let translated = label(
        &keys,
        1_650_000_100,
        "translation-of",
        &translation.id.to_hex(),
        &original.id.to_hex(),
    );
    {
        let store = Store::open(dir.path()).expect("open");
        let foreign = foreign_label(&keys, &original);
        insert(
            &store,
            &[original.clone(), translation, translated.clone(), foreign],
        );
    }
    // Back to schema version 3, as a store written before migration 4.
    {
        let conn =
            rusqlite::Connection::open(dir.path().join(samizdat_store::DB_FILE)).expect("open db");
        conn.execute_batch(
            "DROP TABLE originals; DROP INDEX events_happened; \
             ALTER TABLE events DROP COLUMN happened; PRAGMA user_version = 3;",
        )
        .expect("downgrade");
    }
    let store = Store::open(dir.path()).expect("reopen and migrate");
    assert_eq!(
        ids(&store.labels_naming(&original.id, 10).expect("labels")),
        [translated.id.to_hex()]
    );
}

#[test]
fn pages_go_on_after_a_cursor_however_many_share_a_second() {
    let f = fixture();
    let keys = Keys::generate();
    let reader = Keys::generate().public_key().to_hex();
    let events: Vec<Event> = (0..25)
        .map(|i| {
            let at = if i < 20 { NOW - 5 } else { NOW - 100 - i };
            event(&keys, 1059, at, &[&["p", &reader]], &format!("wrap {i}"))
        })
        .collect();
    insert(&f.store, &events);
    let mut seen = Vec::new();
    let mut after = None;
    // Bounded: 25 events, pages of 7.
    for _ in 0..10 {
        let page = f
            .store
            .query(&Query {
                kinds: Some(vec![1059]),
                tags: vec![('p', vec![reader.clone()])],
                after,
                limit: Some(7),
                ..Default::default()
            })
            .expect("query");
        let Some(last) = page.last() else { break };
        let last = last.event().expect("event");
        after = Some((last.created_at.as_secs(), last.id));
        seen.extend(page.iter().map(|s| s.id));
    }
    let mut unique = seen.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!((seen.len(), unique.len()), (25, 25), "each once, none lost");
}

#[test]
fn by_happened_orders_by_what_events_say_and_migration_six_fills_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = Keys::generate();
    let observed = |at: u64| vec!["observed".to_string(), at.to_string()];
    let note = |at: u64, said: Option<u64>, text: &str| {
        let tags: Vec<Vec<String>> = said.map(observed).into_iter().collect();
        let tags: Vec<Vec<&str>> = tags
            .iter()
            .map(|t| t.iter().map(String::as_str).collect())
            .collect();
        let tags: Vec<&[&str]> = tags.iter().map(Vec::as_slice).collect();
        event(&keys, 1, at, &tags, text)
    };
    let a = note(NOW - 10, Some(NOW - 1_000), "a");
    let b = note(NOW - 20, None, "b");
    let c = note(NOW - 30, Some(NOW - 500), "c");
    // A time said to be after the signing counts as the signing.
    let d = note(NOW - 40, Some(NOW), "d");
    let query = Query {
        by_happened: true,
        ..Query::default()
    };
    let expected = [&b, &d, &c, &a].map(|e| e.id.to_hex());
    {
        let store = Store::open(dir.path()).expect("open");
        insert(&store, &[a.clone(), b.clone(), c.clone(), d.clone()]);
        assert_eq!(ids(&store.query(&query).expect("query")), expected);
        let day = Query {
            since: Some(NOW - 600),
            until: Some(NOW - 400),
            ..query.clone()
        };
        assert_eq!(ids(&store.query(&day).expect("query")), [c.id.to_hex()]);
    }
    // Back to schema version 5, as a store written before migration 6.
    {
        let conn =
            rusqlite::Connection::open(dir.path().join(samizdat_store::DB_FILE)).expect("open db");
        conn.execute_batch(
            "DROP INDEX events_happened; ALTER TABLE events DROP COLUMN happened; \
             PRAGMA user_version = 5;",
        )
        .expect("downgrade");
    }
    let store = Store::open(dir.path()).expect("reopen and migrate");
    assert_eq!(ids(&store.query(&query).expect("query")), expected);
}
