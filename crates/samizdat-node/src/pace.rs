//! The slowest a request body may arrive. A phone on the worst mobile link
//! sends far more; a client that trickles a byte now and then to hold a
//! place (one of the drop box's or Blossom's bodies read at once) is cut.

use std::time::{Duration, Instant};

/// The least a body must average once [`GRACE`] has passed.
pub const MIN_BYTES_PER_SECOND: u64 = 1024;
/// How long a body may go slower than that at its start (a link waking).
pub const GRACE: Duration = Duration::from_secs(10);
/// Longest silence between two pieces of a body.
pub const PIECE_WITHIN: Duration = Duration::from_secs(20);

/// Keeps the pace of one body as its pieces arrive.
#[derive(Debug)]
pub struct Pace {
    started: Instant,
    read: u64,
}

/// A body that came too slowly, or stopped coming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the body arrived too slowly")]
pub struct TooSlow;

impl Pace {
    pub fn start() -> Pace {
        Pace {
            started: Instant::now(),
            read: 0,
        }
    }

    /// Counts a piece of `len` bytes; an error once the average is below
    /// [`MIN_BYTES_PER_SECOND`] after [`GRACE`].
    pub fn piece(&mut self, len: usize) -> Result<(), TooSlow> {
        self.read = self.read.saturating_add(len as u64);
        if too_slow(self.read, self.started.elapsed()) {
            return Err(TooSlow);
        }
        Ok(())
    }
}

/// Whether a body read for `elapsed` with `bytes` so far goes too slowly.
fn too_slow(bytes: u64, elapsed: Duration) -> bool {
    elapsed > GRACE && bytes < MIN_BYTES_PER_SECOND.saturating_mul(elapsed.as_secs())
}

/// Why a body could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error(transparent)]
    Slow(#[from] TooSlow),
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the body was cut: {0}")]
    Cut(axum::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_may_start_slowly_but_not_go_on_so() {
        assert!(!too_slow(0, Duration::from_secs(9)));
        assert!(!too_slow(20 * 1024, Duration::from_secs(20)));
        assert!(too_slow(19 * 1024, Duration::from_secs(20)));
        assert!(too_slow(100, Duration::from_secs(11)));
    }
}
