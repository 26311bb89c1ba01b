//! Sealed records: a record meant for chosen readers only, carried by
//! anyone (NIP-59 gift wrap over NIP-44 v2 encryption).
//!
//! Three layers, as NIP-59 lays them out:
//! - the *inner record*: a samizdat record, either signed (a complete
//!   event that the recipient can publish unchanged, its author's
//!   signature intact) or unsigned (a NIP-59 "rumor": if it leaks, nothing
//!   in it proves who wrote it);
//! - the *seal* (kind 13): the inner record encrypted from its author to
//!   one recipient, signed by the author, no tags;
//! - the *gift wrap* (kind 1059): the seal encrypted from a one-time key
//!   to the recipient, signed by that key, with one `p` tag naming the
//!   recipient. Both outer timestamps are moved up to two days into the
//!   past, so they do not tell when the record was written.
//!
//! A wrap shows only its recipient; a node carries it without being able
//! to read it. One wrap per recipient.

use nostr::nips::nip44;
use nostr::prelude::FinalizeEvent;
use nostr::prelude::{
    Event, EventBuilder, EventId, Keys, Kind, PublicKey, Signature, Tag, Timestamp, UnsignedEvent,
};
use rand::RngExt;

use crate::RecordKind;

/// Kind of a seal (NIP-59).
pub const SEAL: Kind = Kind::Seal;
/// Kind of a gift wrap (NIP-59).
pub const GIFT_WRAP: Kind = Kind::GiftWrap;

/// How far into the past the seal's and the wrap's `created_at` may be
/// moved (NIP-59 suggests up to two days).
const TIMESTAMP_TWEAK_SECONDS: u64 = 2 * 24 * 60 * 60;

/// The record inside a seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inner {
    /// A complete signed event: provable, and publishable unchanged.
    Signed(Event),
    /// An event without its signature (a NIP-59 rumor): deniable, and
    /// never publishable.
    Unsigned(UnsignedEvent),
}

impl Inner {
    pub fn id(&self) -> Option<EventId> {
        match self {
            Inner::Signed(e) => Some(e.id),
            Inner::Unsigned(u) => u.id,
        }
    }

    pub fn pubkey(&self) -> PublicKey {
        match self {
            Inner::Signed(e) => e.pubkey,
            Inner::Unsigned(u) => u.pubkey,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Inner::Signed(e) => e.kind,
            Inner::Unsigned(u) => u.kind,
        }
    }

    pub fn created_at(&self) -> Timestamp {
        match self {
            Inner::Signed(e) => e.created_at,
            Inner::Unsigned(u) => u.created_at,
        }
    }

    /// What samizdat record the inner event is.
    pub fn record_kind(&self) -> RecordKind {
        match self {
            Inner::Signed(e) => RecordKind::of(e),
            Inner::Unsigned(u) => RecordKind::of_parts(u.kind, &u.tags),
        }
    }

    /// The inner record as an event for reading: an unsigned one gets an
    /// all-zero signature that nothing checks, since the record parsers
    /// read only its kind, tags and content. Never store or send it.
    pub fn readable(&self) -> Event {
        match self {
            Inner::Signed(e) => e.clone(),
            Inner::Unsigned(u) => Event::new(
                u.id.unwrap_or_else(|| {
                    EventId::compute(&u.pubkey, &u.created_at, &u.kind, &u.tags, &u.content)
                }),
                u.pubkey,
                u.created_at,
                u.kind,
                u.tags.clone(),
                u.content.clone(),
                Signature::from_slice(&[0; 64]).expect("64 bytes make a signature"),
            ),
        }
    }

    pub fn content(&self) -> &str {
        match self {
            Inner::Signed(e) => &e.content,
            Inner::Unsigned(u) => &u.content,
        }
    }

    pub fn is_signed(&self) -> bool {
        matches!(self, Inner::Signed(_))
    }

    /// Whether the author asked that nobody else publish it
    /// ([`crate::tags::is_protected`]). Only signed records can be
    /// published at all.
    pub fn is_protected(&self) -> bool {
        crate::tags::is_protected(match self {
            Inner::Signed(e) => &e.tags,
            Inner::Unsigned(u) => &u.tags,
        })
    }

    /// The NIP-01 JSON that is encrypted into the seal.
    pub fn json(&self) -> String {
        match self {
            Inner::Signed(e) => e.as_json(),
            Inner::Unsigned(u) => u.as_json(),
        }
    }
}

/// A gift wrap, opened by its recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// Who sealed it: the seal's signer, who is also the inner record's
    /// author (checked).
    pub sender: PublicKey,
    pub inner: Inner,
}

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("not a gift wrap (kind {0}, expected 1059)")]
    NotGiftWrap(u16),
    #[error("the gift wrap names no recipient (`p` tag)")]
    NoRecipient,
    #[error("this gift wrap is addressed to someone else")]
    NotForYou,
    #[error("cannot open it: {0}")]
    Decrypt(String),
    #[error("the seal inside is not a valid signed kind 13 event: {0}")]
    BadSeal(String),
    #[error("the record inside is not a valid event: {0}")]
    BadInner(String),
    #[error("the record inside claims another author than the seal's signer")]
    SenderMismatch,
    #[error("the record to seal was signed by another key than the sealing one")]
    NotYourRecord,
    #[error("encryption failed: {0}")]
    Encrypt(String),
}

/// A timestamp up to two days before `now`.
fn tweaked(now: Timestamp) -> Timestamp {
    let back = rand::rng().random_range(0..TIMESTAMP_TWEAK_SECONDS);
    Timestamp::from_secs(now.as_secs().saturating_sub(back))
}

/// Seals `inner` (written by `author`) for `recipient` and wraps it.
/// `outer` tags go on the wrap, beside the `p` tag, for anyone to see:
/// only what carriers need (the encrypted blob a file message names).
pub fn wrap(
    author: &Keys,
    inner: &Inner,
    recipient: &PublicKey,
    outer: &[Tag],
    now: Timestamp,
) -> Result<Event, SealError> {
    if inner.pubkey() != author.public_key() {
        return Err(SealError::NotYourRecord);
    }
    let encrypt = |secret, text: String| {
        nip44::encrypt(secret, recipient, text, nip44::Version::V2)
            .map_err(|e| SealError::Encrypt(e.to_string()))
    };
    let sealed = encrypt(author.secret_key(), inner.json())?;
    let seal = EventBuilder::new(SEAL, sealed)
        .custom_created_at(tweaked(now))
        .finalize(author)
        .map_err(|e| SealError::Encrypt(e.to_string()))?;
    let one_time = Keys::generate();
    let wrapped = encrypt(one_time.secret_key(), seal.as_json())?;
    EventBuilder::new(GIFT_WRAP, wrapped)
        .tags(outer.iter().cloned())
        .tag(Tag::public_key(*recipient))
        .custom_created_at(tweaked(now))
        .finalize(&one_time)
        .map_err(|e| SealError::Encrypt(e.to_string()))
}

/// The recipients a gift wrap names in its `p` tags.
pub fn recipients(wrap: &Event) -> Vec<PublicKey> {
    wrap.tags
        .iter()
        .filter_map(|t| match t.as_slice() {
            [name, hex, ..] if name == "p" => PublicKey::from_hex(hex).ok(),
            _ => None,
        })
        .collect()
}

/// Opens a gift wrap addressed to `recipient`, checking the seal's
/// signature and that the inner record's author is the seal's signer; a
/// signed inner record must also carry a valid id and signature. The
/// wrap's own signature is the caller's to check (the store holds only
/// verified events).
pub fn open(recipient: &Keys, wrap: &Event) -> Result<Opened, SealError> {
    if wrap.kind != GIFT_WRAP {
        return Err(SealError::NotGiftWrap(wrap.kind.as_u16()));
    }
    let to = recipients(wrap);
    if to.is_empty() {
        return Err(SealError::NoRecipient);
    }
    if !to.contains(&recipient.public_key()) {
        return Err(SealError::NotForYou);
    }
    let seal = nip44::decrypt(recipient.secret_key(), &wrap.pubkey, &wrap.content)
        .map_err(|e| SealError::Decrypt(e.to_string()))?;
    let seal = Event::from_json(&seal).map_err(|e| SealError::BadSeal(e.to_string()))?;
    if seal.kind != SEAL {
        return Err(SealError::BadSeal(format!("kind {}", seal.kind.as_u16())));
    }
    seal.verify()
        .map_err(|e| SealError::BadSeal(e.to_string()))?;
    let inner = nip44::decrypt(recipient.secret_key(), &seal.pubkey, &seal.content)
        .map_err(|e| SealError::Decrypt(e.to_string()))?;
    let inner = parse_inner(&inner)?;
    if inner.pubkey() != seal.pubkey {
        return Err(SealError::SenderMismatch);
    }
    Ok(Opened {
        sender: seal.pubkey,
        inner,
    })
}

/// A signed event when the JSON has a `sig`, else a rumor whose id (if
/// given) must match its contents.
fn parse_inner(json: &str) -> Result<Inner, SealError> {
    let bad = |e: String| SealError::BadInner(e);
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    if value.get("sig").is_some() {
        let event = Event::from_json(json).map_err(|e| bad(e.to_string()))?;
        event
            .verify()
            .map_err(|e| bad(format!("its signature does not hold: {e}")))?;
        return Ok(Inner::Signed(event));
    }
    let mut rumor = UnsignedEvent::from_json(json).map_err(|e| bad(e.to_string()))?;
    let claimed = rumor.id.take();
    rumor.ensure_id();
    if claimed.is_some() && claimed != rumor.id {
        return Err(bad("its id does not match its contents".into()));
    }
    Ok(Inner::Unsigned(rumor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::Draft;

    fn draft(tags: Vec<Vec<String>>) -> Draft {
        Draft {
            kind: Kind::TextNote,
            created_at: Timestamp::from_secs(1_700_000_000),
            tags,
            content: "seen at the square".into(),
        }
    }

    #[test]
    fn three_keys_round_trip() {
        let [witness, documenter, stranger] =
            [Keys::generate(), Keys::generate(), Keys::generate()];
        let signed = Inner::Signed(draft(Vec::new()).sign(&witness).unwrap());
        let now = Timestamp::from_secs(1_800_000_000);
        let gift = wrap(&witness, &signed, &documenter.public_key(), &[], now).unwrap();
        assert_eq!(gift.kind, GIFT_WRAP);
        assert!(gift.verify().is_ok());
        assert_eq!(recipients(&gift), vec![documenter.public_key()]);
        assert_ne!(gift.pubkey, witness.public_key());
        assert!(gift.created_at <= now);
        assert!(gift.created_at.as_secs() >= now.as_secs() - TIMESTAMP_TWEAK_SECONDS);
        // Nothing of the record shows outside.
        let outside = gift.as_json();
        assert!(!outside.contains("square"));
        assert!(!outside.contains(&witness.public_key().to_hex()));

        let opened = open(&documenter, &gift).unwrap();
        assert_eq!(opened.sender, witness.public_key());
        assert_eq!(opened.inner, signed);

        assert!(matches!(open(&stranger, &gift), Err(SealError::NotForYou)));
        assert!(matches!(open(&witness, &gift), Err(SealError::NotForYou)));
        // A stranger who puts their own key in the `p` tag still cannot
        // read it.
        let mut forged = gift.clone();
        forged.tags = nostr::prelude::Tags::from_list(vec![Tag::public_key(stranger.public_key())]);
        assert!(matches!(
            open(&stranger, &forged),
            Err(SealError::Decrypt(_))
        ));
    }

    #[test]
    fn unsigned_inner_is_deniable_but_authenticated_by_the_seal() {
        let [witness, documenter] = [Keys::generate(), Keys::generate()];
        let rumor = UnsignedEvent::from(draft(Vec::new()).sign(&witness).unwrap());
        let inner = Inner::Unsigned(rumor.clone());
        let gift = wrap(
            &witness,
            &inner,
            &documenter.public_key(),
            &[],
            Timestamp::now(),
        )
        .unwrap();
        let opened = open(&documenter, &gift).unwrap();
        assert!(!opened.inner.is_signed());
        assert_eq!(opened.inner.id(), rumor.id);
        assert_eq!(opened.sender, witness.public_key());
    }

    #[test]
    fn protected_marks_survive() {
        let [witness, documenter] = [Keys::generate(), Keys::generate()];
        let signed = draft(vec![vec!["-".into()]]).sign(&witness).unwrap();
        let gift = wrap(
            &witness,
            &Inner::Signed(signed),
            &documenter.public_key(),
            &[],
            Timestamp::now(),
        )
        .unwrap();
        assert!(open(&documenter, &gift).unwrap().inner.is_protected());
    }

    #[test]
    fn someone_elses_record_is_not_sealed_in_their_name() {
        let [witness, other] = [Keys::generate(), Keys::generate()];
        let signed = Inner::Signed(draft(Vec::new()).sign(&witness).unwrap());
        let result = wrap(
            &other,
            &signed,
            &witness.public_key(),
            &[],
            Timestamp::now(),
        );
        assert!(matches!(result, Err(SealError::NotYourRecord)));
    }

    #[test]
    fn a_seal_whose_record_claims_another_author_is_refused() {
        // A forger seals a rumor that names the witness as its author.
        let [witness, forger, documenter] = [Keys::generate(), Keys::generate(), Keys::generate()];
        let rumor = UnsignedEvent::from(draft(Vec::new()).sign(&witness).unwrap());
        let sealed = nip44::encrypt(
            forger.secret_key(),
            &documenter.public_key(),
            Inner::Unsigned(rumor).json(),
            nip44::Version::V2,
        )
        .unwrap();
        let seal = EventBuilder::new(SEAL, sealed).finalize(&forger).unwrap();
        let one_time = Keys::generate();
        let content = nip44::encrypt(
            one_time.secret_key(),
            &documenter.public_key(),
            seal.as_json(),
            nip44::Version::V2,
        )
        .unwrap();
        let gift = EventBuilder::new(GIFT_WRAP, content)
            .tag(Tag::public_key(documenter.public_key()))
            .finalize(&one_time)
            .unwrap();
        assert!(matches!(
            open(&documenter, &gift),
            Err(SealError::SenderMismatch)
        ));
    }

    #[test]
    fn garbage_content_fails_cleanly() {
        let documenter = Keys::generate();
        let gift = EventBuilder::new(GIFT_WRAP, "not base64 at all")
            .tag(Tag::public_key(documenter.public_key()))
            .finalize(&Keys::generate())
            .unwrap();
        assert!(matches!(
            open(&documenter, &gift),
            Err(SealError::Decrypt(_))
        ));
        let note = EventBuilder::new(Kind::TextNote, "hi")
            .finalize(&documenter)
            .unwrap();
        assert!(matches!(
            open(&documenter, &note),
            Err(SealError::NotGiftWrap(1))
        ));
    }
}
