//! `samizdat-bench bundle`: a bundle of testimonies with photos exported
//! from one store and imported into an empty one, beside BIP-340
//! verification of the same events on every core (the ceiling of any
//! import); and the size of the events in a bundle beside their JSON.

use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use rayon::prelude::*;
use samizdat_core::Attachment;
use samizdat_store::{Query, Store};
use serde_json::json;

use crate::{BenchBundleArgs, Shape};

pub fn run(args: BenchBundleArgs) -> Result<()> {
    if args.blobs > args.events {
        bail!("--blobs cannot exceed --events (each photo goes with one testimony)");
    }
    let work = tempfile::tempdir().context("creating a work directory")?;
    let ctx = |name: &str| work.path().join(name);
    let source = ctx("source");
    let store = Store::open(&source)?;

    eprintln!("bench bundle: making {} photos", args.blobs);
    let photos: Vec<Vec<u8>> = (0..args.blobs)
        .into_par_iter()
        .map(photo)
        .collect::<Result<_>>()?;
    let mut attachments = Vec::with_capacity(photos.len());
    for bytes in &photos {
        let hash = store.blobs().put(bytes).context("storing a photo")?.hash;
        attachments.push(Attachment {
            hash,
            mime: "image/png".into(),
            size: bytes.len() as u64,
            dim: Some((PHOTO_SIDE, PHOTO_SIDE)),
        });
    }
    let blob_bytes: u64 = photos.iter().map(|p| p.len() as u64).sum();
    drop(photos);
    eprintln!(
        "bench bundle: signing and storing {} testimonies",
        args.events
    );
    let events = crate::ingest::generate_with(args.events, Shape::Testimony, &attachments)?;
    crate::sync::fill(&store, &events)?;
    let json_bytes: u64 = events.iter().map(|e| e.as_json().len() as u64 + 1).sum();

    let verify_rate = crate::ingest::verify_rate(&events)?;
    let n = events.len() as f64;
    drop(events);

    drop(store);

    // Export and import run as the command line runs them, each in its
    // own process, so that its peak memory is its own.
    eprintln!("bench bundle: exporting");
    let full = work.path().join("full.samizdat");
    let full_arg = full.to_string_lossy().into_owned();
    let export_run = samizdat(&source, &["bundle", "export", "-o", &full_arg], None)?;
    let full_bytes = std::fs::metadata(&full)?.len();
    let records = work.path().join("records.samizdat");
    let records_arg = records.to_string_lossy().into_owned();
    samizdat(
        &source,
        &["bundle", "export", "--no-blobs", "-o", &records_arg],
        None,
    )?;
    let records_bytes = std::fs::metadata(&records)?.len();

    eprintln!("bench bundle: importing into an empty store");
    let target = ctx("target");
    drop(Store::open(&target)?);
    let import_run = samizdat(&target, &["bundle", "import", &full_arg], None)?;
    let export_seconds = export_run.seconds;
    let import_seconds = import_run.seconds;
    let empty = Store::open(&target)?;
    let stored = empty.count(&Query::default())?;
    if stored as f64 != n {
        bail!("{stored} events stored of {n}");
    }
    let missing = attachments
        .iter()
        .filter(|a: &&Attachment| !empty.blobs().contains(&a.hash))
        .count();
    if missing > 0 {
        bail!("{missing} photos did not arrive");
    }

    let mb = |bytes: u64, seconds: f64| bytes as f64 / 1e6 / seconds;
    let export_rate = n / export_seconds;
    let import_rate = n / import_seconds;
    let size_ratio = records_bytes as f64 / json_bytes as f64;
    println!(
        "bundle of {} testimonies and {} photos ({:.1} MB of JSON, {:.1} MB of photos), {:.1} MB:",
        n,
        attachments.len(),
        json_bytes as f64 / 1e6,
        blob_bytes as f64 / 1e6,
        full_bytes as f64 / 1e6
    );
    println!("  signature verification, every core: {verify_rate:>9.0} events/s");
    println!(
        "  export:                             {export_rate:>9.0} events/s  {:>6.1} MB/s",
        mb(full_bytes, export_seconds)
    );
    println!(
        "  import (checked, then stored):      {import_rate:>9.0} events/s  {:>6.1} MB/s  ({:.2}× verification; target ≥ 0.6)",
        mb(full_bytes, import_seconds),
        import_rate / verify_rate
    );
    println!(
        "  peak memory: export {:.0} MB, import {:.0} MB",
        export_run.peak_bytes as f64 / 1e6,
        import_run.peak_bytes as f64 / 1e6
    );
    println!(
        "  events alone: {records_bytes} bytes bundled beside {json_bytes} of JSON lines ({size_ratio:.2}×; target ≤ 0.6)"
    );
    println!(
        "{}",
        json!({
            "events": n,
            "blobs": attachments.len(),
            "json_bytes": json_bytes,
            "blob_bytes": blob_bytes,
            "bundle_bytes": full_bytes,
            "verify_per_second": verify_rate,
            "export_per_second": export_rate,
            "export_seconds": export_seconds,
            "import_per_second": import_rate,
            "import_seconds": import_seconds,
            "import_ratio": import_rate / verify_rate,
            "records_bundle_bytes": records_bytes,
            "size_ratio": size_ratio,
            "export_peak_bytes": export_run.peak_bytes,
            "import_peak_bytes": import_run.peak_bytes,
        })
    );
    Ok(())
}

/// One run of the command line: how long, and its peak resident memory.
pub(crate) struct Run {
    pub(crate) seconds: f64,
    pub(crate) peak_bytes: u64,
}

/// Runs `samizdat --data DIR ARGS…`, reading its peak resident memory
/// (`VmHWM`, which starts afresh at `exec`, unlike `ru_maxrss`) from
/// /proc as it runs.
pub(crate) fn samizdat(
    data: &std::path::Path,
    args: &[&str],
    stdout: Option<&std::path::Path>,
) -> Result<Run> {
    let exe = crate::samizdat_exe()?;
    let started = Instant::now();
    let mut child = std::process::Command::new(exe)
        .arg("--data")
        .arg(data)
        .args(args)
        .stdout(match stdout {
            Some(path) => std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?
                .into(),
            None => std::process::Stdio::null(),
        })
        .spawn()
        .context("starting samizdat")?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_bytes = 0u64;
    // Bounded: at most an hour, in steps of 10 ms.
    for _ in 0..360_000 {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                bail!("samizdat {args:?} failed ({status})");
            }
            return Ok(Run {
                seconds: started.elapsed().as_secs_f64(),
                peak_bytes,
            });
        }
        if let Some(hwm) = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|s| vm_hwm(&s))
        {
            peak_bytes = peak_bytes.max(hwm);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = child.kill();
    bail!("samizdat {args:?} ran for over an hour")
}

/// `VmHWM:   123456 kB` from /proc/PID/status, in bytes.
fn vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub(crate) const PHOTO_SIDE: u32 = 128;

/// A PNG of noise (about 50 KB), without metadata: what the media rule
/// lets in.
pub(crate) fn photo(seed: usize) -> Result<Vec<u8>> {
    let mut state = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let image = image::RgbImage::from_fn(PHOTO_SIDE, PHOTO_SIDE, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let [r, g, b, ..] = state.to_le_bytes();
        image::Rgb([r, g, b])
    });
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .context("encoding a photo")?;
    Ok(samizdat_media::strip(&png)?.into_bytes())
}
