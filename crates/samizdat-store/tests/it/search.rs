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
