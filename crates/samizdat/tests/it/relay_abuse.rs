//! Hostile and broken relay clients: each gets the right answer, and the
//! node keeps serving everyone else.

use futures_util::SinkExt;
use samizdat_core::nostr::prelude::{Keys, Kind, Timestamp};
use samizdat_core::sign::Draft;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::served::Served;
use crate::{Node, signed};

fn note(keys: &Keys, content: String) -> samizdat_core::nostr::prelude::Event {
    signed(
        keys,
        Kind::TextNote,
        Timestamp::now().as_secs(),
        &[],
        &content,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_get_notices_and_refusals() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let keys = Keys::generate();
    let mut client = served.client().await;

    for (text, expected) in [
        ("not json at all", "invalid: message is not a JSON array"),
        ("{\"kind\":1}", "invalid: message is not a JSON array"),
        ("[\"HELLO\",1]", "invalid: unknown message type \"HELLO\""),
        ("[\"EVENT\"]", "invalid: EVENT message must have one event"),
        (
            "[\"EVENT\",{\"id\":1}]",
            "invalid: EVENT holds no event with a valid id",
        ),
    ] {
        client.send_text(text.into()).await;
        assert_eq!(client.recv().await, json!(["NOTICE", expected]), "{text}");
    }
    client
        .ws
        .send(Message::binary(vec![1, 2, 3]))
        .await
        .expect("sent");
    assert_eq!(client.recv().await[0], "NOTICE");

    // A bad filter closes only its subscription, naming the field.
    client.send(json!(["REQ", "bad", {"kinds": "1"}])).await;
    let closed = client.recv().await;
    assert_eq!(closed[0], "CLOSED");
    assert!(
        closed[2].as_str().unwrap_or("").contains("kinds"),
        "{closed}"
    );

    // A forged signature, a tampered id, and a record that breaks its
    // kind's rules: OK false with the invalid: prefix, nothing stored.
    let good = note(&keys, "genuine".into());
    let mut forged = serde_json::to_value(&good).expect("json");
    forged["sig"] = json!("00".repeat(64));
    client.send(json!(["EVENT", forged])).await;
    let ok = client.recv().await;
    assert_eq!(
        (
            ok[2].clone(),
            ok[3].as_str().map(|s| s.starts_with("invalid:"))
        ),
        (json!(false), Some(true)),
        "{ok}"
    );
    let mut tampered = serde_json::to_value(&good).expect("json");
    tampered["content"] = json!("altered");
    client.send(json!(["EVENT", tampered])).await;
    let ok = client.recv().await;
    assert_eq!(ok[2], false, "{ok}");
    assert!(ok[3].as_str().unwrap_or("").contains("id"), "{ok}");
    let bad_person = Draft {
        kind: Kind::Custom(1948),
        created_at: Timestamp::now(),
        tags: vec![vec!["status".into(), "vanished".into()]],
        content: String::new(),
    }
    .sign(&keys)
    .expect("signs");
    let (accepted, message) = client.publish(&bad_person).await;
    assert!(!accepted && message.starts_with("invalid:"), "{message}");
    let future = Draft {
        kind: Kind::TextNote,
        created_at: Timestamp::from_secs(Timestamp::now().as_secs() + 86_400),
        tags: Vec::new(),
        content: "from tomorrow".into(),
    }
    .sign(&keys)
    .expect("signs");
    let (accepted, message) = client.publish(&future).await;
    assert!(!accepted && message.contains("ahead"), "{message}");

    client.send(json!(["COUNT", "n", {}])).await;
    assert_eq!(client.recv().await, json!(["COUNT", "n", {"count": 0}]));
    assert!(client.publish(&good).await.0, "the connection still works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_frame_closes_only_that_connection() {
    let node = Node::start();
    let served = Served::start(&node, "[relay]\nmax_message_bytes = 65536\n");
    let keys = Keys::generate();
    let mut other = served.client().await;
    let mut big = served.client().await;
    big.send_text(format!("[\"EVENT\",\"{}\"]", "x".repeat(100_000)))
        .await;
    assert_eq!(
        big.recv().await,
        json!(["NOTICE", "invalid: message larger than 65536 bytes"])
    );
    let (code, reason) = big.closed().await;
    assert_eq!(code, 1009, "{reason}");
    assert!(other.publish(&note(&keys, "still served".into())).await.0);

    // Far larger: the connection is dropped without reading it all.
    let mut huge = served.client().await;
    let _ = huge
        .ws
        .send(Message::text(format!(
            "[\"EVENT\",\"{}\"]",
            "x".repeat(1_000_000)
        )))
        .await;
    let gone = tokio::time::timeout(crate::served::WAIT, async {
        use futures_util::StreamExt;
        while let Some(Ok(_)) = huge.ws.next().await {}
    })
    .await;
    assert!(gone.is_ok(), "the huge frame's connection was not closed");
    assert!(other.publish(&note(&keys, "still served".into())).await.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_are_refused_with_reasons() {
    let node = Node::start();
    let served = Served::start(
        &node,
        "[relay]\nmax_subscriptions = 3\nqueries_per_second = 5\nevents_per_second = 5\n",
    );
    let keys = Keys::generate();
    let mut client = served.client().await;

    // Subscriptions over the limit are refused; the open ones stay.
    for i in 0..3 {
        assert!(
            client
                .req(&format!("s{i}"), vec![json!({"ids": []})])
                .await
                .is_empty()
        );
    }
    client.send(json!(["REQ", "s3", {"ids": []}])).await;
    let closed = client.recv().await;
    assert_eq!(closed[0], "CLOSED");
    assert!(
        closed[2].as_str().unwrap_or("").starts_with("blocked:"),
        "{closed}"
    );
    for i in 0..3 {
        client.send(json!(["CLOSE", format!("s{i}")])).await;
    }

    // A flood of REQs: past the budget, rate-limited.
    let mut limited = 0;
    for i in 0..40 {
        client
            .send(json!(["REQ", format!("f{i}"), {"ids": []}]))
            .await;
        let reply = client.recv().await;
        if reply[0] == "CLOSED" {
            assert!(
                reply[2].as_str().unwrap_or("").starts_with("rate-limited:"),
                "{reply}"
            );
            limited += 1;
        } else {
            assert_eq!(reply[0], "EOSE", "{reply}");
            client.send(json!(["CLOSE", format!("f{i}")])).await;
        }
    }
    assert!(limited >= 20, "only {limited} of 40 REQs were rate-limited");

    // A flood of EVENTs: past the budget, OK false rate-limited.
    let mut refused = 0;
    for i in 0..40 {
        let (accepted, message) = client.publish(&note(&keys, format!("flood {i}"))).await;
        if !accepted {
            assert!(message.starts_with("rate-limited:"), "{message}");
            refused += 1;
        }
    }
    assert!(
        refused >= 20,
        "only {refused} of 40 events were rate-limited"
    );

    // Another connection from elsewhere is unaffected by this one's
    // per-connection budget.
    let mut other = served.client().await;
    assert!(other.publish(&note(&keys, "other".into())).await.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_falls_behind_loses_its_subscription_not_the_node() {
    let node = Node::start();
    let served = Served::start(
        &node,
        "[relay]\nlive_backlog = 4\nevents_per_second = 100000\nevents_per_second_per_ip = 100000\n",
    );
    let keys = Keys::generate();
    let mut slow = served.client().await;
    assert!(
        slow.req("live", vec![json!({"kinds": [1]})])
            .await
            .is_empty()
    );

    // The slow client stops reading. Large events fill the socket buffers,
    // so its connection cannot keep up with the broadcast.
    let mut publisher = served.client().await;
    let body = "ж".repeat(60_000);
    for i in 0..200 {
        let (accepted, _) = publisher.publish(&note(&keys, format!("{i} {body}"))).await;
        assert!(
            accepted,
            "the publisher is never held back by the slow reader"
        );
    }

    // When it reads again, it finds its subscription closed with a reason.
    let mut reason = None;
    for _ in 0..300 {
        let m = slow.recv().await;
        if m[0] == "CLOSED" {
            reason = m[2].as_str().map(str::to_string);
            break;
        }
        assert_eq!(m[0], "EVENT", "{m}");
    }
    let reason = reason.expect("the slow subscription was closed");
    assert!(reason.starts_with("error: too slow"), "{reason}");
    // And the connection itself still answers.
    slow.send(json!(["COUNT", "n", {"kinds": [1]}])).await;
    assert_eq!(slow.recv().await, json!(["COUNT", "n", {"count": 200}]));
}
