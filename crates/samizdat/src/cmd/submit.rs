//! The command line's door onto `submission`, the one way a new record is
//! made (the drop box is the other door): `testimony add` and `person
//! report` read the files and the readers from their arguments, let
//! `submission::prepare` strip, build, sign, validate and seal, then
//! store the blobs and the events and say what each is.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use samizdat_core::nostr::prelude::{Event, PublicKey, Timestamp};
use samizdat_core::sealed_file::Role;
use samizdat_core::{BlobHash, Limits, RecordKind, validate};
use samizdat_node::submission::{
    self, Content, Holds, Prepared, Readers, SealedAs, Submission, SubmissionError,
};
use samizdat_store::{InsertOutcome, Store};
use serde_json::json;

use crate::cli::{self, SealArgs};
use crate::context::Context;
use crate::exit::Code;
use crate::output;

/// A new record prepared from the command line, and what it is.
pub struct Made {
    pub prepared: Prepared,
    /// Whether the record itself was sealed rather than made public.
    pub sealed: bool,
    kind: RecordKind,
    sealed_as: SealedAs,
}

/// Reads the files `attach` and `seal` name, and prepares the record
/// `content` signed by the context's identity.
pub fn prepare(
    ctx: &Context,
    content: Content,
    attach: &[PathBuf],
    seal: &SealArgs,
) -> Result<Made> {
    let kind = match &content {
        Content::Testimony(_) => RecordKind::Testimony,
        Content::Person(_) => RecordKind::PersonReport,
    };
    let sealed_as = match seal.sealed_as {
        cli::SealedAs::Publishable => SealedAs::Publishable,
        cli::SealedAs::Private => SealedAs::Private,
        cli::SealedAs::Deniable => SealedAs::Deniable,
    };
    let readers = Readers {
        record: keys_of(ctx, &seal.seal_to)?,
        sealed_as,
        originals: keys_of(ctx, &seal.seal_original_to)?,
    };
    let read_all = |paths: &[PathBuf]| -> Result<Vec<(String, Vec<u8>)>> {
        paths
            .iter()
            .map(|p| Ok((p.display().to_string(), read_media(p)?)))
            .collect()
    };
    let sealed = readers.seals_record();
    let submission = Submission {
        content,
        readers,
        files: read_all(attach)?,
        untouched: read_all(&seal.keep_metadata)?,
        key: Some(ctx.signer()?),
        limits: Limits::default(),
        now: Timestamp::now(),
    };
    let prepared = submission::prepare(submission).map_err(|e| match e {
        // The file's name is its path: the error reads as before.
        SubmissionError::File { name, source } => anyhow::Error::new(source).context(name),
        other => other.into(),
    })?;
    if !ctx.json {
        for (name, stripped) in &prepared.files {
            let removed = if stripped.removed().is_empty() {
                "nothing".to_string()
            } else {
                stripped.removed().join(", ")
            };
            let hash = BlobHash::of(stripped.bytes());
            eprintln!("{name}: removed {removed}; sha256 {hash}");
        }
    }
    Ok(Made {
        prepared,
        sealed,
        kind,
        sealed_as,
    })
}

/// Stores what `made` brings, with `also` (records signed beside it):
/// nothing is written unless every event is valid; then the blobs, then
/// the events, each reported.
pub fn store(ctx: &Context, store: &Store, made: Made, also: Vec<Event>) -> Result<Code> {
    let Made {
        prepared,
        sealed,
        kind,
        sealed_as,
    } = made;
    // What `prepare` made is validated; what was signed beside it is
    // checked here, before anything is written.
    let now = Timestamp::now();
    let also = also
        .into_iter()
        .map(|e| validate(e, &Limits::default(), now))
        .collect::<Result<Vec<_>, _>>()?;
    let mut verified = prepared.events;
    // The public record first, then what was signed beside it.
    let at = usize::from(!sealed);
    verified.splice(at..at, also);
    if !sealed {
        for (_, stripped) in &prepared.files {
            store
                .blobs()
                .put_stripped(stripped)
                .context("storing an attachment")?;
        }
    }
    for bytes in &prepared.encrypted {
        store
            .blobs()
            .put(bytes)
            .context("storing an encrypted file")?;
    }
    let stored: Vec<Event> = verified.iter().map(|v| v.event().clone()).collect();
    let outcomes = store.insert(verified)?;
    for (event, outcome) in stored.iter().zip(outcomes) {
        let copy = prepared.copies.iter().find(|c| c.wrap == event.id);
        if outcome != InsertOutcome::Stored {
            let what = if copy.is_some() {
                "sealed record"
            } else {
                "record"
            };
            bail!("{what} {} was not stored: {outcome:?}", event.id);
        }
        let line = match copy {
            None if ctx.json => output::record_json(event, None).to_string(),
            None => format!("stored {} {}", RecordKind::of(event).name(), event.id),
            Some(copy) => {
                let record = prepared.id.to_hex();
                let reader = output::npub(&copy.reader);
                let wrap = event.id.to_hex();
                match copy.holds {
                    Holds::Record if ctx.json => json!({
                        "sealed": kind.name(), "record": record, "as": sealed_as.name(),
                        "for": reader, "wrap": wrap,
                    })
                    .to_string(),
                    Holds::Record => {
                        format!("sealed {} {record} for {reader} as {wrap}", kind.name())
                    }
                    Holds::File { role, plain } => {
                        let what = match role {
                            Role::Attachment => "attachment",
                            Role::Original { .. } => "original",
                            Role::Untouched => "untouched",
                        };
                        if ctx.json {
                            json!({
                                "sealed": what, "record": record, "file": plain.to_hex(),
                                "for": reader, "wrap": wrap,
                            })
                            .to_string()
                        } else {
                            format!("sealed {what} {plain} of {record} for {reader} as {wrap}")
                        }
                    }
                }
            }
        };
        println!("{line}");
    }
    Ok(Code::Success)
}

/// The readers named, each once.
fn keys_of(ctx: &Context, texts: &[String]) -> Result<Vec<PublicKey>> {
    let mut keys = Vec::new();
    for text in texts {
        let key = ctx.public_key(text)?;
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// A media file, read whole, after checking it is not over the limit.
pub(crate) fn read_media(path: &Path) -> Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if size > samizdat_media::MAX_INPUT_BYTES as u64 {
        bail!(
            "{}: {size} bytes, more than the limit of {}",
            path.display(),
            samizdat_media::MAX_INPUT_BYTES
        );
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}
