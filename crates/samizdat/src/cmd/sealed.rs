//! `sealed list | show | publish`: the sealed records addressed to the
//! default identity.

use anyhow::{Context as _, Result, bail};
use samizdat_core::nostr::prelude::{Event, Keys, Timestamp};
use samizdat_core::sealed::{self, Inner, Opened};
use samizdat_core::{Limits, RecordKind, validate};
use samizdat_store::{InsertOutcome, Query, Store};
use serde_json::json;

use crate::cli::SealedCommand;
use crate::cmd::record::find;
use crate::context::Context;
use crate::exit::Code;
use crate::output;

pub fn run(ctx: &Context, command: SealedCommand) -> Result<Code> {
    let store = ctx.store()?;
    let keys = ctx.signer()?;
    match command {
        SealedCommand::List => list(ctx, &store, &keys),
        SealedCommand::Show { id } => {
            let (wrap, opened) = open(&store, &keys, &id)?;
            print(ctx, &wrap, &opened, true);
            Ok(Code::Success)
        }
        SealedCommand::Publish { id } => publish(ctx, &store, &keys, &id),
    }
}

/// Every gift wrap in the store addressed to `keys`, newest first.
fn list(ctx: &Context, store: &Store, keys: &Keys) -> Result<Code> {
    let wraps = store.query(&Query {
        kinds: Some(vec![sealed::GIFT_WRAP.as_u16()]),
        tags: vec![('p', vec![keys.public_key().to_hex()])],
        ..Default::default()
    })?;
    let mut unreadable = 0;
    for stored in &wraps {
        let wrap = stored.event()?;
        match sealed::open(keys, &wrap) {
            Ok(opened) => print(ctx, &wrap, &opened, false),
            Err(e) => {
                unreadable += 1;
                tracing::warn!(wrap = %wrap.id, error = %e, "a sealed record does not open");
            }
        }
    }
    if !ctx.json {
        eprintln!(
            "{} sealed record(s) for {}{}",
            wraps.len() - unreadable,
            output::npub(&keys.public_key()),
            if unreadable > 0 {
                format!("; {unreadable} addressed to you could not be opened (see -v)")
            } else {
                String::new()
            }
        );
    }
    Ok(Code::Success)
}

fn open(store: &Store, keys: &Keys, id: &str) -> Result<(Event, Opened)> {
    let wrap = find(store, id)?;
    let opened =
        sealed::open(keys, &wrap).with_context(|| format!("opening sealed record {}", wrap.id))?;
    Ok((wrap, opened))
}

/// What the sealed record is, in the words the command line uses.
fn nature(inner: &Inner) -> &'static str {
    match inner {
        Inner::Unsigned(_) => "deniable",
        Inner::Signed(_) if inner.is_protected() => "private",
        Inner::Signed(_) => "publishable",
    }
}

fn print(ctx: &Context, wrap: &Event, opened: &Opened, full: bool) {
    let inner = &opened.inner;
    let kind = inner.record_kind().name();
    let id = inner.id().map(|id| id.to_hex()).unwrap_or_default();
    if ctx.json {
        let mut value = json!({
            "wrap": wrap.id.to_hex(),
            "from": output::npub(&opened.sender),
            "kind": kind,
            "as": nature(inner),
            "record": id,
            "created_at": inner.created_at().as_secs(),
        });
        if full {
            value["inner"] = serde_json::from_str(&inner.json()).unwrap_or_default();
        }
        println!("{value}");
        return;
    }
    if full {
        println!("sealed {kind} {id}");
        println!("  wrap      {}", wrap.id);
        println!("  from      {}", output::npub(&opened.sender));
        println!("  as        {}", nature(inner));
        println!(
            "  written   {}",
            crate::time::show(inner.created_at().as_secs())
        );
        println!();
        println!("{}", output::summary(&inner.readable()));
        if !inner.content().is_empty() {
            println!();
            println!("{}", inner.content());
        }
    } else {
        println!(
            "{}  {kind:<11} {:<11} from {}  {}",
            output::short(&wrap.id.to_hex()),
            nature(inner),
            output::short(&output::npub(&opened.sender)),
            output::summary(&inner.readable())
        );
    }
}

/// Stores the signed inner record as a public record, unchanged.
fn publish(ctx: &Context, store: &Store, keys: &Keys, id: &str) -> Result<Code> {
    let (_, opened) = open(store, keys, id)?;
    let event = match opened.inner {
        Inner::Unsigned(_) => bail!(
            "this sealed record is deniable: its author did not sign it, so it cannot be \
             published as theirs"
        ),
        Inner::Signed(_) if opened.inner.is_protected() => bail!(
            "its author sealed this record as private (NIP-70 `-` tag): they did not allow \
             anyone else to publish it"
        ),
        Inner::Signed(event) => event,
    };
    let verified = validate(event, &Limits::default(), Timestamp::now())
        .context("the sealed record is not a valid public record")?;
    let event = verified.event().clone();
    let outcome = store.insert(vec![verified])?;
    match outcome.first() {
        Some(InsertOutcome::Stored) => {}
        Some(InsertOutcome::Duplicate) => {}
        other => bail!("record {} was not stored: {other:?}", event.id),
    }
    if ctx.json {
        println!("{}", output::record_json(&event, None));
    } else {
        println!(
            "published {} {} by {}",
            RecordKind::of(&event).name(),
            event.id,
            output::npub(&event.pubkey)
        );
    }
    Ok(Code::Success)
}
