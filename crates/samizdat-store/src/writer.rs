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

use samizdat_core::VerifiedEvent;

use crate::insert::InsertOutcome;
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

/// One database's way of committing a batch: what the writer thread owns.
pub trait Engine: Send + 'static {
    /// Work that is not an event insert: a few statements run inside the
    /// next batch's transaction.
    type Change: Send + 'static;

    /// Applies every job's events, then its change, in one transaction,
    /// and returns each job's outcomes once the commit is durable.
    fn commit(
        &mut self,
        batch: &mut [Job<Self::Change>],
        now: u64,
    ) -> Result<Vec<Vec<InsertOutcome>>, StoreError>;

    /// On the way out, after the last batch.
    fn close(&mut self);
}

/// Events and a change from one caller.
pub struct Job<C> {
    pub events: Vec<VerifiedEvent>,
    /// When each event was first seen, if earlier than this commit (a
    /// copy from another store keeps it); empty for "now".
    pub seen: Vec<u64>,
    pub change: Option<C>,
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

pub struct Writer<C> {
    queue: Mutex<Option<SyncSender<Job<C>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<C: Send + 'static> Writer<C> {
    pub fn spawn<E: Engine<Change = C>>(
        engine: E,
        options: StoreOptions,
    ) -> Result<Writer<C>, StoreError> {
        let (queue, jobs) = sync_channel(options.queue_depth);
        let thread = std::thread::Builder::new()
            .name("samizdat-writer".into())
            .spawn(move || run(engine, jobs, options.max_batch_events))
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
        self.enqueue(events, Vec::new(), None)
    }

    /// Like [`Writer::submit`], with when each event was first seen.
    pub fn submit_seen(
        &self,
        events: Vec<VerifiedEvent>,
        seen: Vec<u64>,
    ) -> Result<Pending, StoreError> {
        self.enqueue(events, seen, None)
    }

    /// Runs `change` in the writer's next transaction; the reply (an empty
    /// list) comes after the commit.
    pub fn change(&self, change: C) -> Result<Pending, StoreError> {
        self.enqueue(Vec::new(), Vec::new(), Some(change))
    }

    fn enqueue(
        &self,
        events: Vec<VerifiedEvent>,
        seen: Vec<u64>,
        change: Option<C>,
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
                seen,
                change,
                reply,
            })
            .map_err(|_| StoreError::WriterGone)?;
        Ok(Pending(receive))
    }
}

impl<C> Drop for Writer<C> {
    /// Closes the queue and waits for the writer to commit what it holds.
    fn drop(&mut self) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

fn run<E: Engine>(mut engine: E, jobs: Receiver<Job<E::Change>>, max_batch: usize) {
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
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        match engine.commit(&mut batch, now) {
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
    engine.close();
}

impl<C> Job<C> {
    /// When the `i`-th event was first seen: as given, else `now`.
    pub fn seen_at(&self, i: usize, now: u64) -> u64 {
        self.seen.get(i).copied().unwrap_or(now)
    }
}
