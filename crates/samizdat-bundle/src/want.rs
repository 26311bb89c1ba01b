//! What a node already has, in a file small enough for a courier to carry
//! the other way: the first 8 bytes of the id of every event it holds and
//! of the hash of every blob, sorted, after a one-line header, the whole
//! compressed with zstd.
//!
//! Eight bytes, not fewer: an event whose prefix happens to match one the
//! node has would be left out of the bundle. With a million events on
//! each side the chance that any event is wrongly left out is about
//! 10^6 × 10^6 / 2^64 ≈ 5 × 10^-8; with six bytes it would be one in
//! three hundred. Ids are random, so nothing shorter describes them
//! exactly; the file is 8 bytes per event and per blob (800 KB for
//! 100,000 events).
//!
//! ```text
//! samizdat-want 1 <events> <blobs>\n
//! <events × 8 bytes, big-endian, ascending><blobs × 8 bytes, ascending>
//! ```

use std::io::{self, BufRead, BufReader, Read, Write};

use crate::BundleError;

const MAGIC: &str = "samizdat-want";
/// Most entries a want file may list (of each kind): a bound on memory.
const MAX_ENTRIES: u64 = 200_000_000;

/// A node's holdings, as a want file describes them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Want {
    events: Vec<u64>,
    blobs: Vec<u64>,
}

fn prefix(bytes: &[u8; 32]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes[..8]);
    u64::from_be_bytes(first)
}

impl Want {
    pub fn new(
        events: impl IntoIterator<Item = [u8; 32]>,
        blobs: impl IntoIterator<Item = [u8; 32]>,
    ) -> Want {
        let mut events: Vec<u64> = events.into_iter().map(|id| prefix(&id)).collect();
        let mut blobs: Vec<u64> = blobs.into_iter().map(|h| prefix(&h)).collect();
        events.sort_unstable();
        events.dedup();
        blobs.sort_unstable();
        blobs.dedup();
        Want { events, blobs }
    }

    /// Whether the node has (very probably) the event with this id.
    pub fn has_event(&self, id: &[u8; 32]) -> bool {
        self.events.binary_search(&prefix(id)).is_ok()
    }

    /// Whether the node has (very probably) the blob with this hash.
    pub fn has_blob(&self, hash: &[u8; 32]) -> bool {
        self.blobs.binary_search(&prefix(hash)).is_ok()
    }

    /// Events listed, blobs listed.
    pub fn counts(&self) -> (usize, usize) {
        (self.events.len(), self.blobs.len())
    }

    pub fn write(&self, out: impl Write) -> Result<(), BundleError> {
        let mut encoder = zstd::stream::write::Encoder::new(out, 3).map_err(BundleError::Write)?;
        encoder.include_checksum(true).map_err(BundleError::Write)?;
        let mut out = io::BufWriter::new(encoder);
        writeln!(out, "{MAGIC} 1 {} {}", self.events.len(), self.blobs.len())
            .map_err(BundleError::Write)?;
        for p in self.events.iter().chain(&self.blobs) {
            out.write_all(&p.to_be_bytes())
                .map_err(BundleError::Write)?;
        }
        let encoder = out
            .into_inner()
            .map_err(|e| BundleError::Write(e.into_error()))?;
        encoder.finish().map_err(BundleError::Write)?;
        Ok(())
    }

    /// Reads a want file, checking its header, its length and its order.
    pub fn read(input: impl Read) -> Result<Want, BundleError> {
        let bad = |why: &str| BundleError::Want(why.to_string());
        let decoder = zstd::stream::read::Decoder::new(input).map_err(BundleError::reading)?;
        let mut input = BufReader::new(decoder);
        let mut line = Vec::new();
        input
            .by_ref()
            .take(128)
            .read_until(b'\n', &mut line)
            .map_err(BundleError::reading)?;
        let line = String::from_utf8(line).map_err(|_| bad("its header is not text"))?;
        let fields: Vec<&str> = line.trim_end().split(' ').collect();
        let [magic, version, events, blobs] = fields[..] else {
            return Err(bad("its header is not `samizdat-want 1 EVENTS BLOBS`"));
        };
        if magic != MAGIC {
            return Err(bad("it does not start with samizdat-want"));
        }
        if version != "1" {
            return Err(bad("a version this samizdat does not read"));
        }
        let count = |text: &str| -> Result<u64, BundleError> {
            let n: u64 = text.parse().map_err(|_| bad("a count is not a number"))?;
            if n > MAX_ENTRIES {
                return Err(bad("it lists more than 200,000,000 entries"));
            }
            Ok(n)
        };
        let (n_events, n_blobs) = (count(events)?, count(blobs)?);
        let mut read_sorted = |n: u64| -> Result<Vec<u64>, BundleError> {
            let mut out = Vec::new();
            let mut buf = [0u8; 8];
            for _ in 0..n {
                input.read_exact(&mut buf).map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof => BundleError::Truncated(
                        " (a want file that lists fewer entries than it says)".into(),
                    ),
                    _ => BundleError::reading(e),
                })?;
                let p = u64::from_be_bytes(buf);
                if out.last().is_some_and(|&last| last >= p) {
                    return Err(bad("its entries are not in ascending order"));
                }
                out.push(p);
            }
            Ok(out)
        };
        let events = read_sorted(n_events)?;
        let blobs = read_sorted(n_blobs)?;
        let mut rest = [0u8; 1];
        match input.read(&mut rest) {
            Ok(0) => Ok(Want { events, blobs }),
            Ok(_) => Err(bad("bytes after its last entry")),
            Err(e) => Err(BundleError::reading(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_want_file_reads_back_and_bad_ones_are_named() {
        let want = Want::new([[1u8; 32], [9u8; 32], [3u8; 32]], [[7u8; 32]]);
        let mut bytes = Vec::new();
        want.write(&mut bytes).expect("write");
        let read = Want::read(bytes.as_slice()).expect("read");
        assert_eq!(read, want);
        assert!(read.has_event(&[9u8; 32]));
        assert!(!read.has_event(&[8u8; 32]));
        assert!(read.has_blob(&[7u8; 32]));
        assert!(!read.has_blob(&[1u8; 32]));

        let cut = &bytes[..bytes.len() - 8];
        assert!(Want::read(cut).is_err());
        let lie = |header: &str, body: &[u8]| {
            let mut raw = header.as_bytes().to_vec();
            raw.extend_from_slice(body);
            zstd::encode_all(raw.as_slice(), 3).expect("zstd")
        };
        let e = Want::read(
            lie(
                "samizdat-want 1 2 0\n",
                &[0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1],
            )
            .as_slice(),
        )
        .expect_err("unsorted");
        assert!(e.to_string().contains("ascending"), "{e}");
        let two = [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2];
        let e = Want::read(lie("samizdat-want 1 5 0\n", &two).as_slice()).expect_err("short");
        assert!(e.to_string().contains("fewer entries"), "{e}");
        let e =
            Want::read(lie("samizdat-want 1 999999999999 0\n", &[]).as_slice()).expect_err("huge");
        assert!(e.to_string().contains("more than"), "{e}");
        let e = Want::read(lie("something else\n", &[]).as_slice()).expect_err("foreign");
        assert!(e.to_string().contains("want file"), "{e}");
    }
}
