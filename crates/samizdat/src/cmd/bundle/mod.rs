//! `bundle export | import | inspect`: records and blobs as one file, for
//! when there is no link at all (the format is `samizdat-bundle`'s).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use samizdat_bundle::seal::{self, SecretString};
use samizdat_bundle::{Limits, Sink, Want};
use samizdat_core::kind;
use samizdat_store::Query;
use serde_json::json;

use crate::cli::{BundleCommand, KindName};
use crate::context::Context;
use crate::exit::Code;

pub(crate) mod exporting;
mod importing;

use exporting::*;
use importing::*;

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

/// An event's kind, read without parsing the rest of it.
pub(crate) fn kind_of(json: &str) -> Option<u16> {
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
