//! Sealed records: a round trip between three keys through the command
//! line, and a relay that hands gift wraps only to their readers and to
//! the nodes it trusts to carry them.

use samizdat_core::nostr::prelude::{Event, Keys, Kind, Timestamp, ToBech32};
use samizdat_core::sealed::{self, Inner};
use serde_json::{Value, json};

use crate::served::{Client, Served};
use crate::{Node, signed};

fn npub(node: &Node) -> String {
    node.json(&["id", "show"])
        .pop()
        .and_then(|v| v["npub"].as_str().map(str::to_string))
        .expect("an npub")
}

/// Every file under `dir`, read whole.
pub fn files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            found.push((path, bytes));
        }
    }
    found
}

/// Carries every event of `from` to `to`, as JSON lines or in a bundle.
fn carry(from: &Node, to: &Node, bundle: bool) {
    let path = from.dir.path().join("carried");
    let path = path.to_str().expect("path");
    if bundle {
        from.ok(&["bundle", "export", "-o", path]);
        to.ok(&["bundle", "import", path]);
    } else {
        from.ok(&["events", "export", "--output", path]);
        to.ok(&["events", "import", path]);
    }
}

#[test]
fn sealed_records_round_trip_between_three_keys() {
    let witness = Node::start();
    let documenter = Node::start();
    let editor = Node::start();
    let stranger = Node::start();
    let (d, e) = (npub(&documenter), npub(&editor));

    let text = "Soldiers took eleven people from the square at noon";
    let public = witness.json(&[
        "testimony",
        "add",
        text,
        "--lang",
        "en",
        "--seal-to",
        &d,
        "--seal-to",
        &e,
    ]);
    assert_eq!(public.len(), 2, "one sealed copy per reader: {public:?}");
    assert!(public.iter().all(|v| v["as"] == "publishable"));
    let record = public[0]["record"].as_str().expect("record id").to_string();
    assert_eq!(
        public[1]["record"],
        record.as_str(),
        "the same record for both"
    );
    witness.json(&[
        "person",
        "report",
        "--name",
        "Asel Nurlanqyzy",
        "--status",
        "detained",
        "--source",
        "witnessed",
        "--seal-to",
        &d,
        "--sealed-as",
        "deniable",
    ]);
    witness.json(&[
        "testimony",
        "add",
        "Only for the editor",
        "--lang",
        "en",
        "--seal-to",
        &e,
        "--sealed-as",
        "private",
    ]);

    // The witness keeps only the sealed copies: nothing readable is left
    // on their disk, and their timeline is empty.
    for (path, bytes) in files(&witness.data()) {
        assert!(
            !crate::contains(&bytes, b"eleven people") && !crate::contains(&bytes, b"Nurlanqyzy"),
            "{} holds the sealed text",
            path.display()
        );
    }
    assert!(witness.json(&["list"]).is_empty());
    // Sealed records travel like any other: the editor's in a bundle.
    carry(&witness, &documenter, false);
    carry(&witness, &editor, true);
    carry(&witness, &stranger, false);
    let listed = |node: &Node| {
        let mut found: Vec<(String, String, String)> = node
            .json(&["sealed", "list"])
            .iter()
            .map(|v| {
                (
                    v["kind"].as_str().unwrap_or("").to_string(),
                    v["as"].as_str().unwrap_or("").to_string(),
                    v["wrap"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        found.sort();
        found
    };
    let shape = |found: &[(String, String, String)]| -> Vec<String> {
        found.iter().map(|(k, a, _)| format!("{k} {a}")).collect()
    };
    let for_documenter = listed(&documenter);
    assert_eq!(
        shape(&for_documenter),
        ["person deniable", "testimony publishable"]
    );
    let for_editor = listed(&editor);
    assert_eq!(
        shape(&for_editor),
        ["testimony private", "testimony publishable"]
    );
    assert!(listed(&stranger).is_empty());

    // The wrong key fails cleanly, whatever it tries.
    let wrap = &for_documenter[1].2;
    let err = stranger.fails(&["sealed", "show", wrap], 1);
    assert!(err.contains("addressed to someone else"), "{err}");
    let err = stranger.fails(&["sealed", "publish", wrap], 1);
    assert!(err.contains("addressed to someone else"), "{err}");

    // What the author did not allow is not published.
    let err = documenter.fails(&["sealed", "publish", &for_documenter[0].2], 1);
    assert!(err.contains("deniable"), "{err}");
    let err = editor.fails(&["sealed", "publish", &for_editor[0].2], 1);
    assert!(err.contains("private"), "{err}");
    assert!(documenter.json(&["list"]).is_empty());

    // What it did allow is published unchanged: the witness's signature
    // holds, and the record id is the one the witness was told.
    let shown = documenter
        .json(&["sealed", "show", wrap])
        .pop()
        .expect("shown");
    assert_eq!(shown["inner"]["content"], text);
    let shown = documenter.ok(&["sealed", "show", wrap]);
    assert_eq!(shown.matches(text).count(), 1, "the text once: {shown}");
    documenter.ok(&["sealed", "publish", wrap]);
    let published = documenter.json(&["show", &record]).pop().expect("shown");
    assert_eq!(published["checks"]["signature"], "ok");
    assert_eq!(published["author"], npub(&witness).as_str());
    assert_eq!(published["record"]["text"], text);
    // Publishing twice changes nothing.
    documenter.ok(&["sealed", "publish", wrap]);
    assert_eq!(documenter.json(&["list"]).len(), 1);
}

fn auth(keys: &Keys, url: &str, challenge: &str) -> Event {
    signed(
        keys,
        Kind::Authentication,
        Timestamp::now().as_secs(),
        &[&["relay", url], &["challenge", challenge]],
        "",
    )
}

fn ids(events: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = events
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

async fn authenticate(client: &mut Client, keys: &Keys, url: &str) {
    let event = auth(keys, url, &client.challenge.clone());
    client.send(json!(["AUTH", event])).await;
    assert_eq!(client.recv().await[2], true);
}

/// The kinds of every event in `node`'s store.
fn kinds(node: &Node) -> Vec<u64> {
    let path = node.dir.path().join("all.jsonl");
    node.ok(&["events", "export", "--output", path.to_str().expect("path")]);
    let mut kinds: Vec<u64> = std::fs::read_to_string(&path)
        .expect("exported")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["kind"].as_u64())
        .collect();
    kinds.sort();
    kinds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_hands_gift_wraps_only_to_their_readers_and_carriers() {
    let node = Node::start();
    let carrier = Node::start();
    let bystander = Node::start();
    // `peers` makes and shows the node key a carrier authenticates with.
    assert!(carrier.ok(&["peers"]).contains("this node: npub1"));
    let secret = std::fs::read_to_string(carrier.data().join("node.key")).expect("node key");
    let carrier_key = Keys::parse(secret.trim()).expect("a key");
    let config = format!(
        "carriers = [\"{}\"]\n",
        carrier_key.public_key().to_bech32().expect("npub")
    );
    let served = Served::start(&node, &config);
    let url = served.url();

    let [witness, alice, bob] = [Keys::generate(), Keys::generate(), Keys::generate()];
    let now = Timestamp::now();
    let public = signed(&witness, Kind::TextNote, now.as_secs(), &[], "public");
    let wrap_for = |reader: &Keys, text: &str| {
        let inner = signed(&witness, Kind::TextNote, now.as_secs(), &[], text);
        sealed::wrap(
            &witness,
            &Inner::Signed(inner),
            &reader.public_key(),
            &[],
            now,
        )
        .expect("wrapped")
    };
    let for_alice = wrap_for(&alice, "for alice");
    let for_bob = wrap_for(&bob, "for bob");
    // Anyone may leave a sealed record: the node carries it.
    let mut anon = served.client().await;
    for event in [&public, &for_alice, &for_bob] {
        let (accepted, message) = anon.publish(event).await;
        assert!(accepted, "{message}");
    }

    // Before authenticating: no gift wrap, however it is asked for.
    assert_eq!(
        ids(&anon.req_once("a", vec![json!({})]).await),
        [public.id.to_hex()]
    );
    assert!(
        anon.req_once("b", vec![json!({"kinds": [1059]})])
            .await
            .is_empty()
    );
    let by_id = json!({"ids": [for_alice.id.to_hex()]});
    assert!(anon.req_once("c", vec![by_id.clone()]).await.is_empty());
    anon.send(json!(["COUNT", "n", {"kinds": [1059]}])).await;
    assert_eq!(anon.recv().await[2]["count"], 0);

    // Authenticated as alice: her gift wrap, not bob's.
    let mut reader = served.client().await;
    authenticate(&mut reader, &alice, &url).await;
    let found = reader.req_once("d", vec![json!({"kinds": [1059]})]).await;
    assert_eq!(ids(&found), [for_alice.id.to_hex()]);
    reader.send(json!(["COUNT", "n", {}])).await;
    assert_eq!(reader.recv().await[2]["count"], 2);

    // Live: a new gift wrap for alice reaches her, and nobody else; the
    // public note after it reaches both, so anon has had its chance.
    // (`limit: 0`: no stored events, only new ones.)
    reader.req("live", vec![json!({"limit": 0})]).await;
    anon.req("live", vec![json!({"limit": 0})]).await;
    let fresh = wrap_for(&alice, "again");
    let after = signed(&witness, Kind::TextNote, now.as_secs() + 1, &[], "after");
    let mut writer = served.client().await;
    assert!(writer.publish(&fresh).await.0);
    assert!(writer.publish(&after).await.0);
    let got = reader.recv().await;
    assert_eq!(got[2]["id"], fresh.id.to_hex(), "{got}");
    assert_eq!(reader.recv().await[2]["id"], after.id.to_hex());
    let got = anon.recv().await;
    assert_eq!(got[2]["id"], after.id.to_hex(), "anon saw {got}");

    // A node that is not a carrier syncs the public records only; a
    // carrier takes every sealed record to carry on.
    bystander.ok(&["sync", &url, "--pull"]);
    assert_eq!(kinds(&bystander), [1, 1]);
    let said = carrier.ok(&["sync", &url, "--pull"]);
    assert!(said.contains("authenticated to"), "{said}");
    assert_eq!(kinds(&carrier), [1, 1, 1059, 1059, 1059]);
}

/// The hash of the encrypted blob a sealed file names (its `x` tag).
fn encrypted_blob(node: &Node, wrap: &str) -> String {
    let shown = node.json(&["sealed", "show", wrap]).pop().expect("shown");
    shown["inner"]["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .find(|t| t[0] == "x")
        .and_then(|t| t[1].as_str())
        .expect("an x tag")
        .to_string()
}

fn blob_path(node: &Node, hash: &str) -> std::path::PathBuf {
    node.data().join("blobs").join(&hash[..2]).join(hash)
}

#[test]
fn sealed_originals_keep_the_evidence_for_chosen_readers_only() {
    let witness = Node::start();
    let documenter = Node::start();
    let stranger = Node::start();
    let photo = crate::tour_photo();
    let original = std::fs::read(&photo).expect("photo");
    let lines = witness.json(&[
        "testimony",
        "add",
        "The column on the avenue",
        "--lang",
        "en",
        "--attach",
        photo.to_str().expect("path"),
        "--seal-original-to",
        &npub(&documenter),
    ]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let record = lines[0]["id"].as_str().expect("id").to_string();
    let stripped = lines[0]["record"]["attachments"][0]["sha256"]
        .as_str()
        .expect("hash")
        .to_string();
    assert_eq!(lines[1]["sealed"], "original");
    assert_eq!(lines[1]["record"], record.as_str());
    let original_hash = lines[1]["file"].as_str().expect("hash").to_string();
    assert_ne!(original_hash, stripped);

    // The public record names only the stripped copy, and the original's
    // metadata is nowhere on the witness's disk in the clear.
    let shown = witness.ok(&["show", &record]);
    assert!(!shown.contains(&original_hash), "{shown}");
    for (path, bytes) in files(&witness.data()) {
        for secret in [&b"SN-4417-0042"[..], b"ACME-PHONE", b"IPTC-ALMATY"] {
            assert!(
                !crate::contains(&bytes, secret),
                "{} holds it",
                path.display()
            );
        }
    }

    // A bundle carries the sealed file and its encrypted blob.
    carry(&witness, &documenter, true);
    carry(&witness, &stranger, true);
    let listed = documenter.json(&["sealed", "list"]);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["kind"], "file");
    assert_eq!(listed[0]["file"]["of"], record.as_str());
    assert_eq!(listed[0]["file"]["stripped"], stripped.as_str());
    let wrap = listed[0]["wrap"].as_str().expect("wrap").to_string();

    // The documenter gets the original back, byte for byte.
    let out = documenter.dir.path().join("original.jpg");
    let out_path = out.to_str().expect("path");
    documenter.ok(&["sealed", "save", &wrap, "-o", out_path]);
    assert_eq!(std::fs::read(&out).expect("saved"), original);
    // The original carries what stripping removes: its owner's eyes only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out).expect("saved").permissions().mode();
    assert_eq!(mode & 0o077, 0, "readable by others: {mode:o}");
    let err = documenter.fails(&["sealed", "save", &wrap, "-o", out_path], 1);
    assert!(err.contains("creating"), "never over a file: {err}");
    let err = documenter.fails(&["sealed", "publish", &wrap], 1);
    assert!(err.contains("never published"), "{err}");

    // Nobody else can.
    assert!(stranger.json(&["sealed", "list"]).is_empty());
    let other = stranger.dir.path().join("stolen.jpg");
    let err = stranger.fails(
        &["sealed", "save", &wrap, "-o", other.to_str().expect("path")],
        1,
    );
    assert!(err.contains("addressed to someone else"), "{err}");
    assert!(!other.exists());

    // A damaged encrypted blob is named, never opened into a wrong file.
    let blob = blob_path(&documenter, &encrypted_blob(&documenter, &wrap));
    let mut bytes = std::fs::read(&blob).expect("encrypted blob");
    bytes[40] ^= 1;
    std::fs::write(&blob, bytes).expect("damaged");
    let again = documenter.dir.path().join("again.jpg");
    let err = documenter.fails(
        &["sealed", "save", &wrap, "-o", again.to_str().expect("path")],
        1,
    );
    assert!(err.contains("damaged"), "{err}");
    assert!(!again.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_photo_crosses_nodes_unreadable_and_is_published_whole() {
    let hub = Node::start();
    let witness = Node::start();
    let documenter = Node::start();
    documenter.ok(&["peers"]);
    let secret = std::fs::read_to_string(documenter.data().join("node.key")).expect("node key");
    let carrier = Keys::parse(secret.trim()).expect("a key");
    let served = Served::start(
        &hub,
        &format!("carriers = [\"{}\"]\n", carrier.public_key().to_hex()),
    );
    let url = served.url();

    let photo = crate::tour_photo();
    let lines = witness.json(&[
        "testimony",
        "add",
        "They beat him at the station",
        "--lang",
        "en",
        "--attach",
        photo.to_str().expect("path"),
        "--seal-to",
        &npub(&documenter),
    ]);
    assert_eq!(lines[0]["sealed"], "testimony");
    assert_eq!(lines[1]["sealed"], "attachment");
    let record = lines[0]["record"].as_str().expect("id").to_string();
    let stripped = lines[1]["file"].as_str().expect("hash").to_string();
    let wrap = lines[0]["wrap"].as_str().expect("wrap").to_string();
    // Not even the stripped photo is kept in the clear.
    assert!(!blob_path(&witness, &stripped).exists());

    // The witness is no carrier of the hub, but anyone may leave sealed
    // records: they go with their encrypted photo.
    let first = witness.json(&["sync", &url, "--push"]);
    let first = first.last().expect("summary");
    assert!(first["sent"].as_u64() >= Some(2), "{first}");
    // The hub does not show the witness the wraps it holds, yet they are
    // not sent again: the witness remembers what the hub took.
    let again = witness.json(&["sync", &url, "--push"]);
    let again = again.last().expect("summary");
    assert_eq!(again["missing_there"], 0, "{again}");
    assert_eq!(again["sent_bytes"], 0, "{again}");
    assert!(!blob_path(&hub, &stripped).exists());
    for (path, bytes) in files(&hub.data()) {
        assert!(
            // The whole phrase: the schema's own text says "attestation".
            !crate::contains(&bytes, b"beat him at the station"),
            "{} holds the text",
            path.display()
        );
    }

    // The records alone, without their blobs: publishing waits for the
    // photo and publishes nothing meanwhile.
    carry(&witness, &documenter, false);
    let err = documenter.fails(&["sealed", "publish", &wrap], 1);
    assert!(err.contains("has not arrived"), "{err}");
    assert!(documenter.json(&["list"]).is_empty());

    // The documenter's node carries for the hub: it pulls the wraps and
    // the encrypted photo, then publishes the record whole.
    documenter.ok(&["sync", &url, "--pull"]);
    documenter.ok(&["sealed", "publish", &wrap]);
    let shown = documenter.json(&["show", &record]).pop().expect("shown");
    assert_eq!(shown["checks"]["signature"], "ok");
    assert_eq!(
        shown["checks"]["attachments"][0]["sha256"],
        stripped.as_str()
    );
    assert_eq!(shown["checks"]["attachments"][0]["state"], "ok");
    let published = std::fs::read(blob_path(&documenter, &stripped)).expect("the photo");
    assert!(!crate::contains(&published, b"SN-4417-0042"));
}

#[test]
fn a_file_that_cannot_be_stripped_goes_whole_sealed_and_never_public() {
    let witness = Node::start();
    let documenter = Node::start();
    // A scan as TIFF: a type samizdat cannot strip, with a camera's make,
    // serial and position in its directory.
    let scan = crate::doors::tiff_with_gps();
    let voice = witness.dir.path().join("scan.tiff");
    std::fs::write(&voice, &scan).expect("written");
    let voice = voice.to_str().expect("path");

    // Attached publicly, it is refused, as before.
    let err = witness.fails(
        &["testimony", "add", "x", "--lang", "en", "--attach", voice],
        1,
    );
    assert!(err.contains("TIFF"), "{err}");
    // Sealed whole for a documenter, it goes.
    let lines = witness.json(&[
        "testimony",
        "add",
        "A voice message from the square",
        "--lang",
        "en",
        "--seal-to",
        &npub(&documenter),
        "--keep-metadata",
        voice,
    ]);
    assert_eq!(lines[1]["sealed"], "untouched", "{lines:?}");
    let record = lines[0]["record"].as_str().expect("record").to_string();
    std::fs::remove_file(witness.dir.path().join("scan.tiff")).expect("removed");
    for (path, bytes) in files(&witness.data()) {
        assert!(
            !crate::contains(&bytes, b"SN-4417-0042"),
            "{}",
            path.display()
        );
    }

    carry(&witness, &documenter, true);
    let listed = documenter.json(&["sealed", "list"]);
    let file = listed
        .iter()
        .find(|v| v["kind"] == "file")
        .expect("the sealed file");
    assert_eq!(file["file"]["untouched"], true, "{file}");
    let out = documenter.dir.path().join("scan.tiff");
    let wrap = file["wrap"].as_str().expect("wrap");
    documenter.ok(&["sealed", "save", wrap, "-o", out.to_str().expect("path")]);
    assert_eq!(std::fs::read(&out).expect("saved"), scan);

    // Publishing the record publishes the record alone.
    let testimony = listed
        .iter()
        .find(|v| v["kind"] == "testimony")
        .and_then(|v| v["wrap"].as_str())
        .expect("the testimony");
    documenter.ok(&["sealed", "publish", testimony]);
    let shown = documenter.json(&["show", &record]).pop().expect("shown");
    assert_eq!(shown["record"]["attachments"], serde_json::json!([]));
}

/// A documenter's node receives what witnesses sealed for the documenter
/// from a drop box that lists no carriers: its identity vouched that the
/// node reads for it. A node that does not read for them is told what
/// was held back and why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_records_reach_their_documenter_without_carriers() {
    let hub = Node::start();
    let witness = Node::start();
    let documenter = Node::start();
    let stranger = Node::start();
    let served = Served::start(&hub, "");
    let url = served.url();
    let lines = witness.json(&[
        "testimony",
        "add",
        "Sealed for the documenter alone",
        "--lang",
        "en",
        "--seal-to",
        &npub(&documenter),
    ]);
    let wrap = lines[0]["wrap"].as_str().expect("wrap").to_string();
    witness.ok(&["sync", &url, "--push"]);

    let text = stranger.ok(&["sync", &url, "--pull"]);
    assert!(
        text.contains("held back: sealed records") && text.contains("carriers"),
        "{text}"
    );
    assert!(stranger.json(&["sealed", "list"]).is_empty());

    let pulled = documenter.json(&["sync", &url, "--pull"]);
    let pulled = pulled.last().expect("summary");
    assert!(pulled["held_back"].is_null(), "{pulled}");
    let sealed = documenter.json(&["sealed", "list"]);
    assert!(
        sealed.iter().any(|v| v["wrap"] == wrap.as_str()),
        "{sealed:?}"
    );
}
