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

/// Runs `samizdat` on `node` with a bundle passphrase in the environment.
fn with_passphrase(node: &Node, passphrase: &str, args: &[&str]) -> std::process::Output {
    node.command(args)
        .env("SAMIZDAT_BUNDLE_PASSPHRASE", passphrase)
        .output()
        .expect("samizdat runs")
}

#[test]
fn an_encrypted_bundle_opens_only_with_its_key_or_passphrase() {
    let (from, _) = source();
    let to = Node::start();
    let dir = from.dir.path();
    let path = |name: &str| dir.join(name).to_str().expect("path").to_string();

    // To a recipient: the receiver makes the key pair, the sender uses
    // the public half.
    let recipient = to.ok(&["bundle", "keygen", "-o", &path("receiver.key")]);
    let recipient = recipient.trim();
    assert!(recipient.starts_with("age1"), "{recipient}");
    to.fails(&["bundle", "keygen", "-o", &path("receiver.key")], 1);
    from.ok(&["bundle", "keygen", "-o", &path("stranger.key")]);
    from.ok(&[
        "bundle",
        "export",
        "-o",
        &path("sealed.samizdat"),
        "--encrypt-to",
        recipient,
    ]);
    let bytes = std::fs::read(path("sealed.samizdat")).expect("bundle");
    assert!(bytes.starts_with(b"age-encryption.org/v1"));
    assert!(
        !bytes.windows(6).any(|w| w == "entry ".as_bytes()),
        "plain text inside an encrypted bundle"
    );
    let err = to.fails(&["bundle", "import", &path("sealed.samizdat")], 1);
    assert!(err.contains("--identity"), "{err}");
    let err = to.fails(
        &[
            "bundle",
            "import",
            "--identity",
            &path("stranger.key"),
            &path("sealed.samizdat"),
        ],
        1,
    );
    assert!(err.contains("none of the given identities"), "{err}");
    assert_eq!(count(&to), 0);
    let seen = to.json(&[
        "bundle",
        "inspect",
        "--identity",
        &path("receiver.key"),
        &path("sealed.samizdat"),
    ]);
    assert_eq!(seen[0]["events"], 302, "{seen:?}");
    // A flipped byte in the ciphertext: refused, nothing stored.
    let mut altered = bytes.clone();
    let at = altered.len() / 2;
    altered[at] ^= 0x01;
    std::fs::write(path("altered.samizdat"), &altered).expect("write");
    let err = to.fails(
        &[
            "bundle",
            "import",
            "--identity",
            &path("receiver.key"),
            &path("altered.samizdat"),
        ],
        1,
    );
    assert!(err.contains("damaged"), "{err}");
    assert_eq!(count(&to), 0);
    to.ok(&[
        "bundle",
        "import",
        "--identity",
        &path("receiver.key"),
        &path("sealed.samizdat"),
    ]);
    assert_eq!(count(&to), 302);

    // Under a passphrase.
    let out = with_passphrase(
        &from,
        "correct horse",
        &[
            "bundle",
            "export",
            "-o",
            &path("pass.samizdat"),
            "--passphrase",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let other = Node::start();
    let out = with_passphrase(
        &other,
        "wrong horse",
        &["bundle", "import", &path("pass.samizdat")],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("passphrase does not open"), "{err}");
    assert_eq!(count(&other), 0);
    let out = with_passphrase(
        &other,
        "correct horse",
        &["bundle", "import", &path("pass.samizdat")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(count(&other), 302);
}

#[test]
fn a_want_file_makes_the_next_bundle_carry_only_what_is_missing() {
    let (from, _) = source();
    let to = Node::start();
    let dir = from.dir.path();
    let path = |name: &str| dir.join(name).to_str().expect("path").to_string();
    // The receiving node already has 200 of the 302 events, not the photo.
    from.ok(&["events", "export", "-o", &path("all.jsonl")]);
    let all = std::fs::read_to_string(path("all.jsonl")).expect("export");
    let some: Vec<&str> = all.lines().take(200).collect();
    std::fs::write(path("some.jsonl"), some.join("\n") + "\n").expect("write");
    to.ok(&["events", "import", &path("some.jsonl")]);

    let want = to.json(&["bundle", "want", "-o", &path("want")]);
    assert_eq!(want[0]["events"], 200, "{want:?}");
    assert!(
        want[0]["bytes"].as_u64().expect("size") < 200 * 8 + 200,
        "{want:?}"
    );
    let out = from.json(&[
        "bundle",
        "export",
        "-o",
        &path("delta.samizdat"),
        "--for",
        &path("want"),
    ]);
    assert_eq!(out[0]["events"], 102, "{out:?}");
    assert_eq!(out[0]["blobs"], 1, "{out:?}");
    let imported = to.json(&["bundle", "import", &path("delta.samizdat")]);
    assert_eq!(imported[0]["events"]["stored"], 102, "{imported:?}");
    assert_eq!(count(&to), 302);

    // The next round trip carries nothing.
    to.ok(&["bundle", "want", "-o", &path("want")]);
    let out = from.json(&[
        "bundle",
        "export",
        "-o",
        &path("none.samizdat"),
        "--for",
        &path("want"),
    ]);
    assert_eq!(out[0]["events"], 0, "{out:?}");
    assert_eq!(out[0]["blobs"], 0, "{out:?}");

    // A damaged want file is refused, naming the problem.
    let mut bytes = std::fs::read(path("want")).expect("want");
    bytes.truncate(bytes.len() / 2);
    std::fs::write(path("want"), bytes).expect("write");
    let err = from.fails(
        &[
            "bundle",
            "export",
            "-o",
            &path("x.samizdat"),
            "--for",
            &path("want"),
        ],
        1,
    );
    assert!(err.contains("want"), "{err}");
}

#[test]
fn parts_import_in_any_order_and_say_what_is_still_missing() {
    let (from, hash) = source();
    let keys = Keys::generate();
    let more: Vec<_> = (0..1_500)
        .map(|i| {
            signed(
                &keys,
                Kind::TextNote,
                1_690_000_000 + i,
                &[],
                &format!("note {i}"),
            )
        })
        .collect();
    import(&from, "more.jsonl", &more.iter().collect::<Vec<_>>());
    let dir = from.dir.path();
    let base = dir.join("split.samizdat");
    let out = from.json(&[
        "bundle",
        "export",
        "-o",
        base.to_str().expect("path"),
        "--max-part-size",
        "64K",
    ]);
    let parts: Vec<String> = out[0]["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|p| {
            assert!(p["bytes"].as_u64().expect("size") <= 64 * 1024, "{p}");
            p["file"].as_str().expect("file").to_string()
        })
        .collect();
    assert!(parts.len() >= 3, "{out:?}");
    assert!(parts[0].ends_with("split.samizdat.001"), "{parts:?}");
    let n = parts.len() as u64;
    let seen = from.json(&["bundle", "inspect", &parts[parts.len() - 1]]);
    assert_eq!(seen[0]["parts"], n, "{seen:?}");

    // The last part first: now the node knows how many there are.
    let to = Node::start();
    let last = to.json(&["bundle", "import", &parts[parts.len() - 1]]);
    assert_eq!(last[0]["parts_total"], n, "{last:?}");
    assert_eq!(
        last[0]["parts_missing"].as_array().expect("missing").len() as u64,
        n - 1,
        "{last:?}"
    );
    // Everything in a part is usable at once: its events are stored.
    let after_last = count(&to);
    assert!(after_last > 0);
    // The rest, first to last but one, in another sitting each.
    for (i, part) in parts[..parts.len() - 1].iter().enumerate() {
        let out = to.json(&["bundle", "import", part]);
        let missing = out[0]["parts_missing"].as_array().expect("missing").len();
        assert_eq!(missing, parts.len() - 2 - i, "{out:?}");
    }
    assert_eq!(count(&to), 1_802);
    to.ok(&[
        "blob",
        "get",
        &hash,
        "-o",
        dir.join("photo").to_str().expect("path"),
    ]);
    to.ok(&["verify"]);

    let err = from.fails(
        &[
            "bundle",
            "export",
            "-o",
            base.to_str().expect("path"),
            "--max-part-size",
            "1K",
        ],
        1,
    );
    assert!(err.contains("at least"), "{err}");
}
