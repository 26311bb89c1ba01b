//! Validation of every event that reaches samizdat, from any source.
//!
//! Cheap checks run first (size, time, kind rules, id) so that hostile
//! input is turned away before the signature, the expensive check, is
//! verified. A [`VerifiedEvent`] can only be made by [`validate`], so code
//! that receives one knows every check has passed.

use std::cell::RefCell;
use std::sync::LazyLock;

use nostr::prelude::{Event, Timestamp};
use secp256k1::{Secp256k1, VerifyOnly, XOnlyPublicKey, schnorr};

use crate::limits::{EARLIEST_CREATED_AT, Limits};
use crate::record::{Record, RuleViolation};
use crate::text::searchable_text;

/// Why an event was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("not a Nostr event: {0}")]
    Malformed(String),
    #[error("event is {size} bytes, more than the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("event has {count} tags, more than the limit of {limit}")]
    TooManyTags { count: usize, limit: usize },
    #[error("a tag value is {size} bytes, more than the limit of {limit}")]
    TagTooLong { size: usize, limit: usize },
    #[error("created_at is {ahead} seconds ahead of this node's clock")]
    InTheFuture { ahead: u64 },
    #[error("created_at {0} is before 2020-01-01, when Nostr did not exist")]
    TooOld(u64),
    #[error("event id does not match the event's content")]
    BadId,
    #[error("signature does not verify")]
    BadSignature,
    #[error("{0}")]
    Rule(#[from] RuleViolation),
}

impl ValidationError {
    /// Whether the event itself is forged or damaged (as opposed to merely
    /// over a limit or against a kind rule).
    pub fn is_forgery(&self) -> bool {
        matches!(self, ValidationError::BadId | ValidationError::BadSignature)
    }
}

/// An event that passed [`validate`], with its canonical JSON and its
/// search terms. Both are derived here, on whichever core validates, so the
/// store's single writer only writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEvent {
    event: Event,
    json: String,
    search: Option<String>,
}

impl VerifiedEvent {
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The canonical NIP-01 JSON of the event, as stored and served.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The folded search terms, for events that are searchable
    /// ([`crate::text::searchable_text`]).
    pub fn search_text(&self) -> Option<&str> {
        self.search.as_deref()
    }

    pub fn into_event(self) -> Event {
        self.event
    }
}

/// Checks everything about `event`: size and tag limits, `created_at`
/// against `now`, the rules of its record kind, its id and its signature.
pub fn validate(
    event: Event,
    limits: &Limits,
    now: Timestamp,
) -> Result<VerifiedEvent, ValidationError> {
    check_without_signature(&event, limits, now)?;
    let json = event.as_json();
    if json.len() > limits.max_event_bytes {
        return Err(ValidationError::TooLarge {
            size: json.len(),
            limit: limits.max_event_bytes,
        });
    }
    if !event.verify_id() {
        return Err(ValidationError::BadId);
    }
    if !signature_verifies(&event) {
        return Err(ValidationError::BadSignature);
    }
    let search = searchable_text(&event);
    Ok(VerifiedEvent {
        event,
        json,
        search,
    })
}

/// Parses one event from JSON text and validates it. Text over the size
/// limit is refused before it is parsed.
pub fn validate_json(
    text: &str,
    limits: &Limits,
    now: Timestamp,
) -> Result<VerifiedEvent, ValidationError> {
    // Canonical JSON can be shorter than the input (whitespace, escapes), so
    // allow some slack here; the canonical size is checked in `validate`.
    let slack = limits.max_event_bytes.saturating_mul(2);
    if text.len() > slack {
        return Err(ValidationError::TooLarge {
            size: text.len(),
            limit: limits.max_event_bytes,
        });
    }
    validate(parse(text)?, limits, now)
}

/// Parses one event from its JSON text, as every door that reads event
/// text does. NIP-01 writes ids, keys and signatures in lower-case hex;
/// other spellings of the same bytes are refused here, since a parser
/// that took them would make one event look like a duplicate of itself
/// under another name.
pub fn parse(text: &str) -> Result<Event, ValidationError> {
    #[derive(serde::Deserialize)]
    struct Hex<'a> {
        #[serde(borrow)]
        id: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        pubkey: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        sig: std::borrow::Cow<'a, str>,
    }
    let event = Event::from_json(text).map_err(|e| ValidationError::Malformed(e.to_string()))?;
    let hex: Hex<'_> =
        serde_json::from_str(text).map_err(|e| ValidationError::Malformed(e.to_string()))?;
    for (field, value, len) in [
        ("id", &hex.id, 64),
        ("pubkey", &hex.pubkey, 64),
        ("sig", &hex.sig, 128),
    ] {
        if !is_lower_hex(value, len) {
            return Err(ValidationError::Malformed(format!(
                "{field} must be {len} lower-case hex digits (NIP-01)"
            )));
        }
    }
    Ok(event)
}

/// Whether `s` is `len` digits of lower-case hex.
pub fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Decoded keys per thread: a slot for each of 256 buckets of authors.
const KEY_SLOTS: usize = 256;

/// A key's 32 bytes beside the curve point they decode to.
type Decoded = Option<([u8; 32], XOnlyPublicKey)>;

thread_local! {
    /// The BIP-340 keys this thread decoded last, by the key's bytes. A key
    /// on the wire is its x coordinate alone; decoding it to a curve point
    /// takes a square root, about a tenth of a signature check, and a
    /// node's events come from far fewer authors than events.
    static DECODED: RefCell<[Decoded; KEY_SLOTS]> =
        const { RefCell::new([None; KEY_SLOTS]) };
}

static SECP: LazyLock<Secp256k1<VerifyOnly>> = LazyLock::new(Secp256k1::verification_only);

/// BIP-340 verification of the event's signature over its id, as
/// `Event::verify_signature`, with the author's decoded key taken from
/// this thread's slots when it was decoded before.
pub fn signature_verifies(event: &Event) -> bool {
    let bytes = event.pubkey.as_bytes();
    // Keys are uniformly random bytes: any two of them pick a slot evenly.
    let slot = usize::from(u16::from_le_bytes([bytes[0], bytes[1]])) % KEY_SLOTS;
    let key = DECODED.with_borrow_mut(|slots| match &slots[slot] {
        Some((cached, key)) if cached == bytes => Some(*key),
        _ => {
            let key = XOnlyPublicKey::from_byte_array(bytes).ok()?;
            slots[slot] = Some((*bytes, key));
            Some(key)
        }
    });
    let Some(key) = key else {
        return false;
    };
    let signature = schnorr::Signature::from_byte_array(*event.sig.as_bytes());
    SECP.verify_schnorr(&signature, event.id.as_bytes(), &key)
        .is_ok()
}

fn check_without_signature(
    event: &Event,
    limits: &Limits,
    now: Timestamp,
) -> Result<(), ValidationError> {
    let created_at = event.created_at.as_secs();
    if created_at > now.as_secs().saturating_add(limits.max_future_seconds) {
        return Err(ValidationError::InTheFuture {
            ahead: created_at - now.as_secs(),
        });
    }
    if created_at < EARLIEST_CREATED_AT {
        return Err(ValidationError::TooOld(created_at));
    }
    let count = event.tags.len();
    if count > limits.max_tags {
        return Err(ValidationError::TooManyTags {
            count,
            limit: limits.max_tags,
        });
    }
    if let Some(size) = event
        .tags
        .iter()
        .flat_map(|t| t.as_slice())
        .map(String::len)
        .find(|len| *len > limits.max_tag_value_bytes)
    {
        return Err(ValidationError::TagTooLong {
            size,
            limit: limits.max_tag_value_bytes,
        });
    }
    Record::parse(event)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use nostr::prelude::{Event, Keys, Kind, PublicKey, Timestamp};

    use super::signature_verifies;
    use crate::sign::Draft;

    fn note(keys: &Keys, text: &str) -> Event {
        Draft {
            kind: Kind::TextNote,
            created_at: Timestamp::from_secs(1_700_000_000),
            tags: Vec::new(),
            content: text.into(),
        }
        .sign(keys)
        .expect("signs")
    }

    /// `event` with one field of its JSON replaced, nothing else changed.
    fn edited(event: &Event, field: &str, value: String) -> Event {
        let mut json: serde_json::Value = serde_json::from_str(&event.as_json()).expect("json");
        json[field] = value.into();
        Event::from_json(json.to_string()).expect("parses")
    }

    /// `event` claiming to be by `author`, with its signature unchanged.
    fn claimed_by(event: &Event, author: &PublicKey) -> Event {
        edited(event, "pubkey", author.to_hex())
    }

    fn slot(keys: &Keys) -> u8 {
        keys.public_key().as_bytes()[0]
    }

    /// Two authors whose keys share a slot, each verified in turn, and
    /// forgeries between them: a remembered key is only ever used for the
    /// author whose key it is.
    #[test]
    fn remembered_keys_serve_only_their_own_author() {
        let mut seen: Vec<Keys> = Vec::new();
        let (a, b) = loop {
            let keys = Keys::generate();
            if let Some(other) = seen.iter().find(|k| slot(k) == slot(&keys)) {
                break (other.clone(), keys);
            }
            assert!(seen.len() < 10_000, "no two keys share a slot");
            seen.push(keys);
        };
        let (by_a, by_b) = (note(&a, "from a"), note(&b, "from b"));
        for _ in 0..3 {
            // The second check of each takes the remembered key.
            assert!(signature_verifies(&by_a));
            assert!(signature_verifies(&by_a));
            assert!(signature_verifies(&by_b));
            assert!(!signature_verifies(&claimed_by(&by_a, &b.public_key())));
            assert!(!signature_verifies(&claimed_by(&by_b, &a.public_key())));
        }
        // A signature made over other content does not verify for the id.
        let swapped = edited(&by_a, "sig", note(&a, "something else").sig.to_string());
        assert!(!signature_verifies(&swapped));
        assert!(signature_verifies(&by_a));
    }

    /// A key that is not a point on the curve verifies nothing, and is
    /// not remembered as if it were.
    #[test]
    fn ids_keys_and_signatures_are_lower_case_hex_only() {
        let event = note(&Keys::generate(), "a testimony");
        let json = event.as_json();
        assert_eq!(super::parse(&json).expect("lower case").id, event.id);
        for field in ["id", "pubkey", "sig"] {
            let mut value: serde_json::Value = serde_json::from_str(&json).expect("json");
            let upper = value[field].as_str().expect("hex").to_uppercase();
            value[field] = upper.into();
            let err = super::parse(&value.to_string()).expect_err(field);
            assert!(err.to_string().contains("lower-case"), "{field}: {err}");
        }
    }

    #[test]
    fn a_key_off_the_curve_verifies_nothing() {
        let keys = Keys::generate();
        let event = note(&keys, "text");
        // x = 5: 5³ + 7 = 132 is not a square modulo the field prime.
        let mut off = [0u8; 32];
        off[31] = 5;
        let forged = claimed_by(&event, &PublicKey::from_byte_array(off));
        assert!(!signature_verifies(&forged));
        assert!(!signature_verifies(&forged));
        assert!(signature_verifies(&event));
    }
}
