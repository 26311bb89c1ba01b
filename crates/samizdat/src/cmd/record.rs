//! Commands that sign and store a new record: `testimony add`,
//! `person report`, `attest`, `retract`.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use samizdat_core::attestation::{Attestation, Label};
use samizdat_core::nostr::prelude::{
    Event, EventId, Keys, Kind, PublicKey, Timestamp, UnsignedEvent,
};
use samizdat_core::person::{PersonReport, Source, Status};
use samizdat_core::retraction::Retraction;
use samizdat_core::sealed::{self, Inner};
use samizdat_core::sign::Draft;
use samizdat_core::tags::{Observed, Place};
use samizdat_core::testimony::Testimony;
use samizdat_core::{Attachment, BlobHash, Limits, RecordKind, kind, validate};
use samizdat_store::{InsertOutcome, Query, Store};
use serde_json::json;

use crate::cli::{
    self, AttestArgs, PersonCommand, PlaceArgs, RetractArgs, SealArgs, SealedAs, TestimonyCommand,
};
use crate::context::{self, Context};
use crate::exit::Code;
use crate::{output, time};

pub fn testimony(ctx: &Context, command: TestimonyCommand) -> Result<Code> {
    let TestimonyCommand::Add(args) = command;
    let store = ctx.store()?;
    let text = match (&args.text, &args.file) {
        (Some(t), _) if t != "-" => t.clone(),
        (_, Some(path)) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        _ => {
            if std::io::stdin().is_terminal() {
                eprintln!("Type the testimony, then press Ctrl-D on a new line:");
            }
            let mut t = String::new();
            std::io::stdin()
                .take(samizdat_core::testimony::MAX_TEXT_BYTES as u64 + 1)
                .read_to_string(&mut t)
                .context("reading the testimony from standard input")?;
            t
        }
    };
    let original = args
        .translation_of
        .as_deref()
        .map(|id| find(&store, id))
        .transpose()?;
    let sealing = Sealing::new(ctx, &args.seal, &args.attach)?;
    let keys = ctx.signer()?;
    let (attachments, blobs) = attach(ctx, &args.attach)?;
    let testimony = Testimony {
        text: text.trim().to_string(),
        lang: args.lang.clone(),
        place: place(&args.place),
        observed: args.observed.as_deref().map(observed).transpose()?,
        attachments,
        topics: args.topics.iter().map(|t| t.to_lowercase()).collect(),
    };
    let now = Timestamp::now();
    let draft = Draft {
        kind: kind::TESTIMONY,
        created_at: now,
        tags: testimony.tags(),
        content: testimony.content(),
    };
    if let Some(sealing) = sealing {
        return sealing.seal(ctx, &store, &keys, draft);
    }
    let mut events = vec![draft.sign(&keys)?];
    if let Some(original) = original {
        let attestation = Attestation {
            label: Label::TranslationOf,
            target: events[0].id,
            target_author: Some(events[0].pubkey),
            original: Some(original.id),
            note: String::new(),
        };
        events.push(sign(
            &keys,
            kind::ATTESTATION,
            now,
            attestation.tags(),
            String::new(),
        )?);
    }
    store_new(ctx, &store, events, blobs)
}

pub fn person(ctx: &Context, command: PersonCommand) -> Result<Code> {
    let PersonCommand::Report(args) = command;
    let store = ctx.store()?;
    let sealing = Sealing::new(ctx, &args.seal, &args.attach)?;
    let keys = ctx.signer()?;
    let (attachments, blobs) = attach(ctx, &args.attach)?;
    let report = PersonReport {
        name: args.name.trim().to_string(),
        aliases: args.aliases.iter().map(|a| a.trim().to_string()).collect(),
        age: args.age,
        role: args.role.clone(),
        status: status(args.status),
        observed: args.when.as_deref().map(observed).transpose()?,
        place: place(&args.place),
        source: source(args.source),
        lang: args.lang.clone(),
        details: args.details.trim().to_string(),
        attachments,
    };
    let draft = Draft {
        kind: kind::PERSON_REPORT,
        created_at: Timestamp::now(),
        tags: report.tags(),
        content: report.content(),
    };
    if let Some(sealing) = sealing {
        return sealing.seal(ctx, &store, &keys, draft);
    }
    let event = draft.sign(&keys)?;
    store_new(ctx, &store, vec![event], blobs)
}

pub fn attest(ctx: &Context, args: AttestArgs) -> Result<Code> {
    let store = ctx.store()?;
    let target = find(&store, &args.id)?;
    let original = args.of.as_deref().map(|id| find(&store, id)).transpose()?;
    let attestation = Attestation {
        label: label(args.label),
        target: target.id,
        target_author: Some(target.pubkey),
        original: original.map(|o| o.id),
        note: args.note.trim().to_string(),
    };
    let keys = ctx.signer()?;
    let event = sign(
        &keys,
        kind::ATTESTATION,
        Timestamp::now(),
        attestation.tags(),
        attestation.note.clone(),
    )?;
    store_new(ctx, &store, vec![event], Vec::new())
}

pub fn retract(ctx: &Context, args: RetractArgs) -> Result<Code> {
    let store = ctx.store()?;
    let target = find(&store, &args.id)?;
    let keys = ctx.signer()?;
    if target.pubkey != keys.public_key() {
        bail!(
            "record {} was signed by someone else; you can retract only your own records",
            target.id
        );
    }
    let tags = Retraction::tags(&[(target.id, target.kind.as_u16())]);
    let event = sign(
        &keys,
        kind::RETRACTION,
        Timestamp::now(),
        tags,
        args.reason.trim().to_string(),
    )?;
    store_new(ctx, &store, vec![event], Vec::new())
}

/// A stored record, by any form of its id, or by the start of its hex id
/// (at least 6 digits, as `list` shows them).
pub fn find(store: &Store, text: &str) -> Result<Event> {
    let text = text.trim();
    let id: EventId = match context::event_id(text) {
        Ok(id) => id,
        Err(_)
            if text.len() >= 6
                && text.len() < 64
                && text.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            match store.ids_with_prefix(text, 2)?.as_slice() {
                [one] => EventId::from_byte_array(*one),
                [] => bail!("no record whose id starts with {text} in this store"),
                _ => bail!("more than one record's id starts with {text}; give more digits"),
            }
        }
        Err(e) => return Err(e),
    };
    let found = store.query(&Query {
        ids: Some(vec![id]),
        ..Default::default()
    })?;
    match found.first() {
        Some(stored) => Ok(stored.event()?),
        None => bail!("no record {id} in this store"),
    }
}

fn sign(
    keys: &Keys,
    kind: Kind,
    at: Timestamp,
    tags: Vec<Vec<String>>,
    content: String,
) -> Result<Event> {
    let draft = Draft {
        kind,
        created_at: at,
        tags,
        content,
    };
    Ok(draft.sign(keys)?)
}

/// How a new record is sealed, when it is not made public.
struct Sealing<'a> {
    how: &'a SealArgs,
    readers: Vec<PublicKey>,
}

impl<'a> Sealing<'a> {
    /// `None` for a public record.
    fn new(ctx: &Context, how: &'a SealArgs, attachments: &[PathBuf]) -> Result<Option<Self>> {
        if how.seal_to.is_empty() {
            return Ok(None);
        }
        if !attachments.is_empty() {
            bail!(
                "a sealed record cannot carry attachments yet: blobs travel in the clear, so \
                 the photo would be readable by anyone who carries it. Send the attachments in \
                 a public record, or send the record without them"
            );
        }
        let mut readers = Vec::new();
        for text in &how.seal_to {
            let key = ctx.public_key(text)?;
            if !readers.contains(&key) {
                readers.push(key);
            }
        }
        Ok(Some(Sealing { how, readers }))
    }

    /// Signs the record, seals it for each reader, and stores only the
    /// sealed copies (gift wraps): the plain record is not kept here.
    fn seal(self, ctx: &Context, store: &Store, keys: &Keys, mut draft: Draft) -> Result<Code> {
        if self.how.sealed_as == SealedAs::Private {
            // NIP-70: only the author may publish it.
            draft.tags.push(vec!["-".to_string()]);
        }
        let now = draft.created_at;
        // The record must be valid as a public one would be: a reader who
        // publishes it publishes exactly this.
        let record = validate(draft.sign(keys)?, &Limits::default(), now)?.into_event();
        let kind = RecordKind::of(&record).name();
        let inner = match self.how.sealed_as {
            SealedAs::Publishable | SealedAs::Private => Inner::Signed(record),
            SealedAs::Deniable => Inner::Unsigned(UnsignedEvent::from(record)),
        };
        let mut wraps = Vec::new();
        for reader in &self.readers {
            let wrap = sealed::wrap(keys, &inner, reader, now)?;
            let wrap = validate(wrap, &Limits::default(), now)
                .context("the sealed record is too large for one event; shorten the text")?;
            wraps.push(wrap);
        }
        let ids: Vec<EventId> = wraps.iter().map(|w| w.event().id).collect();
        let outcomes = store.insert(wraps)?;
        let record = inner.id().map(|id| id.to_hex()).unwrap_or_default();
        let how = format!("{:?}", self.how.sealed_as).to_lowercase();
        for ((reader, wrap), outcome) in self.readers.iter().zip(ids).zip(outcomes) {
            if outcome != InsertOutcome::Stored {
                bail!("sealed record {wrap} was not stored: {outcome:?}");
            }
            let reader = output::npub(reader);
            if ctx.json {
                let line = json!({"sealed": kind, "record": record, "as": how, "for": reader, "wrap": wrap.to_hex()});
                println!("{line}");
            } else {
                println!("sealed {kind} {record} for {reader} as {wrap}");
            }
        }
        Ok(Code::Success)
    }
}

/// Validates new records, then stores their blobs and them; reports each.
/// Nothing is written unless every record is valid.
fn store_new(
    ctx: &Context,
    store: &Store,
    events: Vec<Event>,
    blobs: Vec<Vec<u8>>,
) -> Result<Code> {
    let verified = events
        .into_iter()
        .map(|e| validate(e, &Limits::default(), Timestamp::now()))
        .collect::<Result<Vec<_>, _>>()?;
    for bytes in &blobs {
        store.blobs().put(bytes).context("storing an attachment")?;
    }
    let stored: Vec<Event> = verified.iter().map(|v| v.event().clone()).collect();
    let outcomes = store.insert(verified)?;
    for (event, outcome) in stored.iter().zip(outcomes) {
        if outcome != InsertOutcome::Stored {
            bail!("record {} was not stored: {outcome:?}", event.id);
        }
        if ctx.json {
            println!("{}", output::record_json(event, None));
        } else {
            println!(
                "stored {} {}",
                samizdat_core::RecordKind::of(event).name(),
                event.id
            );
        }
    }
    Ok(Code::Success)
}

/// Strips and checks each attachment; refuses the lot if one fails. The
/// cleaned bytes are stored only once the record is known to be valid.
fn attach(ctx: &Context, paths: &[PathBuf]) -> Result<(Vec<Attachment>, Vec<Vec<u8>>)> {
    let mut attachments = Vec::new();
    let mut blobs = Vec::new();
    for path in paths {
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
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let stripped =
            samizdat_media::strip(&bytes).with_context(|| format!("{}", path.display()))?;
        let hash = BlobHash::of(&stripped.bytes);
        if !ctx.json {
            let removed = if stripped.removed.is_empty() {
                "nothing".to_string()
            } else {
                stripped.removed.join(", ")
            };
            eprintln!("{}: removed {removed}; sha256 {hash}", path.display());
        }
        attachments.push(Attachment {
            hash,
            mime: stripped.media_type.mime().to_string(),
            size: stripped.bytes.len() as u64,
            dim: stripped.dim,
        });
        blobs.push(stripped.bytes);
    }
    Ok((attachments, blobs))
}

fn place(args: &PlaceArgs) -> Place {
    Place {
        text: args.place.clone(),
        geohash: args.geo.clone(),
    }
}

fn observed(text: &str) -> Result<Observed> {
    let (start, end) = time::parse_span(text)?;
    Ok(Observed { start, end })
}

fn status(s: cli::Status) -> Status {
    match s {
        cli::Status::Missing => Status::Missing,
        cli::Status::Detained => Status::Detained,
        cli::Status::Injured => Status::Injured,
        cli::Status::Killed => Status::Killed,
        cli::Status::Released => Status::Released,
        cli::Status::Found => Status::Found,
        cli::Status::Unknown => Status::Unknown,
    }
}

fn source(s: cli::Source) -> Source {
    match s {
        cli::Source::Witnessed => Source::Witnessed,
        cli::Source::Relative => Source::Relative,
        cli::Source::Official => Source::Official,
        cli::Source::Media => Source::Media,
    }
}

fn label(l: cli::Label) -> Label {
    match l {
        cli::Label::Corroborates => Label::Corroborates,
        cli::Label::Disputes => Label::Disputes,
        cli::Label::Verified => Label::Verified,
        cli::Label::DuplicateOf => Label::DuplicateOf,
        cli::Label::TranslationOf => Label::TranslationOf,
    }
}
