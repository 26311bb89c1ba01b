//! The one writer: a thread that owns the write connection, takes insert
//! jobs from a bounded queue, groups all jobs waiting at that moment into
//! one transaction, commits, and only then answers each job.
//!
//! Grouping is what makes durable acknowledgements fast: one fsync covers
//! every event of the batch. The bounded queue is the back-pressure: when
//! the disk cannot keep up, callers block in `submit`.

use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, TransactionBehavior};
use samizdat_core::VerifiedEvent;

use crate::insert::{self, InsertOutcome};
use crate::{StoreError, StoreOptions};

type Reply = Result<Committed, StoreError>;

/// Events after their commit, handed back so that the caller, not the
/// writer, frees them or passes them on (to live subscribers): the writer
/// is the one thread every insert waits for.
#[derive(Debug, Default)]
pub struct Committed {
    /// What became of each event, in order.
    pub outcomes: Vec<InsertOutcome>,
    /// The events, in the same order.
    pub events: Vec<VerifiedEvent>,
}

/// Work for the writer that is not an event insert: a few statements run
/// inside the next batch's transaction.
pub type Change = Box<dyn FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<()> + Send>;

struct Job {
    events: Vec<VerifiedEvent>,
    change: Option<Change>,
    reply: oneshot::Sender<Reply>,
}

/// Events handed to the writer, not yet known to be committed.
pub struct Pending(oneshot::Receiver<Reply>);

impl Pending {
    /// Blocks until the events are durably committed (or failed).
    pub fn wait(self) -> Result<Vec<InsertOutcome>, StoreError> {
        self.committed().map(|c| c.outcomes)
    }

    /// Waits without blocking a thread (for async callers).
    pub async fn wait_async(self) -> Result<Vec<InsertOutcome>, StoreError> {
        self.committed_async().await.map(|c| c.outcomes)
    }

    /// Like [`Pending::wait`], and hands the events back.
    pub fn committed(self) -> Reply {
        self.0.recv().unwrap_or(Err(StoreError::WriterGone))
    }

    /// Like [`Pending::wait_async`], and hands the events back.
    pub async fn committed_async(self) -> Reply {
        self.0.await.unwrap_or(Err(StoreError::WriterGone))
    }
}

pub struct Writer {
    queue: Mutex<Option<SyncSender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Writer {
    pub fn spawn(conn: Connection, options: StoreOptions) -> Result<Writer, StoreError> {
        let (queue, jobs) = sync_channel(options.queue_depth);
        let thread = std::thread::Builder::new()
            .name("samizdat-writer".into())
            .spawn(move || run(conn, jobs, options.max_batch_events))
            .map_err(|source| StoreError::Io {
                path: "writer thread".into(),
                source,
            })?;
        Ok(Writer {
            queue: Mutex::new(Some(queue)),
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn submit(&self, events: Vec<VerifiedEvent>) -> Result<Pending, StoreError> {
        self.enqueue(events, None)
    }

    /// Runs `change` in the writer's next transaction; the reply (an empty
    /// list) comes after the commit.
    pub fn change(&self, change: Change) -> Result<Pending, StoreError> {
        self.enqueue(Vec::new(), Some(change))
    }

    fn enqueue(
        &self,
        events: Vec<VerifiedEvent>,
        change: Option<Change>,
    ) -> Result<Pending, StoreError> {
        let (reply, receive) = oneshot::channel();
        let queue = self
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(StoreError::WriterGone)?;
        queue
            .send(Job {
                events,
                change,
                reply,
            })
            .map_err(|_| StoreError::WriterGone)?;
        Ok(Pending(receive))
    }
}

impl Drop for Writer {
    /// Closes the queue and waits for the writer to commit what it holds.
    fn drop(&mut self) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

fn run(mut conn: Connection, jobs: Receiver<Job>, max_batch: usize) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        let mut count = batch[0].events.len();
        while count < max_batch {
            match jobs.try_recv() {
                Ok(job) => {
                    count += job.events.len();
                    batch.push(job);
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let started = Instant::now();
        match commit(&mut conn, &mut batch) {
            Ok(outcomes) => {
                tracing::debug!(events = count, jobs = batch.len(), took = ?started.elapsed(), "committed batch");
                for (job, outcomes) in batch.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(Committed {
                        outcomes,
                        events: job.events,
                    }));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, events = count, "batch failed to commit");
                let e = Arc::new(e);
                for job in batch {
                    let _ = job.reply.send(Err(StoreError::Commit(e.clone())));
                }
            }
        }
    }
    close(&conn);
}

/// On the way out: fold the WAL into the database and truncate it, so a
/// stopped node leaves one file rather than a database and a WAL of up to
/// the checkpoint size (SQLite does this itself only when the last
/// connection to close may write, and read connections may close last).
fn close(conn: &Connection) {
    let started = Instant::now();
    let result = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
            row.get::<_, i64>(0)
        })
        .and_then(|_| conn.execute_batch("PRAGMA optimize"));
    match result {
        Ok(()) => tracing::debug!(took = ?started.elapsed(), "store checkpointed on close"),
        Err(e) => tracing::warn!(error = %e, "checkpoint on close failed; the WAL stays"),
    }
}

fn commit(conn: &mut Connection, batch: &mut [Job]) -> rusqlite::Result<Vec<Vec<InsertOutcome>>> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    {
        let mut hot = insert::Hot::prepare(&tx)?;
        for job in batch.iter_mut() {
            let mut out = Vec::with_capacity(job.events.len());
            for event in &job.events {
                out.push(insert::apply(&tx, &mut hot, event, now)?);
            }
            if let Some(change) = job.change.take() {
                change(&tx)?;
            }
            outcomes.push(out);
        }
    }
    tx.commit()?;
    Ok(outcomes)
}
