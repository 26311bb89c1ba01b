//! `samizdat publish`: the static mirror (`site`, `verify`) and the public
//! relays (`relays`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use samizdat_core::kind;
use samizdat_core::nostr::prelude::{Event, Keys, Timestamp};
use samizdat_core::sign::Draft;
use samizdat_core::testimony::Testimony;
use serde_json::{Value, json};

use crate::served::Served;
use crate::{Node, note, tour_photo};

/// A Russian testimony signed by `keys` at `at`, with `extra` tags.
pub(crate) fn testimony(keys: &Keys, at: u64, text: &str, extra: &[&[&str]]) -> Event {
    let t = Testimony {
        text: text.into(),
        lang: "ru".into(),
        place: Default::default(),
        observed: None,
        attachments: Vec::new(),
        topics: Vec::new(),
    };
    let mut tags = t.tags();
    tags.extend(
        extra
            .iter()
            .map(|t| t.iter().map(|s| s.to_string()).collect()),
    );
    Draft {
        kind: kind::TESTIMONY,
        created_at: Timestamp::from_secs(at),
        tags,
        content: t.content(),
    }
    .sign(keys)
    .expect("signs")
}

/// A store with what a mirror must show and what it must not: a photo
/// testimony, two reports on one person, a corroboration, a translation;
/// a sealed record, a record its author marked private (NIP-70) and
/// another application's note. Returns the ids that must be published.
fn fixture() -> (Node, BTreeSet<String>) {
    let node = Node::start();
    let mut public = BTreeSet::new();
    let id = |v: &[Value]| v[0]["id"].as_str().expect("an id").to_string();
    let photo = tour_photo();
    let photo = photo.to_str().expect("utf-8 path");
    let original = id(&node.json(&[
        "testimony",
        "add",
        "--lang",
        "ru",
        "--attach",
        photo,
        "--place",
        "Алматы, площадь",
        "Задержали троих у акимата <script>alert(1)</script>",
    ]));
    public.insert(original.clone());
    for (status, name) in [
        ("detained", "Айгерим Нурланова"),
        ("released", "Aigerim Nurlanova"),
    ] {
        public.insert(id(&node.json(&[
            "person", "report", "--name", name, "--status", status, "--source", "relative",
        ])));
    }
    public.insert(id(&node.json(&[
        "attest",
        "corroborates",
        &original,
        "--note",
        "I saw it too",
    ])));
    let translation = id(&node.json(&[
        "testimony",
        "add",
        "--lang",
        "en",
        "Three people detained at the akimat",
    ]));
    public.insert(translation.clone());
    public.insert(id(&node.json(&[
        "attest",
        "translation-of",
        &translation,
        "--of",
        &original,
    ])));
    // Not to be published.
    let reader = Keys::generate();
    node.ok(&[
        "testimony",
        "add",
        "--lang",
        "en",
        "sealed for one reader",
        "--seal-to",
        &reader.public_key().to_hex(),
    ]);
    let keys = Keys::generate();
    let private = testimony(
        &keys,
        1_780_000_000,
        "помечено автором как личное",
        &[&["-"]],
    );
    crate::sync::import(&node, "others.jsonl", &[&private, &note(&keys, 1)]);
    (node, public)
}

fn publish(node: &Node, dir: &Path) -> Value {
    node.json(&["publish", "site", "-o", dir.to_str().expect("utf-8 path")])
        .pop()
        .expect("a summary")
}

/// Runs `publish verify` and returns its exit code and output.
fn verify(node: &Node, dir: &Path) -> (Option<i32>, String) {
    let out = node.run(&["publish", "verify", dir.to_str().expect("utf-8 path")]);
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Runs `publish verify`, expects it to find problems (exit 3) and to
/// say each of `said`.
fn fails_with(node: &Node, dir: &Path, said: &[&str]) {
    let (code, out) = verify(node, dir);
    assert_eq!(code, Some(3), "{out}");
    for words in said {
        assert!(out.contains(words), "{words:?} not in: {out}");
    }
}

/// Every file under `dir`, with its bytes, sorted.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("lists") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("reads");
                out.push((path.strip_prefix(dir).expect("inside").to_path_buf(), bytes));
            }
        }
    }
    out.sort();
    out
}

/// The first file `SHA256SUMS` lists under `prefix`.
fn listed(dir: &Path, prefix: &str) -> String {
    std::fs::read_to_string(dir.join("SHA256SUMS"))
        .expect("SHA256SUMS")
        .lines()
        .map(|l| l.split_once("  ").expect("a line").1)
        .find(|p| p.starts_with(prefix))
        .unwrap_or_else(|| panic!("no file under {prefix}"))
        .to_string()
}

/// The `href` and `src` values of an HTML page.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        for rest in html.split(attr).skip(1) {
            if let Some((link, _)) = rest.split_once('"') {
                out.push(link.to_string());
            }
        }
    }
    out
}

#[test]
fn a_mirror_holds_the_public_records_and_every_link_resolves() {
    let (node, public) = fixture();
    let dir = node.dir.path().join("mirror");
    let summary = publish(&node, &dir);
    assert_eq!(summary["records"], 4, "{summary}");
    assert_eq!(summary["attestations"], 2, "{summary}");
    assert_eq!(summary["people"], 1, "{summary}");
    assert_eq!(summary["blobs"], 1, "{summary}");
    assert_eq!(summary["withheld"], 1, "the private record: {summary}");

    // Exactly the public records, as signed.
    let jsonl = std::fs::read_to_string(dir.join("records.jsonl")).expect("records.jsonl");
    let published: BTreeSet<String> = jsonl
        .lines()
        .map(|l| {
            let event = Event::from_json(l).expect("a Nostr event");
            event.verify().expect("id and signature hold");
            event.id.to_hex()
        })
        .collect();
    assert_eq!(published, public);

    // Every page: in its language, linking only inside the mirror, to
    // files that exist; no script, nothing from anywhere else.
    let all = files(&dir);
    let mut pages = 0;
    for (path, bytes) in &all {
        if path.extension().is_none_or(|e| e != "html") {
            continue;
        }
        pages += 1;
        let html = String::from_utf8(bytes.clone()).expect("utf-8 page");
        assert!(!html.contains("<script"), "{}: a script", path.display());
        for link in links(&html) {
            assert!(
                !link.contains("://") && !link.starts_with('/'),
                "{}: links out of the mirror: {link}",
                path.display()
            );
            let target = dir
                .join(path.parent().expect("a folder"))
                .join(link.split('#').next().unwrap_or_default());
            assert!(target.is_file(), "{}: broken link {link}", path.display());
        }
        if let Some(lang) = path.iter().next().and_then(|l| l.to_str())
            && ["ru", "kk", "en", "fr"].contains(&lang)
        {
            assert!(
                html.contains(&format!("<html lang=\"{lang}\">")),
                "{}",
                path.display()
            );
        }
    }
    // Four languages × (4 records, index, day, people list, person, check).
    assert_eq!(pages, 4 * 9 + 1, "pages");
    // Each testimony and person report has its page in each language.
    for line in jsonl.lines() {
        let event = Event::from_json(line).expect("event");
        if event.kind == kind::ATTESTATION {
            continue;
        }
        let id = event.id.to_hex();
        for lang in ["ru", "kk", "en", "fr"] {
            let page = dir
                .join(lang)
                .join("r")
                .join(&id[..2])
                .join(format!("{id}.html"));
            assert!(page.is_file(), "{}", page.display());
        }
    }

    // The photo is there, cleaned; its page shows it.
    let blobs: Vec<_> = all.iter().filter(|(p, _)| p.starts_with("blobs")).collect();
    assert_eq!(blobs.len(), 1);
    assert!(blobs[0].0.to_string_lossy().ends_with(".jpg"));
    for secret in ["SN-4417-0042", "ACME-PHONE", "IPTC-ALMATY"] {
        assert!(!crate::contains(&blobs[0].1, secret.as_bytes()), "{secret}");
    }
    // What was not to be published is nowhere.
    for (path, bytes) in &all {
        for secret in ["sealed for one reader", "помечено автором", "imported note"]
        {
            assert!(
                !crate::contains(bytes, secret.as_bytes()),
                "{} holds {secret:?}",
                path.display()
            );
        }
    }
    // Escaped, shown as text.
    let ru_index = std::fs::read_to_string(dir.join("ru/index.html")).expect("index");
    assert!(ru_index.contains("&#60;script&#62;"), "{ru_index}");

    let (code, out) = verify(&node, &dir);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("all intact"), "{out}");
    assert!(
        out.contains(summary["digest"].as_str().expect("digest")),
        "{out}"
    );
}

#[test]
fn the_same_records_give_the_same_bytes() {
    let (node, _) = fixture();
    let a = node.dir.path().join("a");
    let b = node.dir.path().join("b");
    let first = publish(&node, &a);
    let second = publish(&node, &b);
    assert_eq!(first["digest"], second["digest"]);
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.len(), fb.len());
    for ((pa, ba), (pb, bb)) in fa.iter().zip(&fb) {
        assert_eq!(pa, pb);
        assert!(ba == bb, "{} differs between two publishes", pa.display());
    }
    // And a mirror moved elsewhere still checks out: nothing in it names
    // where it was made.
    let moved = node.dir.path().join("elsewhere");
    std::fs::rename(&a, &moved).expect("moves");
    assert_eq!(verify(&node, &moved).0, Some(0));
}

#[test]
fn verify_says_exactly_what_was_changed() {
    let (node, _) = fixture();
    let dir = node.dir.path().join("mirror");
    publish(&node, &dir);
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("sums");
    let page = listed(&dir, "ru/r/");
    let blob = listed(&dir, "blobs/");

    // One byte of a page, of a photo: each named.
    for path in [&page, &blob] {
        let full = dir.join(path);
        let original = std::fs::read(&full).expect("reads");
        let mut changed = original.clone();
        let at = changed.len() / 2;
        changed[at] ^= 0x20;
        std::fs::write(&full, &changed).expect("writes");
        fails_with(&node, &dir, &[&format!("{path}: changed after publishing")]);
        std::fs::write(&full, &original).expect("restores");
        assert_eq!(verify(&node, &dir).0, Some(0));
    }

    // A record's words, changed in records.jsonl: the file's hash and
    // the record's own id both say so, with the line.
    let records = dir.join("records.jsonl");
    let original = std::fs::read_to_string(&records).expect("reads");
    let (line_no, line) = original
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains("Задержали троих"))
        .expect("the testimony's line");
    let id = Event::from_json(line).expect("event").id.to_hex();
    std::fs::write(
        &records,
        original.replace("Задержали троих", "Задержали двоих"),
    )
    .expect("writes");
    fails_with(
        &node,
        &dir,
        &[
            "records.jsonl: changed after publishing",
            &format!(
                "records.jsonl line {}: record {id}: the id is not the hash of its content",
                line_no + 1
            ),
        ],
    );
    // A line that is not an event at all.
    std::fs::write(&records, format!("{original}{{\"id\": \"cut sh\n")).expect("writes");
    fails_with(
        &node,
        &dir,
        &[&format!(
            "records.jsonl line {}: not a Nostr event",
            original.lines().count() + 1
        )],
    );
    std::fs::write(&records, &original).expect("restores");

    // A page added, a page taken away.
    std::fs::write(dir.join("en/extra.html"), "<p>added</p>").expect("writes");
    std::fs::remove_file(dir.join(&page)).expect("removes");
    fails_with(
        &node,
        &dir,
        &[
            "en/extra.html: not in SHA256SUMS",
            &format!("{page}: missing"),
        ],
    );

    // A list of files that points outside the mirror.
    std::fs::write(
        dir.join("SHA256SUMS"),
        format!("{sums}{}  ../../etc/passwd\n", "0".repeat(64)),
    )
    .expect("writes");
    fails_with(
        &node,
        &dir,
        &["SHA256SUMS: changed after publishing", "leaves the mirror"],
    );

    // A manifest cut short is named, not half-read.
    let manifest = std::fs::read(dir.join("manifest.json")).expect("manifest");
    std::fs::write(dir.join("manifest.json"), &manifest[..manifest.len() / 2]).expect("writes");
    let (code, out) = verify(&node, &dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("manifest.json is not JSON"), "{out}");

    // Not a mirror at all.
    let (code, out) = verify(&node, &node.data());
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("is not a samizdat mirror"), "{out}");
}

#[test]
fn publishing_again_writes_only_what_changed() {
    use std::os::unix::fs::MetadataExt;

    let (node, _) = fixture();
    let dir = node.dir.path().join("mirror");
    let first = publish(&node, &dir);
    let kept_page = listed(&dir, "fr/people/");
    let kept_record = listed(&dir, "en/r/");
    let inode = |p: &str| std::fs::metadata(dir.join(p)).expect("exists").ino();
    let (page_inode, blob_count) = (inode(&kept_page), first["blobs"].clone());
    let record_inode = inode(&kept_record);

    let again = publish(&node, &dir);
    assert_eq!(again["written"], 0, "nothing changed: {again}");
    assert_eq!(again["digest"], first["digest"]);

    // Signed a few minutes ahead, so that the mirror's "as of" time
    // moves too: only the indexes say it, no record's page.
    let added = testimony(
        &Keys::generate(),
        Timestamp::now().as_secs() + 300,
        "Жаңа куәлік",
        &[],
    );
    crate::sync::import(&node, "added.jsonl", &[&added]);
    let id = added.id.to_hex();
    let third = publish(&node, &dir);
    assert_eq!(third["records"], 5, "{third}");
    assert_eq!(third["blobs"], blob_count);
    // The new record's four pages, the day's and index pages, the feed,
    // the root, records.jsonl and the two lists: the rest is kept.
    let written = third["written"].as_u64().expect("written");
    assert!(written <= 24, "{third}");
    assert!(third["kept"].as_u64().expect("kept") > written, "{third}");
    assert_eq!(
        inode(&kept_page),
        page_inode,
        "an unchanged page is not rewritten"
    );
    assert!(dir.join(format!("kk/r/{}/{id}.html", &id[..2])).is_file());
    // Another record's page is kept as it was, though the mirror's "as
    // of" time moved.
    assert_eq!(inode(&kept_record), record_inode);
    assert_eq!(verify(&node, &dir).0, Some(0));
    // Nothing is left beside the mirror but its lock.
    let beside: Vec<_> = std::fs::read_dir(node.dir.path())
        .expect("lists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("mirror") && n != "mirror" && n != ".mirror.lock")
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

#[test]
fn a_folder_that_is_not_a_mirror_is_left_alone() {
    let node = Node::start();
    let dir = node.dir.path().join("documents");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("letter.txt"), "keep me").expect("writes");
    let out = node.run(&["publish", "site", "-o", dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a samizdat mirror"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("letter.txt")).expect("still there"),
        "keep me"
    );
    // A file in the way is refused too.
    let file = node.dir.path().join("a-file");
    std::fs::write(&file, "x").expect("writes");
    let out = node.run(&["publish", "site", "-o", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), "x");
}

/// Killed at any moment, a publish leaves the previous mirror whole or the
/// new one whole; the next run finishes the job.
#[test]
fn a_publish_killed_half_way_leaves_a_whole_mirror() {
    let node = Node::start();
    let keys = Keys::generate();
    let batch = |from: u64, n: u64| -> Vec<Event> {
        (from..from + n)
            .map(|i| {
                testimony(
                    &keys,
                    1_780_000_000 + i * 60,
                    &format!("запись номер {i}"),
                    &[],
                )
            })
            .collect()
    };
    let first = batch(0, 100);
    crate::sync::import(&node, "first.jsonl", &first.iter().collect::<Vec<_>>());
    let dir = node.dir.path().join("mirror");
    publish(&node, &dir);
    let more = batch(100, 400);
    crate::sync::import(&node, "more.jsonl", &more.iter().collect::<Vec<_>>());

    for delay in [5u64, 40, 120, 300] {
        let mut child = node
            .command(&["publish", "site", "-o", dir.to_str().expect("utf-8")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("starts");
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let (code, out) = verify(&node, &dir);
        if code != Some(0) {
            // Killed between the two renames of a swap: the next publish
            // puts the previous mirror back first (there is no exchange
            // on this file system). Nothing else may be wrong.
            assert!(!dir.exists(), "killed after {delay} ms: {out}");
        }
    }
    let last = publish(&node, &dir);
    assert_eq!(last["records"], 500, "{last}");
    assert_eq!(verify(&node, &dir).0, Some(0));
    // A day of more than 200 records takes several pages.
    let days: Vec<String> = std::fs::read_dir(dir.join("en/days"))
        .expect("days")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(days.iter().any(|d| d.ends_with("-2.html")), "{days:?}");

    // While one publish writes a mirror, another is refused.
    use std::os::fd::AsRawFd;
    let lock = std::fs::File::open(node.dir.path().join(".mirror.lock")).expect("the lock file");
    // SAFETY: flock on a descriptor this test holds open.
    assert_eq!(
        unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    let out = node.run(&["publish", "site", "-o", dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another `samizdat publish site` is writing"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(lock);
    assert_eq!(verify(&node, &dir).0, Some(0));
}

/// Publishing to two relays, a samizdat node and nostr-rs-relay: each gets
/// exactly the public records, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_relays_pushes_exactly_the_public_records() {
    let (node, public) = fixture();
    let relay = Served::start_owned(Node::start(), "");
    let rs =
        std::env::var_os("SAMIZDAT_TEST_NOSTR_RS_RELAY").map(|b| crate::sync::RsRelay::start(&b));
    if rs.is_none() {
        eprintln!(
            "nostr-rs-relay skipped: SAMIZDAT_TEST_NOSTR_RS_RELAY is not set (scripts/test sets it)"
        );
    }
    let mut config = format!(
        "[[publish.relays]]\nurl = \"{}\"\nevents_per_second = 200.0\n",
        relay.url()
    );
    if let Some(rs) = &rs {
        config.push_str(&format!(
            "[[publish.relays]]\nurl = \"{}\"\nevents_per_second = 200.0\n",
            rs.url
        ));
    }
    let config_path = node.dir.path().join("publish.toml");
    std::fs::write(&config_path, config).expect("config");
    let config_arg = config_path.to_str().expect("utf-8").to_string();
    let out = node.run(&["--json", "publish", "relays", "--config", &config_arg]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summaries: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(summaries.len(), 1 + usize::from(rs.is_some()));
    for s in &summaries {
        assert_eq!(s["records"], public.len(), "{s}");
        assert_eq!(s["sent"], public.len(), "{s}");
        assert_eq!(s["refused"], 0, "{s}");
    }

    let mut clients = vec![crate::served::Client::connect(&relay.url()).await];
    if let Some(rs) = &rs {
        clients.push(crate::served::Client::connect_plain(&rs.url).await);
    }
    for (n, mut client) in clients.into_iter().enumerate() {
        let held: BTreeSet<String> = client
            .req_once("all", vec![json!({"limit": 1000})])
            .await
            .iter()
            .map(|e| e["id"].as_str().expect("id").to_string())
            .collect();
        assert_eq!(held, public, "relay {n} holds exactly the public records");
    }

    // Again: everything is there already, nothing is sent twice.
    let again = node.json(&["publish", "relays", "--config", &config_arg]);
    for s in &again {
        assert_eq!(s["sent"], 0, "{s}");
        assert_eq!(s["already_there"], public.len(), "{s}");
    }
}

#[test]
fn an_unreachable_relay_is_retried_then_given_up() {
    let node = Node::start();
    node.ok(&["testimony", "add", "--lang", "en", "a record"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = node.dir.path().join("publish.toml");
    std::fs::write(
        &config,
        format!("[[publish.relays]]\nurl = \"ws://127.0.0.1:{port}\"\nretries = 1\n"),
    )
    .expect("config");
    let out = node.run(&publish_relays(&config, "2s"));
    assert_eq!(out.status.code(), Some(3));
    let s: Value = serde_json::from_slice(&out.stdout).expect("a summary");
    assert_eq!(s["sent"], 0, "{s}");
    assert_eq!(s["left"], 1, "{s}");
    assert!(s["error"].as_str().is_some_and(|e| !e.is_empty()), "{s}");

    // No relay at all is a clear error.
    std::fs::write(&config, "").expect("config");
    let out = node.run(&[
        "publish",
        "relays",
        "--config",
        config.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no relay to publish to"));
}

/// Sync withholds what its author marked protected (NIP-70), as publishing
/// does: it is the author's alone to publish.
#[test]
fn sync_withholds_a_protected_record() {
    let node = Node::start();
    let keys = Keys::generate();
    let private = testimony(&keys, 1_780_000_000, "только для автора", &[&["-"]]);
    let open = testimony(&keys, 1_780_000_060, "для всех", &[]);
    crate::sync::import(&node, "two.jsonl", &[&private, &open]);
    let peer = Node::start();
    let served = Served::start(&peer, "");
    let summary = node
        .json(&["sync", &served.url(), "--push"])
        .pop()
        .expect("a summary");
    assert_eq!(summary["missing_there"], 2, "{summary}");
    assert_eq!(summary["sent"], 1, "{summary}");
    assert_eq!(summary["withheld"], 1, "{summary}");
    assert_eq!(summary["refused_by_peer"], 0, "{summary}");
}

/// The link to a relay is cut half-way: publishing waits, connects again,
/// asks what arrived, and sends only the rest.
#[test]
fn a_publish_cut_half_way_goes_on_and_sends_nothing_twice() {
    use crate::faulty::{Fault, Faulty};

    let node = Node::start();
    let keys = Keys::generate();
    let records: Vec<Event> = (0..300)
        .map(|i| testimony(&keys, 1_780_000_000 + i, &format!("запись {i}"), &[]))
        .collect();
    crate::sync::import(&node, "many.jsonl", &records.iter().collect::<Vec<_>>());
    let served = Served::start_owned(Node::start(), "");
    let proxy = Faulty::start(served.addr);
    // About a third of the way: each record costs the relay an `OK` of
    // about 100 bytes on the way back.
    proxy.fault_after(10_000, Fault::Cut);
    let config = node.dir.path().join("publish.toml");
    std::fs::write(
        &config,
        format!(
            "[[publish.relays]]\nurl = \"{}\"\nevents_per_second = 0.0\nretries = 8\n",
            proxy.url()
        ),
    )
    .expect("config");
    let child = node
        .command(&publish_relays(&config, "5s"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    // Bounded: 30 s for the cut to happen.
    for _ in 0..300 {
        if proxy.bytes_down() >= 10_000 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(proxy.bytes_down() >= 10_000, "the cut never came");
    std::thread::sleep(Duration::from_millis(500));
    proxy.restore();
    let out = child.wait_with_output().expect("finishes");
    let s: Value = serde_json::from_slice(&out.stdout).expect("a summary");
    assert_eq!(out.status.code(), Some(0), "{s}");
    assert!(s["connections"].as_u64() >= Some(2), "{s}");
    assert_eq!(
        s["sent"].as_u64().unwrap_or(0) + s["already_there"].as_u64().unwrap_or(0),
        300,
        "each record counted once: {s}"
    );
    assert_eq!(s["left"], 0, "{s}");
    // The relay took each record once and holds all of them.
    let again = node.json(&[
        "publish",
        "relays",
        "--config",
        config.to_str().expect("utf-8"),
    ]);
    assert_eq!(again[0]["already_there"], 300, "{}", again[0]);
}

/// `samizdat --json publish relays` with `config` and a per-relay timeout.
fn publish_relays<'a>(config: &'a std::path::Path, timeout: &'a str) -> [&'a str; 7] {
    [
        "--json",
        "publish",
        "relays",
        "--config",
        config.to_str().expect("utf-8"),
        "--timeout",
        timeout,
    ]
}
