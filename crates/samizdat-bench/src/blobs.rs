//! Blob upload and download through Blossom, on a node that keeps blobs
//! in its local folder (the baseline) and on one that keeps them in an
//! S3 bucket, in the same run.

use std::io::Read as _;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use samizdat_core::BlobHash;
use samizdat_core::nostr::prelude::{Keys, Kind, Timestamp};
use samizdat_core::sign::Draft;
use samizdat_store::shelf::Shelf as _;

use crate::BenchBlobsArgs;
use crate::relay::process::Relay;

/// What the nodes are told beside where blobs go: one client is the whole
/// load here, so its budgets are lifted.
const BLOSSOM: &str = "[blossom]\nmax_upload_bytes = 1000000000\n\
                       upload_bytes_per_hour = 100000000000\n\
                       unreferenced_bytes = 100000000000\n";

pub fn run(args: BenchBlobsArgs) -> Result<()> {
    let size = args.size_mb * 1_000_000;
    let blobs: Vec<Vec<u8>> = (0..args.count).map(|i| noise(i as u64 + 1, size)).collect();
    let keys = Keys::generate();
    let folder = Relay::samizdat_with(BLOSSOM)?;
    let bucket = Relay::samizdat_with(&format!("{BLOSSOM}[store]\nblobs = \"{}\"\n", args.bucket))?;
    let mut rows = Vec::new();
    for (name, node) in [("local folder", &folder), ("S3 bucket", &bucket)] {
        let base = node.url.replacen("ws://", "http://", 1);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .into();
        // One blob first, not timed: connections made, the store warm.
        upload(&agent, &base, &keys, &noise(u64::MAX - 1, size))?;
        let started = Instant::now();
        for blob in &blobs {
            upload(&agent, &base, &keys, blob)?;
        }
        let up = started.elapsed();
        let started = Instant::now();
        for blob in &blobs {
            download(&agent, &base, blob)?;
        }
        let down = started.elapsed();
        rows.push((name, up, down));
    }
    rows.push((
        "the bucket itself (no node)",
        floor_up(&args.bucket, &blobs)?,
        floor_down(&args.bucket, &blobs)?,
    ));
    let total = (size * args.count) as f64 / 1e6;
    let rate = |d: Duration| total / d.as_secs_f64();
    println!(
        "{} blobs of {} MB each way, one client, through Blossom on loopback",
        args.count, args.size_mb
    );
    println!("| blobs kept in | upload MB/s | download MB/s |");
    println!("|---|---|---|");
    for (name, up, down) in &rows {
        println!("| {name} | {:.1} | {:.1} |", rate(*up), rate(*down));
    }
    let (_, fu, fd) = rows[0];
    let (_, bu, bd) = rows[1];
    let (_, ou, od) = rows[2];
    println!(
        "node on the bucket / node on the folder: upload {:.2}×, download {:.2}×",
        fu.as_secs_f64() / bu.as_secs_f64(),
        fd.as_secs_f64() / bd.as_secs_f64()
    );
    println!(
        "node on the bucket / the bucket itself: upload {:.2}×, download {:.2}×",
        ou.as_secs_f64() / bu.as_secs_f64(),
        od.as_secs_f64() / bd.as_secs_f64()
    );
    Ok(())
}

fn upload(agent: &ureq::Agent, base: &str, keys: &Keys, blob: &[u8]) -> Result<()> {
    let hash = BlobHash::of(blob).to_hex();
    let response = agent
        .put(format!("{base}/upload"))
        .header("authorization", authorization(keys, &hash)?)
        .send(blob)
        .context("uploading")?;
    if !response.status().is_success() {
        bail!("upload refused: {}", response.status());
    }
    Ok(())
}

fn download(agent: &ureq::Agent, base: &str, blob: &[u8]) -> Result<()> {
    let hash = BlobHash::of(blob).to_hex();
    let response = agent
        .get(format!("{base}/{hash}"))
        .call()
        .context("downloading")?;
    if !response.status().is_success() {
        bail!("download refused: {}", response.status());
    }
    let mut got = Vec::with_capacity(blob.len());
    response.into_body().into_reader().read_to_end(&mut got)?;
    if got != blob {
        bail!("blob {hash} came back different");
    }
    Ok(())
}

/// The floor: the same blobs put straight into the bucket by the shelf's
/// own client, from files, with no node between.
fn floor_up(bucket: &str, blobs: &[Vec<u8>]) -> Result<Duration> {
    let shelf = shelf(bucket, "floor")?;
    let dir = tempfile::tempdir()?;
    let mut files = Vec::new();
    for (i, blob) in blobs.iter().enumerate() {
        let path = dir.path().join(i.to_string());
        std::fs::write(&path, blob)?;
        files.push((path, BlobHash::of(blob), blob.len() as u64));
    }
    let warm = dir.path().join("warm");
    let bytes = noise(u64::MAX - 2, blobs.first().map_or(0, Vec::len));
    std::fs::write(&warm, &bytes)?;
    shelf.put_file(&warm, &BlobHash::of(&bytes), bytes.len() as u64)?;
    let started = Instant::now();
    for (path, hash, size) in &files {
        shelf.put_file(path, hash, *size)?;
    }
    Ok(started.elapsed())
}

fn floor_down(bucket: &str, blobs: &[Vec<u8>]) -> Result<Duration> {
    let shelf = shelf(bucket, "floor")?;
    let started = Instant::now();
    for blob in blobs {
        let mut got = Vec::with_capacity(blob.len());
        shelf
            .open(&BlobHash::of(blob), None)?
            .read_to_end(&mut got)?;
        if got != *blob {
            bail!("a blob came back different from the bucket");
        }
    }
    Ok(started.elapsed())
}

/// The bucket at `url`, in its folder `folder`, with the key in the
/// environment.
fn shelf(url: &str, folder: &str) -> Result<samizdat_store::shelf::S3> {
    let mut at: samizdat_store::shelf::BucketAt = url.parse()?;
    at.prefix = format!("{}{folder}/", at.prefix);
    let credentials = samizdat_store::shelf::Credentials::from_env()
        .context("the bucket's key: SAMIZDAT_S3_ACCESS_KEY_ID and SAMIZDAT_S3_SECRET_ACCESS_KEY")?;
    Ok(samizdat_store::shelf::S3::new(at, credentials)?)
}

/// A BUD-01 upload authorization for one blob.
fn authorization(keys: &Keys, hash: &str) -> Result<String> {
    let now = Timestamp::now().as_secs();
    let event = Draft {
        kind: Kind::Custom(24242),
        created_at: Timestamp::from_secs(now - 1),
        tags: vec![
            vec!["t".into(), "upload".into()],
            vec!["expiration".into(), (now + 600).to_string()],
            vec!["x".into(), hash.into()],
        ],
        content: "samizdat bench".into(),
    }
    .sign(keys)?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(event.as_json());
    Ok(format!("Nostr {encoded}"))
}

/// Uniform bytes, as an encrypted video is.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}
