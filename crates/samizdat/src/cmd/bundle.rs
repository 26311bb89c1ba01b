//! `bundle export | import | inspect`: records and blobs as one file, for
//! when there is no link at all (the format is `samizdat-bundle`'s).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use samizdat_bundle::seal::{self, Lock, Sealed, SecretString};
use samizdat_bundle::{BundleError, Limits, Manifest, Parts, Sink, Want, Writer};
use samizdat_core::BlobHash;
use samizdat_core::kind;
use samizdat_store::{Query, Store};
use serde_json::json;

use crate::cli::{BundleCommand, KindName};
use crate::context::Context;
use crate::exit::Code;
use crate::progress;
use samizdat_node::import::{self, Observer, Stats};

pub fn run(ctx: &Context, command: BundleCommand) -> Result<Code> {
    match command {
        BundleCommand::Export {
            output,
            mut filter,
            no_blobs,
            encrypt_to,
            passphrase,
            for_want,
            max_part_size,
        } => {
            if filter.kinds.is_empty() {
                filter.kinds.push(KindName::All);
            }
            let queries = super::read::queries(ctx, &filter, None)?;
            let seal = if passphrase {
                Seal::Passphrase(crate::passphrase::bundle_new()?)
            } else if !encrypt_to.is_empty() {
                Seal::Recipients(
                    encrypt_to
                        .iter()
                        .map(|r| seal::recipient(r))
                        .collect::<Result<_, _>>()?,
                )
            } else {
                Seal::Open
            };
            let max_part = max_part_size.as_deref().map(parse_size).transpose()?;
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
                seal,
                want,
                max_part,
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

/// `20M`, `1G`, `512K` or a number of bytes (powers of 1024).
fn parse_size(text: &str) -> Result<u64> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| anyhow!("--max-part-size {text:?}: write a size such as 20M"))?;
    let scale: u64 = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => bail!("--max-part-size {text:?}: the unit is K, M or G"),
    };
    n.checked_mul(scale)
        .ok_or_else(|| anyhow!("--max-part-size {text:?} is too large"))
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
    let identity = seal::Identity::generate();
    let recipient = identity.to_public();
    use seal::ExposeSecret;
    super::create_private(output, |file| {
        writeln!(
            file,
            "# samizdat bundle identity: opens bundles encrypted to the recipient below. Keep it secret.\n\
             # public key: {recipient}\n{}",
            identity.to_string().expose_secret()
        )
    })?;
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
            if !lacks_event(&stored.id) {
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
                let size = std::fs::metadata(store.blobs().path(&h)).ok()?.len();
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
enum Seal {
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
struct FileParts {
    output: PathBuf,
    split: bool,
    seal: Seal,
    pending: Option<tempfile::NamedTempFile>,
    files: Vec<(PathBuf, u64)>,
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
    seal: Seal,
    /// Leave out what the node of this want file has.
    want: Option<Want>,
    /// Split into parts of at most this many bytes.
    max_part: Option<u64>,
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
    dir: super::Spool,
    store: Store,
    events: Vec<PathBuf>,
    blobs: Vec<(BlobHash, PathBuf)>,
    already: u64,
    bar: indicatif::ProgressBar,
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

fn import(
    ctx: &Context,
    store: &Store,
    path: &Path,
    identities: &[String],
    salvage: bool,
) -> Result<Code> {
    let input = open_bundle(path, identities)?;
    let dir = super::new_spool(store.dir()).context("making room in the data directory")?;
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

/// Which parts of a split bundle this node has imported, kept in
/// `bundles/<id>.json` in the data directory across sittings.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct PartsSeen {
    parts: BTreeSet<u32>,
    total: Option<u32>,
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
fn note_part(store: &Store, id: &str, part: u32, total: Option<u32>) -> Result<PartsSeen> {
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

/// An event's kind, read without parsing the rest of it.
fn kind_of(json: &str) -> Option<u16> {
    #[derive(serde::Deserialize)]
    struct Kind {
        kind: u16,
    }
    serde_json::from_str::<Kind>(json).ok().map(|k| k.kind)
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
            match kind_of(&line?) {
                Some(kind) => *self.kinds.entry(kind).or_default() += 1,
                None => self.unreadable += 1,
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
                "part": header.part,
                "parts": manifest.parts,
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
    match (header.part, manifest.parts) {
        (Some(part), Some(total)) => println!("part {part}, the last of {total}"),
        (Some(part), None) => println!("part {part} (not the last)"),
        _ => {}
    }
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
