//! rust-nostr's `nostr-sdk`, a client samizdat did not write, against a
//! real node: publish, fetch, a live subscription, a two-way NIP-77
//! reconciliation driven by its own negentropy client, count and search.
//!
//! The SDK's last stable release (0.44) is built on `nostr` 0.44, a build
//! apart from ours, so events cross between the two as JSON, as they would
//! between two programs.

use std::time::Duration;

use nostr_sdk::prelude::{
    Client, Event as SdkEvent, Filter, JsonUtil, Kind, MemoryDatabase, MemoryDatabaseOptions,
    RelayPoolNotification, SyncDirection, SyncOptions,
};
use samizdat_core::nostr::prelude::Keys;
use samizdat_core::nostr::prelude::Timestamp;

use crate::served::{Served, WAIT};
use crate::{Node, signed};

/// Our events, as the SDK's type (through JSON: the two need not share a
/// build of the `nostr` crate).
fn sdk(event: &samizdat_core::nostr::prelude::Event) -> SdkEvent {
    SdkEvent::from_json(event.as_json()).expect("the SDK parses our event")
}

fn note(keys: &Keys, at: u64, text: &str) -> samizdat_core::nostr::prelude::Event {
    signed(
        keys,
        samizdat_core::nostr::prelude::Kind::TextNote,
        at,
        &[],
        text,
    )
}

/// `COUNT` through the SDK. Its `Relay::count_events` (0.44) sends the
/// request before it starts listening for the answer, so a node that answers
/// within that gap, on a machine that descheduled the caller, is not heard:
/// a few attempts, each bounded, tell that race from a node that does not
/// answer.
async fn count_events(relay: &nostr_sdk::prelude::Relay, filter: Filter) -> usize {
    let mut last = None;
    for _ in 0..3 {
        match relay.count_events(filter.clone(), WAIT / 4).await {
            Ok(count) => return count,
            Err(e) => last = Some(e),
        }
    }
    panic!("no COUNT answer in three attempts: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nostr_sdk_publishes_fetches_subscribes_and_syncs() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let keys = Keys::generate();
    let base = Timestamp::now().as_secs() - 1_000;

    let database = MemoryDatabase::with_opts(MemoryDatabaseOptions {
        events: true,
        ..Default::default()
    });
    let client = Client::builder().database(database).build();
    client.add_relay(served.url()).await.expect("add relay");
    client.connect().await;
    client.wait_for_connection(WAIT).await;

    // Publish: accepted by the node.
    let first = note(&keys, base, "nostr-sdk: first");
    let output = client.send_event(&sdk(&first)).await.expect("send");
    assert!(output.failed.is_empty(), "{:?}", output.failed);
    assert_eq!(output.success.len(), 1);

    // Fetch.
    let author =
        nostr_sdk::prelude::PublicKey::from_hex(&keys.public_key().to_hex()).expect("public key");
    let filter = Filter::new().author(author).kind(Kind::TextNote);
    let events = client
        .fetch_events(filter.clone(), WAIT)
        .await
        .expect("fetch");
    assert_eq!(events.len(), 1);

    // A live subscription sees the next event, published by another client.
    // (Up to `base + 1` only: the event published later for the sync must
    // not reach the SDK's database through this subscription.)
    let mut notifications = client.notifications();
    client
        .subscribe(
            filter
                .clone()
                .until(nostr_sdk::prelude::Timestamp::from(base + 1)),
            None,
        )
        .await
        .expect("subscribe");
    let second = note(&keys, base + 1, "nostr-sdk: live");
    let mut other = served.client().await;
    assert!(other.publish(&second).await.0);
    let live = tokio::time::timeout(WAIT, async {
        while let Ok(n) = notifications.recv().await {
            if let RelayPoolNotification::Event { event, .. } = n
                && event.id.to_hex() == second.id.to_hex()
            {
                return true;
            }
        }
        false
    })
    .await
    .expect("the live event in time");
    assert!(live);

    // NIP-77 both ways: the SDK's store has two events the node lacks; the
    // node has one (the third) the SDK lacks.
    let third = note(&keys, base + 2, "only on the node");
    assert!(other.publish(&third).await.0);
    let local: Vec<_> = (3..5)
        .map(|i| note(&keys, base + i, &format!("only in the SDK {i}")))
        .collect();
    for e in local.iter().chain([&first, &second]) {
        client
            .database()
            .save_event(&sdk(e))
            .await
            .expect("save locally");
    }
    let output = client
        .sync(
            filter,
            &SyncOptions::default()
                .direction(SyncDirection::Both)
                .initial_timeout(Duration::from_secs(10)),
        )
        .await
        .expect("sync");
    assert!(output.failed.is_empty(), "{:?}", output.failed);
    let summary = output.val;
    let received: Vec<String> = summary.received.iter().map(|id| id.to_hex()).collect();
    let mut sent: Vec<String> = summary.sent.iter().map(|id| id.to_hex()).collect();
    sent.sort();
    let mut want_sent: Vec<String> = local.iter().map(|e| e.id.to_hex()).collect();
    want_sent.sort();
    assert_eq!(received, vec![third.id.to_hex()]);
    assert_eq!(sent, want_sent);

    // NIP-45 and NIP-50 through the SDK.
    let relay = client.relay(served.url()).await.expect("the relay");
    let count = count_events(&relay, Filter::new().author(author)).await;
    assert_eq!(count, 5);
    let found = client
        .fetch_events(Filter::new().author(author).search("only in the SDK"), WAIT)
        .await
        .expect("search");
    let mut found: Vec<String> = found.iter().map(|e| e.id.to_hex()).collect();
    found.sort();
    assert_eq!(found, want_sent);
    client.shutdown().await;
}
