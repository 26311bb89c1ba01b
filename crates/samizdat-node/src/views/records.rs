//! Records and registry entries as the web pages and the static mirror
//! show them: the same lines, facts and times in both.

use std::collections::HashMap;

use samizdat_core::Attachment;
use samizdat_core::nostr::prelude::{Event, ToBech32};
use samizdat_core::record::Record;

use super::Lang;

/// A record as a line of the timeline.
#[derive(Clone)]
pub struct Item {
    pub id: String,
    /// `testimony` or `person`.
    pub kind: &'static str,
    /// The record's language, when it says.
    pub lang: String,
    /// For a person report: the name; for a testimony: the start of it.
    pub title: String,
    pub status: String,
    pub place: String,
    pub when: String,
    pub media: usize,
}

/// A record's parts, as its page shows them.
pub struct Shown {
    pub item: Item,
    pub text: String,
    pub author: String,
    pub published: String,
    pub signature_ok: bool,
    pub attachments: Vec<Media>,
    /// Label, in the page's words, and what the person says.
    pub facts: Vec<(&'static str, String)>,
}

pub struct Media {
    pub url: String,
    pub mime: String,
    pub kind: &'static str,
    pub size: u64,
    pub present: bool,
}

pub struct Said {
    pub label: String,
    pub author: String,
    pub note: String,
    pub when: String,
    /// The other record it names (a translation, a duplicate's original).
    pub link: Option<String>,
}

pub fn attachments(record: &Record) -> &[Attachment] {
    match record {
        Record::Testimony(t) => &t.attachments,
        Record::PersonReport(p) => &p.attachments,
        _ => &[],
    }
}

/// A record as a timeline line; `None` for what is not a public
/// testimony or person report.
pub fn item(event: &Event) -> Option<Item> {
    let record = Record::parse(event).ok()?;
    // When it happened where it has that, else when it was signed; in
    // the offset the witness wrote in.
    let when = |observed: Option<samizdat_core::tags::Observed>| match observed {
        Some(o) => date_time_at(o.start, o.offset),
        None => date_time(event.created_at.as_secs()),
    };
    Some(match &record {
        Record::Testimony(t) => Item {
            id: event.id.to_hex(),
            kind: "testimony",
            lang: t.lang.clone(),
            title: excerpt(&t.text, 280),
            status: String::new(),
            place: t.place.text.clone().unwrap_or_default(),
            when: when(t.observed),
            media: t.attachments.len(),
        },
        Record::PersonReport(p) => Item {
            id: event.id.to_hex(),
            kind: "person",
            lang: p.lang.clone().unwrap_or_default(),
            title: p.name.clone(),
            status: p.status.as_str().to_string(),
            place: p.place.text.clone().unwrap_or_default(),
            when: when(p.observed),
            media: p.attachments.len(),
        },
        _ => return None,
    })
}

pub fn show(lang: Lang, event: &Event, present: &HashMap<String, bool>) -> Option<Shown> {
    let record = Record::parse(event).ok()?;
    let item = item(event)?;
    let mut facts = Vec::new();
    let text = match &record {
        Record::Testimony(t) => {
            if let Some(o) = t.observed {
                facts.push(("field.observed", observed(o)));
            }
            if !t.topics.is_empty() {
                facts.push(("field.topics", t.topics.join(", ")));
            }
            t.text.clone()
        }
        Record::PersonReport(p) => {
            facts.push(("field.status", lang.word(&format!("status.{}", p.status))));
            if !p.aliases.is_empty() {
                facts.push(("field.aliases", p.aliases.join(", ")));
            }
            if let Some(age) = p.age {
                facts.push(("field.age", age.to_string()));
            }
            if let Some(role) = &p.role {
                facts.push(("field.role", role.clone()));
            }
            if let Some(o) = p.observed {
                facts.push(("field.when", observed(o)));
            }
            facts.push((
                "field.source",
                lang.word(&format!("source.{}", p.source.as_str())),
            ));
            p.details.clone()
        }
        _ => return None,
    };
    if !item.place.is_empty() {
        facts.push(("field.place", item.place.clone()));
    }
    let attachments = attachments(&record)
        .iter()
        .map(|a| {
            let hex = a.hash.to_hex();
            Media {
                url: format!("/{hex}"),
                kind: media_kind(&a.mime),
                mime: a.mime.clone(),
                size: a.size,
                present: present.get(&hex).copied().unwrap_or(false),
                // (the blob may still be on its way from a peer)
            }
        })
        .collect();
    Some(Shown {
        text,
        author: short_npub(event),
        published: date_time_at(event.created_at.as_secs(), offset_of(&record)),
        // Checked by the caller that shows it: a mirror checked every
        // record once already.
        signature_ok: false,
        attachments,
        facts,
        item,
    })
}

fn media_kind(mime: &str) -> &'static str {
    match mime.split('/').next() {
        Some("image") => "image",
        Some("audio") => "audio",
        Some("video") => "video",
        _ => "file",
    }
}

pub struct PersonLine {
    /// The newest report's id: the entry's address.
    pub id: String,
    pub name: String,
    pub others: String,
    pub status: String,
    pub when: String,
    pub place: String,
    pub reports: usize,
    /// The newest age and role any report gives (empty when none does).
    pub age: String,
    pub role: String,
}

pub struct HistoryLine {
    pub id: String,
    pub status: String,
    pub when: String,
    pub place: String,
    pub source: String,
    pub author: String,
    /// What else the report says.
    pub details: String,
}

/// An entry's reports, newest claim first, as the node's pages and the
/// mirror show them.
pub fn history(lang: Lang, entry: &samizdat_people::registry::Entry) -> Vec<HistoryLine> {
    entry
        .history
        .iter()
        .map(|r| HistoryLine {
            id: hex::encode(r.id),
            status: lang.word(&format!("status.{}", r.status)),
            when: date_time_at(
                r.when(),
                r.when_offset().and_then(samizdat_core::tags::Offset::parse),
            ),
            place: r.place.clone().unwrap_or_default(),
            source: lang.word(&format!("source.{}", r.source)),
            author: samizdat_core::nostr::prelude::PublicKey::from_slice(&r.author)
                .ok()
                .and_then(|k| k.to_bech32().ok())
                .map(|n| short(&n))
                .unwrap_or_default(),
            details: r.details.trim().to_string(),
        })
        .collect()
}

pub fn person_line(lang: Lang, entry: &samizdat_people::registry::Entry) -> PersonLine {
    let latest = entry.latest();
    let names = entry.names();
    PersonLine {
        id: hex::encode(latest.id),
        name: latest.name.clone(),
        others: names
            .iter()
            .filter(|n| **n != latest.name)
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        status: lang.word(&format!("status.{}", latest.status)),
        when: date_time_at(
            latest.when(),
            latest
                .when_offset()
                .and_then(samizdat_core::tags::Offset::parse),
        ),
        place: latest.place.clone().unwrap_or_default(),
        reports: entry.history.len(),
        age: entry.age().map(|a| a.to_string()).unwrap_or_default(),
        role: entry.role().unwrap_or_default().to_string(),
    }
}

pub fn date_time(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(
            || secs.to_string(),
            |t| t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        )
}

/// A time in the offset it was written in, `2022-01-05 14:00
/// (UTC+06:00)`; in UTC without one.
pub fn date_time_at(secs: u64, offset: Option<samizdat_core::tags::Offset>) -> String {
    let Some(offset) = offset else {
        return date_time(secs);
    };
    i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s + offset.seconds()).ok())
        .map_or_else(
            || secs.to_string(),
            |t| format!("{} (UTC{offset})", t.strftime("%Y-%m-%d %H:%M")),
        )
}

/// The offset the witness wrote the record's times in, if it says.
pub fn offset_of(record: &Record) -> Option<samizdat_core::tags::Offset> {
    match record {
        Record::Testimony(t) => t.observed.and_then(|o| o.offset),
        Record::PersonReport(p) => p.observed.and_then(|o| o.offset),
        _ => None,
    }
}

/// When a record says it happened, else when it was signed: what the
/// timeline's days and order go by, on the node and in the mirror.
pub fn happened(event: &Event) -> u64 {
    observed_of(event).map_or(event.created_at.as_secs(), |o| o.start)
}

fn observed_of(event: &Event) -> Option<samizdat_core::tags::Observed> {
    match Record::parse(event) {
        Ok(Record::Testimony(t)) => t.observed,
        Ok(Record::PersonReport(p)) => p.observed,
        _ => None,
    }
}

/// The day a record happened on as its witness wrote it (`YYYY-MM-DD`,
/// in the offset they gave; in UTC without one, or by its signing time):
/// the same day on the node's timeline and in the mirror.
pub fn local_day(event: &Event) -> String {
    let (secs, offset) = match observed_of(event) {
        Some(o) => (o.start, o.offset),
        None => (event.created_at.as_secs(), None),
    };
    let shift = offset.map_or(0, samizdat_core::tags::Offset::seconds);
    i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s + shift).ok())
        .map_or_else(
            || "0000-00-00".into(),
            |t| t.strftime("%Y-%m-%d").to_string(),
        )
}

pub fn observed(o: samizdat_core::tags::Observed) -> String {
    match o.end {
        Some(end) => format!(
            "{} – {}",
            date_time_at(o.start, o.offset),
            date_time_at(end, o.offset)
        ),
        None => date_time_at(o.start, o.offset),
    }
}

pub fn excerpt(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

pub fn short(text: &str) -> String {
    match (text.get(..12), text.get(text.len().saturating_sub(6)..)) {
        (Some(a), Some(b)) if text.len() > 20 => format!("{a}…{b}"),
        _ => text.to_string(),
    }
}

pub fn short_npub(event: &Event) -> String {
    event
        .pubkey
        .to_bech32()
        .map(|n| short(&n))
        .unwrap_or_default()
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_on_characters() {
        assert_eq!(excerpt("Алматы", 3), "Алм…");
        assert_eq!(excerpt("abc", 3), "abc");
    }
}
