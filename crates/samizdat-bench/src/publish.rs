//! `samizdat-bench publish`: a static mirror of generated testimonies
//! (some with photos) written from scratch, then again after one new
//! record, then checked; beside BIP-340 verification of the same events
//! on every core, measured in the same run.

use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use samizdat_core::Attachment;
use samizdat_store::Store;
use serde_json::{Value, json};

use crate::bundle::{PHOTO_SIDE, photo, samizdat};
use crate::{BenchPublishArgs, Shape};

pub fn run(args: BenchPublishArgs) -> Result<()> {
    if args.blobs > args.records {
        bail!("--blobs cannot exceed --records (each photo goes with one testimony)");
    }
    let work = tempfile::tempdir().context("creating a work directory")?;
    let data = work.path().join("data");
    let store = Store::open(&data)?;
    eprintln!("bench publish: making {} photos", args.blobs);
    let mut attachments = Vec::with_capacity(args.blobs);
    for seed in 0..args.blobs {
        let bytes = photo(seed)?;
        let hash = store.blobs().put(&bytes).context("storing a photo")?.hash;
        attachments.push(Attachment {
            hash,
            mime: "image/png".into(),
            size: bytes.len() as u64,
            dim: Some((PHOTO_SIDE, PHOTO_SIDE)),
        });
    }
    eprintln!(
        "bench publish: signing and storing {} testimonies",
        args.records
    );
    let mut events =
        crate::ingest::generate_with(args.records + 1, Shape::Testimony, &attachments)?;
    // One is held back, to be added before publishing again.
    let later = events.pop().context("generated nothing")?;
    crate::sync::fill(&store, &events)?;

    let verify_rate = crate::ingest::verify_rate(&events)?;
    let n = events.len() as f64;
    drop(events);
    drop(store);

    let mirror = work.path().join("mirror");
    let mirror_arg = mirror.to_string_lossy().into_owned();
    let summary = |dir: &std::path::Path| -> Result<Value> {
        Ok(serde_json::from_slice(&std::fs::read(dir)?)?)
    };
    let summary_file = work.path().join("summary.json");
    eprintln!("bench publish: publishing");
    let full = samizdat(
        &data,
        &["--json", "publish", "site", "-o", &mirror_arg],
        Some(&summary_file),
    )?;
    let first = summary(&summary_file)?;

    eprintln!("bench publish: one record more, publishing again");
    crate::sync::fill(&Store::open(&data)?, std::slice::from_ref(&later))?;
    let again = samizdat(
        &data,
        &["--json", "publish", "site", "-o", &mirror_arg],
        Some(&summary_file),
    )?;
    let second = summary(&summary_file)?;

    eprintln!("bench publish: copying the mirror's files (the file system's own cost)");
    let copy_seconds = copy_tree(&mirror, &work.path().join("copy"))?;

    eprintln!("bench publish: checking the mirror");
    let check = samizdat(&data, &["publish", "verify", &mirror_arg], None)?;

    let rate = n / full.seconds;
    println!(
        "mirror of {} testimonies with {} photos: {} files, {:.1} MB",
        n,
        attachments.len(),
        first["files"],
        first["bytes"].as_f64().unwrap_or(0.0) / 1e6
    );
    println!("  signature verification, every core: {verify_rate:>9.0} records/s");
    println!(
        "  publish from scratch:               {rate:>9.0} records/s  {:>7.1} s  ({:.3}× verification)",
        full.seconds,
        rate / verify_rate
    );
    println!(
        "  plain copy of the mirror's files:                  {copy_seconds:>7.1} s  (publish takes {:.2}× the copy)",
        full.seconds / copy_seconds
    );
    println!(
        "  publish again after one new record:                {:>7.1} s  ({:.2}× from scratch; {} files written, {} kept)",
        again.seconds,
        again.seconds / full.seconds,
        second["written"],
        second["kept"]
    );
    println!(
        "  publish verify (every file, every signature):      {:>7.1} s  ({:.2}× publishing)",
        check.seconds,
        check.seconds / full.seconds
    );
    println!(
        "  peak memory: publish {:.0} MB, again {:.0} MB, verify {:.0} MB",
        full.peak_bytes as f64 / 1e6,
        again.peak_bytes as f64 / 1e6,
        check.peak_bytes as f64 / 1e6
    );
    println!(
        "{}",
        json!({
            "records": n,
            "blobs": attachments.len(),
            "files": first["files"],
            "bytes": first["bytes"],
            "verify_per_second": verify_rate,
            "publish_seconds": full.seconds,
            "publish_per_second": rate,
            "publish_ratio": rate / verify_rate,
            "copy_seconds": copy_seconds,
            "publish_to_copy": full.seconds / copy_seconds,
            "again_seconds": again.seconds,
            "again_written": second["written"],
            "again_kept": second["kept"],
            "verify_seconds": check.seconds,
            "publish_peak_bytes": full.peak_bytes,
            "again_peak_bytes": again.peak_bytes,
            "verify_peak_bytes": check.peak_bytes,
        })
    );
    Ok(())
}

/// Copies every file under `from` into `to` (new), flushed to the disk
/// as publishing flushes: what the file system alone costs for these
/// files. Returns the seconds it took.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) -> Result<f64> {
    let started = Instant::now();
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    // Bounded by the mirror's folders.
    while let Some((src, dst)) = stack.pop() {
        std::fs::create_dir_all(&dst)?;
        for entry in std::fs::read_dir(&src)? {
            let entry = entry?;
            let path = entry.path();
            let target = dst.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                stack.push((path, target));
            } else {
                std::fs::write(&target, std::fs::read(&path)?)?;
            }
        }
    }
    std::fs::File::open(to)?.sync_all()?;
    // SAFETY: sync takes no arguments.
    unsafe { libc::sync() };
    Ok(started.elapsed().as_secs_f64())
}
