//! The import pipeline, shared by `events import`, bundle import and
//! `samizdat-bench ingest`: read JSON lines, validate a chunk on every
//! core while the previous chunk commits, report each commit once it is
//! durable.
//!
//! A line longer than the event size limit is skipped without being held in
//! memory, so a hostile file cannot exhaust memory with one endless line.

use std::io::{self, BufRead};

use samizdat_core::Limits;
use samizdat_store::{Pending, Store, StoreError};

use crate::ingest::batch::{self, Candidate};
use crate::progress::{Observer, Tally};

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
    #[serde(flatten)]
    pub tally: Tally,
    /// Every line up to this one is committed (or rejected).
    pub committed_through_line: u64,
}

/// Imports the JSON lines of `input`. The observer hears of the bytes
/// read (`advance`), each refused line and each durable commit.
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
        let checked = pool.install(|| batch::check(chunk, &limits));
        for (line, reason) in &checked.refused {
            stats.tally.rejected += 1;
            observer.refused(*line, reason);
        }
        let submitted = batch::submit(store, checked.valid)
            .map_err(ImportError::Commit)?
            .map(|pending| (pending, last_line));
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
    batch::finish(pending, &mut stats.tally, None).map_err(ImportError::Commit)?;
    stats.committed_through_line = through;
    observer.committed(through, &stats.tally);
    Ok(())
}

fn read_chunk(
    input: &mut impl BufRead,
    line_no: &mut u64,
    max_line: usize,
    observer: &mut dyn Observer,
) -> Result<(Vec<(u64, Candidate)>, bool)> {
    let mut chunk = Vec::with_capacity(CHUNK_LINES);
    let mut buf = Vec::new();
    while chunk.len() < CHUNK_LINES {
        buf.clear();
        let Some((read, complete)) =
            read_line_bounded(input, &mut buf, max_line).map_err(ImportError::Read)?
        else {
            return Ok((chunk, true));
        };
        observer.advance(read);
        *line_no += 1;
        if !complete {
            chunk.push((
                *line_no,
                Candidate::Refused(format!("line is longer than {max_line} bytes")),
            ));
            continue;
        }
        // One exact-size copy; `buf` keeps its capacity for the next line.
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.to_owned(),
            Err(_) => {
                chunk.push((
                    *line_no,
                    Candidate::Refused("line is not UTF-8 text".into()),
                ));
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        chunk.push((*line_no, Candidate::Json(text)));
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
