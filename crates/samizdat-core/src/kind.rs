//! Event kinds and label names used by samizdat records.
//!
//! samizdat reuses existing NIPs wherever one fits: a testimony is a NIP-01
//! text note (kind 1) labelled with NIP-32, an attestation is a NIP-32 label
//! event (kind 1985), a retraction is a NIP-09 deletion request (kind 5).
//! Only the person report has a kind of its own (1948), because no NIP
//! describes a claim about a person's fate.

use nostr::prelude::{Event, Kind, Tags};

/// NIP-32 namespace of every samizdat label.
pub const NAMESPACE: &str = "samizdat";
/// NIP-32 namespace of language labels (ISO 639-1 two-letter codes).
pub const LANGUAGE_NAMESPACE: &str = "ISO-639-1";
/// The self-label that marks a kind 1 note as a testimony.
pub const TESTIMONY_LABEL: &str = "testimony";

/// Kind of a testimony: a NIP-01 text note, so stock clients show it.
pub const TESTIMONY: Kind = Kind::TextNote;
/// Kind of a person report (specified in `docs/PROTOCOL.md`).
pub const PERSON_REPORT: Kind = Kind::Custom(1948);
/// Kind of an attestation: a NIP-32 label event.
pub const ATTESTATION: Kind = Kind::Label;
/// Kind of a retraction: a NIP-09 deletion request.
pub const RETRACTION: Kind = Kind::EventDeletion;

/// What a stored event is, as far as samizdat is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    Testimony,
    PersonReport,
    Attestation,
    Retraction,
    /// Any other Nostr event: stored and relayed, but not a samizdat record.
    Other,
}

impl RecordKind {
    /// Classifies an event by its kind and, for kinds shared with other
    /// applications (1 and 1985), by its samizdat label.
    pub fn of(event: &Event) -> RecordKind {
        RecordKind::of_parts(event.kind, &event.tags)
    }

    /// [`of`](Self::of) for an event's kind and tags, such as those of an
    /// unsigned sealed record.
    pub fn of_parts(kind: Kind, tags: &Tags) -> RecordKind {
        if kind == PERSON_REPORT {
            RecordKind::PersonReport
        } else if kind == RETRACTION {
            RecordKind::Retraction
        } else if kind == TESTIMONY && has_label(tags, TESTIMONY_LABEL) {
            RecordKind::Testimony
        } else if kind == ATTESTATION && has_namespace(tags) {
            RecordKind::Attestation
        } else {
            RecordKind::Other
        }
    }

    /// The name used on the command line and in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Testimony => "testimony",
            RecordKind::PersonReport => "person",
            RecordKind::Attestation => "attestation",
            RecordKind::Retraction => "retraction",
            RecordKind::Other => "other",
        }
    }

    /// The event kind a record of this kind is published as.
    pub fn event_kind(self) -> Option<Kind> {
        match self {
            RecordKind::Testimony => Some(TESTIMONY),
            RecordKind::PersonReport => Some(PERSON_REPORT),
            RecordKind::Attestation => Some(ATTESTATION),
            RecordKind::Retraction => Some(RETRACTION),
            RecordKind::Other => None,
        }
    }
}

fn has_namespace(tags: &Tags) -> bool {
    tags.iter()
        .any(|t| matches!(t.as_slice(), [name, ns, ..] if name == "L" && ns == NAMESPACE))
}

fn has_label(tags: &Tags, label: &str) -> bool {
    tags.iter().any(|t| {
        matches!(t.as_slice(), [name, value, ns, ..] if name == "l" && value == label && ns == NAMESPACE)
    })
}
