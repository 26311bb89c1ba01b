//! Sealed records addressed to one key: what `samizdat sealed` and the
//! documenters' console read, open and publish.

use samizdat_core::nostr::prelude::{Event, EventId, Keys, Timestamp};
use samizdat_core::sealed::{self, Inner, Opened};
use samizdat_core::sealed_file::{FILE_MESSAGE, FileError, Role, SealedFile};
use samizdat_core::{Attachment, BlobHash, Limits, RuleViolation, VerifiedEvent, validate};
use samizdat_store::{BlobError, Query, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the encrypted file {0} has not arrived here yet (it travels with the sealed \
         record, by sync or bundle)"
    )]
    FileNotHere(BlobHash),
    #[error("the encrypted file is damaged and cannot be opened: {0}")]
    FileDamaged(BlobError),
    #[error("reading the encrypted file: {0}")]
    Blob(BlobError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("the sealed file message is not readable: {0}")]
    BadFileMessage(RuleViolation),
    #[error(
        "this is a sealed file, kept as evidence; it is never published (`sealed save` \
         writes it out)"
    )]
    FileNotPublishable,
    #[error(
        "this sealed record is deniable: its author did not sign it, so it cannot be \
         published as theirs"
    )]
    Deniable,
    #[error(
        "its author sealed this record as private (NIP-70 `-` tag): they did not allow \
         anyone else to publish it"
    )]
    Private,
    #[error("the sealed record is not a valid public record: {0}")]
    Invalid(String),
    #[error(
        "attachment {0} has not arrived here yet: no sealed file for it is addressed to \
         you; publish again once it has"
    )]
    AttachmentNotHere(BlobHash),
    #[error("attachment {0}: {1}")]
    AttachmentRefused(BlobHash, String),
    #[error("storing an opened attachment: {0}")]
    Storing(BlobError),
}

/// The gift wraps in a store addressed to one key, opened.
pub struct Inbox {
    /// Newest first.
    pub opened: Vec<(Event, Opened)>,
    /// Addressed to the key, but they do not open (damaged or forged).
    pub unreadable: usize,
    /// Where the next, older page starts, if there is one.
    pub older: Option<Cursor>,
}

/// A place in the inbox, newest first: the wraps strictly older than the
/// wrap at `(created_at, id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: u64,
    pub id: EventId,
}

impl Cursor {
    /// `<created_at>-<hex id>`, as a page address carries it.
    pub fn to_param(self) -> String {
        format!("{}-{}", self.created_at, self.id.to_hex())
    }

    pub fn from_param(text: &str) -> Option<Cursor> {
        let (at, id) = text.split_once('-')?;
        Some(Cursor {
            created_at: at.parse().ok()?,
            id: EventId::from_hex(id).ok()?,
        })
    }
}

/// How far NIP-59 moves a wrap's time into the past, and a margin: the
/// wraps of one sealing lie within this of each other.
const WRAP_JITTER: u64 = 2 * 24 * 3600 + 3600;

/// Every gift wrap in the store addressed to `keys`, opened: for the
/// command line, which shows them all.
pub fn inbox(store: &Store, keys: &Keys) -> Result<Inbox, StoreError> {
    open_all(keys, wraps(store, keys, Window::default())?)
}

/// One page of the inbox, newest first: at most `limit` wraps after
/// `before` in the store's order (newest first, then by id). What the
/// console shows, so a flood of sealed junk costs one page of
/// decryptions per request, not all of them; and a flood within one
/// second cannot hide what lies beyond it.
pub fn page(
    store: &Store,
    keys: &Keys,
    before: Option<Cursor>,
    limit: usize,
) -> Result<Inbox, StoreError> {
    let mut found = wraps(
        store,
        keys,
        Window {
            after: before.map(|c| (c.created_at, c.id)),
            limit: Some(limit + 1),
            ..Window::default()
        },
    )?;
    let more = found.len() > limit;
    found.truncate(limit);
    let older = more.then(|| found.last()).flatten().map(|w| Cursor {
        created_at: w.created_at.as_secs(),
        id: w.id,
    });
    let mut inbox = open_all(keys, found)?;
    inbox.older = older;
    Ok(inbox)
}

/// The wrap `id` addressed to `keys`, opened, if it is one.
pub fn find(
    store: &Store,
    keys: &Keys,
    id: EventId,
) -> Result<Option<(Event, Opened)>, StoreError> {
    let found = store.query(&Query {
        ids: Some(vec![id]),
        kinds: Some(vec![sealed::GIFT_WRAP.as_u16()]),
        tags: vec![('p', vec![keys.public_key().to_hex()])],
        ..Default::default()
    })?;
    let mut inbox = open_all(
        keys,
        found.iter().map(|s| s.event()).collect::<Result<_, _>>()?,
    )?;
    Ok(inbox.opened.pop())
}

/// The wraps addressed to `keys` sealed around `at` (a sealed record's
/// signing time): where the files sealed with it are. Read a page at a
/// time across the whole window, at most [`MAX_AROUND`] of them.
pub fn around(store: &Store, keys: &Keys, at: Timestamp) -> Result<Inbox, StoreError> {
    let at = at.as_secs();
    let mut all = Vec::new();
    let mut after = None;
    // Bounded: MAX_AROUND wraps, a thousand a read.
    while all.len() < MAX_AROUND {
        let batch = wraps(
            store,
            keys,
            Window {
                since: Some(at.saturating_sub(WRAP_JITTER)),
                until: Some(at.saturating_add(WRAP_JITTER)),
                after,
                limit: Some(1_000),
            },
        )?;
        let Some(last) = batch.last() else { break };
        after = Some((last.created_at.as_secs(), last.id));
        let full = batch.len() == 1_000;
        all.extend(batch);
        if !full {
            break;
        }
    }
    open_all(keys, all)
}

/// Most wraps opened to find the files of one record.
const MAX_AROUND: usize = 20_000;

/// Which of a key's wraps to read.
#[derive(Default)]
struct Window {
    since: Option<u64>,
    until: Option<u64>,
    after: Option<(u64, EventId)>,
    limit: Option<usize>,
}

fn wraps(store: &Store, keys: &Keys, window: Window) -> Result<Vec<Event>, StoreError> {
    store
        .query(&Query {
            kinds: Some(vec![sealed::GIFT_WRAP.as_u16()]),
            tags: vec![('p', vec![keys.public_key().to_hex()])],
            since: window.since,
            until: window.until,
            after: window.after,
            limit: window.limit,
            ..Default::default()
        })?
        .iter()
        .map(|stored| stored.event())
        .collect()
}

fn open_all(keys: &Keys, wraps: Vec<Event>) -> Result<Inbox, StoreError> {
    let mut inbox = Inbox {
        opened: Vec::new(),
        unreadable: 0,
        older: None,
    };
    for wrap in wraps {
        match sealed::open(keys, &wrap) {
            Ok(opened) => inbox.opened.push((wrap, opened)),
            Err(e) => {
                inbox.unreadable += 1;
                tracing::warn!(wrap = %wrap.id, error = %e, "a sealed record does not open");
            }
        }
    }
    Ok(inbox)
}

/// The file message inside, if it is one.
pub fn file_of(inner: &Inner) -> Option<Result<SealedFile, InboxError>> {
    (inner.kind() == FILE_MESSAGE)
        .then(|| SealedFile::from_tags(&inner.readable().tags).map_err(InboxError::BadFileMessage))
}

/// What the author allowed: `deniable`, `private` or `publishable`.
pub fn nature(inner: &Inner) -> &'static str {
    match inner {
        Inner::Unsigned(_) => "deniable",
        Inner::Signed(_) if inner.is_protected() => "private",
        Inner::Signed(_) => "publishable",
    }
}

/// Opens a sealed file's encrypted blob from the store.
pub fn decrypt(store: &Store, file: &SealedFile) -> Result<Vec<u8>, InboxError> {
    let encrypted = match store.blobs().get(&file.encrypted) {
        Ok(bytes) => bytes,
        Err(BlobError::NotFound(_)) => return Err(InboxError::FileNotHere(file.encrypted)),
        Err(e @ BlobError::Corrupt { .. }) => return Err(InboxError::FileDamaged(e)),
        Err(e) => return Err(InboxError::Blob(e)),
    };
    Ok(file.decrypt(&encrypted)?)
}

/// The record to publish, if its author allowed it, validated as a public
/// record.
pub fn publishable(inner: Inner) -> Result<VerifiedEvent, InboxError> {
    let event = match inner {
        Inner::Signed(_) if inner.kind() == FILE_MESSAGE => {
            return Err(InboxError::FileNotPublishable);
        }
        Inner::Unsigned(_) => return Err(InboxError::Deniable),
        Inner::Signed(_) if inner.is_protected() => return Err(InboxError::Private),
        Inner::Signed(event) => event,
    };
    validate(event, &Limits::default(), Timestamp::now())
        .map_err(|e| InboxError::Invalid(e.to_string()))
}

/// Publishing a sealed record, as the console and `sealed publish` both
/// do: the record, if its author allowed it, validated as a public
/// record, with its sealed attachments opened into the store. Nothing is
/// stored if any part fails; the caller then stores the record (a node
/// through `Ingest`, for its live subscribers).
pub fn ready_to_publish(
    store: &Store,
    keys: &Keys,
    inner: Inner,
) -> Result<VerifiedEvent, InboxError> {
    let verified = publishable(inner)?;
    for plain in open_attachments(store, keys, verified.event())? {
        store.blobs().put(&plain).map_err(InboxError::Storing)?;
    }
    Ok(verified)
}

/// The plain bytes of every attachment of `event` that the store lacks,
/// from the sealed files addressed to `keys` for that record, each
/// checked as any blob that enters; fails, before anything is stored, if
/// one cannot be found or opened.
pub fn open_attachments(
    store: &Store,
    keys: &Keys,
    event: &Event,
) -> Result<Vec<Vec<u8>>, InboxError> {
    let missing: Vec<Attachment> = samizdat_core::tags::attachments(event)
        .map_err(|e| InboxError::Invalid(e.to_string()))?
        .into_iter()
        .filter(|a| !store.blobs().contains(&a.hash))
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    let files: Vec<SealedFile> = around(store, keys, event.created_at)?
        .opened
        .iter()
        .filter(|(_, o)| o.sender == event.pubkey)
        .filter_map(|(_, o)| file_of(&o.inner).and_then(Result::ok))
        .filter(|f| f.role == Role::Attachment && f.record == event.id)
        .collect();
    let mut opened = Vec::new();
    for attachment in &missing {
        let Some(file) = files.iter().find(|f| f.plain == attachment.hash) else {
            return Err(InboxError::AttachmentNotHere(attachment.hash));
        };
        let plain = decrypt(store, file)?;
        // The rule the store will apply, run before anything is stored.
        samizdat_media::admit(&plain)
            .map_err(|why| InboxError::AttachmentRefused(attachment.hash, why.to_string()))?;
        opened.push(plain);
    }
    Ok(opened)
}
