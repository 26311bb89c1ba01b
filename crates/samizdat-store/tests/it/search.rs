use samizdat_core::nostr::prelude::Keys;
use samizdat_store::Query;

use crate::{event, fixture, insert};

fn found(store: &samizdat_store::Store, words: &str) -> Vec<String> {
    store
        .query(&Query {
            search: Some(words.into()),
            ..Default::default()
        })
        .expect("search")
        .iter()
        .map(|e| e.event().expect("parses").content)
        .collect()
}

#[test]
fn search_is_insensitive_to_case_diacritics_and_script_variants() {
    let f = fixture();
    let k = Keys::generate();
    insert(
        &f.store,
        &[
            event(&k, 1, 1_650_000_000, &[], "Қасым көшесінде әскер тұр"),
            event(
                &k,
                1,
                1_650_000_001,
                &[],
                "Задержан журналист Ерлан на площади",
            ),
            event(
                &k,
                1,
                1_650_000_002,
                &[],
                "Émile a vu la manifestation à Almaty",
            ),
            event(
                &k,
                1,
                1_650_000_003,
                &[&["location", "Жаңаөзен"]],
                "Ёлки у акимата",
            ),
            event(&k, 7, 1_650_000_004, &[], "Қасым"),
        ],
    );
    assert_eq!(found(&f.store, "ҚАСЫМ"), ["Қасым көшесінде әскер тұр"]);
    assert_eq!(found(&f.store, "касым"), ["Қасым көшесінде әскер тұр"]);
    assert_eq!(
        found(&f.store, "көше"),
        ["Қасым көшесінде әскер тұр"],
        "prefix of an inflected word"
    );
    assert_eq!(
        found(&f.store, "журналист ерлан"),
        ["Задержан журналист Ерлан на площади"]
    );
    assert!(
        found(&f.store, "журналист Алматы").is_empty(),
        "every word must match"
    );
    assert_eq!(
        found(&f.store, "emile ALMATY"),
        ["Émile a vu la manifestation à Almaty"]
    );
    assert_eq!(found(&f.store, "елки"), ["Ёлки у акимата"]);
    assert_eq!(
        found(&f.store, "Жанаозен"),
        ["Ёлки у акимата"],
        "place tag is searchable"
    );
    assert!(
        found(&f.store, "\" OR * NEAR(").is_empty(),
        "FTS syntax in a query is inert"
    );
}

fn across_scripts() -> Vec<samizdat_core::nostr::prelude::Event> {
    let k = Keys::generate();
    vec![
        event(&k, 1, 1_650_000_000, &[], "Задержан Қасым Тоқаев у акимата"),
        event(
            &k,
            1,
            1_650_000_001,
            &[&["location", "Алматы"]],
            "Асель Нурланова, журналист, задержана",
        ),
        event(
            &k,
            1,
            1_650_000_002,
            &[],
            "Видели, как Yerlan Abenov вели к автобусу",
        ),
        event(&k, 1, 1_650_000_003, &[], "We saw Нұрлан near the square"),
    ]
}

fn crosses_scripts(store: &samizdat_store::Store) {
    let tokayev = ["Задержан Қасым Тоқаев у акимата"];
    for query in ["Kasym", "Qasym", "Kassym", "KASYM TOKAYEV", "Qasym Toqaev"] {
        assert_eq!(found(store, query), tokayev, "{query}");
    }
    for query in ["asel", "Assel", "Äsel nurlanova", "Assel Almaty"] {
        assert_eq!(
            found(store, query),
            ["Асель Нурланова, журналист, задержана"],
            "{query}"
        );
    }
    assert_eq!(
        found(store, "Ерлан Абенов"),
        ["Видели, как Yerlan Abenov вели к автобусу"],
        "a Latin name inside Cyrillic text"
    );
    assert_eq!(
        found(store, "Nurlan square"),
        ["We saw Нұрлан near the square"],
        "a Cyrillic name inside Latin text"
    );
    // A prefix, as for words typed in their own script: the name finds
    // the surname made from it too.
    assert_eq!(found(store, "Nurlan").len(), 2);
    assert!(
        found(store, "Kasym Abenov").is_empty(),
        "every word must match"
    );
}

#[test]
fn search_finds_a_name_in_any_script_and_spelling() {
    let f = fixture();
    insert(&f.store, &across_scripts());
    crosses_scripts(&f.store);
}

#[test]
fn migration_five_indexes_what_was_stored_before_it_across_scripts() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = samizdat_store::Store::open(dir.path()).expect("open");
        insert(&store, &across_scripts());
    }
    // Back to schema version 4, with the index as version 4 wrote it:
    // folded terms only.
    {
        let conn =
            rusqlite::Connection::open(dir.path().join(samizdat_store::DB_FILE)).expect("open db");
        conn.execute_batch(
            "INSERT INTO search (search) VALUES ('delete-all');
             INSERT INTO search (rowid, text)
                 SELECT seq, 'задержан қасым' FROM events WHERE kind = 1 LIMIT 1;
             DROP INDEX events_happened; ALTER TABLE events DROP COLUMN happened; \
             PRAGMA user_version = 4;",
        )
        .expect("downgrade");
    }
    let store = samizdat_store::Store::open(dir.path()).expect("reopen and migrate");
    crosses_scripts(&store);
}
