//! The least one acknowledged event costs on this machine, measured in
//! the same run as the relays.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow};

use super::ANSWER_TIMEOUT;

/// Rounds of each floor measurement (a flush, a round trip).
const FLOOR_ROUNDS: u32 = 500;

/// The least one acknowledged event costs on this machine, whoever stores
/// it: the sender waits for a durable flush, for its message to cross to
/// another process and the answer to come back, and for one signature
/// check. Nothing else is counted, so the true ceiling is lower.
pub(super) struct Floor {
    pub(super) flush: Duration,
    pub(super) round_trip: Duration,
    pub(super) verify: Duration,
}

impl Floor {
    pub(super) fn measure(verify_per_s: f64, cores: usize) -> Result<Floor> {
        Ok(Floor {
            flush: flush_floor()?,
            round_trip: round_trip_floor()?,
            verify: Duration::from_secs_f64(cores as f64 / verify_per_s),
        })
    }

    /// Events per second with one in flight, at best.
    pub(super) fn per_s(&self) -> f64 {
        1.0 / (self.flush + self.round_trip + self.verify).as_secs_f64()
    }
}

/// One 8 KiB page rewritten in place and flushed with `fdatasync`, in a
/// temporary directory (where the relays keep their data too): the least
/// a durable commit waits for. Mean of [`FLOOR_ROUNDS`].
fn flush_floor() -> Result<Duration> {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let file = std::fs::File::create(dir.path().join("flush"))?;
    let page = [0x5a_u8; 8192];
    file.write_all_at(&page, 0)?;
    file.sync_all()?;
    let started = Instant::now();
    for _ in 0..FLOOR_ROUNDS {
        file.write_all_at(&page, 0)?;
        file.sync_data()?;
    }
    Ok(started.elapsed() / FLOOR_ROUNDS)
}

/// 64 bytes to another thread over loopback TCP and back: the least a
/// message and its answer take between a client and a server. Mean of
/// [`FLOOR_ROUNDS`].
fn round_trip_floor() -> Result<Duration> {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut socket, _) = listener.accept()?;
        socket.set_nodelay(true)?;
        socket.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        let mut message = [0u8; 64];
        for _ in 0..FLOOR_ROUNDS {
            socket.read_exact(&mut message)?;
            socket.write_all(&message)?;
        }
        Ok(())
    });
    let mut socket = std::net::TcpStream::connect(address)?;
    socket.set_nodelay(true)?;
    socket.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    let mut message = [7u8; 64];
    let started = Instant::now();
    for _ in 0..FLOOR_ROUNDS {
        socket.write_all(&message)?;
        socket.read_exact(&mut message)?;
    }
    let took = started.elapsed() / FLOOR_ROUNDS;
    echo.join()
        .map_err(|_| anyhow!("the echo thread panicked"))?
        .context("echoing over loopback")?;
    Ok(took)
}
