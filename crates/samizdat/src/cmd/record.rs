//! Commands that sign and store a new record: `testimony add`,
//! `person report`, `attest`, `retract`.

use std::io::{IsTerminal, Read};

use anyhow::{Context as _, Result, bail};
use samizdat_core::attestation::{Attestation, Label};
use samizdat_core::nostr::prelude::{Event, EventId, Keys, Kind, Timestamp};
use samizdat_core::person::{PersonReport, Source, Status};
use samizdat_core::retraction::Retraction;
use samizdat_core::sign::Draft;
use samizdat_core::tags::{Observed, Place};
use samizdat_core::testimony::Testimony;
use samizdat_core::{Limits, kind, validate};
use samizdat_node::submission::Content;
use samizdat_store::{InsertOutcome, Query, Store};

use super::submit;
use crate::cli::{self, AttestArgs, PersonCommand, PlaceArgs, RetractArgs, TestimonyCommand};
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
    let testimony = Testimony {
        text: text.trim().to_string(),
        lang: args.lang.clone(),
        place: place(&args.place),
        observed: args.observed.as_deref().map(observed).transpose()?,
        attachments: Vec::new(),
        topics: args.topics.iter().map(|t| t.to_lowercase()).collect(),
    };
    let made = submit::prepare(ctx, Content::Testimony(testimony), &args.attach, &args.seal)?;
    let mut also = Vec::new();
    // A public translation says what it translates, signed beside it.
    if let Some(original) = original.filter(|_| !made.sealed) {
        let record = &made.prepared;
        let attestation = Attestation {
            label: Label::TranslationOf,
            target: record.id,
            target_author: Some(record.keys.public_key()),
            original: Some(original.id),
            note: String::new(),
        };
        also.push(attestation.draft(Timestamp::now()).sign(&record.keys)?);
    }
    submit::store(ctx, &store, made, also)
}

pub fn person(ctx: &Context, command: PersonCommand) -> Result<Code> {
    let PersonCommand::Report(args) = command;
    let store = ctx.store()?;
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
        attachments: Vec::new(),
    };
    let made = submit::prepare(ctx, Content::Person(report), &args.attach, &args.seal)?;
    submit::store(ctx, &store, made, Vec::new())
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
    let event = attestation.draft(Timestamp::now()).sign(&keys)?;
    store_new(ctx, &store, vec![event])
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
    store_new(ctx, &store, vec![event])
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
                [one] => *one,
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

/// Validates new records, then stores them; reports each. Nothing is
/// written unless every record is valid.
fn store_new(ctx: &Context, store: &Store, events: Vec<Event>) -> Result<Code> {
    let verified = events
        .into_iter()
        .map(|e| validate(e, &Limits::default(), Timestamp::now()))
        .collect::<Result<Vec<_>, _>>()?;
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

fn place(args: &PlaceArgs) -> Place {
    Place {
        text: args.place.clone(),
        geohash: args.geo.clone(),
    }
}

fn observed(text: &str) -> Result<Observed> {
    let (start, end, offset) = time::parse_span(text)?;
    Ok(Observed { start, end, offset })
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
        cli::Label::SamePerson => Label::SamePerson,
        cli::Label::DifferentPerson => Label::DifferentPerson,
    }
}
