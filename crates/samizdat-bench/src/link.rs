//! A distant link, emulated in user space: a TCP proxy that holds each
//! chunk of bytes for half a round trip (plus jitter) before passing it
//! on, in order, and stalls now and then as TCP does when a packet is
//! lost. The link's rate is not set here but by the kernel (`tc tbf` on
//! the drill's veth pair), so the bytes queue where a real bottleneck
//! queues them.
//!
//! Bounded: each direction holds at most `MAX_HELD` chunks (of at most
//! `CHUNK` bytes); past it the proxy stops reading, and TCP's flow
//! control pushes back on the sender. Killing the process is the drill's
//! cut: every connection through it ends at once, wherever it was.
//!
//! The emulation's limits: TCP on each side of the proxy sees a short
//! round trip, so its congestion window opens faster than over a real
//! distant path; a loss costs a stall (the retransmission timeout, as
//! the application sees it) but does not shrink the rate.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use rand::RngExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use crate::BenchLinkArgs;

/// Largest chunk read and held at once: about a few packets.
const CHUNK: usize = 4 * 1024;
/// Chunks held per direction of one connection.
const MAX_HELD: usize = 256;
/// TCP's segment payload on an Ethernet path: what one loss is counted on.
const SEGMENT: f64 = 1448.0;
/// The least retransmission timeout (Linux's).
const MIN_RTO: Duration = Duration::from_millis(200);

/// How one direction delays what crosses it.
#[derive(Debug, Clone, Copy)]
struct Shape {
    one_way: Duration,
    jitter: Duration,
    loss: f64,
    rto: Duration,
}

pub fn run(args: BenchLinkArgs) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(serve(args))
}

async fn serve(args: BenchLinkArgs) -> Result<()> {
    let shape = Shape {
        one_way: args.rtt / 2,
        jitter: args.jitter,
        loss: args.loss.clamp(0.0, 0.5),
        rto: MIN_RTO.max(args.rtt + args.jitter * 4),
    };
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    eprintln!(
        "link: {} → {}, {:?} round trip, ±{:?} jitter, {:.1} % loss",
        args.listen,
        args.to,
        args.rtt,
        args.jitter,
        shape.loss * 100.0
    );
    loop {
        let (client, _) = listener.accept().await?;
        let to = args.to;
        tokio::spawn(async move {
            if let Err(e) = carry(client, to, shape).await {
                eprintln!("link: a connection ended: {e:#}");
            }
        });
    }
}

/// One connection, both ways, until either side closes.
async fn carry(client: TcpStream, to: SocketAddr, shape: Shape) -> Result<()> {
    let upstream = TcpStream::connect(to)
        .await
        .with_context(|| format!("connecting to {to}"))?;
    for socket in [&client, &upstream] {
        socket.set_nodelay(true)?;
    }
    // The connection itself costs one round trip (the SYN and its answer),
    // taken before the first byte moves.
    tokio::time::sleep(shape.one_way * 2).await;
    let (client_in, client_out) = client.into_split();
    let (up_in, up_out) = upstream.into_split();
    // Each way ends on its own (a half-closed connection still carries
    // the other way); an error on either ends both.
    let there = pump(client_in, up_out, shape);
    let back = pump(up_in, client_out, shape);
    tokio::pin!(there, back);
    tokio::select! {
        r = &mut there => { r?; back.await }
        r = &mut back => { r?; there.await }
    }
}

/// Reads from `from`, holds each chunk until it is due, writes it to `to`
/// in the order it came.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    shape: Shape,
) -> Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(Instant, Vec<u8>)>(MAX_HELD);
    let reader = async move {
        let mut last_due = Instant::now();
        loop {
            let mut buf = vec![0u8; CHUNK];
            let n = from.read(&mut buf).await?;
            if n == 0 {
                return anyhow::Ok(());
            }
            buf.truncate(n);
            let due = {
                let mut rng = rand::rng();
                let jitter = if shape.jitter.is_zero() {
                    0.0
                } else {
                    rng.random_range(-1.0..1.0) * shape.jitter.as_secs_f64()
                };
                let delay = (shape.one_way.as_secs_f64() + jitter).max(0.0);
                // The chance that one of this chunk's segments was lost.
                let segments = (n as f64 / SEGMENT).ceil();
                let lost = rng.random::<f64>() < 1.0 - (1.0 - shape.loss).powf(segments);
                let stall = if lost { shape.rto.as_secs_f64() } else { 0.0 };
                // In order, as TCP delivers: never before the chunk ahead.
                (Instant::now() + Duration::from_secs_f64(delay + stall)).max(last_due)
            };
            last_due = due;
            if tx.send((due, buf)).await.is_err() {
                return Ok(());
            }
        }
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            to.write_all(&chunk).await?;
        }
        to.shutdown().await?;
        anyhow::Ok(())
    };
    let (read, write) = tokio::join!(reader, writer);
    read.and(write)
}
