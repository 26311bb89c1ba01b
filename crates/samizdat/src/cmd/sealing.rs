//! Sealing new records and files for chosen readers (`--seal-to`,
//! `--seal-original-to`): what `testimony add` and `person report` do
//! instead of, or beside, storing a public record.

use anyhow::{Context as _, Result, bail};
use samizdat_core::nostr::prelude::{EventId, Keys, PublicKey, Timestamp, UnsignedEvent};
use samizdat_core::sealed::{self, Inner};
use samizdat_core::sealed_file::{self, ENCRYPTED_MIME, Role};
use samizdat_core::sign::Draft;
use samizdat_core::{BlobHash, Limits, RecordKind, VerifiedEvent, validate};
use samizdat_store::{InsertOutcome, Store};
use serde_json::json;

use super::record::{Attached, read_media};
use crate::cli::{SealArgs, SealedAs};
use crate::context::Context;
use crate::exit::Code;
use crate::output;

/// What the command line asked to seal, and for whom.
pub struct Sealing<'a> {
    how: &'a SealArgs,
    /// Readers of the record itself (`--seal-to`).
    readers: Vec<PublicKey>,
    /// Readers of the untouched originals (`--seal-original-to`).
    original_readers: Vec<PublicKey>,
}

/// Gift wraps ready to store, the encrypted blobs they carry, and a line
/// to print for each wrap.
#[derive(Default)]
struct Wraps {
    events: Vec<VerifiedEvent>,
    blobs: Vec<Vec<u8>>,
    lines: Vec<serde_json::Value>,
}

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

impl<'a> Sealing<'a> {
    pub fn new(ctx: &Context, how: &'a SealArgs) -> Result<Self> {
        Ok(Sealing {
            how,
            readers: keys_of(ctx, &how.seal_to)?,
            original_readers: keys_of(ctx, &how.seal_original_to)?,
        })
    }

    /// Whether the record itself is sealed rather than public.
    pub fn seals_record(&self) -> bool {
        !self.readers.is_empty()
    }

    /// Whether the untouched attachments must be kept to be sealed.
    pub fn keeps_originals(&self) -> bool {
        !self.original_readers.is_empty()
    }

    /// Signs the record, seals it and its attachments for each reader,
    /// and stores only the sealed copies: neither the plain record nor
    /// its plain attachments are kept here.
    pub fn seal(
        self,
        ctx: &Context,
        store: &Store,
        keys: &Keys,
        mut draft: Draft,
        attached: &Attached,
    ) -> Result<Code> {
        if self.how.sealed_as == SealedAs::Private {
            // NIP-70: only the author may publish it.
            draft.tags.push(vec!["-".to_string()]);
        }
        let now = draft.created_at;
        // The record must be valid as a public one would be: a reader who
        // publishes it publishes exactly this.
        let record = validate(draft.sign(keys)?, &Limits::default(), now)?.into_event();
        let kind = RecordKind::of(&record).name();
        let id = record.id;
        let inner = match self.how.sealed_as {
            SealedAs::Publishable | SealedAs::Private => Inner::Signed(record),
            SealedAs::Deniable => Inner::Unsigned(UnsignedEvent::from(record)),
        };
        let how = format!("{:?}", self.how.sealed_as).to_lowercase();
        let mut wraps = Wraps::default();
        for reader in &self.readers {
            let wrap = sealed::wrap(keys, &inner, reader, &[], now)?;
            let wrap = validate(wrap, &Limits::default(), now)
                .context("the sealed record is too large for one event; shorten the text")?;
            wraps.lines.push(json!({
                "sealed": kind, "record": id.to_hex(), "as": how,
                "for": output::npub(reader), "wrap": wrap.event().id.to_hex(),
            }));
            wraps.events.push(wrap);
        }
        let files = attached
            .attachments
            .iter()
            .zip(&attached.stripped)
            .map(|(a, stripped)| (stripped.bytes(), a.mime.as_str(), Role::Attachment));
        self.files(keys, &self.readers, files, id, now, &mut wraps)?;
        self.originals(keys, id, attached, now, &mut wraps)?;
        let untouched = self.untouched()?;
        let files = untouched
            .iter()
            .map(|(bytes, mime)| (bytes.as_slice(), mime.as_str(), Role::Untouched));
        self.files(keys, &self.readers, files, id, now, &mut wraps)?;
        store_wraps(ctx, store, wraps)
    }

    /// The `--keep-metadata` files, read whole, with their media types
    /// when samizdat knows them.
    fn untouched(&self) -> Result<Vec<(Vec<u8>, String)>> {
        let mut files = Vec::new();
        for path in &self.how.keep_metadata {
            let bytes = read_media(path)?;
            let mime = samizdat_media::MediaType::detect(&bytes)
                .map_or(ENCRYPTED_MIME, |t| t.mime())
                .to_string();
            files.push((bytes, mime));
        }
        Ok(files)
    }

    /// Seals the untouched originals of a stored public record's
    /// attachments for the `--seal-original-to` readers.
    pub fn seal_originals(
        &self,
        ctx: &Context,
        store: &Store,
        keys: &Keys,
        record: EventId,
        attached: &Attached,
    ) -> Result<Code> {
        let mut wraps = Wraps::default();
        self.originals(keys, record, attached, Timestamp::now(), &mut wraps)?;
        store_wraps(ctx, store, wraps)
    }

    fn originals(
        &self,
        keys: &Keys,
        record: EventId,
        attached: &Attached,
        now: Timestamp,
        wraps: &mut Wraps,
    ) -> Result<()> {
        let files = attached
            .attachments
            .iter()
            .zip(&attached.originals)
            // Nothing was removed: the public copy is the original.
            .filter(|(a, bytes)| BlobHash::of(bytes) != a.hash)
            .map(|(a, bytes)| {
                let role = Role::Original { stripped: a.hash };
                (bytes.as_slice(), a.mime.as_str(), role)
            });
        self.files(keys, &self.original_readers, files, record, now, wraps)
    }

    /// Encrypts each file once, and seals its file message for each of
    /// `readers`; each wrap names the encrypted blob, so that the blob
    /// travels with it.
    fn files<'f>(
        &self,
        keys: &Keys,
        readers: &[PublicKey],
        files: impl Iterator<Item = (&'f [u8], &'f str, Role)>,
        record: EventId,
        now: Timestamp,
        wraps: &mut Wraps,
    ) -> Result<()> {
        if readers.is_empty() {
            return Ok(());
        }
        for (plain, mime, role) in files {
            let sealed = sealed_file::seal(keys, readers, plain, mime, record, role, now)?;
            let what = match role {
                Role::Attachment => "attachment",
                Role::Original { .. } => "original",
                Role::Untouched => "untouched",
            };
            for (reader, wrap) in sealed.wraps {
                let wrap = validate(wrap, &Limits::default(), now)?;
                wraps.lines.push(json!({
                    "sealed": what, "record": record.to_hex(), "file": sealed.file.plain.to_hex(),
                    "for": output::npub(&reader), "wrap": wrap.event().id.to_hex(),
                }));
                wraps.events.push(wrap);
            }
            wraps.blobs.push(sealed.encrypted);
        }
        Ok(())
    }
}

/// Stores the encrypted blobs, then the wraps that name them; reports
/// each wrap.
fn store_wraps(ctx: &Context, store: &Store, wraps: Wraps) -> Result<Code> {
    for bytes in &wraps.blobs {
        store
            .blobs()
            .put(bytes)
            .context("storing an encrypted file")?;
    }
    let ids: Vec<EventId> = wraps.events.iter().map(|w| w.event().id).collect();
    let outcomes = store.insert(wraps.events)?;
    for ((id, outcome), line) in ids.iter().zip(outcomes).zip(wraps.lines) {
        if outcome != InsertOutcome::Stored {
            bail!("sealed record {id} was not stored: {outcome:?}");
        }
        if ctx.json {
            println!("{line}");
        } else {
            let field = |name: &str| line[name].as_str().unwrap_or("").to_string();
            let what = match field("sealed").as_str() {
                "attachment" | "original" | "untouched" => {
                    format!(
                        "{} {} of {}",
                        field("sealed"),
                        field("file"),
                        field("record")
                    )
                }
                kind => format!("{kind} {}", field("record")),
            };
            println!("sealed {what} for {} as {id}", field("for"));
        }
    }
    Ok(Code::Success)
}
