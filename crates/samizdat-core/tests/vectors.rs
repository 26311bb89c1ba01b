//! The signed test vectors of `docs/PROTOCOL.md`, checked byte for byte.
//!
//! Each vector is built from its parts with a fixed key and BIP-340
//! auxiliary randomness of 32 zero bytes, so id, signature and JSON are
//! deterministic. `vectors.json` holds the expected JSON; run with
//! `SAMIZDAT_BLESS=1` to rewrite it after a deliberate protocol change.

use std::collections::BTreeMap;

use nostr::prelude::{Event, Keys, Kind, SecretKey, Timestamp};
use samizdat_core::attestation::{Attestation, Label};
use samizdat_core::person::{PersonReport, Source, Status};
use samizdat_core::retraction::Retraction;
use samizdat_core::sign::Draft;
use samizdat_core::tags::{Observed, Place};
use samizdat_core::testimony::Testimony;
use samizdat_core::{
    Attachment, BlobHash, Limits, Record, RecordKind, ValidationError, kind, validate,
};

const VECTORS: &str = include_str!("../vectors.json");
const T0: u64 = 1_641_463_200; // 2022-01-06T10:00:00Z

fn keys(n: u8) -> Keys {
    let secret = BlobHash::of(format!("samizdat test key {n}").as_bytes());
    Keys::new(SecretKey::from_slice(secret.as_bytes()).expect("valid secret key"))
}

fn draft(kind: Kind, at: u64, tags: Vec<Vec<String>>, content: String) -> Draft {
    Draft {
        kind,
        created_at: Timestamp::from_secs(at),
        tags,
        content,
    }
}

fn sign(key: u8, d: &Draft) -> Event {
    d.sign_with_aux(&keys(key), &[0u8; 32])
        .expect("draft signs")
}

fn photo() -> Attachment {
    Attachment {
        hash: BlobHash::of(b"a stripped photo"),
        mime: "image/jpeg".into(),
        size: 48_213,
        dim: Some((1600, 1200)),
    }
}

fn vectors() -> Vec<(&'static str, Event)> {
    let t1 = Testimony {
        text: "Алматы, Республика алаңы. Сағат 10-да әскер адамдарға оқ атты.".into(),
        lang: "kk".into(),
        place: Place {
            text: Some("Алматы, Республика алаңы".into()),
            geohash: None,
        },
        observed: Some(Observed {
            start: T0 - 3_600,
            end: None,
            offset: None,
        }),
        attachments: vec![],
        topics: vec!["almaty".into(), "qantar".into()],
    };
    let t2 = Testimony {
        text: "Задержаны около 40 человек у здания акимата, их увезли в автозаках.".into(),
        lang: "ru".into(),
        place: Place {
            text: Some("Алматы, акимат".into()),
            geohash: Some("txwts".into()),
        },
        observed: Some(Observed {
            start: T0 - 7_200,
            end: Some(T0 - 5_400),
            offset: None,
        }),
        attachments: vec![photo()],
        topics: vec![],
    };
    let p1 = PersonReport {
        name: "Асель Нұрланқызы".into(),
        aliases: vec!["Asel Nurlankyzy".into(), "Асель Нурланова".into()],
        age: Some(34),
        role: Some("journalist".into()),
        status: Status::Detained,
        observed: Some(Observed {
            start: T0 - 1_800,
            end: None,
            offset: None,
        }),
        place: Place {
            text: Some("Алматы, Абылай хан даңғылы".into()),
            geohash: None,
        },
        source: Source::Witnessed,
        lang: Some("kk".into()),
        details: "Екі полицей ұстап, ақ көлікке отырғызды.".into(),
        attachments: vec![],
    };
    let p2 = PersonReport {
        name: "Ерлан Сейтказиев".into(),
        aliases: vec![],
        age: None,
        role: Some("union activist".into()),
        status: Status::Missing,
        observed: None,
        place: Place::default(),
        source: Source::Relative,
        lang: Some("ru".into()),
        details: String::new(),
        attachments: vec![],
    };
    let e_t1 = sign(1, &draft(kind::TESTIMONY, T0, t1.tags(), t1.content()));
    let e_t2 = sign(2, &draft(kind::TESTIMONY, T0 + 60, t2.tags(), t2.content()));
    let e_p1 = sign(
        1,
        &draft(kind::PERSON_REPORT, T0 + 120, p1.tags(), p1.content()),
    );
    let e_p2 = sign(
        3,
        &draft(kind::PERSON_REPORT, T0 + 180, p2.tags(), p2.content()),
    );
    let a1 = Attestation {
        label: Label::Corroborates,
        target: e_t1.id,
        target_author: Some(e_t1.pubkey),
        original: None,
        note: "I was there too and saw the same.".into(),
    };
    let a2 = Attestation {
        label: Label::TranslationOf,
        target: e_t2.id,
        target_author: Some(e_t2.pubkey),
        original: e_t1.id.into(),
        note: String::new(),
    };
    let e_a1 = sign(
        3,
        &draft(kind::ATTESTATION, T0 + 240, a1.tags(), a1.note.clone()),
    );
    let e_a2 = sign(
        2,
        &draft(kind::ATTESTATION, T0 + 300, a2.tags(), a2.note.clone()),
    );
    let r1 = sign(
        2,
        &draft(
            kind::RETRACTION,
            T0 + 360,
            Retraction::tags(&[(e_t2.id, 1)]),
            "Wrong place.".into(),
        ),
    );
    let r2 = sign(
        1,
        &draft(
            kind::RETRACTION,
            T0 + 420,
            Retraction::tags(&[(e_t1.id, 1), (e_p1.id, 1948)]),
            String::new(),
        ),
    );
    vec![
        ("testimony-kk", e_t1),
        ("testimony-ru-photo", e_t2),
        ("person-detained", e_p1),
        ("person-missing", e_p2),
        ("attestation-corroborates", e_a1),
        ("attestation-translation-of", e_a2),
        ("retraction-one", r1),
        ("retraction-two", r2),
    ]
}

#[test]
fn vectors_match_byte_for_byte() {
    let built: BTreeMap<String, String> = vectors()
        .into_iter()
        .map(|(name, e)| (name.to_string(), e.as_json()))
        .collect();
    if std::env::var_os("SAMIZDAT_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&built).expect("json") + "\n";
        std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/vectors.json"), text).expect("write");
        return;
    }
    let expected: BTreeMap<String, String> =
        serde_json::from_str(VECTORS).expect("vectors.json parses");
    assert_eq!(
        built.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (name, json) in &built {
        assert_eq!(json, &expected[name], "vector {name} differs");
    }
}

#[test]
fn every_vector_validates_as_its_kind() {
    let expected = [
        RecordKind::Testimony,
        RecordKind::Testimony,
        RecordKind::PersonReport,
        RecordKind::PersonReport,
        RecordKind::Attestation,
        RecordKind::Attestation,
        RecordKind::Retraction,
        RecordKind::Retraction,
    ];
    for ((name, event), kind) in vectors().into_iter().zip(expected) {
        let now = event.created_at;
        let verified =
            validate(event, &Limits::default(), now).unwrap_or_else(|e| panic!("{name}: {e}"));
        let record = Record::parse(verified.event()).expect("parses");
        assert_eq!(record.kind(), kind, "{name}");
    }
}

#[test]
fn parsed_records_round_trip_to_the_same_tags() {
    for (name, event) in vectors() {
        let tags: Vec<Vec<String>> = event.tags.iter().map(|t| t.as_slice().to_vec()).collect();
        let rebuilt = match Record::parse(&event).expect("parses") {
            Record::Testimony(t) => (t.tags(), t.content()),
            Record::PersonReport(p) => (p.tags(), p.content()),
            Record::Attestation(a) => (a.tags(), a.note.clone()),
            Record::Retraction(_) | Record::Other => continue,
        };
        assert_eq!(rebuilt, (tags, event.content.clone()), "{name}");
    }
}

/// Re-signs `event` with changed tags or content, so only the kind rule
/// under test is broken.
fn mutate(event: &Event, key: u8, f: impl FnOnce(&mut Vec<Vec<String>>, &mut String)) -> Event {
    let mut tags: Vec<Vec<String>> = event.tags.iter().map(|t| t.as_slice().to_vec()).collect();
    let mut content = event.content.clone();
    f(&mut tags, &mut content);
    sign(
        key,
        &draft(event.kind, event.created_at.as_secs(), tags, content),
    )
}

fn rule_error(event: Event) -> String {
    let now = event.created_at;
    match validate(event, &Limits::default(), now) {
        Err(ValidationError::Rule(r)) => r.reason().to_string(),
        other => panic!("expected a rule violation, got {other:?}"),
    }
}

#[test]
fn broken_records_are_refused_with_the_rule_they_break() {
    let v: BTreeMap<&str, Event> = vectors().into_iter().collect();
    let drop_tag = |name: &'static str| {
        move |tags: &mut Vec<Vec<String>>, _: &mut String| tags.retain(|t| t[0] != name)
    };

    let no_lang = mutate(&v["testimony-kk"], 1, |tags, _| {
        tags.retain(|t| t.get(2).map(String::as_str) != Some("ISO-639-1"))
    });
    assert_eq!(rule_error(no_lang), "testimony without a language label");

    let bad_status = mutate(&v["person-missing"], 3, |tags, _| {
        tags.iter_mut()
            .filter(|t| t[0] == "status")
            .for_each(|t| t[1] = "arrested".into())
    });
    assert!(rule_error(bad_status).starts_with("Status \"arrested\" is not one of"));

    assert_eq!(
        rule_error(mutate(&v["person-missing"], 3, drop_tag("name"))),
        "no `name` tag"
    );
    assert_eq!(
        rule_error(mutate(&v["attestation-translation-of"], 2, drop_tag("of"))),
        "translation-of needs an `of` tag"
    );
    assert_eq!(
        rule_error(mutate(&v["retraction-one"], 2, drop_tag("e"))),
        "retraction names no record (`e` or `a` tag)"
    );
    let photo_unmentioned = mutate(&v["testimony-ru-photo"], 2, |_, content| {
        *content = "text only".into()
    });
    assert!(rule_error(photo_unmentioned).contains("is not mentioned in the content"));
    let future_observed = mutate(&v["testimony-kk"], 1, |tags, _| {
        tags.iter_mut()
            .filter(|t| t[0] == "observed")
            .for_each(|t| t[1] = (T0 + 10).to_string())
    });
    assert_eq!(
        rule_error(future_observed),
        "observed after the record was signed"
    );
    let bad_offset = mutate(&v["testimony-kk"], 1, |tags, _| {
        tags.push(vec!["offset".into(), "+6h".into()])
    });
    assert_eq!(rule_error(bad_offset), "offset \"+6h\" is not like +06:00");
}

#[test]
fn forged_and_out_of_range_events_are_refused() {
    let v: BTreeMap<&str, Event> = vectors().into_iter().collect();
    let good = v["testimony-kk"].clone();
    let limits = Limits::default();
    let now = good.created_at;

    let mut altered = good.clone();
    altered.content.push('!');
    assert_eq!(validate(altered, &limits, now), Err(ValidationError::BadId));

    let other_sig = v["testimony-ru-photo"].sig;
    let mut forged = good.clone();
    forged.sig = other_sig;
    assert_eq!(
        validate(forged, &limits, now),
        Err(ValidationError::BadSignature)
    );

    let early = Timestamp::from_secs(good.created_at.as_secs() - 3_600);
    assert!(matches!(
        validate(good.clone(), &limits, early),
        Err(ValidationError::InTheFuture { ahead: 3_600 })
    ));

    let tiny = Limits {
        max_event_bytes: 200,
        ..limits
    };
    assert!(matches!(
        validate(good.clone(), &tiny, now),
        Err(ValidationError::TooLarge { .. })
    ));

    let old = sign(
        1,
        &draft(Kind::TextNote, 1_500_000_000, vec![], "hello".into()),
    );
    assert_eq!(
        validate(old, &limits, now),
        Err(ValidationError::TooOld(1_500_000_000))
    );

    assert!(matches!(
        samizdat_core::validate::validate_json("{\"id\": 1", &limits, now),
        Err(ValidationError::Malformed(_))
    ));
}

/// `docs/PROTOCOL.md` shows every vector exactly as the code builds it.
#[test]
fn protocol_document_holds_every_vector() {
    let doc = include_str!("../../../docs/PROTOCOL.md");
    for (name, event) in vectors() {
        assert!(
            doc.contains(&format!("### {name}\n\n```json\n{}\n```", event.as_json())),
            "{name}"
        );
    }
}
