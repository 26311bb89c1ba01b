//! `sealed list | show | publish | save`: the sealed records and files
//! addressed to the default identity.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use samizdat_core::RecordKind;
use samizdat_core::nostr::prelude::{Event, Keys};
use samizdat_core::sealed::{self, Opened};
use samizdat_core::sealed_file::{Role, SealedFile};
use samizdat_node::inbox;
use samizdat_store::{InsertOutcome, Store};
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
        SealedCommand::List => {
            let mine = inbox::inbox(&store, &keys)?;
            for (wrap, opened) in &mine.opened {
                print(ctx, wrap, opened, false);
            }
            if !ctx.json {
                eprintln!(
                    "{} sealed record(s) for {}{}",
                    mine.opened.len(),
                    output::npub(&keys.public_key()),
                    if mine.unreadable > 0 {
                        format!(
                            "; {} addressed to you could not be opened (see -v)",
                            mine.unreadable
                        )
                    } else {
                        String::new()
                    }
                );
            }
            Ok(Code::Success)
        }
        SealedCommand::Show { id } => {
            let (wrap, opened) = open(&store, &keys, &id)?;
            print(ctx, &wrap, &opened, true);
            Ok(Code::Success)
        }
        SealedCommand::Publish { id } => publish(ctx, &store, &keys, &id),
        SealedCommand::Save { id, output } => save(ctx, &store, &keys, &id, &output),
    }
}

fn open(store: &Store, keys: &Keys, id: &str) -> Result<(Event, Opened)> {
    let wrap = find(store, id)?;
    let opened =
        sealed::open(keys, &wrap).with_context(|| format!("opening sealed record {}", wrap.id))?;
    Ok((wrap, opened))
}

/// One line about a sealed file: what it is to which record.
fn describe(file: &SealedFile) -> String {
    let of = output::short(&file.record.to_hex()).to_string();
    match file.role {
        Role::Attachment => format!("{} attachment of {of}", file.mime),
        Role::Untouched => format!("{} file sent whole (metadata kept) with {of}", file.mime),
        Role::Original { stripped } => format!(
            "{} original of {} in {of}",
            file.mime,
            output::short(&stripped.to_hex())
        ),
    }
}

fn print(ctx: &Context, wrap: &Event, opened: &Opened, full: bool) {
    let inner = &opened.inner;
    let file = inbox::file_of(inner).and_then(Result::ok);
    let kind = if file.is_some() {
        "file"
    } else {
        inner.record_kind().name()
    };
    let id = inner.id().map(|id| id.to_hex()).unwrap_or_default();
    let summary = match &file {
        Some(file) => describe(file),
        None => output::summary(&inner.readable()),
    };
    if ctx.json {
        let mut value = json!({
            "wrap": wrap.id.to_hex(),
            "from": output::npub(&opened.sender),
            "kind": kind,
            "as": inbox::nature(inner),
            "record": id,
            "created_at": inner.created_at().as_secs(),
            "summary": summary,
        });
        if let Some(file) = &file {
            value["file"] = json!({
                "of": file.record.to_hex(),
                "sha256": file.plain.to_hex(),
                "type": file.mime,
                "untouched": file.role == Role::Untouched,
                "stripped": match file.role {
                    Role::Original { stripped } => Some(stripped.to_hex()),
                    Role::Attachment | Role::Untouched => None,
                },
            });
        }
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
        println!("  as        {}", inbox::nature(inner));
        println!(
            "  written   {}",
            crate::time::show(inner.created_at().as_secs())
        );
        println!();
        // The whole text once; the summary only where there is no text
        // (a file, a record with no content).
        if file.is_none() && !inner.content().is_empty() {
            println!("{}", inner.content());
        } else {
            println!("{summary}");
        }
    } else {
        println!(
            "{}  {kind:<11} {:<11} from {}  {summary}",
            output::short(&wrap.id.to_hex()),
            inbox::nature(inner),
            output::short(&output::npub(&opened.sender)),
        );
    }
}

/// Writes a sealed file, opened, to a new file at `path` (mode 0600,
/// never over an existing file).
fn save(ctx: &Context, store: &Store, keys: &Keys, id: &str, path: &Path) -> Result<Code> {
    let (_, opened) = open(store, keys, id)?;
    let Some(file) = inbox::file_of(&opened.inner) else {
        bail!("this sealed record is not a file; `sealed show` prints it");
    };
    let file = file?;
    let plain = inbox::decrypt(store, &file)?;
    // An original carries what stripping removes: readable by its owner
    // only.
    super::create_private(path, |file| file.write_all(&plain))?;
    if ctx.json {
        println!(
            "{}",
            json!({"saved": path.display().to_string(), "sha256": file.plain.to_hex(), "size": plain.len()})
        );
    } else {
        println!(
            "saved {} ({}, {} bytes, sha256 {})",
            path.display(),
            describe(&file),
            plain.len(),
            file.plain
        );
    }
    Ok(Code::Success)
}

/// Stores the signed inner record as a public record, unchanged, after
/// opening its sealed attachments into the store.
fn publish(ctx: &Context, store: &Store, keys: &Keys, id: &str) -> Result<Code> {
    let (_, opened) = open(store, keys, id)?;
    let verified = inbox::ready_to_publish(store, keys, opened.inner)?;
    let event = verified.event().clone();
    let outcome = store.insert(vec![verified])?;
    match outcome.first() {
        Some(InsertOutcome::Stored | InsertOutcome::Duplicate) => {}
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
