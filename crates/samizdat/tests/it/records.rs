//! The README tour and the life of records: record, list, search, show,
//! attest, translate, retract, export, import, keys.

use crate::{Node, contains, tour_photo};

#[test]
fn tour_cyrillic_testimony_with_a_gps_photo() {
    let node = Node::start();
    let before = node.ok(&["media", "inspect", tour_photo().to_str().expect("path")]);
    assert!(before.contains("GPSLatitude"), "{before}");

    let out = node.json(&[
        "testimony",
        "add",
        "--lang",
        "kk",
        "--place",
        "Алматы, Республика алаңы",
        "--observed",
        "2022-01-05T14:00+06:00",
        "--topic",
        "Qantar",
        "--attach",
        tour_photo().to_str().expect("path"),
        "Республика алаңында әскер адамдарға оқ атты. Қасым көшесінде жаралылар бар.",
    ]);
    let record = &out[0];
    assert_eq!(record["kind"], "testimony");
    assert_eq!(record["record"]["lang"], "kk");
    assert_eq!(record["record"]["observed"]["start"], 1_641_369_600);
    assert_eq!(record["record"]["topics"][0], "qantar");
    let id = record["id"].as_str().expect("id").to_string();
    let hash = record["record"]["attachments"][0]["sha256"]
        .as_str()
        .expect("hash")
        .to_string();

    // The stored blob carries no metadata at all.
    let blob =
        std::fs::read(node.data().join("blobs").join(&hash[..2]).join(&hash)).expect("blob stored");
    for secret in [&b"GPS"[..], b"ACME-PHONE", b"SN-4417-0042", b"ns.adobe.com"] {
        assert!(
            !contains(&blob, secret),
            "{} survived",
            String::from_utf8_lossy(secret)
        );
    }
    let exported = node.dir.path().join("out.jpg");
    node.ok(&["blob", "get", &hash, "-o", exported.to_str().expect("path")]);
    let after = node.ok(&["media", "inspect", exported.to_str().expect("path")]);
    assert!(after.contains("no identifying metadata found"), "{after}");

    // Found by a word written without Kazakh letters, in capitals.
    let found = node.json(&["search", "КАСЫМ"]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], id.as_str());
    // And in Latin letters, in any spelling of the name.
    for query in ["Kasym", "Qasym", "Kassym"] {
        let found = node.json(&["search", query]);
        assert_eq!(found.len(), 1, "{query}");
        assert_eq!(found[0]["id"], id.as_str(), "{query}");
    }
    let listed = node.ok(&["list"]);
    assert!(listed.contains("[kk] Республика алаңында"), "{listed}");
    let shown = node.ok(&["show", &id]);
    assert!(shown.contains("signature:  ok"), "{shown}");
    assert!(
        shown.contains(&format!("{hash} image/jpeg")) && shown.contains("— ok"),
        "{shown}"
    );
    node.ok(&["verify"]);
}

#[test]
fn person_reports_attestations_translations_and_retraction() {
    let node = Node::start();
    let person = node.json(&[
        "person",
        "report",
        "--name",
        "Асель Нұрланқызы",
        "--alias",
        "Asel Nurlankyzy",
        "--age",
        "34",
        "--role",
        "journalist",
        "--status",
        "detained",
        "--source",
        "witnessed",
        "--when",
        "2022-01-06",
        "--place",
        "Алматы",
        "--lang",
        "kk",
    ]);
    let person_id = person[0]["id"].as_str().expect("id").to_string();
    assert_eq!(person[0]["record"]["status"], "detained");
    assert_eq!(node.json(&["search", "asel"])[0]["id"], person_id.as_str());

    let original = node.json(&[
        "testimony",
        "add",
        "--lang",
        "ru",
        "Задержали журналистку у акимата.",
    ]);
    let original_id = original[0]["id"].as_str().expect("id").to_string();
    let translated = node.json(&[
        "testimony",
        "add",
        "--lang",
        "en",
        "--translation-of",
        &original_id,
        "A journalist was detained near the akimat.",
    ]);
    assert_eq!(translated.len(), 2, "translation and its attestation");
    assert_eq!(translated[1]["record"]["label"], "translation-of");
    assert_eq!(translated[1]["record"]["of"], original_id.as_str());

    node.ok(&[
        "attest",
        "corroborates",
        &person_id,
        "--note",
        "I saw it too",
    ]);
    let shown = node.json(&["show", &person_id]);
    assert_eq!(
        shown[0]["attestations"][0]["record"]["label"],
        "corroborates"
    );
    let err = node.fails(&["attest", "duplicate-of", &person_id], 1);
    assert!(err.contains("duplicate-of needs an `of` tag"), "{err}");

    let kinds = |filter: &str| node.json(&["list", "--kind", filter]).len();
    assert_eq!(
        (kinds("testimony"), kinds("person"), kinds("attestation")),
        (2, 1, 2)
    );

    node.ok(&["retract", &original_id, "--reason", "wrong place"]);
    assert!(node.json(&["search", "журналистку"]).is_empty());
    let err = node.fails(&["show", &original_id], 1);
    assert!(err.contains("no record"), "{err}");
    node.ok(&["verify"]);
}

#[test]
fn events_move_between_stores_and_keys_between_identities() {
    let a = Node::start();
    a.ok(&["testimony", "add", "--lang", "ru", "Первая запись"]);
    a.ok(&[
        "person",
        "report",
        "--name",
        "Ерлан",
        "--status",
        "missing",
        "--source",
        "relative",
    ]);
    let file = a.dir.path().join("events.jsonl");
    a.ok(&["events", "export", "-o", file.to_str().expect("path")]);

    let b = Node::start();
    let out = b.json(&["events", "import", file.to_str().expect("path")]);
    let summary = &out.last().expect("summary")["summary"];
    assert_eq!(
        (summary["stored"].as_u64(), summary["rejected"].as_u64()),
        (Some(2), Some(0))
    );
    let again = b.json(&["events", "import", file.to_str().expect("path")]);
    assert_eq!(
        again.last().expect("summary")["summary"]["duplicate"],
        2,
        "import is idempotent"
    );

    // An identity moves as an encrypted key, and stays the same identity.
    let ncryptsec = a.ok(&["id", "export", "--encrypted"]);
    let mut import = b.command(&["id", "import", "--name", "moved"]);
    import
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = import.spawn().expect("spawn");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(ncryptsec.as_bytes())
        .expect("write");
    assert!(child.wait_with_output().expect("wait").status.success());
    let npub = |node: &Node, name: &str| {
        node.json(&["id", "show", name])[0]["npub"]
            .as_str()
            .expect("npub")
            .to_string()
    };
    assert_eq!(npub(&a, "witness"), npub(&b, "moved"));
    let listed = b.json(&["id", "list"]);
    assert_eq!(listed.len(), 2);

    let nsec = a.ok(&["id", "export"]);
    assert!(nsec.starts_with("nsec1"));
    let raw_keys = std::fs::read_to_string(a.data().join("keys/witness.json")).expect("key file");
    assert!(!raw_keys.contains(nsec.trim()) && raw_keys.contains("ncryptsec1"));
}
