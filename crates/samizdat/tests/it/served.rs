//! A running `samizdat serve` process and a WebSocket client for it. Every
//! wait is bounded: a test that hangs fails with what it was waiting for.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::Node;

/// How long any single expected message may take.
pub const WAIT: Duration = Duration::from_secs(20);

/// `samizdat serve` on a loopback port chosen by the system.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    /// The console's address with its access key, as `serve` printed it.
    pub console: String,
    /// The data directory, when this owns it: a node whose directory is
    /// removed stops.
    _node: Option<Node>,
}

impl Served {
    /// Starts the node on `node`'s data directory, with `config` written to
    /// a samizdat.toml beside it.
    pub fn start(node: &Node, config: &str) -> Served {
        Served::start_with(node, config, |_| {})
    }

    /// Like [`Served::start`], with the command changed by `change` first.
    pub fn start_with(
        node: &Node,
        config: &str,
        change: impl FnOnce(&mut std::process::Command),
    ) -> Served {
        let config_path = node.dir.path().join("samizdat.toml");
        std::fs::write(&config_path, config).expect("config written");
        let mut command = node.command(&["--json", "serve", "--listen", "127.0.0.1:0", "--config"]);
        change(&mut command);
        let mut child = command
            .arg(&config_path)
            .stdout(Stdio::piped())
            // The node's log, kept beside its data for a failing test.
            .stderr(
                std::fs::File::create(node.dir.path().join("serve.log"))
                    .map_or_else(|_| Stdio::null(), Stdio::from),
            )
            .spawn()
            .expect("samizdat serve starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("serve prints where it listens");
        let announced: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("serve's first line {line:?}: {e}"));
        let relay = announced["relay"].as_str().expect("relay address");
        let addr = relay
            .trim_start_matches("ws://")
            .parse()
            .expect("a socket address");
        let console = announced["console"]
            .as_str()
            .expect("the console's address")
            .to_string();
        Served {
            child,
            addr,
            console,
            _node: None,
        }
    }

    /// A node started some other way, announced on `addr`.
    pub fn from_child(child: Child, addr: SocketAddr, console: String) -> Served {
        Served {
            child,
            addr,
            console,
            _node: None,
        }
    }

    /// Like [`Served::start`], keeping `node` (its data directory) for as
    /// long as the node runs.
    pub fn start_owned(node: Node, config: &str) -> Served {
        let mut served = Served::start(&node, config);
        served._node = Some(node);
        served
    }

    /// The console's access key.
    pub fn console_key(&self) -> &str {
        self.console.rsplit("key=").next().unwrap_or("")
    }

    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    pub async fn client(&self) -> Client {
        Client::connect(&self.url()).await
    }

    /// Sends a signal and waits (bounded) for the process to exit.
    pub fn stop(&mut self, signal: i32) -> std::process::ExitStatus {
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(self.child.id() as i32, signal);
        }
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the node did not exit within {WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Served {
    /// Waits (at most `within`) for the process to exit on its own.
    pub fn stop_by_itself(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the node did not exit within {within:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The NIP-42 challenge the node sent on connect.
    pub challenge: String,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio::time::timeout(WAIT, connect_async(url))
            .await
            .expect("connect in time")
            .expect("connects");
        let mut client = Client {
            ws,
            challenge: String::new(),
        };
        let auth = client.recv().await;
        assert_eq!(auth[0], "AUTH", "first message is the challenge: {auth}");
        client.challenge = auth[1].as_str().expect("challenge").to_string();
        client
    }

    /// Connects to a relay that sends no challenge (not a samizdat node).
    pub async fn connect_plain(url: &str) -> Client {
        let (ws, _) = tokio::time::timeout(WAIT, connect_async(url))
            .await
            .expect("connect in time")
            .expect("connects");
        Client {
            ws,
            challenge: String::new(),
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.send_text(message.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        tokio::time::timeout(WAIT, self.ws.send(Message::text(text)))
            .await
            .expect("send in time")
            .expect("sent");
    }

    /// The next message, as JSON; panics on close or after [`WAIT`].
    pub async fn recv(&mut self) -> Value {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a message in time")
                .expect("connection open")
                .expect("a frame");
            match frame {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str()).expect("JSON from the node");
                }
                Message::Close(frame) => panic!("closed by the node: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// Publishes an event and returns its `OK` (accepted, message).
    pub async fn publish(
        &mut self,
        event: &samizdat_core::nostr::prelude::Event,
    ) -> (bool, String) {
        self.send(serde_json::json!(["EVENT", event])).await;
        let ok = self.recv().await;
        assert_eq!(ok[0], "OK", "{ok}");
        assert_eq!(ok[1], event.id.to_hex(), "{ok}");
        (
            ok[2].as_bool().expect("bool"),
            ok[3].as_str().expect("message").to_string(),
        )
    }

    /// Sends a `REQ` and collects stored events up to `EOSE`.
    pub async fn req(&mut self, sub: &str, filters: Vec<Value>) -> Vec<Value> {
        let mut message = vec![Value::from("REQ"), Value::from(sub)];
        message.extend(filters);
        self.send(Value::Array(message)).await;
        let mut events = Vec::new();
        for _ in 0..100_000 {
            let m = self.recv().await;
            match m[0].as_str() {
                Some("EVENT") if m[1] == sub => events.push(m[2].clone()),
                Some("EOSE") if m[1] == sub => return events,
                _ => panic!("unexpected while waiting for EOSE: {m}"),
            }
        }
        panic!("no EOSE after 100000 messages")
    }

    /// Like [`Client::req`], then closes the subscription.
    pub async fn req_once(&mut self, sub: &str, filters: Vec<Value>) -> Vec<Value> {
        let events = self.req(sub, filters).await;
        self.send(serde_json::json!(["CLOSE", sub])).await;
        events
    }

    /// Waits for the close frame and returns its code and reason.
    pub async fn closed(&mut self) -> (u16, String) {
        for _ in 0..100_000 {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("close in time");
            match frame {
                Some(Ok(Message::Close(Some(f)))) => return (f.code.into(), f.reason.to_string()),
                Some(Ok(Message::Close(None))) | None => return (1005, String::new()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("connection failed instead of closing: {e}"),
            }
        }
        panic!("no close after 100000 frames")
    }
}
