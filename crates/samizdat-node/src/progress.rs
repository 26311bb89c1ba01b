//! What a long operation (an import, a sync, a mirror's build) tells of
//! its progress as it goes: one [`Observer`] for all of them, so the
//! command line draws one kind of progress bar and a test hears one kind
//! of report.

use samizdat_store::InsertOutcome;

/// Told how an operation is going. Every method has a default that
/// ignores it: an observer takes what it shows.
pub trait Observer: Send {
    /// A new phase begins; `total` items, if known.
    fn phase(&mut self, _what: &str, _total: Option<u64>) {}
    /// `n` more items (or bytes, for an import) of the phase are done.
    fn advance(&mut self, _n: u64) {}
    /// An event was refused. `at` is where it was: its line in a file, or
    /// its place among what a peer sent in this run.
    fn refused(&mut self, _at: u64, _reason: &str) {}
    /// Everything up to `through` (a line of an import) is durably
    /// stored; `tally` counts the whole operation so far.
    fn committed(&mut self, _through: u64, _tally: &Tally) {}
}

/// An observer that ignores everything.
pub struct Quiet;

impl Observer for Quiet {}

/// What became of the events an operation took in.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// New here.
    pub stored: u64,
    /// Already stored.
    pub duplicate: u64,
    /// Deleted by their authors before they came.
    pub deleted: u64,
    /// Replaceable events older than the one stored.
    pub superseded: u64,
    /// Ephemeral: passed on, not kept.
    pub ephemeral: u64,
    /// Refused: not valid events.
    pub rejected: u64,
}

impl Tally {
    pub fn count(&mut self, outcome: InsertOutcome) {
        match outcome {
            InsertOutcome::Stored => self.stored += 1,
            InsertOutcome::Duplicate => self.duplicate += 1,
            InsertOutcome::Deleted => self.deleted += 1,
            InsertOutcome::Superseded => self.superseded += 1,
            InsertOutcome::Ephemeral => self.ephemeral += 1,
        }
    }

    pub fn add(&mut self, other: &Tally) {
        self.stored += other.stored;
        self.duplicate += other.duplicate;
        self.deleted += other.deleted;
        self.superseded += other.superseded;
        self.ephemeral += other.ephemeral;
        self.rejected += other.rejected;
    }
}
