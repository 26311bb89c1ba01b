//! `samizdat serve` as a Nostr relay, over real sockets.

use samizdat_core::nostr::prelude::{Event, Keys, Kind, Timestamp};
use serde_json::{Value, json};

use crate::served::{Client, Served};
use crate::web::{Session, form, testimony};
use crate::{Node, signed};

fn note(keys: &Keys, text: &str) -> Event {
    signed(
        keys,
        Kind::TextNote,
        Timestamp::now().as_secs(),
        &[&["t", "almaty"]],
        text,
    )
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_query_count_search_and_live() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let keys = Keys::generate();
    let mut publisher = served.client().await;
    let mut reader = served.client().await;

    assert!(
        reader
            .req_once("empty", vec![json!({"kinds": [1]})])
            .await
            .is_empty()
    );

    let first = note(&keys, "Задержан журналист у здания акимата");
    let second = note(&keys, "Kazakh letters: Қазақстан, әділет");
    assert_eq!(publisher.publish(&first).await, (true, String::new()));
    assert_eq!(publisher.publish(&second).await, (true, String::new()));
    let (accepted, message) = publisher.publish(&first).await;
    assert!(accepted && message.starts_with("duplicate:"), "{message}");

    // Several filters in one REQ; the event they share is sent once.
    let found = reader
        .req_once(
            "two",
            vec![
                json!({"authors": [keys.public_key().to_hex()]}),
                json!({"ids": [first.id.to_hex()]}),
            ],
        )
        .await;
    assert_eq!(found.len(), 2, "{found:?}");

    let found = reader
        .req("tag", vec![json!({"#t": ["almaty"], "limit": 1})])
        .await;
    assert_eq!(found.len(), 1);

    // NIP-50 in any case, with or without diacritics, Kazakh letters folded.
    let found = reader
        .req_once("search", vec![json!({"search": "ЗАДЕРЖАН журнал"})])
        .await;
    assert_eq!(ids(&found), vec![first.id.to_hex()]);
    let found = reader
        .req_once("kk", vec![json!({"search": "казакстан"})])
        .await;
    assert_eq!(ids(&found), vec![second.id.to_hex()]);

    // NIP-45.
    reader
        .send(json!(["COUNT", "c", {"kinds": [1]}, {"ids": [first.id.to_hex()]}]))
        .await;
    assert_eq!(reader.recv().await, json!(["COUNT", "c", {"count": 2}]));

    // Live: the open "tag" subscription gets the next matching event, and
    // only after its OK was sent to the publisher.
    let third = note(&keys, "третье сообщение");
    assert!(publisher.publish(&third).await.0);
    let live = reader.recv().await;
    assert_eq!(live[0], "EVENT");
    assert_eq!(live[2]["id"], third.id.to_hex());

    // After CLOSE, nothing more arrives on it: the next message is the
    // answer to a later request.
    reader.send(json!(["CLOSE", "tag"])).await;
    assert!(publisher.publish(&note(&keys, "fourth")).await.0);
    reader.send(json!(["COUNT", "after", {"kinds": [1]}])).await;
    assert_eq!(reader.recv().await, json!(["COUNT", "after", {"count": 4}]));
}

/// NIP-50 and the web's search find a name in any script and spelling:
/// stored events, live ones, and the search page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_crosses_scripts_stored_live_and_on_the_web() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let keys = Keys::generate();
    let mut publisher = served.client().await;
    let mut reader = served.client().await;
    let stored = note(&keys, "Задержан Қасым Тоқаев у акимата");
    assert!(publisher.publish(&stored).await.0);
    for query in ["Kasym", "Qasym", "Kassym Tokayev"] {
        let found = reader.req_once(query, vec![json!({"search": query})]).await;
        assert_eq!(ids(&found), vec![stored.id.to_hex()], "{query}");
    }

    // Live: a subscription in Cyrillic gets a note that writes the name
    // in Latin letters, and not one that does not name him.
    let found = reader.req("live", vec![json!({"search": "Қасым"})]).await;
    assert_eq!(ids(&found), vec![stored.id.to_hex()]);
    assert!(
        publisher
            .publish(&note(&keys, "Bolat was released"))
            .await
            .0
    );
    let latin = note(&keys, "Qasym was seen at the square");
    assert!(publisher.publish(&latin).await.0);
    let live = reader.recv().await;
    assert_eq!(live[0], "EVENT");
    assert_eq!(live[2]["id"], latin.id.to_hex());

    // The web's search, over testimonies left at the drop box.
    let session = Session::open(&served, "/submit/testimony").await;
    for text in ["Қасым Тоқаев задержан у акимата", "Болат освобождён"]
    {
        let (status, page) = session
            .post(
                "/submit/testimony",
                form(&testimony(&session.token, text, "public"), &[]),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{page}");
    }
    let base = served.url().replacen("ws://", "http://", 1);
    let page = crate::http()
        .get(format!("{base}/search?q=Kassym"))
        .send()
        .await
        .expect("the search page")
        .text()
        .await
        .expect("its text");
    assert!(page.contains("Қасым Тоқаев задержан"), "{page}");
    assert!(!page.contains("Болат"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_is_honoured_and_final() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let keys = Keys::generate();
    let mut client = served.client().await;
    let event = note(&keys, "to be retracted");
    assert!(client.publish(&event).await.0);
    let deletion = signed(
        &keys,
        Kind::EventDeletion,
        Timestamp::now().as_secs(),
        &[&["e", &event.id.to_hex()]],
        "",
    );
    assert!(client.publish(&deletion).await.0);
    let found = client
        .req("q", vec![json!({"ids": [event.id.to_hex()]})])
        .await;
    assert!(found.is_empty(), "{found:?}");
    let (accepted, message) = client.publish(&event).await;
    assert!(!accepted && message.starts_with("blocked:"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nip42_authentication() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let keys = Keys::generate();
    let mut client = served.client().await;
    let url = served.url();
    let auth = |challenge: &str| {
        signed(
            &keys,
            Kind::Authentication,
            Timestamp::now().as_secs(),
            &[&["relay", &url], &["challenge", challenge]],
            "",
        )
    };
    let good = auth(&client.challenge);
    client.send(json!(["AUTH", good])).await;
    assert_eq!(
        client.recv().await,
        json!(["OK", good.id.to_hex(), true, ""])
    );

    // NIP-70: a protected event only from its author, authenticated.
    let stranger = Keys::generate();
    let protected = |by: &Keys, text: &str| {
        signed(
            by,
            Kind::TextNote,
            Timestamp::now().as_secs(),
            &[&["-"]],
            text,
        )
    };
    let theirs = protected(&stranger, "not mine to publish");
    let (accepted, reason) = client.publish(&theirs).await;
    assert!(!accepted);
    assert!(reason.starts_with("auth-required:"), "{reason}");
    let mine = protected(&keys, "mine");
    assert_eq!(client.publish(&mine).await, (true, String::new()));
    let mut anonymous = served.client().await;
    let again = protected(&keys, "mine, but who says so?");
    assert!(
        anonymous
            .publish(&again)
            .await
            .1
            .starts_with("auth-required:")
    );

    let wrong = auth("not-the-challenge");
    client.send(json!(["AUTH", wrong])).await;
    let reply = client.recv().await;
    assert_eq!(reply[2], false);
    assert!(
        reply[3].as_str().unwrap_or("").starts_with("invalid:"),
        "{reply}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_means_durable() {
    let node = Node::start();
    let mut served = Served::start(&node, "");
    let keys = Keys::generate();
    let mut client = served.client().await;
    let events: Vec<Event> = (0..50)
        .map(|i| note(&keys, &format!("acknowledged {i}")))
        .collect();
    // Pipelined: all sent before any OK is read.
    for e in &events {
        client.send(json!(["EVENT", e])).await;
    }
    let mut acknowledged = Vec::new();
    for _ in &events {
        let ok = client.recv().await;
        assert_eq!(ok[2], true, "{ok}");
        acknowledged.push(ok[1].as_str().expect("id").to_string());
    }
    // SIGKILL: no chance to flush anything after the OKs.
    served.stop(libc::SIGKILL);
    let served = Served::start(&node, "");
    let mut client = served.client().await;
    let found = client
        .req("all", vec![json!({"kinds": [1], "limit": 1000})])
        .await;
    let mut found = ids(&found);
    found.sort();
    acknowledged.sort();
    assert_eq!(found, acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_closes_with_a_reason() {
    let node = Node::start();
    let mut served = Served::start(&node, "");
    let mut client = served.client().await;
    let keys = Keys::generate();
    assert!(client.publish(&note(&keys, "before shutdown")).await.0);
    let pid = served.child.id() as i32;
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let (code, reason) = client.closed().await;
    assert_eq!(code, 1001, "{reason}");
    assert!(reason.contains("shutting down"), "{reason}");
    let status = served.stop(0);
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negentropy_finds_what_each_side_lacks() {
    use negentropy::{Id, Negentropy, NegentropyStorageVector};

    let node = Node::start();
    let served = Served::start(&node, "");
    let keys = Keys::generate();
    let mut client = served.client().await;
    let base = Timestamp::now().as_secs() - 1_000;
    let events: Vec<Event> = (0..60)
        .map(|i| {
            signed(
                &keys,
                Kind::TextNote,
                base + i,
                &[],
                &format!("reconcile {i}"),
            )
        })
        .collect();
    // The node gets the first 40, the client holds the last 40.
    for e in &events[..40] {
        assert!(client.publish(e).await.0);
    }
    let mut storage = NegentropyStorageVector::new();
    for e in &events[20..] {
        storage
            .insert(e.created_at.as_secs(), Id::from_byte_array(e.id.to_bytes()))
            .expect("insert");
    }
    storage.seal().expect("seal");
    let mut neg = Negentropy::owned(storage, 0).expect("negentropy");
    let initial = neg.initiate().expect("initiate");
    let filter = json!({"kinds": [1], "authors": [keys.public_key().to_hex()]});
    client
        .send(json!(["NEG-OPEN", "n", filter, hex::encode(initial)]))
        .await;
    let (mut have, mut need) = (Vec::new(), Vec::new());
    for round in 0.. {
        assert!(round < 50, "reconciliation did not finish");
        let reply = client.recv().await;
        assert_eq!(reply[0], "NEG-MSG", "{reply}");
        let bytes = hex::decode(reply[2].as_str().expect("hex")).expect("hex");
        match neg
            .reconcile_with_ids(&bytes, &mut have, &mut need)
            .expect("reconcile")
        {
            Some(next) => {
                client
                    .send(json!(["NEG-MSG", "n", hex::encode(next)]))
                    .await
            }
            None => break,
        }
    }
    client.send(json!(["NEG-CLOSE", "n"])).await;
    let mut have: Vec<String> = have.iter().map(|id| hex::encode(id.to_bytes())).collect();
    let mut need: Vec<String> = need.iter().map(|id| hex::encode(id.to_bytes())).collect();
    have.sort();
    need.sort();
    let mut want_have: Vec<String> = events[40..].iter().map(|e| e.id.to_hex()).collect();
    let mut want_need: Vec<String> = events[..20].iter().map(|e| e.id.to_hex()).collect();
    want_have.sort();
    want_need.sort();
    assert_eq!(have, want_have);
    assert_eq!(need, want_need);

    // A set over the configured bound is refused, not loaded.
    drop(client);
    drop(served);
    let served = Served::start(&node, "[relay]\nmax_negentropy_items = 10\n");
    let mut client: Client = served.client().await;
    let initial = Negentropy::owned(
        {
            let mut s = NegentropyStorageVector::new();
            s.seal().expect("seal");
            s
        },
        0,
    )
    .expect("negentropy")
    .initiate()
    .expect("initiate");
    client
        .send(json!(["NEG-OPEN", "big", {}, hex::encode(initial)]))
        .await;
    let reply = client.recv().await;
    assert_eq!(reply[0], "NEG-ERR", "{reply}");
    assert!(
        reply[2].as_str().unwrap_or("").starts_with("blocked:"),
        "{reply}"
    );
}
