//! The import pipeline, shared by `events import`, bundle import and
//! `samizdat-bench ingest`: read JSON lines, validate a chunk on every
//! core while the previous chunk commits, report each commit once it is
//! durable.
//!
//! A line longer than the event size limit is skipped without being held in
//! memory, so a hostile file cannot exhaust memory with one endless line.

use std::io::{self, BufRead};

use rayon::prelude::*;
use samizdat_core::nostr::prelude::Timestamp;
use samizdat_core::validate::validate_json;
use samizdat_core::{Limits, VerifiedEvent};
use samizdat_store::{InsertOutcome, Pending, Store, StoreError};

/// Why an import stopped. Lines that are refused do not stop it: the
/// observer hears of each.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading input")]
    Read(#[source] io::Error),
    #[error("committing imported events")]
    Commit(#[source] StoreError),
}

type Result<T> = std::result::Result<T, ImportError>;

/// Lines validated and committed together.
const CHUNK_LINES: usize = 2_048;

#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Stats {
    pub lines: u64,
    pub stored: u64,
    pub duplicate: u64,
    pub deleted: u64,
    pub superseded: u64,
    pub ephemeral: u64,
    pub rejected: u64,
    /// Every line up to this one is committed (or rejected).
    pub committed_through_line: u64,
}

impl Stats {
    fn count(&mut self, outcome: InsertOutcome) {
        match outcome {
            InsertOutcome::Stored => self.stored += 1,
            InsertOutcome::Duplicate => self.duplicate += 1,
            InsertOutcome::Deleted => self.deleted += 1,
            InsertOutcome::Superseded => self.superseded += 1,
            InsertOutcome::Ephemeral => self.ephemeral += 1,
        }
    }
}

/// What happens along the way, for progress and error reports.
pub trait Observer {
    /// A line was refused; `reason` says why.
    fn rejected(&mut self, line: u64, reason: &str);
    /// A batch is durably committed.
    fn committed(&mut self, stats: &Stats);
    /// `n` more bytes of input were read.
    fn read(&mut self, _n: u64) {}
}

enum Line {
    Text(String),
    Bad(String),
}

pub fn import(
    store: &Store,
    mut input: impl BufRead,
    pool: &rayon::ThreadPool,
    observer: &mut dyn Observer,
) -> Result<Stats> {
    let limits = Limits::default();
    let max_line = limits.max_event_bytes * 2;
    let mut stats = Stats::default();
    let mut in_flight: Option<(Pending, u64)> = None;
    loop {
        let (chunk, at_end) = read_chunk(&mut input, &mut stats.lines, max_line, observer)?;
        let last_line = stats.lines;
        let now = Timestamp::now();
        let results: Vec<(u64, std::result::Result<VerifiedEvent, String>)> = pool.install(|| {
            chunk
                .into_par_iter()
                .map(|(n, line)| {
                    let result = match line {
                        Line::Text(text) => {
                            validate_json(&text, &limits, now).map_err(|e| e.to_string())
                        }
                        Line::Bad(reason) => Err(reason),
                    };
                    (n, result)
                })
                .collect()
        });
        let mut verified = Vec::with_capacity(results.len());
        for (n, result) in results {
            match result {
                Ok(v) => verified.push(v),
                Err(reason) => {
                    stats.rejected += 1;
                    observer.rejected(n, &reason);
                }
            }
        }
        let submitted = if verified.is_empty() {
            None
        } else {
            Some((
                store.submit(verified).map_err(ImportError::Commit)?,
                last_line,
            ))
        };
        if let Some((pending, through)) = in_flight.take() {
            finish(pending, through, &mut stats, observer)?;
        }
        match submitted {
            Some(s) => in_flight = Some(s),
            None => {
                stats.committed_through_line = last_line;
            }
        }
        if at_end {
            break;
        }
    }
    if let Some((pending, through)) = in_flight.take() {
        finish(pending, through, &mut stats, observer)?;
    }
    Ok(stats)
}

fn finish(
    pending: Pending,
    through: u64,
    stats: &mut Stats,
    observer: &mut dyn Observer,
) -> Result<()> {
    for outcome in pending.wait().map_err(ImportError::Commit)? {
        stats.count(outcome);
    }
    stats.committed_through_line = through;
    observer.committed(stats);
    Ok(())
}

fn read_chunk(
    input: &mut impl BufRead,
    line_no: &mut u64,
    max_line: usize,
    observer: &mut dyn Observer,
) -> Result<(Vec<(u64, Line)>, bool)> {
    let mut chunk = Vec::with_capacity(CHUNK_LINES);
    let mut buf = Vec::new();
    while chunk.len() < CHUNK_LINES {
        buf.clear();
        let Some((read, complete)) =
            read_line_bounded(input, &mut buf, max_line).map_err(ImportError::Read)?
        else {
            return Ok((chunk, true));
        };
        observer.read(read);
        *line_no += 1;
        if !complete {
            chunk.push((
                *line_no,
                Line::Bad(format!("line is longer than {max_line} bytes")),
            ));
            continue;
        }
        // One exact-size copy; `buf` keeps its capacity for the next line.
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.to_owned(),
            Err(_) => {
                chunk.push((*line_no, Line::Bad("line is not UTF-8 text".into())));
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        chunk.push((*line_no, Line::Text(text)));
    }
    Ok((chunk, false))
}

/// Reads one line into `buf` (without its newline), keeping at most `max`
/// bytes. Returns the bytes consumed and whether the line fit, or `None` at
/// the end of the input.
fn read_line_bounded(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<Option<(u64, bool)>> {
    let mut consumed = 0u64;
    let mut fits = true;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            return Ok(if consumed == 0 {
                None
            } else {
                Some((consumed, fits))
            });
        }
        let (part, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if fits && buf.len() + part.len() <= max {
            buf.extend_from_slice(part);
        } else {
            fits = false;
            buf.clear();
        }
        let used = done.unwrap_or(available.len());
        input.consume(used);
        consumed += used as u64;
        if done.is_some() {
            return Ok(Some((consumed, fits)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_without_being_kept() {
        let text = format!("short\n{}\nlast", "x".repeat(100));
        let mut input = io::BufReader::with_capacity(8, text.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(
            read_line_bounded(&mut input, &mut buf, 10).expect("read"),
            Some((6, true))
        );
        assert_eq!(buf, b"short");
        buf.clear();
        assert_eq!(
            read_line_bounded(&mut input, &mut buf, 10).expect("read"),
            Some((101, false))
        );
        assert!(buf.is_empty());
        buf.clear();
        assert_eq!(
            read_line_bounded(&mut input, &mut buf, 10).expect("read"),
            Some((4, true))
        );
        assert_eq!(buf, b"last");
        assert_eq!(
            read_line_bounded(&mut input, &mut buf, 10).expect("read"),
            None
        );
    }
}
