//! The targets: every parser of outside input, each behind the function
//! the node or the command line calls it through.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use samizdat_core::nostr::prelude::Timestamp;
use samizdat_node::proto::message::ClientMessage;

use crate::{Target, seeds};

/// Every target, by name, in a fixed order.
pub fn all() -> Vec<Target> {
    let media = |name: &'static str, seeds: Vec<Vec<u8>>| Target {
        name,
        seeds,
        run: Box::new(|b: &[u8]| {
            let _ = samizdat_media::strip(b);
            let _ = samizdat_media::admit(b);
            let _ = samizdat_media::inspect(b);
        }),
    };
    vec![
        media("jpeg", seeds::jpeg()),
        media("png", seeds::png()),
        media("webp", seeds::webp()),
        media("gif", seeds::gif()),
        media("heif", seeds::heif_images()),
        media("iso-media", seeds::iso_media()),
        media("mp3", seeds::mp3()),
        media("ogg", seeds::ogg()),
        media("wav", seeds::wav()),
        media("flac", seeds::flac()),
        media("amr", seeds::amr()),
        media("matroska", seeds::matroska()),
        media("noise", seeds::noise()),
        Target {
            name: "bundle",
            seeds: seeds::bundle(),
            run: Box::new(|b: &[u8]| {
                let _ = samizdat_bundle::unpack(b, &mut Drain, &samizdat_bundle::Limits::default());
            }),
        },
        Target {
            name: "call-block",
            seeds: seeds::call_blocks(),
            run: Box::new(|b: &[u8]| {
                let _ = samizdat_node::call::unpack(b);
            }),
        },
        Target {
            name: "call-wav",
            seeds: seeds::call_wavs(),
            run: Box::new(|b: &[u8]| {
                if let Ok(samples) = samizdat_voice::wav::read(b) {
                    // Hearing costs time in proportion to the sound: a
                    // few seconds is enough to reach every branch.
                    let _ = samizdat_voice::Receiver::new()
                        .listen(&samples[..samples.len().min(24_000)]);
                }
            }),
        },
        Target {
            name: "want",
            seeds: seeds::want(),
            run: Box::new(|b: &[u8]| {
                let _ = samizdat_bundle::Want::read(b);
            }),
        },
        Target {
            name: "relay-message",
            seeds: seeds::relay_messages(),
            run: Box::new(relay_message),
        },
        Target {
            name: "relay-answer",
            seeds: seeds::relay_answers(),
            run: Box::new(relay_answer),
        },
        Target {
            name: "nip77",
            seeds: seeds::nip77_messages(),
            run: Box::new(nip77_message),
        },
        Target {
            name: "blossom-auth",
            seeds: seeds::blossom_authorizations(),
            run: Box::new(|b: &[u8]| {
                let header = String::from_utf8_lossy(b);
                if let Ok(event) = samizdat_node::server::blossom::auth::parse(Some(&header)) {
                    use samizdat_node::server::blossom::auth::{Verb, check};
                    for verb in [Verb::Upload, Verb::List, Verb::Delete] {
                        let _ = check(&event, verb, None, Timestamp::from_secs(1_800_000_000));
                    }
                }
            }),
        },
        Target {
            name: "pfif",
            seeds: seeds::pfif(),
            run: Box::new(|b: &[u8]| {
                let _ = samizdat_people::pfif::parse(&String::from_utf8_lossy(b));
            }),
        },
        drop_box(),
    ]
}

/// A bundle's members read to their end and dropped.
pub struct Drain;

impl samizdat_bundle::Sink for Drain {
    fn events(&mut self, _: u32, data: &mut dyn Read) -> std::io::Result<()> {
        std::io::copy(data, &mut std::io::sink()).map(drop)
    }

    fn blob(&mut self, _: [u8; 32], _: u64, data: &mut dyn Read) -> std::io::Result<()> {
        std::io::copy(data, &mut std::io::sink()).map(drop)
    }
}

fn relay_message(b: &[u8]) {
    let Ok(text) = std::str::from_utf8(b) else {
        return;
    };
    let limits = samizdat_node::Config::default().relay.bounds();
    if let Ok(ClientMessage::Event(raw) | ClientMessage::Auth(raw)) =
        ClientMessage::parse(text, &limits)
        && let Ok(event) = samizdat_core::validate::parse(raw.get())
    {
        let _ = samizdat_core::validate::validate(
            event,
            &samizdat_core::Limits::default(),
            Timestamp::from_secs(1_800_000_000),
        );
    }
    let _ = samizdat_core::validate::parse(text);
}

/// What a relay sends a client, as sync and publishing read it: the
/// message, then what each part is taken apart into.
fn relay_answer(b: &[u8]) {
    use samizdat_node::proto::client::{RelayMessage, claimed_id};
    let Ok(text) = std::str::from_utf8(b) else {
        return;
    };
    match RelayMessage::parse(text) {
        Ok(RelayMessage::Event {
            event: Some(raw), ..
        }) => {
            let _ = claimed_id(raw);
            let _ = samizdat_core::validate::parse(raw.get());
        }
        Ok(RelayMessage::NegMsg { message, .. }) => {
            let _ = samizdat_node::proto::nip77::from_hex(&message);
        }
        _ => {}
    }
}

fn nip77_message(b: &[u8]) {
    let keys: Vec<(u64, [u8; 32])> = (0..64u64)
        .map(|i| {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9).to_be_bytes());
            (1_700_000_000 + i, id)
        })
        .collect();
    let storage = samizdat_node::proto::nip77::keys::KeyStorage::vector(keys);
    if let Ok(mut server) = samizdat_node::proto::nip77::Reconciler::new(storage, 4096) {
        let _ = server.answer(b);
        // A second message on the same session, as a peer would send.
        let _ = server.answer(b);
    }
    let _ = samizdat_node::proto::nip77::from_hex(&String::from_utf8_lossy(b));
}

/// The drop box's form, posted to a real node in this process over
/// loopback: whatever the body, the node answers, and keeps answering.
fn drop_box() -> Target {
    let node = match LocalNode::start() {
        Ok(node) => Some(node),
        Err(e) => {
            eprintln!("fuzz: the drop-box target has no node: {e}");
            None
        }
    };
    Target {
        name: "multipart",
        seeds: seeds::multipart(),
        run: Box::new(move |b: &[u8]| {
            if let Some(node) = &node {
                node.post_form(b);
            }
        }),
    }
}

/// A node on a temporary data directory, served on a loopback port by a
/// runtime of its own, with the CSRF cookie and token of one session.
struct LocalNode {
    addr: SocketAddr,
    cookie: String,
    token: String,
    _runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

impl LocalNode {
    fn start() -> anyhow::Result<LocalNode> {
        let dir = tempfile::tempdir()?;
        let store = samizdat_store::Store::open(dir.path())?;
        let mut config = samizdat_node::Config {
            listen: "127.0.0.1:0".parse()?,
            ..Default::default()
        };
        config.web.submissions_per_hour = u32::MAX / 2;
        config.web.max_upload_bytes = 1 << 20;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let node = runtime.block_on(samizdat_node::Node::bind(config, store))?;
        let addr = node.local_addr();
        runtime.spawn(node.run(std::future::pending()));
        let page = exchange(
            addr,
            b"GET /submit/testimony HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )?;
        let page = String::from_utf8_lossy(&page);
        let cookie = page
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .and_then(|c| c.split(';').next())
            .ok_or_else(|| anyhow::anyhow!("no CSRF cookie"))?
            .to_string();
        let token = cookie.trim_start_matches("samizdat_csrf=").to_string();
        Ok(LocalNode {
            addr,
            cookie,
            token,
            _runtime: runtime,
            _dir: dir,
        })
    }

    fn post_form(&self, body: &[u8]) {
        let body = String::from_utf8_lossy(body)
            .replace("CSRF", &self.token)
            .into_bytes();
        let mut request = format!(
            "POST /submit/testimony HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {}\r\n\
             Content-Type: multipart/form-data; boundary=BOUNDARY\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.cookie,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(&body);
        let answer = exchange(self.addr, &request).unwrap_or_default();
        if answer.starts_with(b"HTTP/1.1 ") {
            return;
        }
        // Closing on a form it will not read is an answer too; a node that
        // answers nothing any more is the failure.
        let health = exchange(
            self.addr,
            b"GET /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .unwrap_or_default();
        assert!(
            health.starts_with(b"HTTP/1.1 200"),
            "the node stopped answering after a form: {:?}",
            String::from_utf8_lossy(&answer[..answer.len().min(200)])
        );
    }
}

/// Sends `request` and reads the whole answer (bounded by ten seconds).
fn exchange(addr: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    // The node may answer (and close) before it has read a body it
    // refuses: what it said is still there to read.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    Ok(answer)
}
