//! `bundle export`: queries in sync's priority order, written beside the
//! target (or as parts, each renamed when whole), sealed if asked.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use samizdat_bundle::seal::{self, Lock, Sealed, SecretString};
use samizdat_bundle::{BundleError, Manifest, Parts, Want, Writer};
use samizdat_core::BlobHash;
use samizdat_core::kind;
use samizdat_store::{Query, Store};
use serde_json::json;

use crate::context::Context;
use crate::exit::Code;
use crate::progress;

use super::*;

/// The kinds that go first, in this order: sync's priority.
pub(crate) const FIRST: [u16; 4] = [
    kind::PERSON_REPORT.as_u16(),
    kind::TESTIMONY.as_u16(),
    kind::ATTESTATION.as_u16(),
    kind::RETRACTION.as_u16(),
];

/// `queries` in priority order: a query for every kind is split into one
/// per priority kind and one for the rest (`true`: skip priority kinds).
pub(crate) fn in_priority_order(queries: &[Query]) -> Vec<(Query, bool)> {
    let rank = |q: &Query| {
        q.kinds
            .as_ref()
            .and_then(|k| k.first())
            .and_then(|k| FIRST.iter().position(|f| f == k))
            .unwrap_or(FIRST.len())
    };
    let mut ordered = Vec::new();
    for q in queries {
        if q.kinds.is_none() {
            for k in FIRST {
                let mut first = q.clone();
                first.kinds = Some(vec![k]);
                ordered.push((first, false));
            }
            ordered.push((q.clone(), true));
        } else {
            ordered.push((q.clone(), false));
        }
    }
    ordered.sort_by_key(|(q, rest)| if *rest { FIRST.len() + 1 } else { rank(q) });
    ordered
}

pub(super) fn export(
    ctx: &Context,
    store: &Store,
    queries: &[Query],
    output: &Path,
    options: ExportOptions,
) -> Result<Code> {
    let ExportOptions {
        blobs,
        seal,
        want,
        max_part,
    } = options;
    let lacks_event = |id: &[u8; 32]| want.as_ref().is_none_or(|w| !w.has_event(id));
    let lacks_blob = |h: &BlobHash| want.as_ref().is_none_or(|w| !w.has_blob(h.as_bytes()));
    let ordered = in_priority_order(queries);
    let total: u64 = queries
        .iter()
        .map(|q| store.count(q))
        .sum::<Result<u64, _>>()?;
    let id = hex::encode(rand::random::<[u8; 16]>());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let parts = FileParts {
        output: output.to_path_buf(),
        split: max_part.is_some(),
        seal,
        pending: None,
        files: Vec::new(),
    };
    let mut writer = Writer::with_parts(parts, max_part, id.clone(), now)?;

    let bar = progress::bar(Some(total), "bundling records");
    let mut failure: Option<BundleError> = None;
    for (query, skip_first) in &ordered {
        store.query_each(query, |stored| {
            if !lacks_event(stored.id.as_bytes()) {
                bar.inc(1);
                return true;
            }
            if *skip_first && kind_of(&stored.json).is_some_and(|k| FIRST.contains(&k)) {
                return true;
            }
            if let Err(e) = writer.event(&stored.json) {
                failure = Some(e);
                return false;
            }
            bar.inc(1);
            true
        })?;
        if let Some(e) = failure.take() {
            return Err(e.into());
        }
    }
    bar.finish_and_clear();

    let mut blob_bytes = 0u64;
    let mut too_large = Vec::new();
    if blobs {
        let mut hashes = BTreeSet::new();
        for q in queries {
            hashes.extend(store.referenced_blobs(q)?);
        }
        let mut present: Vec<(u64, BlobHash)> = hashes
            .into_iter()
            .filter(|h| lacks_blob(h))
            .filter_map(|h| {
                let size = store.blobs().stat(&h).ok()??.size;
                Some((size, h))
            })
            .collect();
        present.sort();
        let bar = progress::bar(Some(present.iter().map(|(s, _)| s).sum()), "bundling blobs");
        for (size, hash) in present {
            if size > writer.max_blob() {
                too_large.push(format!("{hash} ({size} bytes)"));
                continue;
            }
            let file = store
                .blobs()
                .open_read(&hash, None)
                .with_context(|| format!("opening blob {hash}"))?;
            writer
                .blob(*hash.as_bytes(), size, BufReader::new(file))
                .with_context(|| {
                    format!("blob {hash} (run `samizdat verify` to check the store)")
                })?;
            blob_bytes += size;
            bar.inc(size);
        }
        bar.finish_and_clear();
    }
    let (parts, written) = writer.finish()?;
    let (events, blob_count) = (written.events, written.blobs);
    let size: u64 = parts.files.iter().map(|(_, size)| size).sum();
    for blob in &too_large {
        eprintln!(
            "blob {blob} is larger than a part and was left out: choose a larger --max-part-size"
        );
    }
    if ctx.json {
        let files: Vec<_> = parts
            .files
            .iter()
            .map(|(path, size)| json!({"file": path, "bytes": size}))
            .collect();
        println!(
            "{}",
            json!({"bundle": id, "events": events, "blobs": blob_count, "blob_bytes": blob_bytes,
                   "bytes": size, "parts": files, "blobs_left_out": too_large.len()})
        );
    } else if parts.split {
        eprintln!(
            "wrote bundle {id} in {} parts ({size} bytes): {events} events and {blob_count} blobs ({blob_bytes} bytes of blobs)",
            parts.files.len()
        );
        for (path, size) in &parts.files {
            eprintln!("  {} ({size} bytes)", path.display());
        }
    } else {
        eprintln!(
            "wrote bundle {id} to {}: {events} events and {blob_count} blobs ({blob_bytes} bytes of blobs), {size} bytes",
            output.display()
        );
    }
    Ok(if too_large.is_empty() {
        Code::Success
    } else {
        Code::Problems
    })
}

/// How each file of a bundle is encrypted.
#[derive(Clone)]
pub(super) enum Seal {
    Open,
    Recipients(Vec<seal::Recipient>),
    Passphrase(String),
}

impl Seal {
    fn lock(&self) -> Lock {
        match self {
            Seal::Open => Lock::Open,
            Seal::Recipients(r) => Lock::Recipients(r.clone()),
            Seal::Passphrase(p) => Lock::Passphrase(SecretString::from(p.clone())),
        }
    }
}

/// The files of a bundle: `FILE`, or `FILE.001`, `FILE.002`… when split;
/// each written beside its name and renamed when whole.
pub(super) struct FileParts {
    pub(super) output: PathBuf,
    pub(super) split: bool,
    pub(super) seal: Seal,
    pub(super) pending: Option<tempfile::NamedTempFile>,
    pub(super) files: Vec<(PathBuf, u64)>,
}

impl FileParts {
    fn name(&self, part: u32) -> PathBuf {
        if !self.split {
            return self.output.clone();
        }
        let mut name = self.output.clone().into_os_string();
        name.push(format!(".{part:03}"));
        PathBuf::from(name)
    }
}

impl Parts for FileParts {
    type Out = Sealed<BufWriter<File>>;

    fn open(&mut self, _: u32) -> io::Result<Self::Out> {
        let temp = beside(&self.output).map_err(io::Error::other)?;
        let file = temp.as_file().try_clone()?;
        self.pending = Some(temp);
        Sealed::new(BufWriter::with_capacity(1 << 20, file), self.seal.lock())
            .map_err(|e| io::Error::other(e.to_string()))
    }

    fn close(&mut self, part: u32, out: Self::Out, _: &Manifest) -> io::Result<()> {
        let mut buffered = out.finish()?;
        buffered.flush()?;
        drop(buffered);
        let temp = self
            .pending
            .take()
            .ok_or_else(|| io::Error::other("no part open"))?;
        temp.as_file().sync_all()?;
        let name = self.name(part);
        temp.persist(&name).map_err(|e| e.error)?;
        let size = std::fs::metadata(&name)?.len();
        self.files.push((name, size));
        Ok(())
    }
}

/// A temporary file in `output`'s directory: written there and renamed
/// at the end, so that a file with the final name is always whole.
pub(crate) fn beside(output: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    tempfile::Builder::new()
        .prefix(".samizdat-")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a file in {}", dir.display()))
}

pub(super) struct ExportOptions {
    pub(super) blobs: bool,
    pub(super) seal: Seal,
    /// Leave out what the node of this want file has.
    pub(super) want: Option<Want>,
    /// Split into parts of at most this many bytes.
    pub(super) max_part: Option<u64>,
}
