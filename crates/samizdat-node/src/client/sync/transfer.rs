//! Moving events once the difference is known: pull by id with `REQ`,
//! push with `EVENT` and a window of unacknowledged events, both in
//! priority order.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use samizdat_core::Limits;
use samizdat_core::nostr::prelude::{Event, EventId};
use samizdat_store::{Query, Store};

use super::link::Link;
use super::{Session, SyncError, priority_kinds};
use crate::ingest::batch::{self, Candidate};
use crate::progress::Tally;
use crate::proto::client::{RelayMessage, send};
use crate::proto::filter::Filter;

/// Ids asked for in one `REQ`: within common relays' limits (strfry answers
/// at most 500 events to one filter by default).
const IDS_PER_REQ: usize = 500;
/// Events read from the store at a time while pushing.
const IDS_PER_READ: usize = 250;
/// Events pushed before waiting for an `OK`.
const PUSH_WINDOW: usize = 128;

/// Fetches `ids` from the peer and stores what validates. Priority kinds
/// are asked for first, across all ids, then whatever is left. Up to
/// `PULLS_IN_FLIGHT` requests are open at once, so that a distant peer
/// is never waited for between them; each one's events are committed
/// while the others arrive. Whatever stops the run (a cut, the window),
/// what had arrived is committed.
pub(super) async fn pull(
    link: &mut Link,
    s: &mut Session<'_>,
    ids: &[EventId],
) -> Result<(), SyncError> {
    s.observer.phase("receiving", Some(ids.len() as u64));
    let mut puller = Puller {
        wanted: ids.iter().copied().collect(),
        open: Vec::new(),
        committing: None,
        sub: 0,
    };
    let mut failure = None;
    'passes: for kinds in [Some(priority_kinds().to_vec()), None] {
        // What the first pass stored is not asked for again.
        puller.settle(s).await?;
        let round: Vec<EventId> = ids
            .iter()
            .filter(|id| puller.wanted.contains(*id))
            .copied()
            .collect();
        let mut chunks = round.chunks(IDS_PER_REQ);
        // Bounded: each turn asks, or reads one message of at most the
        // round's events and a few others per request.
        let turns = round.len() + (round.len() / IDS_PER_REQ + 1) * 2 * (PULLS_IN_FLIGHT + 64);
        for _ in 0..turns {
            if puller.open.len() < PULLS_IN_FLIGHT
                && let Some(chunk) = chunks.next()
            {
                if !s.may_go_on(link.bytes()) {
                    break 'passes;
                }
                if let Err(e) = puller.ask(link, s, chunk, kinds.as_deref()).await {
                    failure = Some(e);
                    break 'passes;
                }
                continue;
            }
            if puller.open.is_empty() {
                break;
            }
            if let Err(e) = puller.take(link, s).await {
                failure = Some(e);
                break 'passes;
            }
        }
    }
    // What arrived for requests still open is kept too.
    for open in std::mem::take(&mut puller.open) {
        puller.commit(s, open.batch).await?;
    }
    puller.settle(s).await?;
    failure.map_or(Ok(()), Err)
}

/// Requests of a pull open at once.
const PULLS_IN_FLIGHT: usize = 4;

/// The state of one pull: what is still wanted, the requests open, and
/// the batch being committed.
struct Puller {
    wanted: HashSet<EventId>,
    open: Vec<Open>,
    committing: Option<tokio::task::JoinHandle<Result<Stored, SyncError>>>,
    sub: u64,
}

/// One open request and the events that came for it.
struct Open {
    sub: String,
    batch: Vec<Event>,
}

impl Puller {
    /// Opens a request for `chunk` (of `kinds`, if given).
    async fn ask(
        &mut self,
        link: &mut Link,
        s: &mut Session<'_>,
        chunk: &[EventId],
        kinds: Option<&[u16]>,
    ) -> Result<(), SyncError> {
        self.sub += 1;
        let sub = format!("pull-{}", self.sub);
        let mut filter = Filter::ids(chunk);
        if let Some(kinds) = kinds {
            filter = filter.with_kinds(kinds);
        }
        link.send(send::req(&sub, &[&filter])).await?;
        s.summary.round_trips += 1;
        self.open.push(Open {
            sub,
            batch: Vec::new(),
        });
        Ok(())
    }

    /// Reads one message: an event for an open request, or the end of
    /// one, whose events are then committed.
    async fn take(&mut self, link: &mut Link, s: &mut Session<'_>) -> Result<(), SyncError> {
        let text = link.recv_text().await?;
        let Some((sub, read)) = answer(&text) else {
            return Ok(());
        };
        let Some(at) = self.open.iter().position(|o| o.sub == sub) else {
            return Ok(());
        };
        match read {
            Read::Event(Ok(event)) => {
                // Only what was asked for. An id stays wanted until an
                // event with it validates: a forgery that claims the id
                // cannot shadow the genuine event after it.
                if self.wanted.contains(&event.id) {
                    s.summary.received_bytes += text.len() as u64;
                    self.open[at].batch.push(event);
                }
            }
            Read::Event(Err(())) => s.summary.rejected_from_peer += 1,
            Read::End => {
                let done = self.open.remove(at);
                link.send(send::close(&done.sub)).await?;
                self.commit(s, done.batch).await?;
            }
        }
        Ok(())
    }

    /// Commits `batch` while the next ones arrive, once the batch before
    /// it is committed.
    async fn commit(&mut self, s: &mut Session<'_>, batch: Vec<Event>) -> Result<(), SyncError> {
        self.settle(s).await?;
        if batch.is_empty() {
            return Ok(());
        }
        let store = s.store.clone();
        let limits = s.options.limits;
        let announce = s.options.announce.clone();
        self.committing = Some(tokio::task::spawn_blocking(move || {
            commit(&store, batch, &limits, announce.as_ref())
        }));
        Ok(())
    }

    /// Waits for the batch being committed and accounts for it.
    async fn settle(&mut self, s: &mut Session<'_>) -> Result<(), SyncError> {
        if let Some(previous) = self.committing.take() {
            for id in s.account(previous.await)? {
                self.wanted.remove(&id);
            }
        }
        Ok(())
    }
}

/// One message of the answers to a pull's `REQ`s.
#[derive(Debug)]
enum Read {
    /// An event for this subscription, or one that is not an event.
    Event(Result<Event, ()>),
    /// `EOSE` or `CLOSED` for this subscription.
    End,
}

/// Reads `text` as part of the answer to a subscription, and which. An
/// event's JSON is parsed once, into the event, not into a tree first and
/// back to text.
fn answer(text: &str) -> Option<(String, Read)> {
    match RelayMessage::parse(text) {
        Ok(RelayMessage::Event { sub, event }) => Some((
            sub.into_owned(),
            Read::Event(
                event
                    .ok_or(())
                    .and_then(|e| samizdat_core::validate::parse(e.get()).map_err(|_| ())),
            ),
        )),
        Ok(RelayMessage::Eose { sub } | RelayMessage::Closed { sub, .. }) => {
            Some((sub.into_owned(), Read::End))
        }
        _ => None,
    }
}

pub(super) struct Stored {
    tally: Tally,
    /// Where each refused event was in the batch, and why.
    refused: Vec<(u64, String)>,
    handled: u64,
    /// Ids of the events that validated (stored now or before).
    valid: Vec<EventId>,
}

impl Session<'_> {
    /// Adds a committed batch to the summary; returns the ids that
    /// validated.
    pub(super) fn account(
        &mut self,
        done: Result<Result<Stored, SyncError>, tokio::task::JoinError>,
    ) -> Result<Vec<EventId>, SyncError> {
        let done = done.map_err(|source| SyncError::Task {
            what: "storing",
            source,
        })??;
        let before = self.summary.received + self.summary.rejected_from_peer;
        for (at, reason) in &done.refused {
            tracing::debug!(error = %reason, "the peer sent an invalid event");
            self.observer.refused(before + at, reason);
        }
        self.summary.received += done.tally.stored + done.tally.ephemeral;
        self.summary.rejected_from_peer += done.tally.rejected;
        self.observer.advance(done.handled);
        Ok(done.valid)
    }
}

/// Checks a batch on every core, commits it and waits until it is
/// durable, telling `announce` what was new: the same steps as an import
/// (`ingest::batch`).
pub(super) fn commit(
    store: &Store,
    events: Vec<Event>,
    limits: &Limits,
    announce: Option<&crate::Announce>,
) -> Result<Stored, SyncError> {
    let handled = events.len() as u64;
    let candidates = (1..)
        .zip(events.into_iter().map(Candidate::Event))
        .collect();
    let checked = batch::check(candidates, limits);
    let mut tally = Tally {
        rejected: checked.refused.len() as u64,
        ..Tally::default()
    };
    let valid = match batch::submit(store, checked.valid)? {
        Some(pending) => batch::finish(pending, &mut tally, announce)?,
        None => Vec::new(),
    };
    Ok(Stored {
        tally,
        refused: checked.refused,
        handled,
        valid,
    })
}

/// Sends the stored events `ids` to the peer, in priority order, keeping
/// up to `PUSH_WINDOW` unacknowledged. A peer that answers `rate-limited:`
/// is given time: sending slows (the pause between events doubles with
/// each such answer and shrinks with each acceptance) and those events go
/// again at the end, for a bounded number of rounds. However the push
/// ends (done, the window closed, the link cut), the wraps the peer took
/// and what it refused for good are remembered (see `delivered`).
pub(super) async fn push(
    link: &mut Link,
    s: &mut Session<'_>,
    ids: &[EventId],
) -> Result<(), SyncError> {
    s.observer.phase("sending", Some(ids.len() as u64));
    let mut pusher = Pusher {
        sent: Vec::new(),
        in_flight: HashMap::new(),
        answer_time: None,
        wraps: HashSet::new(),
        held: Vec::new(),
        refused: Vec::new(),
        later: Vec::new(),
        pause: Duration::ZERO,
        limited: false,
    };
    let pushed = push_all(link, s, ids, &mut pusher).await;
    // The wraps the peer now holds, and what it refused for good, are
    // not sent to it again.
    let (data, peer) = (s.store.dir().to_path_buf(), link.url().clone());
    let (held, refused) = (pusher.held, pusher.refused);
    let kept = tokio::task::spawn_blocking(move || {
        super::delivered::add(&data, &peer, &held)?;
        super::delivered::add_refused(&data, &peer, &refused)
    })
    .await
    .map_err(|source| SyncError::Task {
        what: "remembering what the peer holds",
        source,
    })?;
    if let Err(e) = kept {
        tracing::warn!(error = %e, "remembering what a peer holds or refused");
    }
    pushed
}

async fn push_all(
    link: &mut Link,
    s: &mut Session<'_>,
    ids: &[EventId],
    pusher: &mut Pusher,
) -> Result<(), SyncError> {
    let mut left: HashSet<EventId> = ids.iter().copied().collect();
    let classes = priority_kinds().map(|k| Some(vec![k]));
    'classes: for kinds in classes.into_iter().chain([None]) {
        let round: Vec<EventId> = ids
            .iter()
            .filter(|id| left.contains(*id))
            .copied()
            .collect();
        for chunk in round.chunks(IDS_PER_READ) {
            let sent = pusher.send(link, s, chunk, kinds.clone()).await?;
            for id in &pusher.sent {
                left.remove(id);
            }
            if !sent {
                break 'classes;
            }
        }
    }
    // What was rate-limited goes again, more slowly, a bounded number of
    // times.
    for _ in 0..RATE_LIMIT_ROUNDS {
        pusher.drain(link, s).await?;
        if pusher.later.is_empty() || s.summary.stopped.is_some() {
            break;
        }
        let again = std::mem::take(&mut pusher.later);
        pusher.pause = pusher.pause.max(MIN_PAUSE);
        for chunk in again.chunks(IDS_PER_READ) {
            if !pusher.send(link, s, chunk, None).await? {
                break;
            }
        }
    }
    pusher.drain(link, s).await?;
    if !pusher.later.is_empty() {
        s.summary.refused_by_peer += pusher.later.len() as u64;
        s.summary
            .first_refusal
            .get_or_insert_with(|| "rate-limited: the peer kept refusing".into());
    }
    Ok(())
}

/// Rounds of resending what a peer refused as rate-limited.
const RATE_LIMIT_ROUNDS: usize = 20;
/// The pause between events once a peer has said to slow down, at least,
/// and at most.
const MIN_PAUSE: Duration = Duration::from_millis(1);
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// The state of one push: what awaits an `OK`, what to send again, and
/// how long to wait between events.
struct Pusher {
    /// What the last `send` sent.
    sent: Vec<EventId>,
    /// Events sent and not yet answered, and when each was sent.
    in_flight: HashMap<EventId, Instant>,
    /// How long the peer's answers take to come back (a moving average):
    /// near the window's end no event is sent whose answer would come
    /// after it, so that the peer never holds what this side thinks it
    /// lacks.
    answer_time: Option<Duration>,
    /// Which of those in flight are gift wraps, and the wraps the peer
    /// took or already had (see `delivered`).
    wraps: HashSet<EventId>,
    held: Vec<EventId>,
    /// What the peer refused for good, and why (see `delivered`).
    refused: Vec<(EventId, String)>,
    later: Vec<EventId>,
    pause: Duration,
    /// Whether the last answer was `rate-limited:`: the pause doubles once
    /// per run of such answers, not once per event in flight.
    limited: bool,
}

impl Pusher {
    /// Sends the events of `chunk` (of `kinds`, if given); false when the
    /// budget stopped it.
    async fn send(
        &mut self,
        link: &mut Link,
        s: &mut Session<'_>,
        chunk: &[EventId],
        kinds: Option<Vec<u16>>,
    ) -> Result<bool, SyncError> {
        let store = s.store;
        let query = Query {
            ids: Some(chunk.to_vec()),
            kinds,
            ..Query::default()
        };
        let mut events = {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.query(&query))
                .await
                .map_err(|source| SyncError::Task {
                    what: "reading the store",
                    source,
                })??
        };
        // Oldest first within a class (the store answers newest first): a
        // story in the order it was told.
        events.reverse();
        self.sent.clear();
        for stored in events {
            // NIP-70: what its author marked `["-"]` is theirs alone to
            // publish; it stays here.
            // A quoted `"` inside a string is escaped, so `["-"` appears
            // in the JSON only as a tag: most events skip the parse.
            if stored.json.contains(r#"["-""#)
                && stored
                    .event()
                    .is_ok_and(|e| samizdat_core::tags::is_protected(&e.tags))
            {
                s.summary.withheld += 1;
                self.sent.push(stored.id);
                s.observer.advance(1);
                continue;
            }
            if !s.may_go_on(link.bytes()) || self.answer_too_late(s) {
                link.flush().await?;
                return Ok(false);
            }
            // Paced, the answers steer the pace: one event at a time.
            let window = if self.pause.is_zero() { PUSH_WINDOW } else { 1 };
            while self.in_flight.len() >= window {
                self.take_ok(link, s).await?;
            }
            if !self.pause.is_zero() {
                link.flush().await?;
                tokio::time::sleep(self.pause).await;
            }
            let message = send::event(&stored.json);
            s.summary.sent_bytes += stored.json.len() as u64;
            self.in_flight.insert(stored.id, Instant::now());
            self.sent.push(stored.id);
            // Canonical JSON: a wrap's kind appears as exactly this (a
            // quote in a string is escaped, so a false match only makes
            // an event the peer took be remembered as held: it is).
            if stored.json.contains("\"kind\":1059,") {
                self.wraps.insert(stored.id);
            }
            link.feed(message).await?;
        }
        link.flush().await?;
        Ok(true)
    }

    /// Whether the window closes before an event sent now would be
    /// answered (with a margin for the answers' jitter); if so, the run
    /// stops here, as the window closing would stop it.
    fn answer_too_late(&self, s: &mut Session<'_>) -> bool {
        let (Some(left), Some(answer)) = (s.budget.remaining(), self.answer_time) else {
            return false;
        };
        if left > answer.mul_f64(1.25) {
            return false;
        }
        s.summary.stopped = Some(super::Stop::Window);
        true
    }

    /// Waits for every `OK` still due.
    async fn drain(&mut self, link: &mut Link, s: &mut Session<'_>) -> Result<(), SyncError> {
        // Bounded by what is in flight.
        while !self.in_flight.is_empty() {
            self.take_ok(link, s).await?;
        }
        Ok(())
    }

    /// Waits for the next `OK` for an event in flight.
    async fn take_ok(&mut self, link: &mut Link, s: &mut Session<'_>) -> Result<(), SyncError> {
        let summary = &mut *s.summary;
        link.flush().await?;
        for _ in 0..1_000 {
            let text = link.recv().await?;
            let Ok(RelayMessage::Ok {
                id,
                accepted,
                message: reason,
            }) = RelayMessage::parse(&text)
            else {
                continue;
            };
            let Ok(id) = EventId::from_hex(id.as_ref()) else {
                continue;
            };
            let Some(sent_at) = self.in_flight.remove(&id) else {
                continue;
            };
            let took = sent_at.elapsed();
            self.answer_time = Some(match self.answer_time {
                Some(average) => average.mul_f64(0.8) + took.mul_f64(0.2),
                None => took,
            });
            summary.round_trips += u64::from(self.in_flight.is_empty());
            if reason.starts_with("duplicate:") {
                summary.duplicates += 1;
            }
            if accepted || reason.starts_with("duplicate:") {
                if self.wraps.remove(&id) {
                    self.held.push(id);
                }
                summary.sent += 1;
                self.limited = false;
                self.pause = self.pause.mul_f64(0.9);
                if self.pause < MIN_PAUSE / 2 {
                    self.pause = Duration::ZERO;
                }
                s.observer.advance(1);
            } else if reason.starts_with("rate-limited:") {
                summary.rate_limited += 1;
                self.later.push(id);
                if !self.limited {
                    self.pause = (self.pause * 2).clamp(MIN_PAUSE, MAX_PAUSE);
                }
                self.limited = true;
            } else {
                self.limited = false;
                summary.refused_by_peer += 1;
                if super::delivered::is_final(&reason) {
                    self.refused.push((id, reason.to_string()));
                }
                if summary.first_refusal.is_none() {
                    summary.first_refusal = Some(reason.to_string());
                }
                s.observer.advance(1);
            }
            return Ok(());
        }
        Err(SyncError::Protocol("no OK for events sent".into()))
    }
}

#[cfg(test)]
mod tests {
    use samizdat_core::nostr::prelude::{EventBuilder, FinalizeEvent, Keys, Kind};

    use super::*;

    /// Reads `text` as part of the answer to subscription `sub`: `None`
    /// for another subscription's, a `NOTICE`, what is not JSON.
    fn read(text: &str, sub: &str) -> Option<Read> {
        answer(text).and_then(|(s, read)| (s == sub).then_some(read))
    }

    #[test]
    fn answers_to_a_pull_are_read_once_and_bad_ones_refused() {
        let event = EventBuilder::new(Kind::TextNote, "a \"quoted\" note\nover two lines")
            .finalize(&Keys::generate())
            .expect("signed");
        let json = event.as_json();
        let got = |text: &str| match read(text, "pull-1") {
            Some(Read::Event(Ok(e))) => Some(e),
            other => panic!("{text}: {other:?}"),
        };
        // As our node sends it, with spaces, with the sub escaped.
        for text in [
            format!(r#"["EVENT","pull-1",{json}]"#),
            format!(r#"[ "EVENT" , "pull-1" ,  {json} ]"#),
            format!(r#"["EVENT","pull\u002d1",{json}]"#),
        ] {
            assert_eq!(got(&text), Some(event.clone()), "{text}");
        }
        // Malformed events are refused, counted by the caller.
        for text in [
            r#"["EVENT","pull-1",{"id":"zz","kind":"one"}]"#.to_string(),
            r#"["EVENT","pull-1",17]"#.to_string(),
            r#"["EVENT","pull-1"]"#.to_string(),
            format!(
                r#"["EVENT","pull-1",{}]"#,
                json.replace(r#""sig""#, r#""sag""#)
            ),
        ] {
            assert!(
                matches!(read(&text, "pull-1"), Some(Read::Event(Err(())))),
                "{text}"
            );
        }
        for text in [r#"["EOSE","pull-1"]"#, r#"["CLOSED","pull-1","error: no"]"#] {
            assert!(matches!(read(text, "pull-1"), Some(Read::End)), "{text}");
        }
        for text in [
            format!(r#"["EVENT","pull-2",{json}]"#),
            r#"["EOSE","pull-2"]"#.to_string(),
            r#"["NOTICE","hello"]"#.to_string(),
            "not json".to_string(),
            // Cut short: not JSON at all, so not an event to count.
            format!(r#"["EVENT","pull-1",{}]"#, &json[..json.len() - 9]),
            r#"{"EVENT":1}"#.to_string(),
        ] {
            assert!(read(&text, "pull-1").is_none(), "{text}");
        }
    }
}
