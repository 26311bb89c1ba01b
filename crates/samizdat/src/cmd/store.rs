//! `samizdat store copy`: every blob from where the store keeps them now
//! to another place (a bucket, or back to the local folder), each one
//! checked against its name on the way. What is already at the other
//! place, whole, is not sent again, so a cut copy goes on when run again.
//! Events go by `copy_events`.

use std::io::{self, Write as _};

use anyhow::{Context as _, Result, bail};
use samizdat_core::BlobHash;
use samizdat_store::shelf::ShelfEntry;
use samizdat_store::{BlobError, BlobStore};
use samizdat_store::{BlobsAtText, StoreSettings};
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
    /// Blobs the admission rule refuses, and why.
    refused: Vec<(String, String)>,
    /// Names at the source that are not blobs.
    strays: u64,
}

fn copy(ctx: &Context, args: StoreCopyArgs) -> Result<Code> {
    let config =
        samizdat_node::config::Config::load(&ctx.data.join(samizdat_node::config::CONFIG_FILE))?;
    let store = ctx.store_with(&config.store)?;
    // The other place's secrets: the file given, else the one
    // samizdat.toml names, else the environment.
    let credentials = args.credentials.or(config.store.credentials);
    let mut code = Code::Success;
    if let Some(to) = &args.events_to {
        code = super::copy_events::copy(ctx, &store, to, credentials.clone())?;
    }
    if let Some(to) = &args.blobs_to
        && copy_blobs(ctx, &store, to, credentials)? != Code::Success
    {
        code = Code::Problems;
    }
    Ok(code)
}

fn copy_blobs(
    ctx: &Context,
    store: &samizdat_store::Store,
    blobs_to: &str,
    credentials: Option<std::path::PathBuf>,
) -> Result<Code> {
    let from = store.blobs();
    let to = StoreSettings {
        blobs: BlobsAtText(blobs_to.parse()?),
        credentials,
        ..Default::default()
    }
    .shelf(&ctx.data)
    .context("the place to copy to")?;
    // The other place behind the same door as every write: staged here,
    // checked, then stored.
    let to = BlobStore::open_on(ctx.data.join("blobs"), to).context("the staging folder")?;
    if to.shelf().describe() == from.shelf().describe() {
        bail!("the blobs are already kept in {}", to.shelf().describe());
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
        if is_whole_at(&to, &hash)? {
            tally.already += 1;
            continue;
        }
        match copy_one(from, &to, &hash)? {
            Copied::Stored(size) => {
                tally.copied += 1;
                tally.copied_bytes += size;
            }
            Copied::Corrupt => tally.corrupt.push(hash.to_hex()),
            Copied::Refused(why) => tally.refused.push((hash.to_hex(), why)),
        }
    }
    bar.finish_and_clear();
    for hash in &tally.corrupt {
        eprintln!("blob {hash}: corrupt where it is kept now, not copied (see `samizdat verify`)");
    }
    for (hash, why) in &tally.refused {
        eprintln!("blob {hash}: refused by the admission rule, not copied: {why}");
    }
    if ctx.json {
        println!(
            "{}",
            json!({"to": to.shelf().describe(), "copied": tally.copied, "copied_bytes": tally.copied_bytes,
                   "already_there": tally.already, "corrupt": tally.corrupt,
                   "refused": tally.refused.iter().map(|(h, _)| h).collect::<Vec<_>>(),
                   "strays": tally.strays})
        );
    } else {
        eprintln!(
            "copied {} blob(s) ({} bytes) to {}; {} were already there, whole; {} corrupt; {} \
             refused by the admission rule; {} name(s) that are not blobs left behind",
            tally.copied,
            tally.copied_bytes,
            to.shelf().describe(),
            tally.already,
            tally.corrupt.len(),
            tally.refused.len(),
            tally.strays
        );
        eprintln!(
            "to keep blobs there from now on, set in samizdat.toml:\n  [store]\n  blobs = \"{}\"",
            blobs_to
        );
    }
    Ok(if tally.corrupt.is_empty() && tally.refused.is_empty() {
        Code::Success
    } else {
        Code::Problems
    })
}

/// Whether `to` holds the blob whole: there, and its bytes hash to its
/// name (a copy cut before its end is never taken for one done).
fn is_whole_at(to: &BlobStore, hash: &BlobHash) -> Result<bool> {
    match to.verify(hash) {
        Ok(_) => Ok(true),
        Err(BlobError::NotFound(_) | BlobError::Corrupt { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// What became of one blob sent to the other place.
enum Copied {
    Stored(u64),
    /// Its bytes at the source do not hash to its name.
    Corrupt,
    /// The admission rule refuses its bytes (kept under an older rule,
    /// or put there by something other than samizdat).
    Refused(String),
}

/// Copies one blob through the staging folder into `to`, which checks it
/// there as every door does: its hash, then the admission rule.
fn copy_one(from: &BlobStore, to: &BlobStore, hash: &BlobHash) -> Result<Copied> {
    let mut reader = from
        .open_read(hash, None)
        .with_context(|| format!("reading blob {hash}"))?;
    let mut staged = tempfile::NamedTempFile::new_in(to.staging()).context("staging a blob")?;
    io::copy(&mut reader, &mut staged)
        .with_context(|| format!("reading blob {hash} into the staging folder"))?;
    staged.flush().context("staging a blob")?;
    let staged = staged.into_temp_path();
    match to.adopt(&staged, hash) {
        Ok(kept) => Ok(Copied::Stored(kept.size)),
        Err(BlobError::Corrupt { .. }) => Ok(Copied::Corrupt),
        Err(BlobError::Refused(why)) => Ok(Copied::Refused(why.to_string())),
        Err(e) => Err(e).with_context(|| format!("storing blob {hash}")),
    }
}
