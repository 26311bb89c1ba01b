//! `sealed list | show | publish | save`: the sealed records and files
//! addressed to the default identity.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use samizdat_core::nostr::prelude::{Event, Keys, Timestamp};
use samizdat_core::sealed::{self, Inner, Opened};
use samizdat_core::sealed_file::{FILE_MESSAGE, Role, SealedFile};
use samizdat_core::{Attachment, Limits, RecordKind, validate};
use samizdat_store::{BlobError, InsertOutcome, Query, Store};
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
            let mine = addressed(&store, &keys)?;
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

/// The gift wraps in the store addressed to a key, opened.
struct Addressed {
    opened: Vec<(Event, Opened)>,
    unreadable: usize,
}

/// Every gift wrap in the store addressed to `keys`, newest first.
fn addressed(store: &Store, keys: &Keys) -> Result<Addressed> {
    let wraps = store.query(&Query {
        kinds: Some(vec![sealed::GIFT_WRAP.as_u16()]),
        tags: vec![('p', vec![keys.public_key().to_hex()])],
        ..Default::default()
    })?;
    let mut mine = Addressed {
        opened: Vec::new(),
        unreadable: 0,
    };
    for stored in &wraps {
        let wrap = stored.event()?;
        match sealed::open(keys, &wrap) {
            Ok(opened) => mine.opened.push((wrap, opened)),
            Err(e) => {
                mine.unreadable += 1;
                tracing::warn!(wrap = %wrap.id, error = %e, "a sealed record does not open");
            }
        }
    }
    Ok(mine)
}

fn open(store: &Store, keys: &Keys, id: &str) -> Result<(Event, Opened)> {
    let wrap = find(store, id)?;
    let opened =
        sealed::open(keys, &wrap).with_context(|| format!("opening sealed record {}", wrap.id))?;
    Ok((wrap, opened))
}

/// The file message inside, if it is one.
fn file_of(inner: &Inner) -> Option<Result<SealedFile>> {
    (inner.kind() == FILE_MESSAGE).then(|| {
        SealedFile::from_tags(&inner.readable().tags)
            .context("the sealed file message is not readable")
    })
}

/// What the sealed record is, in the words the command line uses.
fn nature(inner: &Inner) -> &'static str {
    match inner {
        Inner::Unsigned(_) => "deniable",
        Inner::Signed(_) if inner.is_protected() => "private",
        Inner::Signed(_) => "publishable",
    }
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
    let file = file_of(inner).and_then(Result::ok);
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
            "as": nature(inner),
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
        println!("  as        {}", nature(inner));
        println!(
            "  written   {}",
            crate::time::show(inner.created_at().as_secs())
        );
        println!();
        println!("{summary}");
        if file.is_none() && !inner.content().is_empty() {
            println!();
            println!("{}", inner.content());
        }
    } else {
        println!(
            "{}  {kind:<11} {:<11} from {}  {summary}",
            output::short(&wrap.id.to_hex()),
            nature(inner),
            output::short(&output::npub(&opened.sender)),
        );
    }
}

/// Opens a sealed file's encrypted blob from the store.
fn decrypt(store: &Store, file: &SealedFile) -> Result<Vec<u8>> {
    let encrypted = match store.blobs().get(&file.encrypted) {
        Ok(bytes) => bytes,
        Err(BlobError::NotFound(_)) => bail!(
            "the encrypted file {} has not arrived here yet (it travels with the sealed \
             record, by sync or bundle)",
            file.encrypted
        ),
        Err(e @ BlobError::Corrupt { .. }) => {
            bail!("the encrypted file is damaged and cannot be opened: {e}")
        }
        Err(e) => return Err(e.into()),
    };
    Ok(file.decrypt(&encrypted)?)
}

/// Writes a sealed file, opened, to a new file at `path` (mode 0600,
/// never over an existing file).
fn save(ctx: &Context, store: &Store, keys: &Keys, id: &str, path: &Path) -> Result<Code> {
    let (_, opened) = open(store, keys, id)?;
    let Some(file) = file_of(&opened.inner) else {
        bail!("this sealed record is not a file; `sealed show` prints it");
    };
    let file = file?;
    let plain = decrypt(store, &file)?;
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
    let event = match opened.inner {
        Inner::Signed(_) if opened.inner.kind() == FILE_MESSAGE => bail!(
            "this is a sealed file, kept as evidence; it is never published (`sealed save` \
             writes it out)"
        ),
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
    open_attachments(store, keys, &event)?;
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

/// Puts every attachment of `event` that this store lacks into it, from
/// the sealed files addressed to `keys` for that record; refuses if one
/// cannot be found or opened, before anything is published.
fn open_attachments(store: &Store, keys: &Keys, event: &Event) -> Result<()> {
    let missing: Vec<Attachment> = samizdat_core::tags::attachments(event)?
        .into_iter()
        .filter(|a| !store.blobs().contains(&a.hash))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let files: Vec<SealedFile> = addressed(store, keys)?
        .opened
        .iter()
        .filter(|(_, o)| o.sender == event.pubkey)
        .filter_map(|(_, o)| file_of(&o.inner).and_then(Result::ok))
        .filter(|f| f.role == Role::Attachment && f.record == event.id)
        .collect();
    let mut opened = Vec::new();
    for attachment in &missing {
        let Some(file) = files.iter().find(|f| f.plain == attachment.hash) else {
            bail!(
                "attachment {} has not arrived here yet: no sealed file for it is addressed \
                 to you; publish again once it has",
                attachment.hash
            );
        };
        let plain = decrypt(store, file)?;
        samizdat_node::admit_blob(&plain)
            .map_err(|why| anyhow::anyhow!("attachment {}: {why}", attachment.hash))?;
        opened.push(plain);
    }
    for plain in &opened {
        store.blobs().put(plain).context("storing an attachment")?;
    }
    Ok(())
}
