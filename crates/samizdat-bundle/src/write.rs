//! Writing a bundle in one pass: events are gathered into members of a
//! few megabytes, blobs are streamed from their files, and the manifest
//! is written last from the hashes taken on the way.
//!
//! With a part size, the bundle is split at member boundaries into parts,
//! each a whole bundle (its own header, members and manifest) that says
//! which part of which bundle it is; the last one says how many there are.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use crate::BundleError;
use crate::format::{FORMAT, HEADER, Header, MANIFEST, Manifest, Member, MemberKind, VERSION};

/// Event lines are gathered into members of about this size (less in
/// small parts).
const CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// zstd level: 3 is zstd's default, fast to write, and JSON shrinks well.
const LEVEL: i32 = 3;
/// The smallest part size taken: room for a header, a manifest and some
/// members.
pub const MIN_PART_BYTES: u64 = 64 * 1024;

/// Where the files of a bundle go.
pub trait Parts {
    type Out: Write;
    /// The file for part `part` (from 1).
    fn open(&mut self, part: u32) -> io::Result<Self::Out>;
    /// Part `part` is complete; `manifest` is what it holds.
    fn close(&mut self, part: u32, out: Self::Out, manifest: &Manifest) -> io::Result<()>;
}

/// One file: the bundle is not split.
pub struct Single<W> {
    out: Option<W>,
    done: Option<W>,
}

impl<W: Write> Single<W> {
    pub fn new(out: W) -> Single<W> {
        Single {
            out: Some(out),
            done: None,
        }
    }

    /// The output, once the writer has finished with it.
    pub fn into_inner(self) -> Option<W> {
        self.done
    }
}

impl<W: Write> Parts for Single<W> {
    type Out = W;

    fn open(&mut self, _: u32) -> io::Result<W> {
        self.out
            .take()
            .ok_or_else(|| io::Error::other("a single-file bundle has one part"))
    }

    fn close(&mut self, _: u32, out: W, _: &Manifest) -> io::Result<()> {
        self.done = Some(out);
        Ok(())
    }
}

type Archive<W> = tar::Builder<zstd::stream::write::Encoder<'static, Counting<W>>>;

/// A bundle being written.
pub struct Writer<P: Parts> {
    parts: P,
    max_part: Option<u64>,
    tar: Option<Archive<P::Out>>,
    id: String,
    created_at: u64,
    part: u32,
    members: Vec<Member>,
    chunk: Vec<u8>,
    chunk_bytes: usize,
    chunks: u32,
    /// In this part.
    events: u64,
    blobs: u64,
    /// In all parts.
    total_events: u64,
    total_blobs: u64,
    blobs_started: bool,
}

/// What a finished bundle holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub events: u64,
    pub blobs: u64,
    pub parts: u32,
}

impl<W: Write> Writer<Single<W>> {
    /// A bundle in one file.
    pub fn new(out: W, id: String, created_at: u64) -> Result<Writer<Single<W>>, BundleError> {
        Writer::start(Single::new(out), None, id, created_at)
    }
}

impl<P: Parts> Writer<P> {
    /// A bundle split into parts of at most `max_part` bytes each.
    pub fn split(
        parts: P,
        max_part: u64,
        id: String,
        created_at: u64,
    ) -> Result<Writer<P>, BundleError> {
        Writer::with_parts(parts, Some(max_part), id, created_at)
    }

    /// A bundle in the files `parts` gives: split if `max_part` is given,
    /// else one file.
    pub fn with_parts(
        parts: P,
        max_part: Option<u64>,
        id: String,
        created_at: u64,
    ) -> Result<Writer<P>, BundleError> {
        if max_part.is_some_and(|max| max < MIN_PART_BYTES) {
            return Err(BundleError::Write(io::Error::other(format!(
                "a part must hold at least {MIN_PART_BYTES} bytes"
            ))));
        }
        Writer::start(parts, max_part, id, created_at)
    }

    fn start(
        parts: P,
        max_part: Option<u64>,
        id: String,
        created_at: u64,
    ) -> Result<Writer<P>, BundleError> {
        let chunk_bytes = match max_part {
            Some(max) => CHUNK_BYTES.min(usize::try_from(max / 4).unwrap_or(CHUNK_BYTES)),
            None => CHUNK_BYTES,
        };
        let mut writer = Writer {
            parts,
            max_part,
            tar: None,
            id,
            created_at,
            part: 0,
            members: Vec::new(),
            chunk: Vec::with_capacity(chunk_bytes + 64 * 1024),
            chunk_bytes,
            chunks: 0,
            events: 0,
            blobs: 0,
            total_events: 0,
            total_blobs: 0,
            blobs_started: false,
        };
        writer.open_part()?;
        Ok(writer)
    }

    /// The largest blob a part can hold (no limit without parts).
    pub fn max_blob(&self) -> u64 {
        self.max_part
            .map_or(u64::MAX, |max| max.saturating_sub(MIN_PART_BYTES / 2))
    }

    /// Adds one event (its JSON, one line). Events must all come before
    /// the first blob.
    pub fn event(&mut self, json: &str) -> Result<(), BundleError> {
        if self.blobs_started {
            return Err(BundleError::Write(io::Error::other(
                "an event after a blob: records go first",
            )));
        }
        if json.contains('\n') {
            return Err(BundleError::Write(io::Error::other(
                "an event's JSON spans lines",
            )));
        }
        self.chunk.extend_from_slice(json.as_bytes());
        self.chunk.push(b'\n');
        self.total_events += 1;
        if self.chunk.len() >= self.chunk_bytes {
            self.flush_events()?;
        }
        Ok(())
    }

    /// Adds the blob named `hash`, `size` bytes read from `data`. Bytes
    /// that do not hash to the name are an error: a damaged blob is not
    /// passed on.
    pub fn blob(&mut self, hash: [u8; 32], size: u64, data: impl Read) -> Result<(), BundleError> {
        self.flush_events()?;
        self.blobs_started = true;
        let path = MemberKind::Blob(hash).path();
        if size > self.max_blob() {
            return Err(BundleError::TooLarge {
                path,
                limit: self.max_blob(),
            });
        }
        self.make_room(size)?;
        let sha256 = self.append(&path, size, data)?;
        if sha256 != hex::encode(hash) {
            return Err(BundleError::Mismatch {
                path,
                why: format!("the local bytes hash to {sha256}"),
            });
        }
        self.blobs += 1;
        self.total_blobs += 1;
        Ok(())
    }

    /// Events so far, blobs so far (all parts).
    pub fn counts(&self) -> (u64, u64) {
        (self.total_events, self.total_blobs)
    }

    /// Writes the last manifest, ends the last part, and gives back the
    /// parts.
    pub fn finish(mut self) -> Result<(P, Written), BundleError> {
        self.flush_events()?;
        self.close_part(true)?;
        let written = Written {
            events: self.total_events,
            blobs: self.total_blobs,
            parts: self.part,
        };
        Ok((self.parts, written))
    }

    fn open_part(&mut self) -> Result<(), BundleError> {
        self.part += 1;
        let out = self.parts.open(self.part).map_err(BundleError::Write)?;
        let counting = Counting {
            inner: out,
            bytes: 0,
        };
        let mut encoder =
            zstd::stream::write::Encoder::new(counting, LEVEL).map_err(BundleError::Write)?;
        encoder.include_checksum(true).map_err(BundleError::Write)?;
        let mut tar = tar::Builder::new(encoder);
        tar.mode(tar::HeaderMode::Deterministic);
        self.tar = Some(tar);
        self.members.clear();
        self.chunks = 0;
        self.events = 0;
        self.blobs = 0;
        let header = Header {
            format: FORMAT.into(),
            version: VERSION,
            id: self.id.clone(),
            created_at: self.created_at,
            part: self.max_part.map(|_| self.part),
        };
        let json = serde_json::to_vec_pretty(&header).map_err(|e| BundleError::Write(e.into()))?;
        self.append(HEADER, json.len() as u64, json.as_slice())?;
        Ok(())
    }

    fn close_part(&mut self, last: bool) -> Result<(), BundleError> {
        let split = self.max_part.is_some();
        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            id: self.id.clone(),
            events: self.events,
            blobs: self.blobs,
            digest: Manifest::digest_of(&self.members),
            members: std::mem::take(&mut self.members),
            part: split.then_some(self.part),
            parts: (split && last).then_some(self.part),
        };
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| BundleError::Write(e.into()))?;
        self.append(MANIFEST, json.len() as u64, json.as_slice())?;
        let tar = self
            .tar
            .take()
            .ok_or_else(|| BundleError::Write(io::Error::other("no part open")))?;
        let encoder = tar.into_inner().map_err(BundleError::Write)?;
        let counting = encoder.finish().map_err(BundleError::Write)?;
        self.parts
            .close(self.part, counting.inner, &manifest)
            .map_err(BundleError::Write)
    }

    /// Starts a new part first if a member of `size` bytes might not fit
    /// in this one (its compressed size is at most about its size).
    fn make_room(&mut self, size: u64) -> Result<(), BundleError> {
        let Some(max) = self.max_part else {
            return Ok(());
        };
        let written = self.tar.as_ref().map_or(0, |t| t.get_ref().get_ref().bytes);
        // The manifest to come, the tar headers and zstd's framing.
        let reserve = 8 * 1024 + 256 * (self.members.len() as u64 + 2) + size / 100;
        let has_content = self.members.len() > 1;
        if has_content && written + size + reserve > max {
            self.close_part(false)?;
            self.open_part()?;
        }
        Ok(())
    }

    fn flush_events(&mut self) -> Result<(), BundleError> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.chunk);
        let lines = chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        self.make_room(chunk.len() as u64)?;
        self.chunks += 1;
        let path = MemberKind::Events(self.chunks).path();
        self.append(&path, chunk.len() as u64, chunk.as_slice())?;
        self.events += lines;
        self.chunk = chunk;
        self.chunk.clear();
        Ok(())
    }

    /// Appends one member of exactly `size` bytes; returns its SHA-256.
    fn append(&mut self, path: &str, size: u64, data: impl Read) -> Result<String, BundleError> {
        let tar = self
            .tar
            .as_mut()
            .ok_or_else(|| BundleError::Write(io::Error::other("no part open")))?;
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(size);
        header.set_mode(0o644);
        header.set_mtime(0);
        let mut hashing = Hashing {
            inner: data.take(size),
            hasher: Sha256::new(),
            read: 0,
        };
        tar.append_data(&mut header, path, &mut hashing)
            .map_err(BundleError::Write)?;
        // Ends the zstd block: a bundle cut short after this member still
        // yields it whole.
        tar.get_mut().flush().map_err(BundleError::Write)?;
        if hashing.read != size {
            return Err(BundleError::Write(io::Error::other(format!(
                "{path}: {} bytes where {size} were due (did the file change?)",
                hashing.read
            ))));
        }
        let sha256 = hex::encode(hashing.hasher.finalize());
        self.members.push(Member {
            path: path.to_string(),
            size,
            sha256: sha256.clone(),
        });
        Ok(sha256)
    }
}

/// Counts the bytes written to a part.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes and counts what passes.
pub(crate) struct Hashing<R> {
    pub inner: R,
    pub hasher: Sha256,
    pub read: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}
