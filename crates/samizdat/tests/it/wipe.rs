//! `samizdat wipe`: keys overwritten before they are unlinked, every file
//! samizdat made removed, nothing else touched, links not followed, and
//! nothing done without a confirmation.

use std::fs;
use std::io::{Read, Seek};

use crate::Node;

#[test]
fn wipe_destroys_keys_and_data_and_nothing_else() {
    let node = Node::start();
    node.add_photo_testimony("Колонна техники на проспекте");
    let data = node.data();
    let key_file = data.join("keys/witness.json");
    // The node key, made on first use, is a key too.
    node.ok(&["peers"]);
    assert!(data.join("node.key").is_file());

    // No terminal and no --yes: nothing happens.
    let err = node.fails(&["wipe"], 1);
    assert!(err.contains("--yes"), "{err}");
    assert!(key_file.is_file());
    assert_eq!(node.json(&["list"]).len(), 1);

    // Things samizdat did not make: a file of the user's, and a link in
    // the blob directory to a file outside.
    let outside = node.dir.path().join("outside.txt");
    fs::write(&outside, "keep me").expect("write");
    std::os::unix::fs::symlink(&outside, data.join("blobs/link")).expect("symlink");
    fs::write(data.join("notes.txt"), "mine").expect("write");

    // Held open, the key file shows what became of its bytes.
    let mut held = fs::File::open(&key_file).expect("open key");
    let mut before = String::new();
    held.read_to_string(&mut before).expect("read key");
    assert!(before.contains("ncryptsec"));

    let summary = &node.json(&["wipe", "--yes"])[0];
    assert!(summary["keys_overwritten"].as_u64() >= Some(3), "{summary}");
    assert!(!data.join("node.key").exists());
    assert_eq!(summary["left"], serde_json::json!(["notes.txt"]));
    assert_eq!(summary["directory_removed"], false);

    held.rewind().expect("rewind");
    let mut after = Vec::new();
    held.read_to_end(&mut after).expect("read");
    assert_eq!(after.len(), before.len());
    assert!(
        !after.windows(9).any(|w| w == b"ncryptsec"),
        "the key's bytes were not overwritten"
    );

    for gone in ["keys", "samizdat.db", "samizdat.db-wal", "blobs", "bundles"] {
        assert!(!data.join(gone).exists(), "{gone} survived");
    }
    assert_eq!(fs::read_to_string(&outside).expect("outside"), "keep me");
    assert_eq!(
        fs::read_to_string(data.join("notes.txt")).expect("notes"),
        "mine"
    );
    let err = node.fails(&["list"], 1);
    assert!(err.contains("no samizdat data directory"), "{err}");
}

#[test]
fn wipe_refuses_a_directory_that_is_not_samizdats() {
    let node = Node {
        dir: tempfile::tempdir().expect("tempdir"),
    };
    fs::create_dir(node.data()).expect("mkdir");
    fs::write(node.data().join("precious.txt"), "mine").expect("write");
    let err = node.fails(&["wipe", "--yes"], 1);
    assert!(err.contains("no samizdat data directory"), "{err}");
    assert!(node.data().join("precious.txt").is_file());
}
