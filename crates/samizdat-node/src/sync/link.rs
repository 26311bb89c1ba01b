//! One WebSocket connection to a peer relay, as the sync client sees it:
//! JSON arrays in and out, every wait bounded, every byte counted.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::SyncError;
use crate::proxy::Proxy;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Largest message taken from a peer: a peer is not trusted to be small.
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

pub struct Link {
    socket: Socket,
    /// How long to wait for any one message before giving up on the peer.
    pub patience: Duration,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// When the window closes: no wait goes past it.
    pub deadline: Option<tokio::time::Instant>,
}

impl Link {
    /// Opens the WebSocket (`ws://` or `wss://`), directly or through
    /// `proxy`.
    pub async fn connect(
        url: &str,
        patience: Duration,
        proxy: Option<&Proxy>,
    ) -> Result<Link, SyncError> {
        let failed = |e: String| SyncError::Connect(url.to_string(), e);
        crate::outbound::install_tls_provider();
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(MAX_MESSAGE_BYTES);
        config.max_frame_size = Some(MAX_MESSAGE_BYTES);
        let request = url
            .into_client_request()
            .map_err(|e| failed(e.to_string()))?;
        let connecting = async {
            match proxy {
                None => tokio_tungstenite::connect_async_with_config(request, Some(config), true)
                    .await
                    .map_err(|e| failed(e.to_string())),
                Some(proxy) => {
                    let uri = request.uri();
                    let host = uri
                        .host()
                        .ok_or_else(|| failed("no host".into()))?
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_string();
                    let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
                        Some("wss") => 443,
                        _ => 80,
                    });
                    let stream = proxy
                        .connect(&host, port, patience)
                        .await
                        .map_err(|e| failed(e.to_string()))?;
                    let _ = stream.set_nodelay(true);
                    tokio_tungstenite::client_async_tls_with_config(
                        request,
                        stream,
                        Some(config),
                        None,
                    )
                    .await
                    .map_err(|e| failed(format!("through {proxy}: {e}")))
                }
            }
        };
        let (socket, _) = tokio::time::timeout(patience, connecting)
            .await
            .map_err(|_| failed("timed out".into()))??;
        Ok(Link {
            socket,
            patience,
            bytes_in: 0,
            bytes_out: 0,
            deadline: None,
        })
    }

    pub fn bytes(&self) -> u64 {
        self.bytes_in + self.bytes_out
    }

    /// Queues a message; [`flush`](Self::flush) or [`send`](Self::send)
    /// writes it.
    pub async fn feed(&mut self, text: String) -> Result<(), SyncError> {
        self.bytes_out += text.len() as u64;
        let sending = self.socket.feed(Message::text(text));
        bounded(self.deadline, self.patience, "sending", sending)
            .await?
            .map_err(|e| SyncError::Link(e.to_string()))
    }

    pub async fn flush(&mut self) -> Result<(), SyncError> {
        bounded(self.deadline, self.patience, "sending", self.socket.flush())
            .await?
            .map_err(|e| SyncError::Link(e.to_string()))
    }

    pub async fn send(&mut self, text: String) -> Result<(), SyncError> {
        self.feed(text).await?;
        self.flush().await
    }

    /// The next message as a JSON array, with its raw text, waiting at most
    /// `patience`. Messages that are not JSON arrays are skipped (and
    /// counted).
    pub async fn recv(&mut self) -> Result<(Vec<Value>, String), SyncError> {
        self.recv_within(self.patience).await
    }

    pub async fn recv_within(&mut self, wait: Duration) -> Result<(Vec<Value>, String), SyncError> {
        // Bounded: at most this many unreadable messages in a row.
        for _ in 0..1_000 {
            let message = bounded(
                self.deadline,
                wait,
                "waiting for the peer",
                self.socket.next(),
            )
            .await?
            .ok_or_else(|| SyncError::Link("the peer closed the connection".into()))?
            .map_err(|e| SyncError::Link(e.to_string()))?;
            let text = match message {
                Message::Text(text) => text.to_string(),
                Message::Close(frame) => {
                    return Err(SyncError::Link(format!(
                        "the peer closed the connection{}",
                        frame.map_or(String::new(), |f| format!(": {}", f.reason))
                    )));
                }
                _ => continue,
            };
            self.bytes_in += text.len() as u64;
            if let Ok(Value::Array(array)) = serde_json::from_str::<Value>(&text) {
                return Ok((array, text));
            }
            tracing::debug!(message = %text, "unreadable message from the peer");
        }
        Err(SyncError::Link("the peer sends nothing readable".into()))
    }

    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.socket.close(None)).await;
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

/// `array[i]` as a string, or "".
pub fn str_at(array: &[Value], i: usize) -> &str {
    array.get(i).and_then(Value::as_str).unwrap_or("")
}
