//! Validation of every event that reaches samizdat, from any source.
//!
//! Cheap checks run first (size, time, kind rules, id) so that hostile
//! input is turned away before the signature, the expensive check, is
//! verified. A [`VerifiedEvent`] can only be made by [`validate`], so code
//! that receives one knows every check has passed.

use nostr::prelude::{Event, Timestamp};

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
    if !event.verify_signature() {
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
    let event = Event::from_json(text).map_err(|e| ValidationError::Malformed(e.to_string()))?;
    validate(event, limits, now)
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
