//! Writing a bundle in one pass: events are gathered into members of a
//! few megabytes, blobs are streamed from their files, and the manifest
//! is written last from the hashes taken on the way.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use crate::BundleError;
use crate::format::{FORMAT, HEADER, Header, MANIFEST, Manifest, Member, MemberKind, VERSION};

/// Event lines are gathered into members of about this size.
const CHUNK_BYTES: usize = 4 * 1024 * 1024;
/// zstd level: 3 is zstd's default, fast to write, and JSON shrinks well.
const LEVEL: i32 = 3;

/// A bundle being written to `W`.
pub struct Writer<W: Write> {
    tar: tar::Builder<zstd::stream::write::Encoder<'static, W>>,
    id: String,
    members: Vec<Member>,
    chunk: Vec<u8>,
    chunks: u32,
    events: u64,
    blobs: u64,
}

/// A finished bundle.
pub struct Written<W> {
    pub out: W,
    pub manifest: Manifest,
}

impl<W: Write> Writer<W> {
    /// Starts a bundle named `id` and writes its header.
    pub fn new(out: W, id: String, created_at: u64) -> Result<Writer<W>, BundleError> {
        let mut encoder =
            zstd::stream::write::Encoder::new(out, LEVEL).map_err(BundleError::Write)?;
        encoder.include_checksum(true).map_err(BundleError::Write)?;
        let mut tar = tar::Builder::new(encoder);
        tar.mode(tar::HeaderMode::Deterministic);
        let mut writer = Writer {
            tar,
            id: id.clone(),
            members: Vec::new(),
            chunk: Vec::with_capacity(CHUNK_BYTES + 64 * 1024),
            chunks: 0,
            events: 0,
            blobs: 0,
        };
        let header = Header {
            format: FORMAT.into(),
            version: VERSION,
            id,
            created_at,
        };
        let json = serde_json::to_vec_pretty(&header).map_err(|e| BundleError::Write(e.into()))?;
        writer.append(HEADER, json.len() as u64, json.as_slice())?;
        Ok(writer)
    }

    /// Adds one event (its JSON, one line). Events must all come before
    /// the first blob.
    pub fn event(&mut self, json: &str) -> Result<(), BundleError> {
        if self.blobs > 0 {
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
        self.events += 1;
        if self.chunk.len() >= CHUNK_BYTES {
            self.flush_events()?;
        }
        Ok(())
    }

    /// Adds the blob named `hash`, `size` bytes read from `data`. Bytes
    /// that do not hash to the name are an error: a damaged blob is not
    /// passed on.
    pub fn blob(&mut self, hash: [u8; 32], size: u64, data: impl Read) -> Result<(), BundleError> {
        self.flush_events()?;
        let path = MemberKind::Blob(hash).path();
        let sha256 = self.append(&path, size, data)?;
        if sha256 != hex::encode(hash) {
            return Err(BundleError::Mismatch {
                path,
                why: format!("the local bytes hash to {sha256}"),
            });
        }
        self.blobs += 1;
        Ok(())
    }

    /// Events so far, blobs so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.events, self.blobs)
    }

    /// Writes the manifest and ends the archive and the zstd frame.
    pub fn finish(mut self) -> Result<Written<W>, BundleError> {
        self.flush_events()?;
        let manifest = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            id: self.id.clone(),
            events: self.events,
            blobs: self.blobs,
            digest: Manifest::digest_of(&self.members),
            members: std::mem::take(&mut self.members),
        };
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| BundleError::Write(e.into()))?;
        self.append(MANIFEST, json.len() as u64, json.as_slice())?;
        let encoder = self.tar.into_inner().map_err(BundleError::Write)?;
        let out = encoder.finish().map_err(BundleError::Write)?;
        Ok(Written { out, manifest })
    }

    fn flush_events(&mut self) -> Result<(), BundleError> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        self.chunks += 1;
        let path = MemberKind::Events(self.chunks).path();
        let chunk = std::mem::take(&mut self.chunk);
        self.append(&path, chunk.len() as u64, chunk.as_slice())?;
        self.chunk = chunk;
        self.chunk.clear();
        Ok(())
    }

    /// Appends one member of exactly `size` bytes; returns its SHA-256.
    fn append(&mut self, path: &str, size: u64, data: impl Read) -> Result<String, BundleError> {
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
        self.tar
            .append_data(&mut header, path, &mut hashing)
            .map_err(BundleError::Write)?;
        // Ends the zstd block: a bundle cut short after this member still
        // yields it whole.
        self.tar.get_mut().flush().map_err(BundleError::Write)?;
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
