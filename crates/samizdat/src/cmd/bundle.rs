//! `bundle export | import | inspect`: records and blobs as one file, for
//! when there is no link at all (the format is `samizdat-bundle`'s).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use samizdat_bundle::seal::{self, Lock, Sealed, SecretString};
use samizdat_bundle::{BundleError, Limits, Sink, Want, Writer};
use samizdat_core::BlobHash;
use samizdat_core::kind;
use samizdat_store::{Query, Store};
use serde_json::json;

use crate::cli::{BundleCommand, KindName};
use crate::context::Context;
use crate::exit::Code;
use crate::ingest::{self, Observer, Stats};
use crate::progress;

/// Blobs larger than this are checked by their first megabyte only (the
/// media rules recognise a file by its head; an image this large is
/// refused).
const WHOLE_CHECK_BYTES: u64 = 256 * 1024 * 1024;

pub fn run(ctx: &Context, command: BundleCommand) -> Result<Code> {
    match command {
        BundleCommand::Export {
            output,
            mut filter,
            no_blobs,
            encrypt_to,
            passphrase,
            for_want,
        } => {
            if filter.kinds.is_empty() {
                filter.kinds.push(KindName::All);
            }
            let queries = super::read::queries(ctx, &filter, None)?;
            let lock = if passphrase {
                Lock::Passphrase(SecretString::from(crate::passphrase::bundle_new()?))
            } else if !encrypt_to.is_empty() {
                Lock::Recipients(
                    encrypt_to
                        .iter()
                        .map(|r| seal::recipient(r))
                        .collect::<Result<_, _>>()?,
                )
            } else {
                Lock::Open
            };
            let want = match &for_want {
                Some(path) => {
                    let file =
                        File::open(path).with_context(|| format!("opening {}", path.display()))?;
                    Some(
                        Want::read(BufReader::new(file))
                            .map_err(|e| anyhow!("{}: {e}", path.display()))?,
                    )
                }
                None => None,
            };
            let options = ExportOptions {
                blobs: !no_blobs,
                lock,
                want,
            };
            export(ctx, &ctx.store()?, &queries, &output, options)
        }
        BundleCommand::Want { output } => want(ctx, &output),
        BundleCommand::Import {
            files,
            identities,
            salvage,
        } => {
            let store = ctx.store()?;
            let identities = read_identities(&identities)?;
            let mut code = Code::Success;
            for file in &files {
                if import(ctx, &store, file, &identities, salvage)? != Code::Success {
                    code = Code::Problems;
                }
            }
            Ok(code)
        }
        BundleCommand::Inspect { file, identities } => {
            inspect(ctx, &file, &read_identities(&identities)?)
        }
        BundleCommand::Keygen { output } => keygen(&output),
    }
}

/// The identity files' text, read once for every bundle.
fn read_identities(paths: &[PathBuf]) -> Result<Vec<String>> {
    paths
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .with_context(|| format!("reading identity file {}", p.display()))
        })
        .collect()
}

/// Opens `path`, decrypting it if it is encrypted.
fn open_bundle(path: &Path, identities: &[String]) -> Result<Box<dyn Read>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut keys = seal::Keys::default();
    for text in identities {
        keys.identities.extend(seal::identities(text)?);
    }
    keys.passphrase = Some(Box::new(|| {
        crate::passphrase::bundle_existing()
            .map(SecretString::from)
            .map_err(|e| e.to_string())
    }));
    seal::open(BufReader::with_capacity(1 << 20, file), keys)
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}

fn keygen(output: &Path) -> Result<Code> {
    use std::os::unix::fs::OpenOptionsExt;
    let identity = seal::Identity::generate();
    let recipient = identity.to_public();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(output)
        .with_context(|| {
            format!(
                "creating {} (an existing file is never overwritten)",
                output.display()
            )
        })?;
    use seal::ExposeSecret;
    writeln!(
        file,
        "# samizdat bundle identity: opens bundles encrypted to the recipient below. Keep it secret.\n\
         # public key: {recipient}\n{}",
        identity.to_string().expose_secret()
    )
    .and_then(|()| file.sync_all())
    .with_context(|| format!("writing {}", output.display()))?;
    println!("{recipient}");
    eprintln!(
        "identity written to {}; give the line above to whoever sends you bundles (--encrypt-to)",
        output.display()
    );
    Ok(Code::Success)
}

/// The kinds that go first, in this order: sync's priority.
const FIRST: [u16; 4] = [
    kind::PERSON_REPORT.as_u16(),
    kind::TESTIMONY.as_u16(),
    kind::ATTESTATION.as_u16(),
    kind::RETRACTION.as_u16(),
];

/// `queries` in priority order: a query for every kind is split into one
/// per priority kind and one for the rest (`true`: skip priority kinds).
fn in_priority_order(queries: &[Query]) -> Vec<(Query, bool)> {
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

fn export(
    ctx: &Context,
    store: &Store,
    queries: &[Query],
    output: &Path,
    options: ExportOptions,
) -> Result<Code> {
    let ExportOptions { blobs, lock, want } = options;
    let lacks_event = |id: &[u8; 32]| want.as_ref().is_none_or(|w| !w.has_event(id));
    let lacks_blob = |h: &BlobHash| want.as_ref().is_none_or(|w| !w.has_blob(h.as_bytes()));
    let ordered = in_priority_order(queries);
    let total: u64 = queries
        .iter()
        .map(|q| store.count(q))
        .sum::<Result<u64, _>>()?;
    let temp = beside(output)?;
    let file = temp
        .as_file()
        .try_clone()
        .context("opening the bundle file")?;
    let id = hex::encode(rand::random::<[u8; 16]>());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let sealed = Sealed::new(BufWriter::with_capacity(1 << 20, file), lock)?;
    let mut writer = Writer::new(sealed, id, now)?;

    let bar = progress::bar(Some(total), "bundling records");
    let mut failure: Option<BundleError> = None;
    for (query, skip_first) in &ordered {
        store.query_each(query, |stored| {
            if !lacks_event(&stored.id) {
                bar.inc(1);
                return true;
            }
            if *skip_first {
                let kind = stored.event().map(|e| e.kind.as_u16()).unwrap_or(0);
                if FIRST.contains(&kind) {
                    return true;
                }
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
    if blobs {
        let mut hashes = BTreeSet::new();
        for q in queries {
            hashes.extend(store.referenced_blobs(q)?);
        }
        let mut present: Vec<(u64, BlobHash)> = hashes
            .into_iter()
            .filter(|h| lacks_blob(h))
            .filter_map(|h| {
                let size = std::fs::metadata(store.blobs().path(&h)).ok()?.len();
                Some((size, h))
            })
            .collect();
        present.sort();
        let bar = progress::bar(Some(present.iter().map(|(s, _)| s).sum()), "bundling blobs");
        for (size, hash) in present {
            let path = store.blobs().path(&hash);
            let file = File::open(&path).with_context(|| format!("opening blob {hash}"))?;
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
    let (events, blob_count) = writer.counts();
    let written = writer.finish()?;
    let mut out = written.out.finish().context("writing the bundle")?;
    out.flush().context("writing the bundle")?;
    drop(out);
    temp.as_file().sync_all().context("syncing the bundle")?;
    temp.persist(output)
        .with_context(|| format!("naming the bundle {}", output.display()))?;
    let size = std::fs::metadata(output).map_or(0, |m| m.len());
    if ctx.json {
        println!(
            "{}",
            json!({"bundle": written.manifest.id, "events": events, "blobs": blob_count,
                   "blob_bytes": blob_bytes, "bytes": size})
        );
    } else {
        eprintln!(
            "wrote bundle {} to {}: {events} events and {blob_count} blobs ({blob_bytes} bytes of blobs), {size} bytes",
            written.manifest.id,
            output.display()
        );
    }
    Ok(Code::Success)
}

/// A temporary file in `output`'s directory: written there and renamed
/// at the end, so that a file with the final name is always whole.
fn beside(output: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    tempfile::Builder::new()
        .prefix(".samizdat-")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a file in {}", dir.display()))
}

struct ExportOptions {
    blobs: bool,
    lock: Lock,
    /// Leave out what the node of this want file has.
    want: Option<Want>,
}

/// `bundle want`: every event id and blob hash of this store, shortened.
fn want(ctx: &Context, output: &Path) -> Result<Code> {
    let store = ctx.store()?;
    let mut ids = Vec::new();
    store.for_each_key(&Query::default(), |_, id| {
        ids.push(id);
        true
    })?;
    let blobs: Vec<[u8; 32]> = store
        .blobs()
        .list()
        .context("listing blobs")?
        .into_iter()
        .filter_map(|entry| match entry {
            samizdat_store::BlobEntry::Blob(hash) => Some(*hash.as_bytes()),
            samizdat_store::BlobEntry::Stray(_) => None,
        })
        .collect();
    let want = Want::new(ids, blobs);
    let temp = beside(output)?;
    want.write(BufWriter::new(temp.as_file()))?;
    temp.as_file().sync_all().context("syncing the want file")?;
    temp.persist(output)
        .with_context(|| format!("naming the want file {}", output.display()))?;
    let (events, blobs) = want.counts();
    let size = std::fs::metadata(output).map_or(0, |m| m.len());
    if ctx.json {
        println!(
            "{}",
            json!({"events": events, "blobs": blobs, "bytes": size})
        );
    } else {
        eprintln!(
            "wrote {}: {events} events and {blobs} blobs this node has, in {size} bytes; \
             carry it to the other node for `samizdat bundle export --for {}`",
            output.display(),
            output
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        );
    }
    Ok(Code::Success)
}

/// Keeps members aside in a directory of the data directory until the
/// bundle has been checked whole.
struct Spool {
    dir: tempfile::TempDir,
    store: Store,
    events: Vec<PathBuf>,
    blobs: Vec<(BlobHash, PathBuf)>,
    already: u64,
    bar: indicatif::ProgressBar,
}

impl Sink for Spool {
    fn events(&mut self, n: u32, data: &mut dyn Read) -> io::Result<()> {
        let path = self.dir.path().join(format!("events-{n:06}.jsonl"));
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
        let path = self.dir.path().join(hash.to_hex());
        let mut file = BufWriter::new(File::create(&path)?);
        let copied = io::copy(data, &mut file)?;
        file.flush()?;
        self.bar.inc(copied);
        self.blobs.push((hash, path));
        Ok(())
    }
}

fn import(
    ctx: &Context,
    store: &Store,
    path: &Path,
    identities: &[String],
    salvage: bool,
) -> Result<Code> {
    let input = open_bundle(path, identities)?;
    let dir = tempfile::Builder::new()
        .prefix("bundle-")
        .tempdir_in(store.dir())
        .context("making room in the data directory")?;
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
        let s = ingest::ingest(
            store,
            BufReader::with_capacity(1 << 20, file),
            &pool,
            &mut report,
        )?;
        add(&mut stats, &s);
    }
    report.bar.finish_and_clear();

    let (mut stored_blobs, mut refused) = (0u64, Vec::new());
    for (hash, file) in &spool.blobs {
        match admit(file) {
            Ok(()) => match store.blobs().adopt(file, hash) {
                Ok(_) => stored_blobs += 1,
                Err(e) => refused.push(format!("{hash}: {e}")),
            },
            Err(why) => refused.push(format!("{hash}: {why}")),
        }
    }
    for why in &refused {
        eprintln!("blob refused: {why}");
    }
    let manifest = unpacked.as_ref().ok().map(|u| &u.manifest);
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
            })
        );
    } else {
        eprintln!(
            "{}: {} events read: {} stored, {} already present, {} deleted by their authors, {} superseded, {} rejected; \
             {stored_blobs} blobs stored, {} already here, {} refused",
            path.display(),
            stats.lines,
            stats.stored,
            stats.duplicate,
            stats.deleted,
            stats.superseded,
            stats.rejected,
            spool.already,
            refused.len()
        );
    }
    Ok(
        if damage.is_some() || stats.rejected > 0 || !refused.is_empty() {
            Code::Problems
        } else {
            Code::Success
        },
    )
}

/// The media rule for a spooled blob.
fn admit(path: &Path) -> Result<(), String> {
    let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    let bytes = if size <= WHOLE_CHECK_BYTES {
        std::fs::read(path).map_err(|e| e.to_string())?
    } else {
        let mut head = Vec::new();
        File::open(path)
            .and_then(|f| f.take(1 << 20).read_to_end(&mut head))
            .map_err(|e| e.to_string())?;
        head
    };
    samizdat_node::admit_blob(&bytes)
}

fn add(total: &mut Stats, s: &Stats) {
    total.lines += s.lines;
    total.stored += s.stored;
    total.duplicate += s.duplicate;
    total.deleted += s.deleted;
    total.superseded += s.superseded;
    total.ephemeral += s.ephemeral;
    total.rejected += s.rejected;
}

struct Report {
    bar: indicatif::ProgressBar,
}

impl Observer for Report {
    fn rejected(&mut self, line: u64, reason: &str) {
        self.bar
            .suspend(|| eprintln!("event on line {line} of its member: {reason}"));
    }

    fn committed(&mut self, _: &Stats) {}

    fn read(&mut self, n: u64) {
        self.bar.inc(n);
    }
}

/// Counts what a bundle holds, keeping nothing.
#[derive(Default)]
struct Tally {
    kinds: std::collections::BTreeMap<u16, u64>,
    unreadable: u64,
    blob_bytes: u64,
}

impl Sink for Tally {
    fn events(&mut self, _: u32, data: &mut dyn Read) -> io::Result<()> {
        for line in io::BufRead::lines(BufReader::new(data)) {
            let line = line?;
            #[derive(serde::Deserialize)]
            struct Kind {
                kind: u16,
            }
            match serde_json::from_str::<Kind>(&line) {
                Ok(k) => *self.kinds.entry(k.kind).or_default() += 1,
                Err(_) => self.unreadable += 1,
            }
        }
        Ok(())
    }

    fn blob(&mut self, _: [u8; 32], size: u64, data: &mut dyn Read) -> io::Result<()> {
        io::copy(data, &mut io::sink())?;
        self.blob_bytes += size;
        Ok(())
    }
}

fn inspect(ctx: &Context, path: &Path, identities: &[String]) -> Result<Code> {
    let input = open_bundle(path, identities)?;
    let mut tally = Tally::default();
    let unpacked = samizdat_bundle::unpack(input, &mut tally, &Limits::default())
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let (header, manifest) = (&unpacked.header, &unpacked.manifest);
    if ctx.json {
        println!(
            "{}",
            json!({
                "bundle": header.id,
                "version": header.version,
                "created_at": header.created_at,
                "events": manifest.events,
                "kinds": tally.kinds,
                "blobs": manifest.blobs,
                "blob_bytes": tally.blob_bytes,
                "members": manifest.members.len() + 1,
                "digest": manifest.digest,
            })
        );
        return Ok(Code::Success);
    }
    println!("bundle {} (format version {})", header.id, header.version);
    println!(
        "written {}",
        jiff::Timestamp::from_second(header.created_at as i64)
            .map_or_else(|_| header.created_at.to_string(), |t| t.to_string())
    );
    println!("{} events:", manifest.events);
    for (kind, n) in &tally.kinds {
        let name = match *kind {
            k if k == kind::PERSON_REPORT.as_u16() => "person reports",
            k if k == kind::TESTIMONY.as_u16() => "testimonies and notes",
            k if k == kind::ATTESTATION.as_u16() => "attestations",
            k if k == kind::RETRACTION.as_u16() => "retractions",
            _ => "other",
        };
        println!("  kind {kind:>5}: {n:>8}  {name}");
    }
    println!("{} blobs, {} bytes", manifest.blobs, tally.blob_bytes);
    println!(
        "every member matches the manifest (digest {})",
        manifest.digest
    );
    Ok(Code::Success)
}
