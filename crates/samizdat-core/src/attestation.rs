//! Attestation: a NIP-32 label (kind 1985) by one key about another record.

use std::fmt;
use std::str::FromStr;

use nostr::prelude::{Event, EventId, PublicKey, Timestamp};

use crate::kind::NAMESPACE;
use crate::record::RuleViolation;
use crate::sign::Draft;
use crate::tags;

/// Longest note on an attestation, in bytes.
pub const MAX_NOTE_BYTES: usize = 8 * 1024;

/// What the attestation says about its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Label {
    /// The author has independent knowledge that the target is true.
    Corroborates,
    /// The author has reason to believe the target is false.
    Disputes,
    /// The author checked the target (sources, media) and vouches for it.
    Verified,
    /// The target repeats the record named in `of`.
    DuplicateOf,
    /// The target is a translation of the record named in `of`.
    TranslationOf,
    /// The person report target is about the same person as the report
    /// named in `of` (a documenter's merge in the people registry).
    SamePerson,
    /// The person report target is about another person than the report
    /// named in `of` (a documenter's refusal to merge).
    DifferentPerson,
}

impl Label {
    pub const ALL: &'static [Label] = &[
        Label::Corroborates,
        Label::Disputes,
        Label::Verified,
        Label::DuplicateOf,
        Label::TranslationOf,
        Label::SamePerson,
        Label::DifferentPerson,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Label::Corroborates => "corroborates",
            Label::Disputes => "disputes",
            Label::Verified => "verified",
            Label::DuplicateOf => "duplicate-of",
            Label::TranslationOf => "translation-of",
            Label::SamePerson => "same-person",
            Label::DifferentPerson => "different-person",
        }
    }

    /// Whether the label relates the target to a second record (`of`).
    pub fn needs_original(self) -> bool {
        matches!(
            self,
            Label::DuplicateOf | Label::TranslationOf | Label::SamePerson | Label::DifferentPerson
        )
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Label {
    type Err = RuleViolation;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Label::ALL
            .iter()
            .copied()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Label::ALL.iter().map(|l| l.as_str()).collect();
                RuleViolation::new(format!("label {s:?} is not one of: {}", all.join(", ")))
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    pub label: Label,
    /// The record the label is about (`e` tag).
    pub target: EventId,
    /// Its author (`p` tag), so the author can find attestations about
    /// their records with one `#p` filter.
    pub target_author: Option<PublicKey>,
    /// For `duplicate-of` and `translation-of`: the original (`of` tag).
    pub original: Option<EventId>,
    pub note: String,
}

impl Attestation {
    /// The attestation as an event to sign: its tags, and its note as
    /// the content.
    pub fn draft(&self, created_at: Timestamp) -> Draft {
        Draft {
            kind: crate::kind::ATTESTATION,
            created_at,
            tags: self.tags(),
            content: self.note.clone(),
        }
    }

    pub fn tags(&self) -> Vec<Vec<String>> {
        let mut tags = vec![
            vec!["L".into(), NAMESPACE.into()],
            vec!["l".into(), self.label.to_string(), NAMESPACE.into()],
            vec!["e".into(), self.target.to_hex()],
        ];
        if let Some(p) = &self.target_author {
            tags.push(vec!["p".into(), p.to_hex()]);
        }
        if let Some(o) = &self.original {
            tags.push(vec!["of".into(), o.to_hex()]);
        }
        tags
    }

    pub fn from_event(event: &Event) -> Result<Attestation, RuleViolation> {
        let mut labels = tags::all(event, "l").filter_map(|v| match v {
            [label, ns, ..] if ns == NAMESPACE => Some(label),
            _ => None,
        });
        let label: Label = labels
            .next()
            .ok_or_else(|| RuleViolation::new("attestation without a samizdat label"))?
            .parse()?;
        if labels.next().is_some() {
            return Err(RuleViolation::new(
                "attestation with more than one samizdat label",
            ));
        }
        let target = parse_id(tags::exactly_one(event, "e")?)?;
        let target_author = tags::at_most_one(event, "p")?
            .map(|p| {
                PublicKey::from_hex(p)
                    .map_err(|_| RuleViolation::new(format!("`p` tag {p:?} is not a public key")))
            })
            .transpose()?;
        let original = tags::at_most_one(event, "of")?.map(parse_id).transpose()?;
        match (label.needs_original(), original) {
            (true, None) => {
                return Err(RuleViolation::new(format!("{label} needs an `of` tag")));
            }
            (false, Some(_)) => {
                return Err(RuleViolation::new(format!("{label} takes no `of` tag")));
            }
            (true, Some(o)) if o == target => {
                return Err(RuleViolation::new(format!(
                    "a record cannot be {label} itself"
                )));
            }
            _ => {}
        }
        if !event.content.is_empty() {
            tags::check_text("note", &event.content, MAX_NOTE_BYTES)?;
        }
        Ok(Attestation {
            label,
            target,
            target_author,
            original,
            note: event.content.clone(),
        })
    }
}

pub(crate) fn parse_id(hex: &str) -> Result<EventId, RuleViolation> {
    if hex.len() != 64 {
        return Err(RuleViolation::new(format!("{hex:?} is not an event id")));
    }
    EventId::from_hex(hex).map_err(|_| RuleViolation::new(format!("{hex:?} is not an event id")))
}
