//! `bundle import`: members spooled inside the data directory until the
//! bundle checks out, then the events through the import pipeline and
//! the blobs through the store's admission rule; parts remembered across
//! sittings.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use samizdat_bundle::{Limits, Sink};
use samizdat_core::BlobHash;
use samizdat_store::Store;
use serde_json::json;

use crate::context::Context;
use crate::exit::Code;
use crate::progress;
use samizdat_node::import::{self, Stats};
use samizdat_node::progress::Observer;

use super::*;

/// Keeps members aside in a directory of the data directory until the
/// bundle has been checked whole.
pub(super) struct Spool {
    pub(super) dir: super::super::Spool,
    pub(super) store: Store,
    pub(super) events: Vec<PathBuf>,
    pub(super) blobs: Vec<(BlobHash, PathBuf)>,
    pub(super) already: u64,
    pub(super) bar: indicatif::ProgressBar,
}

impl Sink for Spool {
    fn events(&mut self, n: u32, data: &mut dyn Read) -> io::Result<()> {
        let path = self.dir.dir.path().join(format!("events-{n:06}.jsonl"));
        let mut file = BufWriter::new(File::create(&path)?);
        let copied = io::copy(data, &mut file)?;
        file.flush()?;
        self.bar.inc(copied);
        self.events.push(path);
        Ok(())
    }

    fn blob(&mut self, hash: [u8; 32], _size: u64, data: &mut dyn Read) -> io::Result<()> {
        let hash = BlobHash::from_bytes(hash);
        if self.store.blobs().contains(&hash) {
            let skipped = io::copy(data, &mut io::sink())?;
            self.bar.inc(skipped);
            self.already += 1;
            return Ok(());
        }
        let path = self.dir.dir.path().join(hash.to_hex());
        let mut file = BufWriter::new(File::create(&path)?);
        let copied = io::copy(data, &mut file)?;
        file.flush()?;
        self.bar.inc(copied);
        self.blobs.push((hash, path));
        Ok(())
    }
}

pub(super) fn import(
    ctx: &Context,
    store: &Store,
    path: &Path,
    identities: &[String],
    salvage: bool,
) -> Result<Code> {
    let input = open_bundle(path, identities)?;
    let dir = super::super::new_spool(store.dir()).context("making room in the data directory")?;
    let mut spool = Spool {
        dir,
        store: store.clone(),
        events: Vec::new(),
        blobs: Vec::new(),
        already: 0,
        bar: progress::bar(None, &format!("checking {}", path.display())),
    };
    let unpacked = samizdat_bundle::unpack(input, &mut spool, &Limits::default());
    spool.bar.finish_and_clear();
    let damage = match &unpacked {
        Ok(_) => None,
        Err(e) => Some(format!("{}: {e}", path.display())),
    };
    if let Some(problem) = &damage {
        if !salvage {
            bail!(
                "{problem}\nnothing from it was stored (with --salvage, every complete \
                 member that checks out on its own is kept)"
            );
        }
        eprintln!(
            "{problem}\nsalvaging {} events members and {} blobs read before the damage",
            spool.events.len(),
            spool.blobs.len()
        );
    }

    let pool = rayon::ThreadPoolBuilder::new()
        .build()
        .context("starting validation threads")?;
    let mut report = Report {
        bar: progress::bar(None, "importing events"),
    };
    let mut stats = Stats::default();
    for events in &spool.events {
        let file = File::open(events).context("reading a spooled member")?;
        let s = import::import(
            store,
            BufReader::with_capacity(1 << 20, file),
            &pool,
            &mut report,
        )?;
        add(&mut stats, &s);
    }
    report.bar.finish_and_clear();

    let (mut stored_blobs, mut refused) = (0u64, Vec::new());
    // The store runs the admission rule of every door on each blob.
    for (hash, file) in &spool.blobs {
        match store.blobs().adopt(file, hash) {
            Ok(_) => stored_blobs += 1,
            Err(e) => refused.push(format!("{hash}: {e}")),
        }
    }
    for why in &refused {
        eprintln!("blob refused: {why}");
    }
    let manifest = unpacked.as_ref().ok().map(|u| &u.manifest);
    let split = match &unpacked {
        Ok(u) => match u.header.part {
            Some(part) => Some((
                part,
                note_part(store, &u.header.id, part, u.manifest.parts)?,
            )),
            None => None,
        },
        Err(_) => None,
    };
    if let Some((part, seen)) = &split {
        let id = manifest.map_or("?", |m| m.id.as_str());
        let list = |parts: &BTreeSet<u32>| {
            parts
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let status = match (seen.total, seen.missing()) {
            (Some(total), Some(missing)) if missing.is_empty() => {
                format!("all {total} parts are in")
            }
            (Some(total), Some(missing)) => format!(
                "parts {} of {total} are in; still missing: {}",
                list(&seen.parts),
                list(&missing)
            ),
            _ => format!(
                "parts {} are in; the last part has not been seen, so how many there are is not known yet",
                list(&seen.parts)
            ),
        };
        if !ctx.json {
            eprintln!("bundle {id}, part {part}: {status}");
        }
    }
    if ctx.json {
        println!(
            "{}",
            json!({
                "bundle": manifest.map(|m| m.id.clone()),
                "damaged": damage,
                "events": stats,
                "blobs_stored": stored_blobs,
                "blobs_already_here": spool.already,
                "blobs_refused": refused.len(),
                "part": split.as_ref().map(|(part, _)| part),
                "parts_in": split.as_ref().map(|(_, seen)| &seen.parts),
                "parts_total": split.as_ref().and_then(|(_, seen)| seen.total),
                "parts_missing": split.as_ref().and_then(|(_, seen)| seen.missing()),
            })
        );
    } else {
        eprintln!(
            "{}: {} events read: {} stored, {} already present, {} deleted by their authors, {} superseded, {} rejected; \
             {stored_blobs} blobs stored, {} already here, {} refused",
            path.display(),
            stats.lines,
            stats.tally.stored,
            stats.tally.duplicate,
            stats.tally.deleted,
            stats.tally.superseded,
            stats.tally.rejected,
            spool.already,
            refused.len()
        );
    }
    Ok(
        if damage.is_some() || stats.tally.rejected > 0 || !refused.is_empty() {
            Code::Problems
        } else {
            Code::Success
        },
    )
}

/// Which parts of a split bundle this node has imported, kept in
/// `bundles/<id>.json` in the data directory across sittings.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct PartsSeen {
    pub(super) parts: BTreeSet<u32>,
    pub(super) total: Option<u32>,
}

impl PartsSeen {
    /// The parts not yet imported, once the last part says how many.
    fn missing(&self) -> Option<BTreeSet<u32>> {
        let total = self.total?;
        Some((1..=total).filter(|p| !self.parts.contains(p)).collect())
    }
}

/// Records that part `part` of bundle `id` (32 hex digits, checked when
/// the bundle was read) is in.
pub(super) fn note_part(
    store: &Store,
    id: &str,
    part: u32,
    total: Option<u32>,
) -> Result<PartsSeen> {
    let dir = store.dir().join("bundles");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("{id}.json"));
    let mut seen: PartsSeen = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            eprintln!(
                "{}: unreadable ({e}); counting this bundle's parts afresh",
                path.display()
            );
            PartsSeen::default()
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => PartsSeen::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    seen.parts.insert(part);
    if total.is_some() {
        seen.total = total;
    }
    let temp = beside(&path)?;
    serde_json::to_writer(temp.as_file(), &seen).context("writing the parts record")?;
    temp.as_file()
        .sync_all()
        .context("writing the parts record")?;
    temp.persist(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(seen)
}

pub(super) fn add(total: &mut Stats, s: &Stats) {
    total.lines += s.lines;
    total.tally.add(&s.tally);
}

pub(super) struct Report {
    pub(super) bar: indicatif::ProgressBar,
}

impl Observer for Report {
    fn refused(&mut self, line: u64, reason: &str) {
        self.bar
            .suspend(|| eprintln!("event on line {line} of its member: {reason}"));
    }

    fn advance(&mut self, bytes: u64) {
        self.bar.inc(bytes);
    }
}
