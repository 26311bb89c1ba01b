//! Store reads for the relay, off the async runtime. A global semaphore
//! caps how many run at once, so a burst of queries from some clients
//! queues instead of taking every thread from the others.

use samizdat_store::{Query, StoreError, StoredEvent};
use tokio::sync::mpsc;

use super::Relay;

/// Stored events between the store and the socket, per query.
const STREAM_DEPTH: usize = 64;

/// Streams the events matching `query`. The channel is small: a client
/// that reads slowly holds back its own query, and when the receiver is
/// dropped the query stops.
pub fn stream(state: &Relay, query: Query) -> mpsc::Receiver<Result<StoredEvent, StoreError>> {
    let (tx, rx) = mpsc::channel(STREAM_DEPTH);
    let state = state.clone();
    tokio::spawn(async move {
        let Ok(_permit) = state.node.reads.acquire().await else {
            return;
        };
        let store = state.node.ingest.store().clone();
        let _ = tokio::task::spawn_blocking(move || {
            let result = store.query_each(&query, |event| tx.blocking_send(Ok(event)).is_ok());
            if let Err(e) = result {
                let _ = tx.blocking_send(Err(e));
            }
        })
        .await;
    });
    rx
}

/// How many distinct events match any of `queries`.
pub async fn count(state: &Relay, queries: Vec<Query>) -> Result<u64, StoreError> {
    let _permit = state
        .node
        .reads
        .acquire()
        .await
        .map_err(|_| StoreError::WriterGone)?;
    let store = state.node.ingest.store().clone();
    tokio::task::spawn_blocking(move || store.count_any(&queries))
        .await
        .map_err(|_| StoreError::WriterGone)?
}

/// The `(created_at, id)` keys matching `query`, or `None` when there are
/// more than `max`.
pub async fn keys(
    state: &Relay,
    query: Query,
    max: usize,
) -> Result<Option<Vec<(u64, [u8; 32])>>, StoreError> {
    let _permit = state
        .node
        .reads
        .acquire()
        .await
        .map_err(|_| StoreError::WriterGone)?;
    let store = state.node.ingest.store().clone();
    tokio::task::spawn_blocking(move || {
        let mut keys = Vec::new();
        let mut over = false;
        store.for_each_key(&query, |created_at, id| {
            if keys.len() == max {
                over = true;
                return false;
            }
            keys.push((created_at, id));
            true
        })?;
        Ok((!over).then_some(keys))
    })
    .await
    .map_err(|_| StoreError::WriterGone)?
}
