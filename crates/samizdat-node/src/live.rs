//! New events for live subscribers, after their commit: one ring shared by
//! every subscriber, bounded in events, in bytes and in age.
//!
//! A subscriber reads the ring at its own place. One that falls behind the
//! ring's oldest event is told how many it missed (the relay closes its
//! subscriptions with `error: too slow`) and never buffered for: what the
//! node holds for live subscribers is the ring, whatever they do. An event
//! leaves the ring when it is older than `live_age` (every subscriber has
//! long read it, or is too slow), or when the ring passes its count or
//! its bytes; with nobody subscribed, nothing is kept at all.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use samizdat_core::VerifiedEvent;
use tokio::sync::watch;

/// What the ring may hold.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub events: usize,
    pub bytes: usize,
    pub age: Duration,
}

/// The ring and the count of events ever put in it, which subscribers wait
/// on. Cheap to share (`Arc`).
pub struct Live {
    ring: Mutex<Ring>,
    head: watch::Sender<u64>,
    bounds: Bounds,
}

struct Ring {
    entries: VecDeque<Entry>,
    /// The number of the oldest entry (events ever put in, minus those in
    /// the ring).
    first: u64,
    bytes: usize,
}

struct Entry {
    event: Arc<VerifiedEvent>,
    bytes: usize,
    at: Instant,
}

/// Events a subscriber missed because it fell behind the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lagged(pub u64);

/// Memory an event holds while in the ring: its parsed form and its JSON
/// (about twice the JSON), its search text and the allocations of its tags.
pub fn held_bytes(event: &VerifiedEvent) -> usize {
    event.json().len() * 2 + event.search_text().map_or(0, str::len) + 256
}

impl Live {
    pub fn new(bounds: Bounds) -> Arc<Live> {
        Arc::new(Live {
            ring: Mutex::new(Ring {
                entries: VecDeque::new(),
                first: 0,
                bytes: 0,
            }),
            head: watch::channel(0).0,
            bounds: Bounds {
                events: bounds.events.max(1),
                ..bounds
            },
        })
    }

    /// Puts a committed event in the ring, dropping the oldest past the
    /// bounds, and wakes the subscribers.
    pub fn send(&self, event: Arc<VerifiedEvent>) {
        if self.head.receiver_count() == 0 {
            return;
        }
        let now = Instant::now();
        let head = {
            let mut ring = self.lock();
            let bytes = held_bytes(&event);
            ring.bytes += bytes;
            ring.entries.push_back(Entry {
                event,
                bytes,
                at: now,
            });
            ring.evict(&self.bounds, now);
            ring.first + ring.entries.len() as u64
        };
        self.head.send_replace(head);
    }

    /// A subscriber that will read the events sent from now on.
    pub fn subscribe(self: &Arc<Self>) -> Subscriber {
        let head = self.head.subscribe();
        let next = {
            let ring = self.lock();
            ring.first + ring.entries.len() as u64
        };
        Subscriber {
            live: Arc::clone(self),
            next,
            head,
        }
    }

    /// Drops events older than the ring's age, so that memory goes back
    /// after a burst even when nothing new comes; with nobody subscribed,
    /// everything.
    pub fn sweep(&self, now: Instant) {
        let nobody = self.head.receiver_count() == 0;
        let mut ring = self.lock();
        if nobody {
            let n = ring.entries.len() as u64;
            ring.entries.clear();
            ring.entries.shrink_to_fit();
            ring.first += n;
            ring.bytes = 0;
        } else {
            ring.evict(&self.bounds, now);
        }
    }

    /// Events and bytes the ring holds now.
    pub fn held(&self) -> (usize, usize) {
        let ring = self.lock();
        (ring.entries.len(), ring.bytes)
    }

    pub fn subscribers(&self) -> usize {
        self.head.receiver_count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Ring {
    fn evict(&mut self, bounds: &Bounds, now: Instant) {
        let before = self.entries.len();
        while let Some(oldest) = self.entries.front() {
            let over = self.entries.len() > bounds.events
                || self.bytes > bounds.bytes
                || now.saturating_duration_since(oldest.at) > bounds.age;
            if !over {
                break;
            }
            self.bytes -= oldest.bytes;
            self.entries.pop_front();
            self.first += 1;
        }
        // Give the ring's own buffer back once it is mostly empty.
        if self.entries.len() < before && self.entries.capacity() > 4 * self.entries.len() + 64 {
            self.entries.shrink_to(self.entries.len() * 2);
        }
    }
}

/// One subscriber's place in the ring.
pub struct Subscriber {
    live: Arc<Live>,
    next: u64,
    head: watch::Receiver<u64>,
}

impl Subscriber {
    /// The next event, waiting for one; or how many were missed when the
    /// ring has moved past this subscriber (its place then moves to the
    /// oldest event held).
    pub async fn recv(&mut self) -> Result<Arc<VerifiedEvent>, Lagged> {
        // Bounded: each turn either returns or waits for a new event.
        loop {
            self.head.borrow_and_update();
            {
                let ring = self.live.lock();
                if self.next < ring.first {
                    let missed = ring.first - self.next;
                    self.next = ring.first;
                    return Err(Lagged(missed));
                }
                let at = usize::try_from(self.next - ring.first).unwrap_or(usize::MAX);
                if let Some(entry) = ring.entries.get(at) {
                    self.next += 1;
                    return Ok(Arc::clone(&entry.event));
                }
            }
            if self.head.changed().await.is_err() {
                // The node is gone: nothing more will come.
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use samizdat_core::nostr::prelude::{Keys, Kind, Timestamp};
    use samizdat_core::sign::Draft;

    fn event(keys: &Keys, i: u64, size: usize) -> Arc<VerifiedEvent> {
        let event = Draft {
            kind: Kind::TextNote,
            created_at: Timestamp::now(),
            tags: Vec::new(),
            content: format!("{i} {}", "x".repeat(size)),
        }
        .sign(keys)
        .unwrap();
        Arc::new(
            samizdat_core::validate(event, &samizdat_core::Limits::default(), Timestamp::now())
                .unwrap(),
        )
    }

    fn bounds(events: usize, bytes: usize) -> Bounds {
        Bounds {
            events,
            bytes,
            age: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn a_reader_gets_every_event_in_order() {
        let keys = Keys::generate();
        let live = Live::new(bounds(100, 10 << 20));
        let mut reader = live.subscribe();
        let sent: Vec<_> = (0..50).map(|i| event(&keys, i, 10)).collect();
        let waiting = tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..50 {
                got.push(reader.recv().await.unwrap().event().id);
            }
            got
        });
        for e in &sent {
            live.send(Arc::clone(e));
            tokio::task::yield_now().await;
        }
        let got = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, sent.iter().map(|e| e.event().id).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_reader_that_falls_behind_is_told_and_nothing_is_kept_for_it() {
        let keys = Keys::generate();
        let live = Live::new(bounds(10_000, 1 << 20));
        let mut reader = live.subscribe();
        for i in 0..200 {
            live.send(event(&keys, i, 50_000));
        }
        let (held, bytes) = live.held();
        assert!(bytes <= 1 << 20, "{bytes}");
        assert!(held < 200 && held > 0);
        assert_eq!(reader.recv().await, Err(Lagged(200 - held as u64)));
        // Its place moved to the oldest event held.
        assert!(reader.recv().await.is_ok());
    }

    #[tokio::test]
    async fn the_count_bounds_small_events() {
        let keys = Keys::generate();
        let live = Live::new(bounds(5, 1 << 30));
        let _reader = live.subscribe();
        for i in 0..20 {
            live.send(event(&keys, i, 10));
        }
        assert_eq!(live.held().0, 5);
    }

    #[test]
    fn nothing_is_kept_without_subscribers_and_old_events_are_swept() {
        let keys = Keys::generate();
        let live = Live::new(bounds(100, 1 << 30));
        live.send(event(&keys, 0, 10));
        assert_eq!(live.held(), (0, 0));
        let reader = live.subscribe();
        live.send(event(&keys, 1, 10));
        assert_eq!(live.held().0, 1);
        live.sweep(Instant::now() + Duration::from_secs(61));
        assert_eq!(live.held(), (0, 0));
        live.send(event(&keys, 2, 10));
        drop(reader);
        live.sweep(Instant::now());
        assert_eq!(live.held(), (0, 0));
    }
}
