//! `samizdat bundle`: a round trip between two stores, priority order,
//! idempotent import, and damaged bundles (cut short, a flipped byte)
//! refused whole or salvaged. The format's own checks (hostile names, a
//! manifest that lies, a decompression bomb) are tested in
//! `samizdat-bundle`.

use std::io::Read;

use samizdat_core::nostr::prelude::{Keys, Kind};

use crate::sync::import;
use crate::{Node, signed, tour_photo};

/// A store with a testimony carrying a photo, a person report, and
/// notes of a kind samizdat does not define.
fn source() -> (Node, String) {
    let node = Node::start();
    let keys = Keys::generate();
    let others: Vec<_> = (0..300)
        .map(|i| {
            signed(
                &keys,
                Kind::Custom(30_078),
                1_700_000_000 + i,
                &[&["d", &format!("entry {i}")]],
                &format!("an application's data, entry {i}"),
            )
        })
        .collect();
    import(&node, "others.jsonl", &others.iter().collect::<Vec<_>>());
    let testimony = node.json(&[
        "testimony",
        "add",
        "--lang",
        "ru",
        "--attach",
        tour_photo().to_str().expect("path"),
        "Задержания у акимата",
    ]);
    let hash = testimony[0]["record"]["attachments"][0]["sha256"]
        .as_str()
        .expect("hash")
        .to_string();
    node.ok(&[
        "person",
        "report",
        "--name",
        "Асель",
        "--status",
        "detained",
        "--source",
        "witnessed",
        "--when",
        "2022-01-06",
        "--lang",
        "kk",
    ]);
    (node, hash)
}

fn count(node: &Node) -> usize {
    let path = node.dir.path().join("count.jsonl");
    node.ok(&["events", "export", "-o", path.to_str().expect("path")]);
    std::fs::read_to_string(&path)
        .expect("export")
        .lines()
        .count()
}

/// The first events member of a bundle, as text.
fn first_member(bundle: &std::path::Path) -> String {
    let file = std::fs::File::open(bundle).expect("bundle");
    let decoder = zstd::stream::read::Decoder::new(file).expect("zstd");
    let mut archive = tar::Archive::new(decoder);
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        if entry.path().expect("path").to_string_lossy() == "events/000001.jsonl" {
            let mut text = String::new();
            entry.read_to_string(&mut text).expect("member");
            return text;
        }
    }
    panic!("no events member");
}

#[test]
fn a_bundle_carries_records_and_blobs_to_another_store_once() {
    let (from, hash) = source();
    let bundle = from.dir.path().join("carry.samizdat");
    let bundle_arg = bundle.to_str().expect("path");
    let out = from.json(&["bundle", "export", "-o", bundle_arg]);
    assert_eq!(out[0]["events"], 302, "{out:?}");
    assert_eq!(out[0]["blobs"], 1, "{out:?}");

    // Person reports first, then testimonies, then the rest.
    let lines: Vec<serde_json::Value> = first_member(&bundle)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines[0]["kind"], 1948, "{}", lines[0]);
    assert_eq!(lines[1]["kind"], 1, "{}", lines[1]);
    assert!(lines[2..].iter().all(|e| e["kind"] == 30_078));

    let seen = from.json(&["bundle", "inspect", bundle_arg]);
    assert_eq!(seen[0]["events"], 302, "{seen:?}");
    assert_eq!(seen[0]["kinds"]["1948"], 1, "{seen:?}");
    assert_eq!(seen[0]["blobs"], 1, "{seen:?}");

    let to = Node::start();
    let imported = to.json(&["bundle", "import", bundle_arg]);
    assert_eq!(imported[0]["events"]["stored"], 302, "{imported:?}");
    assert_eq!(imported[0]["blobs_stored"], 1, "{imported:?}");
    assert_eq!(count(&to), 302);
    to.ok(&[
        "blob",
        "get",
        &hash,
        "-o",
        to.dir.path().join("photo").to_str().expect("path"),
    ]);
    to.ok(&["verify"]);

    // Again: nothing new, nothing twice.
    let again = to.json(&["bundle", "import", bundle_arg]);
    assert_eq!(again[0]["events"]["stored"], 0, "{again:?}");
    assert_eq!(again[0]["events"]["duplicate"], 302, "{again:?}");
    assert_eq!(again[0]["blobs_already_here"], 1, "{again:?}");
    assert_eq!(count(&to), 302);
}

#[test]
fn a_damaged_bundle_is_refused_whole_unless_salvaged() {
    let (from, _) = source();
    let bundle = from.dir.path().join("carry.samizdat");
    from.ok(&["bundle", "export", "-o", bundle.to_str().expect("path")]);
    let bytes = std::fs::read(&bundle).expect("bundle");

    let to = Node::start();
    let before = count(&to);
    // Cut short, as a copy pulled out of a USB port too early.
    let cut = from.dir.path().join("cut.samizdat");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).expect("write");
    let err = to.fails(&["bundle", "import", cut.to_str().expect("path")], 1);
    assert!(
        err.contains("cut short") || err.contains("damaged"),
        "{err}"
    );
    assert!(err.contains("nothing from it was stored"), "{err}");
    assert_eq!(count(&to), before);
    // A flipped byte.
    let flipped = from.dir.path().join("flipped.samizdat");
    let mut altered = bytes.clone();
    let at = altered.len() / 4;
    altered[at] ^= 0x20;
    std::fs::write(&flipped, &altered).expect("write");
    let err = to.fails(&["bundle", "import", flipped.to_str().expect("path")], 1);
    assert!(
        err.contains("damaged") || err.contains("does not match"),
        "{err}"
    );
    assert_eq!(count(&to), before);
    let err = to.fails(&["bundle", "inspect", flipped.to_str().expect("path")], 1);
    assert!(err.contains("flipped.samizdat"), "{err}");

    // Salvaged: every member whole before the cut (each member ends a
    // zstd block) is kept, each event checked on its own; here the cut
    // falls in the manifest, after the events and the photo.
    let near_end = from.dir.path().join("near-end.samizdat");
    std::fs::write(&near_end, &bytes[..bytes.len() - 100]).expect("write");
    to.fails(&["bundle", "import", near_end.to_str().expect("path")], 1);
    assert_eq!(count(&to), before);
    let out = to
        .command(&[
            "--json",
            "bundle",
            "import",
            "--salvage",
            near_end.to_str().expect("path"),
        ])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a summary");
    assert_eq!(summary["events"]["stored"], 302, "{summary}");
    assert_eq!(summary["blobs_stored"], 1, "{summary}");
    assert_eq!(count(&to), before + 302);
    to.ok(&["verify"]);
}
