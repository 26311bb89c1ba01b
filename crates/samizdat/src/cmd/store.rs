//! `samizdat store copy`: every blob from where the store keeps them now
//! to another place (a bucket, or back to the local folder), each one
//! checked against its name on the way. What is already at the other
//! place, whole, is not sent again, so a cut copy goes on when run again.

use std::io::{self, Write as _};

use anyhow::{Context as _, Result, bail};
use samizdat_core::BlobHash;
use samizdat_store::shelf::{BlobsAtText, Shelf, ShelfEntry, StoreSettings};
use samizdat_store::{BlobStore, hash_reader};
use serde_json::json;

use crate::cli::{StoreCommand, StoreCopyArgs};
use crate::context::Context;
use crate::exit::Code;
use crate::progress;

pub fn run(ctx: &Context, command: StoreCommand) -> Result<Code> {
    match command {
        StoreCommand::Copy(args) => copy(ctx, args),
    }
}

#[derive(Debug, Default)]
struct Tally {
    copied: u64,
    copied_bytes: u64,
    already: u64,
    /// Blobs whose bytes at the source do not hash to their name.
    corrupt: Vec<String>,
    /// Names at the source that are not blobs.
    strays: u64,
}

fn copy(ctx: &Context, args: StoreCopyArgs) -> Result<Code> {
    let store = ctx.store()?;
    let from = store.blobs();
    let to = StoreSettings {
        blobs: BlobsAtText(args.blobs_to.parse()?),
        credentials: args.credentials,
    }
    .shelf(&ctx.data)
    .context("the place to copy to")?;
    if to.describe() == from.shelf().describe() {
        bail!("the blobs are already kept in {}", to.describe());
    }
    let entries = from.list().context("listing the blobs")?;
    let bar = progress::bar(Some(entries.len() as u64), "copying blobs");
    let mut tally = Tally::default();
    for entry in entries {
        bar.inc(1);
        let hash = match entry {
            ShelfEntry::Blob(hash) => hash,
            ShelfEntry::Stray(_) => {
                tally.strays += 1;
                continue;
            }
        };
        if is_whole_at(to.as_ref(), &hash)? {
            tally.already += 1;
            continue;
        }
        match copy_one(ctx, from, to.as_ref(), &hash)? {
            Some(size) => {
                tally.copied += 1;
                tally.copied_bytes += size;
            }
            None => tally.corrupt.push(hash.to_hex()),
        }
    }
    bar.finish_and_clear();
    for hash in &tally.corrupt {
        eprintln!("blob {hash}: corrupt where it is kept now, not copied (see `samizdat verify`)");
    }
    if ctx.json {
        println!(
            "{}",
            json!({"to": to.describe(), "copied": tally.copied, "copied_bytes": tally.copied_bytes,
                   "already_there": tally.already, "corrupt": tally.corrupt, "strays": tally.strays})
        );
    } else {
        eprintln!(
            "copied {} blob(s) ({} bytes) to {}; {} were already there, whole; {} corrupt; {} \
             name(s) that are not blobs left behind",
            tally.copied,
            tally.copied_bytes,
            to.describe(),
            tally.already,
            tally.corrupt.len(),
            tally.strays
        );
        eprintln!(
            "to keep blobs there from now on, set in samizdat.toml:\n  [store]\n  blobs = \"{}\"",
            args.blobs_to
        );
    }
    Ok(if tally.corrupt.is_empty() {
        Code::Success
    } else {
        Code::Problems
    })
}

/// Whether `to` holds the blob whole: there, and its bytes hash to its
/// name (a copy cut before its end is never taken for one done).
fn is_whole_at(to: &dyn Shelf, hash: &BlobHash) -> Result<bool> {
    if to.stat(hash)?.is_none() {
        return Ok(false);
    }
    let mut reader = to.open(hash, None)?;
    let (actual, _) = hash_reader(&mut reader)?;
    Ok(actual == *hash)
}

/// Copies one blob through the staging folder, checking its hash; its
/// size, or `None` when the bytes at the source do not match their name.
fn copy_one(
    ctx: &Context,
    from: &BlobStore,
    to: &dyn Shelf,
    hash: &BlobHash,
) -> Result<Option<u64>> {
    let mut reader = from
        .open_read(hash, None)
        .with_context(|| format!("reading blob {hash}"))?;
    let mut staged = tempfile::NamedTempFile::new_in(ctx.data.join("blobs").join("tmp"))
        .context("staging a blob")?;
    let size = io::copy(&mut reader, &mut staged)
        .with_context(|| format!("reading blob {hash} into the staging folder"))?;
    staged.flush().context("staging a blob")?;
    // Checked as it is here, in the staging folder: what goes to the
    // other place is exactly what was checked.
    let (actual, _) = hash_reader(&mut staged.reopen().context("staging a blob")?)
        .context("checking a staged blob")?;
    if actual != *hash {
        return Ok(None);
    }
    let staged = staged.into_temp_path();
    to.put_file(&staged, hash, size)
        .with_context(|| format!("storing blob {hash} in {}", to.describe()))?;
    Ok(Some(size))
}
