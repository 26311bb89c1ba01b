//! Both ways at once: what the peer lacks is pushed on a second
//! connection while what this side lacks is pulled on the first, so a
//! full-duplex link carries both directions together instead of one
//! after the other. The second connection is dialled while the
//! difference is being found, so it costs no round trip of its own.

use std::sync::Mutex;

use samizdat_core::nostr::prelude::EventId;

use super::link::Link;
use super::{Session, Summary, SyncError, transfer};
use crate::progress::Observer;

/// Pulls `theirs` on `link` and pushes `ours` on `other` together; the
/// push's part of the summary is added to the run's.
pub(super) async fn transfer(
    link: &mut Link,
    other: &mut Link,
    s: &mut Session<'_>,
    theirs: &[EventId],
    ours: &[EventId],
) -> Result<(), SyncError> {
    let total = (theirs.len() + ours.len()) as u64;
    let shared = Together::new(&mut *s.observer, total);
    let (mut pull_observer, mut push_observer) = (&shared, &shared);
    let mut pushed = Summary::default();
    let (pulling, pushing) = {
        let mut pull = Session {
            store: s.store,
            options: s.options,
            budget: s.budget,
            summary: &mut *s.summary,
            observer: &mut pull_observer,
        };
        let mut push = Session {
            store: s.store,
            options: s.options,
            budget: s.budget,
            summary: &mut pushed,
            observer: &mut push_observer,
        };
        tokio::join!(
            transfer::pull(link, &mut pull, theirs),
            transfer::push(other, &mut push, ours)
        )
    };
    add_push(s.summary, &pushed);
    pulling.and(pushing)
}

/// Adds what a push did, counted on its own, to the run's summary.
fn add_push(summary: &mut Summary, push: &Summary) {
    summary.sent += push.sent;
    summary.sent_bytes += push.sent_bytes;
    summary.refused_by_peer += push.refused_by_peer;
    if summary.first_refusal.is_none() {
        summary.first_refusal.clone_from(&push.first_refusal);
    }
    summary.withheld += push.withheld;
    summary.duplicates += push.duplicates;
    summary.rate_limited += push.rate_limited;
    summary.round_trips += push.round_trips;
    if summary.stopped.is_none() {
        summary.stopped = push.stopped;
    }
}

/// One observer told by both ways: a single phase, "receiving and
/// sending", counting the events of both.
struct Together<'a>(Mutex<&'a mut dyn Observer>);

impl<'a> Together<'a> {
    fn new(observer: &'a mut dyn Observer, total: u64) -> Together<'a> {
        observer.phase("receiving and sending", Some(total));
        Together(Mutex::new(observer))
    }

    fn with(&self, f: impl FnOnce(&mut dyn Observer)) {
        // A panic elsewhere poisons nothing worth refusing progress for.
        let mut inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut **inner);
    }
}

impl Observer for &Together<'_> {
    fn advance(&mut self, n: u64) {
        self.with(|o| o.advance(n));
    }

    fn refused(&mut self, at: u64, reason: &str) {
        self.with(|o| o.refused(at, reason));
    }
}
