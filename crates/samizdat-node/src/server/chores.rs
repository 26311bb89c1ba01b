//! What the node does on its own while it serves: lets go of memory after
//! bursts, removes blobs nothing needs, locks the idle console, and
//! notices when its data directory is gone.

use std::time::Duration;

use super::State;

/// How often what bursts left behind is let go of.
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// How often blobs nothing needs are looked for.
const COLLECT_EVERY: Duration = Duration::from_secs(3600);

/// Completes when the data directory is no longer the one the node
/// started on: removed by `wipe`, a vault, or anyone. Checked every second.
pub(super) async fn data_gone(dir: std::path::PathBuf) {
    let Ok(id) = samizdat_store::DirId::of(&dir) else {
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    // Bounded by the node's life: one cheap `stat` a second.
    loop {
        tick.tick().await;
        let (dir, id) = (dir.clone(), id);
        let still = tokio::task::spawn_blocking(move || id.still(&dir))
            .await
            .unwrap_or(true);
        if !still {
            return;
        }
    }
}

/// Every [`SWEEP_EVERY`]: drops live events past their age and hands the
/// allocator's free memory back to the system, so that what a burst of
/// uploads or events took is returned within a minute.
pub(super) fn let_go_after_bursts(state: &State) {
    let state = state.clone();
    let mut shutdown = state.node.shutdown.clone();
    let tasks = state.node.connections.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let live = state.node.ingest.live();
                    live.sweep(std::time::Instant::now());
                    let (events, bytes) = live.held();
                    tracing::trace!(events, bytes, "live events held");
                    let store = state.node.ingest.store().clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        store.release_memory();
                        release_memory();
                    })
                    .await;
                }
                _ = shutdown.changed() => break,
            }
        }
    });
}

/// At start and every hour: removes blobs that no record names and nobody
/// uploaded, an hour old or more (a refused or deleted record's photo must
/// not stay public), and cut uploads nobody went on with for a day.
pub(super) fn collect_unneeded_blobs(state: &State) {
    let state = state.clone();
    let mut shutdown = state.node.shutdown.clone();
    let tasks = state.node.connections.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(COLLECT_EVERY);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let store = state.node.ingest.store().clone();
                    let collected = tokio::task::spawn_blocking(move || {
                        if let Err(e) = store.blobs().sweep_partial_uploads(super::blossom::CUT_UPLOADS_KEPT_FOR) {
                            tracing::warn!(error = %e, "sweeping cut uploads");
                        }
                        store.collect_unneeded_blobs(samizdat_store::UNNEEDED_BLOB_GRACE)
                    })
                    .await;
                    match collected {
                        Ok(Ok(removed)) if !removed.is_empty() => tracing::info!(
                            blobs = removed.len(),
                            bytes = removed.iter().map(|(_, size)| size).sum::<u64>(),
                            "removed blobs that no record names and nobody uploaded"
                        ),
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::warn!(error = %e, "collecting unneeded blobs"),
                        Err(e) => tracing::warn!(error = %e, "collecting unneeded blobs"),
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
    });
}

/// Returns the allocator's free pages to the system. glibc's malloc keeps
/// freed memory in its arenas (several per core) for reuse, so a node's
/// memory after a burst stays at the burst's peak until it is trimmed.
fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Locks the console once it has been idle for its time, whether or not
/// another request comes: the documenter's key does not stay in memory.
pub(super) fn lock_when_idle(state: &State) {
    let state = state.clone();
    let mut shutdown = state.node.shutdown.clone();
    let tasks = state.node.connections.clone();
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(15));
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    state.web.console.expire(std::time::Instant::now());
                }
                _ = shutdown.changed() => break,
            }
        }
    });
}
