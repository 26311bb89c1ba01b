//! Retraction: a NIP-09 deletion request (kind 5) by the author.

use nostr::prelude::{Event, EventId, PublicKey};

use crate::attestation::parse_id;
use crate::record::RuleViolation;
use crate::tags;

/// Most records one retraction may name.
pub const MAX_TARGETS: usize = 1_000;

/// An addressable event's coordinate (`a` tag): `kind:pubkey:d`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Coordinate {
    pub kind: u16,
    pub pubkey: PublicKey,
    pub identifier: String,
}

impl Coordinate {
    pub fn parse(s: &str) -> Result<Coordinate, RuleViolation> {
        let bad = || RuleViolation::new(format!("{s:?} is not a kind:pubkey:d coordinate"));
        let mut parts = s.splitn(3, ':');
        let kind = parts.next().and_then(|k| k.parse().ok()).ok_or_else(bad)?;
        let pubkey = parts
            .next()
            .and_then(|p| PublicKey::from_hex(p).ok())
            .ok_or_else(bad)?;
        let identifier = parts.next().unwrap_or_default().to_string();
        Ok(Coordinate {
            kind,
            pubkey,
            identifier,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retraction {
    /// Records retracted by id (`e` tags).
    pub events: Vec<EventId>,
    /// Addressable records retracted by coordinate (`a` tags).
    pub coordinates: Vec<Coordinate>,
    /// Why, as the author wrote it.
    pub reason: String,
}

impl Retraction {
    /// Tags for retracting `events`, with the NIP-09 `k` tag of each kind.
    pub fn tags(events: &[(EventId, u16)]) -> Vec<Vec<String>> {
        let mut tags: Vec<Vec<String>> = events
            .iter()
            .map(|(id, _)| vec!["e".into(), id.to_hex()])
            .collect();
        let mut kinds: Vec<u16> = events.iter().map(|(_, k)| *k).collect();
        kinds.sort_unstable();
        kinds.dedup();
        tags.extend(kinds.into_iter().map(|k| vec!["k".into(), k.to_string()]));
        tags
    }

    pub fn from_event(event: &Event) -> Result<Retraction, RuleViolation> {
        let events = tags::all(event, "e")
            .map(|v| parse_id(v.first().map(String::as_str).unwrap_or_default()))
            .collect::<Result<Vec<_>, _>>()?;
        let coordinates = tags::all(event, "a")
            .map(|v| Coordinate::parse(v.first().map(String::as_str).unwrap_or_default()))
            .collect::<Result<Vec<_>, _>>()?;
        if events.is_empty() && coordinates.is_empty() {
            return Err(RuleViolation::new(
                "retraction names no record (`e` or `a` tag)",
            ));
        }
        if events.len() + coordinates.len() > MAX_TARGETS {
            return Err(RuleViolation::new(format!(
                "retraction names more than {MAX_TARGETS} records"
            )));
        }
        Ok(Retraction {
            events,
            coordinates,
            reason: event.content.clone(),
        })
    }
}
