//! Bad input gets a clear error and leaves stored data intact.

use samizdat_core::nostr::prelude::Keys;

use crate::{Node, note, tour_photo};

fn count(node: &Node) -> usize {
    node.json(&["list", "--kind", "all", "--limit", "100000"])
        .len()
}

#[test]
fn import_takes_good_lines_and_names_each_bad_one() {
    let node = Node::start();
    let keys = Keys::generate();
    let good: Vec<String> = (0..5).map(|i| note(&keys, i).as_json()).collect();
    let mut forged = note(&keys, 100);
    forged.content = "altered after signing".into();
    let mut other_sig = note(&keys, 101);
    other_sig.sig = note(&keys, 102).sig;
    let lines = [
        good[0].clone(),
        "{\"id\": \"not json".into(),
        good[1].clone(),
        forged.as_json(),
        String::new(),
        other_sig.as_json(),
        "[\"EVENT\", 1]".into(),
        good[2].clone(),
        "x".repeat(600 * 1024),
        good[3].clone(),
        good[4].clone(),
    ];
    let file = node.dir.path().join("mixed.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("write");
    let err = node.fails(&["events", "import", file.to_str().expect("path")], 3);
    assert!(err.contains("line 2: not a Nostr event"), "{err}");
    assert!(
        err.contains("line 4: event id does not match the event's content"),
        "{err}"
    );
    assert!(err.contains("line 6: signature does not verify"), "{err}");
    assert!(err.contains("line 7: not a Nostr event"), "{err}");
    assert!(err.contains("line 9: line is longer than"), "{err}");
    assert!(
        err.contains("5 stored") && err.contains("5 rejected"),
        "{err}"
    );
    assert_eq!(count(&node), 5);
    node.ok(&["verify"]);
}

#[test]
fn wrong_passphrase_signs_nothing() {
    let node = Node::start();
    let out = node
        .command(&["testimony", "add", "--lang", "ru", "text"])
        .env("SAMIZDAT_PASSPHRASE", "not the passphrase")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        "samizdat: wrong passphrase for identity \"witness\""
    );
    assert_eq!(count(&node), 0);
}

#[test]
fn corrupt_or_foreign_attachments_are_refused_and_nothing_is_stored() {
    let node = Node::start();
    let photo = std::fs::read(tour_photo()).expect("photo");
    let truncated = node.dir.path().join("truncated.jpg");
    std::fs::write(&truncated, &photo[..photo.len() / 3]).expect("write");
    let err = node.fails(
        &[
            "testimony",
            "add",
            "--lang",
            "ru",
            "--attach",
            truncated.to_str().expect("path"),
            "text",
        ],
        1,
    );
    assert!(err.contains("corrupt JPEG file"), "{err}");
    let gif = node.dir.path().join("photo.jpg");
    std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").expect("write");
    let err = node.fails(
        &[
            "testimony",
            "add",
            "--lang",
            "ru",
            "--attach",
            gif.to_str().expect("path"),
            "text",
        ],
        1,
    );
    assert!(err.contains("corrupt GIF"), "{err}");
    assert_eq!(count(&node), 0);
    let blobs: Vec<_> = std::fs::read_dir(node.data().join("blobs"))
        .expect("blobs")
        .collect();
    assert_eq!(blobs.len(), 1, "only blobs/tmp");
}

#[test]
fn bad_record_fields_are_refused_with_the_rule() {
    let node = Node::start();
    let err = node.fails(&["testimony", "add", "--lang", "Russian", "text"], 1);
    assert!(
        err.contains("language \"Russian\" is not an ISO 639-1 code"),
        "{err}"
    );
    let err = node.fails(
        &[
            "testimony",
            "add",
            "--lang",
            "ru",
            "--observed",
            "2099-01-01",
            "text",
        ],
        1,
    );
    assert!(
        err.contains("observed after the record was signed"),
        "{err}"
    );
    let err = node.fails(
        &[
            "testimony",
            "add",
            "--lang",
            "ru",
            "--geo",
            "almaty!",
            "text",
        ],
        1,
    );
    assert!(err.contains("geohash"), "{err}");
    let err = node.fails(&["show", "../../etc/passwd"], 1);
    assert!(err.contains("is not a record id"), "{err}");
    let err = node.fails(&["blob", "get", "../../etc/passwd"], 1);
    assert!(err.contains("not a SHA-256 hash"), "{err}");
    let err = node.fails(&["retract", &"ab".repeat(32)], 1);
    assert!(err.contains("no record"), "{err}");
    assert_eq!(count(&node), 0);
}

#[test]
fn verify_names_an_altered_blob_and_a_tampered_record() {
    let node = Node::start();
    let out = node.json(&[
        "testimony",
        "add",
        "--lang",
        "kk",
        "--attach",
        tour_photo().to_str().expect("path"),
        "Куәлік",
    ]);
    let id = out[0]["id"].as_str().expect("id").to_string();
    let hash = out[0]["record"]["attachments"][0]["sha256"]
        .as_str()
        .expect("hash")
        .to_string();
    let other = node.json(&["testimony", "add", "--lang", "ru", "Вторая запись"]);
    let other_id = other[0]["id"].as_str().expect("id").to_string();
    node.ok(&["verify"]);

    let blob = node.data().join("blobs").join(&hash[..2]).join(&hash);
    let mut bytes = std::fs::read(&blob).expect("blob");
    bytes[200] ^= 0x01;
    std::fs::write(&blob, bytes).expect("tamper");
    let db = rusqlite::Connection::open(node.data().join("samizdat.db")).expect("db");
    db.execute(
        "UPDATE events SET json = replace(json, 'Вторая', 'Третья') WHERE hex(id) = upper(?1)",
        [&other_id],
    )
    .expect("tamper record");
    drop(db);

    let out = node.run(&["verify"]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("CORRUPT blob {hash}: its bytes were altered")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "CORRUPT event {other_id}: its id does not match its content"
        )),
        "{stdout}"
    );
    let shown = node.run(&["show", &id]);
    assert_eq!(shown.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&shown.stdout).contains("CORRUPT"));
    let err = node.fails(&["blob", "get", &hash], 1);
    assert!(err.contains("is corrupt"), "{err}");
}

#[test]
fn commands_on_a_missing_data_directory_say_how_to_start() {
    let node = Node {
        dir: tempfile::tempdir().expect("tempdir"),
    };
    let err = node.fails(&["list"], 1);
    assert!(err.contains("create it with `samizdat init`"), "{err}");
    let err = node.fails(&["testimony", "add", "text without a language"], 2);
    assert!(err.contains("--lang"), "{err}");
}

#[test]
fn hostile_sync_addresses_say_what_a_relay_address_is_and_change_nothing() {
    let node = Node::start();
    node.add_photo_testimony("before the bad addresses");
    let before = count(&node);
    for (url, says) in [
        ("http://127.0.0.1:1", "ws:// or wss://"),
        ("127.0.0.1:1", "ws://host:port"),
        ("ws://", "ws://host:port"),
        ("javascript:alert(1)", "ws:// or wss://"),
        (&"x".repeat(5_000) as &str, "ws://host:port"),
    ] {
        let err = node.fails(&["sync", url, "--timeout", "5s"], 1);
        assert!(err.contains(says), "{url:.40}: {err}");
    }
    assert_eq!(count(&node), before);
}

#[test]
fn a_bad_proxy_in_the_configuration_stops_the_node_without_showing_its_password() {
    let node = Node::start();
    std::fs::write(
        node.data().join("samizdat.toml"),
        "listen = \"127.0.0.1:0\"\nproxy = \"ftp://witness:hunter2@127.0.0.1:21\"\n",
    )
    .expect("config");
    let err = node.fails(&["serve"], 1);
    assert!(
        err.contains("samizdat.toml, line 2") && err.contains("socks5h://"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "the password shows: {err}");
}

#[test]
fn the_data_directory_from_the_environment_is_used_and_never_shown_as_required() {
    let node = Node::start();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_samizdat"))
            .args(args)
            .env("SAMIZDAT_DATA", node.data())
            .env("SAMIZDAT_PASSPHRASE", crate::PASSPHRASE)
            .output()
            .expect("samizdat runs")
    };
    let listed = run(&["--json", "id", "show"]);
    assert!(listed.status.success(), "SAMIZDAT_DATA names the store");
    let wrong = run(&["person", "report", "--name", "A"]);
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("Usage:") && !err.contains("--data"), "{err}");
}
