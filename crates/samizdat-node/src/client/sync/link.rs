//! One WebSocket connection to a peer relay, as the sync client sees it:
//! JSON arrays in and out, every wait bounded, every byte counted.

use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use samizdat_core::nostr::prelude::{EventBuilder, FinalizeEvent, Keys, Kind, Tag};
use yawc::{Frame, OpCode};

use samizdat_core::delegation::ReadsFor;

use super::SyncError;
use crate::client::proxy::Proxy;
use crate::client::wire::{Dial, Meter, Socket};
use crate::proto::client::{RelayMessage, send};
use crate::route::RelayUrl;

/// Largest message taken from a peer: a peer is not trusted to be small.
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

pub struct Link {
    socket: Socket,
    /// The peer's address.
    url: RelayUrl,
    /// What crossed this link's sockets (the connection it replaced
    /// included, see [`reconnect`](Self::reconnect)), compressed and
    /// framed: the bytes the network carried.
    meter: Arc<Meter>,
    /// How long to wait for any one message before giving up on the peer.
    pub patience: Duration,
    /// When the window closes: no wait goes past it.
    pub deadline: Option<tokio::time::Instant>,
    /// The node key this side authenticates with (NIP-42), if any, and
    /// the identities' tokens it shows with it (`delegation` tags).
    identity: Option<Keys>,
    reads_for: Vec<ReadsFor>,
    /// Whether the peer accepted that authentication.
    pub authenticated: bool,
    /// What the peer said it holds back from this node (`held back: …`
    /// in its answer to `AUTH`): sealed records for other readers.
    pub held_back: Option<String>,
}

/// A second connection to a link's peer, to be opened (see
/// [`Link::sibling`]).
pub struct Sibling {
    url: RelayUrl,
    patience: Duration,
    meter: Arc<Meter>,
    deadline: Option<tokio::time::Instant>,
    identity: Option<Keys>,
    reads_for: Vec<ReadsFor>,
}

impl Sibling {
    pub async fn open(self, proxy: Option<&Proxy>) -> Result<Link, SyncError> {
        let mut other = Link::metered(&self.url, self.patience, proxy, self.meter).await?;
        other.deadline = self.deadline;
        other.identity = self.identity;
        other.reads_for = self.reads_for;
        other.authenticate(&self.url).await?;
        Ok(other)
    }
}

/// How long to wait for a peer's NIP-42 challenge after connecting. A
/// samizdat node sends it at once; a relay that sends none costs this
/// much per connection.
const CHALLENGE_WAIT: Duration = Duration::from_secs(1);

impl Link {
    /// Opens the WebSocket (`ws://` or `wss://`), directly or through
    /// `proxy`, offering permessage-deflate.
    /// With `identity`, it then answers the peer's NIP-42 challenge.
    pub async fn connect(
        url: &RelayUrl,
        patience: Duration,
        proxy: Option<&Proxy>,
        identity: Option<&Keys>,
        reads_for: &[ReadsFor],
    ) -> Result<Link, SyncError> {
        let mut link = Self::metered(url, patience, proxy, Arc::default()).await?;
        link.identity = identity.cloned();
        link.reads_for = reads_for.to_vec();
        link.authenticate(url).await?;
        Ok(link)
    }

    async fn metered(
        url: &RelayUrl,
        patience: Duration,
        proxy: Option<&Proxy>,
        meter: Arc<Meter>,
    ) -> Result<Link, SyncError> {
        let dial = Dial {
            max_message_bytes: MAX_MESSAGE_BYTES,
            compress: true,
            patience,
        };
        let socket = crate::client::wire::connect(url, dial, proxy, meter.clone())
            .await
            .map_err(|source| SyncError::Connect {
                url: url.to_string(),
                source,
            })?;
        Ok(Link {
            socket,
            url: url.clone(),
            meter,
            patience,
            deadline: None,
            identity: None,
            reads_for: Vec::new(),
            authenticated: false,
            held_back: None,
        })
    }

    /// Answers the challenge the peer sends on connecting, if it sends
    /// one soon, and waits for its verdict. A refusal is not an error:
    /// the peer then treats this side as any client.
    async fn authenticate(&mut self, url: &RelayUrl) -> Result<(), SyncError> {
        let Some(keys) = self.identity.clone() else {
            return Ok(());
        };
        let challenge = match self.recv_within(self.patience.min(CHALLENGE_WAIT)).await {
            Ok(text) => match RelayMessage::parse(&text) {
                Ok(RelayMessage::Auth { challenge }) => challenge.into_owned(),
                _ => {
                    tracing::debug!(peer = %url, message = %text, "no NIP-42 challenge");
                    return Ok(());
                }
            },
            Err(SyncError::Timeout(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut tags = [["relay", url.as_str()], ["challenge", challenge.as_str()]]
            .into_iter()
            .map(Tag::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| SyncError::Protocol(e.to_string()))?;
        // The identities that vouched this node reads their sealed records.
        for token in &self.reads_for {
            tags.push(Tag::parse(token.to_tag()).map_err(|e| SyncError::Protocol(e.to_string()))?);
        }
        let event = EventBuilder::new(Kind::Authentication, "")
            .tags(tags)
            .finalize(&keys)
            .map_err(|e| SyncError::Protocol(e.to_string()))?;
        let id = event.id.to_hex();
        self.send(send::auth(&event.as_json())).await?;
        // Bounded: a few messages at most come before the answer.
        for _ in 0..16 {
            let text = self.recv().await?;
            if let Ok(RelayMessage::Ok {
                id: answered,
                accepted,
                message,
            }) = RelayMessage::parse(&text)
                && answered == id
            {
                self.authenticated = accepted;
                if accepted && message.starts_with("held back:") {
                    self.held_back = Some(message.to_string());
                }
                if !accepted {
                    tracing::info!(peer = %url, reason = %message, "authentication refused");
                }
                return Ok(());
            }
        }
        Err(SyncError::Protocol("no answer to AUTH".into()))
    }

    /// A fresh connection to the same peer in place of this one, its
    /// bytes counted with this one's.
    pub async fn reconnect(&mut self, proxy: Option<&Proxy>) -> Result<(), SyncError> {
        let url = self.url.clone();
        let mut fresh = Self::metered(&url, self.patience, proxy, self.meter.clone()).await?;
        fresh.deadline = self.deadline;
        fresh.identity = self.identity.clone();
        fresh.reads_for = self.reads_for.clone();
        fresh.authenticate(&url).await?;
        std::mem::replace(self, fresh).close().await;
        Ok(())
    }

    /// What opens a second connection to the same peer beside this one,
    /// authenticated the same way, its bytes counted with this one's:
    /// events can cross both ways at once, each way on its own
    /// connection. Taken apart from the link, so that the link can be
    /// used while the other is dialled.
    pub fn sibling(&self) -> Sibling {
        Sibling {
            url: self.url.clone(),
            patience: self.patience,
            meter: self.meter.clone(),
            deadline: self.deadline,
            identity: self.identity.clone(),
            reads_for: self.reads_for.clone(),
        }
    }

    /// The peer's address.
    pub fn url(&self) -> &RelayUrl {
        &self.url
    }

    pub fn bytes_in(&self) -> u64 {
        self.meter.read()
    }

    pub fn bytes_out(&self) -> u64 {
        self.meter.written()
    }

    pub fn bytes(&self) -> u64 {
        self.bytes_in() + self.bytes_out()
    }

    /// Queues a message; [`flush`](Self::flush) or [`send`](Self::send)
    /// writes it.
    pub async fn feed(&mut self, text: String) -> Result<(), SyncError> {
        let sending = self.socket.feed(Frame::text(text));
        bounded(self.deadline, self.patience, "sending", sending)
            .await?
            .map_err(|source| SyncError::Socket { source })
    }

    pub async fn flush(&mut self) -> Result<(), SyncError> {
        bounded(self.deadline, self.patience, "sending", self.socket.flush())
            .await?
            .map_err(|source| SyncError::Socket { source })
    }

    pub async fn send(&mut self, text: String) -> Result<(), SyncError> {
        self.feed(text).await?;
        self.flush().await
    }

    /// The next message that reads as a relay message
    /// ([`RelayMessage::parse`] takes it), as its text, waiting at most
    /// `patience`. Messages that do not read are skipped (and counted).
    pub async fn recv(&mut self) -> Result<String, SyncError> {
        self.recv_within(self.patience).await
    }

    pub async fn recv_within(&mut self, wait: Duration) -> Result<String, SyncError> {
        // Bounded: at most this many unreadable messages in a row.
        for _ in 0..1_000 {
            let text = self.recv_text_within(wait).await?;
            match RelayMessage::parse(&text) {
                Ok(_) => return Ok(text),
                Err(e) => {
                    tracing::debug!(message = %text, error = %e, "unreadable message from the peer")
                }
            }
        }
        Err(SyncError::Link("the peer sends nothing readable".into()))
    }

    /// The next text message as it came, waiting at most `patience`: for a
    /// caller that reads the messages it expects most in its own way, and
    /// the others with [`RelayMessage::parse`].
    pub async fn recv_text(&mut self) -> Result<String, SyncError> {
        self.recv_text_within(self.patience).await
    }

    async fn recv_text_within(&mut self, wait: Duration) -> Result<String, SyncError> {
        // Bounded: at most this many frames that are not text in a row.
        for _ in 0..1_000 {
            let frame = bounded(
                self.deadline,
                wait,
                "waiting for the peer",
                self.socket.next_frame(),
            )
            .await?
            .map_err(|e| match e {
                yawc::WebSocketError::ConnectionClosed => {
                    SyncError::Link("the peer closed the connection".into())
                }
                source => SyncError::Socket { source },
            })?;
            match frame.opcode() {
                OpCode::Text => match String::from_utf8(frame.into_payload().to_vec()) {
                    Ok(text) => return Ok(text),
                    Err(_) => continue,
                },
                OpCode::Close => {
                    let reason = frame.close_reason().ok().flatten().unwrap_or_default();
                    return Err(SyncError::Link(format!(
                        "the peer closed the connection{}",
                        if reason.is_empty() {
                            String::new()
                        } else {
                            format!(": {reason}")
                        }
                    )));
                }
                _ => continue,
            }
        }
        Err(SyncError::Link(
            "the peer sends nothing but binary frames".into(),
        ))
    }

    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.socket.close()).await;
    }
}

/// Waits for `future` at most `wait`, and not past `deadline`: a wait
/// the window cuts short is [`SyncError::WindowClosed`], not a timeout.
async fn bounded<T>(
    deadline: Option<tokio::time::Instant>,
    wait: Duration,
    what: &'static str,
    future: impl std::future::Future<Output = T>,
) -> Result<T, SyncError> {
    let left = deadline.map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
    match left {
        Some(left) if left < wait => tokio::time::timeout(left, future)
            .await
            .map_err(|_| SyncError::WindowClosed),
        _ => tokio::time::timeout(wait, future)
            .await
            .map_err(|_| SyncError::Timeout(what)),
    }
}
