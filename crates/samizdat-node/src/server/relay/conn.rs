//! One relay connection: a single task that reads client messages, runs
//! them, and writes replies and live events.
//!
//! Back-pressure, so that no client can make the node buffer without bound
//! or stall the others:
//! - events wait for their commit concurrently, up to
//!   `max_events_in_flight`; past that the task stops reading the socket;
//! - stored results stream from the store through a small channel, so a
//!   slow reader holds back only its own query;
//! - live events come from one ring bounded in events, bytes and age
//!   (`crate::live`); a subscriber that falls behind it is told (`CLOSED` with `error: too slow`) and its live
//!   subscriptions end, instead of the node queueing for it;
//! - every write has a deadline (`write_timeout`); a client that does not
//!   read is disconnected.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use samizdat_core::VerifiedEvent;
use samizdat_core::nostr::prelude::{Event, EventId, PublicKey, Timestamp};
use samizdat_core::sealed;
use samizdat_store::{InsertOutcome, Query};
use serde_json::value::RawValue;
use yawc::close::CloseCode;
use yawc::{Frame, HttpWebSocket as WebSocket, OpCode, WebSocketError};

use super::neg::NegSessions;
use super::rate::TokenBucket;
use super::{Relay, auth};
use crate::ingest::IngestError;
use crate::live::{Lagged, Subscriber};
use crate::proto::filter::Filter;
use crate::proto::message::{ClientMessage, MessageError, SubId, out};

/// The reply to one published event: its id and the `OK` to send.
type OkFuture = Pin<Box<dyn Future<Output = String> + Send>>;

/// Why the loop ended.
enum End {
    /// The client went away or broke the protocol at the WebSocket level.
    Gone,
    /// The client stopped taking messages.
    WriteTimeout,
    Idle,
    Shutdown,
    TooLarge,
}

pub struct Connection {
    state: Relay,
    ws: WebSocket,
    ip: IpAddr,
    host: Option<String>,
    challenge: String,
    authed: Vec<PublicKey>,
    /// Identities whose sealed records an authenticated node showed it
    /// reads (`delegation` tokens in its `AUTH`): their gift wraps only.
    reads_for: Vec<PublicKey>,
    /// Whether this connection was told what is held back from it.
    told_held_back: bool,
    subs: HashMap<SubId, Vec<Filter>>,
    live: Option<Subscriber>,
    negs: NegSessions,
    events: TokenBucket,
    queries: TokenBucket,
    /// Whether a known node (`nodes`, `carriers`) authenticated here: its
    /// events are paced by `node_events_per_second`, not per address.
    known_node: bool,
}

impl Connection {
    pub fn new(state: Relay, ws: WebSocket, ip: IpAddr, host: Option<String>) -> Connection {
        let now = Instant::now();
        let limits = &state.node.config.relay;
        Connection {
            events: TokenBucket::new(limits.events_per_second, now),
            queries: TokenBucket::new(limits.queries_per_second, now),
            negs: NegSessions::default(),
            state,
            ws,
            ip,
            host,
            challenge: auth::challenge(),
            authed: Vec::new(),
            reads_for: Vec::new(),
            told_held_back: false,
            subs: HashMap::new(),
            live: None,
            known_node: false,
        }
    }

    pub async fn run(mut self) {
        let mut shutdown = self.state.node.shutdown.clone();
        let mut in_flight: FuturesUnordered<OkFuture> = FuturesUnordered::new();
        let idle_timeout = self.state.node.config.relay.idle_timeout;
        let max_in_flight = self.state.node.config.relay.max_events_in_flight;
        let idle = tokio::time::sleep(idle_timeout);
        tokio::pin!(idle);

        let mut end = self.send(out::auth(&self.challenge.clone())).await.err();
        while end.is_none() {
            tokio::select! {
                biased;
                _ = async { shutdown.wait_for(|stop| *stop).await.is_ok() } => end = Some(End::Shutdown),
                Some(ok) = in_flight.next(), if !in_flight.is_empty() => {
                    if let Err(e) = self.send(ok).await {
                        end = Some(e);
                    }
                }
                message = self.ws.next_frame(), if in_flight.len() < max_in_flight => {
                    idle.as_mut().reset(tokio::time::Instant::now() + idle_timeout);
                    end = self.on_frame(message, &mut in_flight).await.err();
                }
                live = recv_live(&mut self.live) => {
                    end = self.on_live(live).await.err();
                }
                () = &mut idle => end = Some(End::Idle),
            }
        }
        let end = end.unwrap_or(End::Gone);
        // Events already taken are committed whatever happens; tell the
        // client which, if it is still there to hear it.
        if !matches!(end, End::Gone | End::WriteTimeout) {
            while let Some(ok) = in_flight.next().await {
                if self.send(ok).await.is_err() {
                    break;
                }
            }
        }
        let close = match end {
            End::Gone | End::WriteTimeout => None,
            End::Idle => Some((CloseCode::Normal, "idle for too long")),
            End::Shutdown => Some((CloseCode::Away, "node shutting down")),
            End::TooLarge => Some((CloseCode::Size, "message too large")),
        };
        if let Some((code, reason)) = close {
            let _ = tokio::time::timeout(
                self.state.node.config.relay.write_timeout,
                self.ws.send(Frame::close(code, reason)),
            )
            .await;
        }
        // Events still in flight when the client vanished are committed by
        // the writer all the same; nobody is left to tell.
        drop(in_flight);
        tracing::debug!(ip = %self.ip, "relay connection closed");
    }

    /// Sends one message and flushes.
    async fn send(&mut self, text: String) -> Result<(), End> {
        Self::within(
            self.state.node.config.relay.write_timeout,
            self.ws.send(Frame::text(text)),
        )
        .await
    }

    /// Queues one message of a run that ends with a [`send`](Self::send):
    /// the socket writes when its buffer fills or at that flush, so a
    /// query's results leave in a few large writes rather than one each.
    async fn feed(&mut self, text: String) -> Result<(), End> {
        Self::within(
            self.state.node.config.relay.write_timeout,
            self.ws.feed(Frame::text(text)),
        )
        .await
    }

    async fn within<E>(
        limit: Duration,
        write: impl Future<Output = Result<(), E>>,
    ) -> Result<(), End> {
        match tokio::time::timeout(limit, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::WriteTimeout),
        }
    }

    async fn on_frame(
        &mut self,
        frame: Result<Frame, WebSocketError>,
        in_flight: &mut FuturesUnordered<OkFuture>,
    ) -> Result<(), End> {
        let limit = self.state.node.config.relay.max_message_bytes;
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                if matches!(e, WebSocketError::FrameTooLarge) {
                    tracing::debug!(ip = %self.ip, "dropping a connection that sent a huge frame");
                }
                return Err(End::Gone);
            }
        };
        match frame.opcode() {
            OpCode::Text | OpCode::Binary if frame.payload().len() > limit => {
                let too_large = format!("invalid: message larger than {limit} bytes");
                let _ = self.send(out::notice(&too_large)).await;
                return Err(End::TooLarge);
            }
            OpCode::Text => {}
            OpCode::Binary => {
                return self
                    .send(out::notice("invalid: binary frames are not Nostr messages"))
                    .await;
            }
            OpCode::Close => return Err(End::Gone),
            _ => return Ok(()),
        }
        // Text frames were checked for UTF-8 as they were read.
        let Ok(text) = std::str::from_utf8(frame.payload()) else {
            return Err(End::Gone);
        };
        let limits = self.state.node.config.relay.bounds();
        match ClientMessage::parse(text, &limits) {
            Ok(ClientMessage::Event(raw)) => {
                let reply = self.on_event(raw, in_flight);
                match reply {
                    Some(ok) => self.send(ok).await,
                    None => Ok(()),
                }
            }
            Ok(ClientMessage::Req { sub, filters }) => self.on_req(sub, filters).await,
            Ok(ClientMessage::Count { sub, filters }) => self.on_count(sub, filters).await,
            Ok(ClientMessage::Close(sub)) => {
                self.subs.remove(&sub);
                if self.subs.is_empty() {
                    self.live = None;
                }
                Ok(())
            }
            Ok(ClientMessage::Auth(raw)) => {
                let reply = self.on_auth(raw).await;
                self.send(reply).await
            }
            Ok(ClientMessage::NegOpen { .. }) if !self.state.node.config.relay.negentropy => {
                let reply = out::notice(&MessageError::UnknownType("NEG-OPEN".into()).to_string());
                self.send(reply).await
            }
            Ok(ClientMessage::NegOpen {
                sub,
                filter,
                message,
            }) => {
                let reply = if self.queries.take(Instant::now()) {
                    let readers = self.gift_wrap_readers();
                    self.negs
                        .open(&self.state, sub, &filter, readers, message)
                        .await
                } else {
                    out::neg_err(&sub, "rate-limited: too many queries; slow down")
                };
                self.send(reply).await
            }
            Ok(ClientMessage::NegMsg { sub, message }) => {
                let reply = self.negs.message(sub, message).await;
                self.send(reply).await
            }
            Ok(ClientMessage::NegClose(sub)) => {
                self.negs.close(&sub);
                Ok(())
            }
            Err(e) => {
                let reply = match (&e, e.subscription()) {
                    (MessageError::NegHex(sub), _) => out::neg_err(sub, &e.to_string()),
                    (_, Some(sub)) => out::closed(sub, &e.to_string()),
                    (_, None) => out::notice(&e.to_string()),
                };
                self.send(reply).await
            }
        }
    }

    /// Starts checking and storing an event; returns an immediate `OK` when
    /// it is refused before that.
    fn on_event(
        &mut self,
        raw: &RawValue,
        in_flight: &mut FuturesUnordered<OkFuture>,
    ) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Id<'a> {
            id: &'a str,
        }
        let id = match serde_json::from_str::<Id<'_>>(raw.get()) {
            // Any case: an upper-case id is answered `invalid:` by its
            // own OK, after validation.
            Ok(Id { id }) if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) => {
                id.to_string()
            }
            _ => return Some(out::notice("invalid: EVENT holds no event with a valid id")),
        };
        let now = Instant::now();
        if !self.events.take(now)
            || (!self.known_node && !self.state.relay.per_ip.take(self.ip, now))
        {
            return Some(out::ok(
                &id,
                false,
                "rate-limited: too many events; slow down",
            ));
        }
        let limits = &self.state.node.config.events;
        if raw.get().len() > limits.max_event_bytes.saturating_mul(2) {
            let reason = format!(
                "invalid: event larger than {} bytes",
                limits.max_event_bytes
            );
            return Some(out::ok(&id, false, &reason));
        }
        let event = match samizdat_core::validate::parse(raw.get()) {
            Ok(event) => event,
            Err(e) => return Some(out::ok(&id, false, &format!("invalid: {e}"))),
        };
        // NIP-70: an event its author marked `["-"]` is taken only from
        // its author, authenticated.
        if samizdat_core::tags::is_protected(&event.tags) && !self.authed.contains(&event.pubkey) {
            return Some(out::ok(
                &id,
                false,
                "auth-required: this event is protected (NIP-70); only its author may publish it",
            ));
        }
        let ingest = self.state.node.ingest.clone();
        in_flight.push(Box::pin(async move {
            let result = ingest.submit(event).await;
            ok_reply(&id, result)
        }));
        None
    }

    async fn on_req(&mut self, sub: SubId, filters: Vec<Filter>) -> Result<(), End> {
        let state = self.state.clone();
        let limits = &state.node.config.relay;
        if !self.subs.contains_key(&sub) && self.subs.len() >= limits.max_subscriptions {
            let reason = format!(
                "blocked: at most {} open subscriptions per connection",
                limits.max_subscriptions
            );
            return self.send(out::closed(&sub, &reason)).await;
        }
        if !self.queries.take(Instant::now()) {
            self.subs.remove(&sub);
            return self
                .send(out::closed(
                    &sub,
                    "rate-limited: too many queries; slow down",
                ))
                .await;
        }
        // Listen before reading the store, so nothing committed in between
        // is missed (it may be sent twice; clients drop duplicates by id).
        if self.live.is_none() {
            self.live = Some(self.state.node.ingest.subscribe());
        }
        self.subs.insert(sub.clone(), filters.clone());
        let mut seen: HashSet<EventId> = HashSet::new();
        let several = filters.len() > 1;
        let readers = self.gift_wrap_readers();
        for filter in &filters {
            let query = Query {
                gift_wraps_for: readers.clone(),
                ..filter.to_query(&limits.bounds())
            };
            let mut rx = super::query::stream(&self.state, query);
            while let Some(item) = rx.recv().await {
                match item {
                    Ok(stored) => {
                        if several && !seen.insert(stored.id) {
                            continue;
                        }
                        self.feed(out::event(&sub, &stored.json)).await?;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "query failed");
                        self.subs.remove(&sub);
                        return self
                            .send(out::closed(&sub, "error: the query failed"))
                            .await;
                    }
                }
            }
        }
        self.send(out::eose(&sub)).await
    }

    async fn on_count(&mut self, sub: SubId, filters: Vec<Filter>) -> Result<(), End> {
        if !self.queries.take(Instant::now()) {
            return self
                .send(out::closed(
                    &sub,
                    "rate-limited: too many queries; slow down",
                ))
                .await;
        }
        let readers = self.gift_wrap_readers();
        let queries = filters
            .iter()
            .map(|f| Query {
                gift_wraps_for: readers.clone(),
                ..f.to_unlimited_query()
            })
            .collect();
        let reply = match super::query::count(&self.state, queries).await {
            Ok(n) => out::count(&sub, n),
            Err(e) => {
                tracing::warn!(error = %e, "count failed");
                out::closed(&sub, "error: the count failed")
            }
        };
        self.send(reply).await
    }

    async fn on_auth(&mut self, raw: &RawValue) -> String {
        let event = match Event::from_json(raw.get()) {
            Ok(event) => event,
            Err(_) => return out::notice("invalid: AUTH holds no valid event"),
        };
        let id = event.id.to_hex();
        // Each AUTH costs signature checks: it counts as a query.
        if !self.queries.take(Instant::now()) {
            return out::ok(&id, false, "rate-limited: too many requests; slow down");
        }
        let room = auth::MAX_READS_FOR.saturating_sub(self.reads_for.len());
        let known = self.reads_for.clone();
        let verified = tokio::task::spawn_blocking(move || {
            if event.verify().is_err() {
                return None;
            }
            let readers = auth::reads_for(&event, &known, room);
            Some((event, readers))
        })
        .await;
        let (event, readers) = match verified {
            Ok(Some(checked)) => checked,
            _ => return out::ok(&id, false, "invalid: signature does not verify"),
        };
        match auth::check(
            &event,
            &self.challenge,
            &self.state.node.config.relay.names,
            self.host.as_deref(),
            Timestamp::now(),
        ) {
            Ok(pubkey) => {
                if !self.authed.contains(&pubkey) {
                    self.authed.push(pubkey);
                }
                let config = &self.state.node.config;
                if !self.known_node && config.is_known_node(&pubkey) {
                    self.known_node = true;
                    self.events =
                        TokenBucket::new(config.relay.node_events_per_second, Instant::now());
                    tracing::debug!(%pubkey, "a known node: its events are not paced as a client's");
                }
                // Checked tokens only, and only for what they grant: the
                // identity's gift wraps, never publishing as it (NIP-70).
                self.reads_for.extend(readers);
                tracing::debug!(%pubkey, "client authenticated");
                // Said once per connection: a client cannot make the
                // node count again and again.
                if std::mem::replace(&mut self.told_held_back, true) {
                    return out::ok(&id, true, "");
                }
                let readers = self.gift_wrap_readers();
                let store = self.state.node.ingest.store().clone();
                out::ok(&id, true, &auth::held_back(store, readers).await)
            }
            Err(e) => out::ok(&id, false, &format!("invalid: {e}")),
        }
    }

    /// Whose gift wraps (sealed records) this client may read: `None` for
    /// all, when it authenticated as a carrier; otherwise those addressed
    /// to the keys it authenticated as (none before it authenticates).
    fn gift_wrap_readers(&self) -> Option<Vec<PublicKey>> {
        let carriers = &self.state.node.config.carriers;
        if self
            .authed
            .iter()
            .any(|key| carriers.iter().any(|c| c.0 == *key))
        {
            None
        } else {
            let mut readers = self.authed.clone();
            readers.extend(self.reads_for.iter().copied());
            Some(readers)
        }
    }

    async fn on_live(&mut self, live: Result<Arc<VerifiedEvent>, Lagged>) -> Result<(), End> {
        match live {
            Ok(event) if !self.may_read(event.event()) => Ok(()),
            Ok(event) => {
                let mut matched = Vec::new();
                for (sub, filters) in &self.subs {
                    if filters.iter().any(|f| f.matches(&event)) {
                        matched.push(sub.clone());
                    }
                }
                for sub in matched {
                    self.send(out::event(&sub, event.json())).await?;
                }
                Ok(())
            }
            Err(Lagged(missed)) => {
                self.live = None;
                let subs: Vec<SubId> = self.subs.drain().map(|(sub, _)| sub).collect();
                let reason = format!(
                    "error: too slow: {missed} live events were not read in time; \
                     subscription closed, open it again with since"
                );
                for sub in subs {
                    self.send(out::closed(&sub, &reason)).await?;
                }
                Ok(())
            }
        }
    }
}

impl Connection {
    /// Whether this client may read `event`: anything but a gift wrap, or
    /// a gift wrap it is allowed ([`gift_wrap_readers`]).
    fn may_read(&self, event: &Event) -> bool {
        if event.kind != sealed::GIFT_WRAP {
            return true;
        }
        match self.gift_wrap_readers() {
            None => true,
            Some(readers) => sealed::recipients(event)
                .iter()
                .any(|to| readers.contains(to)),
        }
    }
}

/// The next live event, or never when the connection has no subscription.
async fn recv_live(live: &mut Option<Subscriber>) -> Result<Arc<VerifiedEvent>, Lagged> {
    match live {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The `OK` for a committed (or refused) event, with NIP-01 prefixes.
fn ok_reply(id: &str, result: Result<InsertOutcome, IngestError>) -> String {
    match result {
        Ok(InsertOutcome::Stored | InsertOutcome::Ephemeral) => out::ok(id, true, ""),
        Ok(InsertOutcome::Duplicate) => out::ok(id, true, "duplicate: already have this event"),
        Ok(InsertOutcome::Superseded) => out::ok(
            id,
            true,
            "duplicate: a newer version of this event is stored",
        ),
        Ok(InsertOutcome::Deleted) => out::ok(id, false, "blocked: its author deleted this event"),
        Err(IngestError::Invalid(e)) => out::ok(id, false, &format!("invalid: {e}")),
        Err(IngestError::Store(e)) if e.is_full() => {
            tracing::error!(error = %e, "the disk is full: an event was refused");
            out::ok(
                id,
                false,
                "error: this node's disk is full; the event was not stored, send it again later",
            )
        }
        Err(IngestError::Store(e)) => {
            tracing::error!(error = %e, "storing an event failed");
            out::ok(id, false, "error: could not store the event")
        }
        Err(IngestError::Stopped) => out::ok(id, false, "error: the node is shutting down"),
    }
}
