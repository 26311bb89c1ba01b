//! Typed views of samizdat records. Parsing an event into a [`Record`] *is*
//! checking its kind rules: a record that parses is valid.

use std::fmt;

use nostr::prelude::Event;

use crate::attestation::Attestation;
use crate::kind::RecordKind;
use crate::person::PersonReport;
use crate::retraction::Retraction;
use crate::testimony::Testimony;

/// A broken kind rule: which rule, in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleViolation(String);

impl RuleViolation {
    pub fn new(reason: impl Into<String>) -> RuleViolation {
        RuleViolation(reason.into())
    }

    pub fn reason(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleViolation {}

/// A samizdat record, parsed from its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Testimony(Testimony),
    PersonReport(PersonReport),
    Attestation(Attestation),
    Retraction(Retraction),
    /// Any other Nostr event: no samizdat rules apply beyond the generic ones.
    Other,
}

/// Whether `event` is a public samizdat record that may leave a node
/// (a mirror, a public relay): a testimony, person report, attestation
/// or retraction that follows its kind's rules, without NIP-70's `["-"]`
/// tag ([`crate::tags::is_protected`]: the author asked that nobody else
/// publish it). Sealed records, other applications' events and private
/// records never are. The signature is the caller's to check.
pub fn is_public(event: &Event) -> bool {
    !crate::tags::is_protected(&event.tags)
        && matches!(
            Record::parse(event),
            Ok(Record::Testimony(_)
                | Record::PersonReport(_)
                | Record::Attestation(_)
                | Record::Retraction(_))
        )
}

impl Record {
    /// Parses `event` according to its [`RecordKind`].
    pub fn parse(event: &Event) -> Result<Record, RuleViolation> {
        Ok(match RecordKind::of(event) {
            RecordKind::Testimony => Record::Testimony(Testimony::from_event(event)?),
            RecordKind::PersonReport => Record::PersonReport(PersonReport::from_event(event)?),
            RecordKind::Attestation => Record::Attestation(Attestation::from_event(event)?),
            RecordKind::Retraction => Record::Retraction(Retraction::from_event(event)?),
            RecordKind::Other => Record::Other,
        })
    }

    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Testimony(_) => RecordKind::Testimony,
            Record::PersonReport(_) => RecordKind::PersonReport,
            Record::Attestation(_) => RecordKind::Attestation,
            Record::Retraction(_) => RecordKind::Retraction,
            Record::Other => RecordKind::Other,
        }
    }
}
