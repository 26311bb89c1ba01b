//! Reading and writing the tags that several record kinds share: language,
//! place, time observed, topics and attachments.

use nostr::prelude::{Event, Tags};

use crate::blob::Attachment;
use crate::kind::LANGUAGE_NAMESPACE;
use crate::record::RuleViolation;

/// Most attachments on one record.
pub const MAX_ATTACHMENTS: usize = 32;
/// Most topic tags on one record.
pub const MAX_TOPICS: usize = 16;
/// Longest place description, in bytes.
pub const MAX_PLACE_BYTES: usize = 256;
/// Longest topic, in bytes.
pub const MAX_TOPIC_BYTES: usize = 64;

const GEOHASH_ALPHABET: &str = "0123456789bcdefghjkmnpqrstuvwxyz";

/// Whether the author marked an event with NIP-70's `["-"]` tag: nobody
/// but the author may publish it, and a relay takes it from the author
/// alone. Any tag named `-` counts, whatever follows the name, so that no
/// variant of the mark makes a private record public.
pub fn is_protected(tags: &Tags) -> bool {
    tags.iter()
        .any(|t| t.as_slice().first().is_some_and(|name| name == "-"))
}

/// Every tag of `event` named `name`, as its values after the name.
pub fn all<'a>(event: &'a Event, name: &'a str) -> impl Iterator<Item = &'a [String]> + 'a {
    event.tags.iter().filter_map(move |t| match t.as_slice() {
        [n, rest @ ..] if n == name => Some(rest),
        _ => None,
    })
}

/// The first value of the only tag named `name`; an error if there are two.
pub fn at_most_one<'a>(
    event: &'a Event,
    name: &'static str,
) -> Result<Option<&'a str>, RuleViolation> {
    let mut values = all(event, name);
    let first = values.next();
    if values.next().is_some() {
        return Err(RuleViolation::new(format!("more than one `{name}` tag")));
    }
    match first {
        None => Ok(None),
        Some([value, ..]) => Ok(Some(value.as_str())),
        Some([]) => Err(RuleViolation::new(format!("`{name}` tag without a value"))),
    }
}

/// The first value of the one required tag named `name`.
pub fn exactly_one<'a>(event: &'a Event, name: &'static str) -> Result<&'a str, RuleViolation> {
    at_most_one(event, name)?.ok_or_else(|| RuleViolation::new(format!("no `{name}` tag")))
}

/// Where something happened: free text, a geohash, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// Free text, as the witness wrote it ("Almaty, Republic Square").
    pub text: Option<String>,
    /// A geohash (the `g` tag of NIP-52). Optional: a precise position can
    /// expose a witness, so nothing adds one unless asked.
    pub geohash: Option<String>,
}

impl Place {
    pub fn parse(event: &Event) -> Result<Place, RuleViolation> {
        let text = at_most_one(event, "location")?;
        if let Some(t) = text {
            check_text("location", t, MAX_PLACE_BYTES)?;
        }
        let geohash = at_most_one(event, "g")?;
        if let Some(g) = geohash {
            check_geohash(g)?;
        }
        Ok(Place {
            text: text.map(str::to_string),
            geohash: geohash.map(str::to_string),
        })
    }

    pub fn push_tags(&self, tags: &mut Vec<Vec<String>>) {
        if let Some(t) = &self.text {
            tags.push(vec!["location".into(), t.clone()]);
        }
        if let Some(g) = &self.geohash {
            tags.push(vec!["g".into(), g.clone()]);
        }
    }
}

/// Checks a geohash: 1 to 12 characters of the geohash alphabet.
pub fn check_geohash(g: &str) -> Result<(), RuleViolation> {
    if g.is_empty() || g.len() > 12 || !g.chars().all(|c| GEOHASH_ALPHABET.contains(c)) {
        return Err(RuleViolation::new(format!(
            "geohash {g:?} is not 1 to 12 characters of the geohash alphabet"
        )));
    }
    Ok(())
}

/// When something was observed, in Unix seconds: a moment or a span,
/// and the UTC offset of the local time the witness gave it in (the
/// `offset` tag), so that it is shown as it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    pub start: u64,
    pub end: Option<u64>,
    pub offset: Option<Offset>,
}

/// A UTC offset, `+06:00` or `-03:30`, within ±14 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset {
    minutes: i16,
}

impl Offset {
    pub const UTC: Offset = Offset { minutes: 0 };

    /// `minutes` east of UTC, if within ±14 hours.
    pub fn from_minutes(minutes: i32) -> Option<Offset> {
        let minutes = i16::try_from(minutes).ok()?;
        (-14 * 60..=14 * 60)
            .contains(&minutes)
            .then_some(Offset { minutes })
    }

    pub fn minutes(self) -> i32 {
        i32::from(self.minutes)
    }

    pub fn seconds(self) -> i64 {
        i64::from(self.minutes) * 60
    }

    /// `+HH:MM` or `-HH:MM`, exactly.
    pub fn parse(text: &str) -> Option<Offset> {
        let bytes = text.as_bytes();
        if bytes.len() != 6 || bytes[3] != b':' {
            return None;
        }
        let sign = match bytes[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let digits = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| s.parse::<i32>().ok())
                .flatten()
        };
        let hours = digits(text.get(1..3)?)?;
        let minutes = digits(text.get(4..6)?)?;
        if minutes >= 60 {
            return None;
        }
        Offset::from_minutes(sign * (hours * 60 + minutes))
    }
}

impl std::fmt::Display for Offset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.minutes < 0 { '-' } else { '+' };
        let m = self.minutes.unsigned_abs();
        write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

impl Observed {
    pub fn parse(event: &Event) -> Result<Option<Observed>, RuleViolation> {
        let mut tags = all(event, "observed");
        let Some(values) = tags.next() else {
            return Ok(None);
        };
        if tags.next().is_some() {
            return Err(RuleViolation::new("more than one `observed` tag"));
        }
        let number = |s: &String| {
            s.parse::<u64>()
                .map_err(|_| RuleViolation::new(format!("observed time {s:?} is not Unix seconds")))
        };
        let offset = match at_most_one(event, "offset")? {
            None => None,
            Some(text) => Some(Offset::parse(text).ok_or_else(|| {
                RuleViolation::new(format!("offset {text:?} is not like +06:00"))
            })?),
        };
        let observed = match values {
            [start] => Observed {
                start: number(start)?,
                end: None,
                offset,
            },
            [start, end] => Observed {
                start: number(start)?,
                end: Some(number(end)?),
                offset,
            },
            _ => {
                return Err(RuleViolation::new(
                    "`observed` takes a start and an optional end",
                ));
            }
        };
        if observed.end.is_some_and(|end| end < observed.start) {
            return Err(RuleViolation::new("observed end is before its start"));
        }
        if observed.start > event.created_at.as_secs() {
            return Err(RuleViolation::new("observed after the record was signed"));
        }
        Ok(Some(observed))
    }

    /// The `observed` tag, and the `offset` tag when there is one.
    pub fn to_tags(&self) -> Vec<Vec<String>> {
        let mut tag = vec!["observed".to_string(), self.start.to_string()];
        if let Some(end) = self.end {
            tag.push(end.to_string());
        }
        let mut tags = vec![tag];
        if let Some(offset) = self.offset {
            tags.push(vec!["offset".to_string(), offset.to_string()]);
        }
        tags
    }
}

/// The record's language: a NIP-32 label in the ISO-639-1 namespace.
pub fn language(event: &Event) -> Result<Option<String>, RuleViolation> {
    let mut found = None;
    for values in all(event, "l") {
        if let [code, ns, ..] = values
            && ns == LANGUAGE_NAMESPACE
        {
            if found.is_some() {
                return Err(RuleViolation::new("more than one language label"));
            }
            check_language(code)?;
            found = Some(code.clone());
        }
    }
    if found.is_some()
        && !all(event, "L").any(|v| v.first().is_some_and(|ns| ns == LANGUAGE_NAMESPACE))
    {
        return Err(RuleViolation::new(
            "language label without its `L` namespace tag",
        ));
    }
    Ok(found)
}

/// Checks an ISO 639-1 code: two lowercase ASCII letters.
pub fn check_language(code: &str) -> Result<(), RuleViolation> {
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(RuleViolation::new(format!(
            "language {code:?} is not an ISO 639-1 code (two lowercase letters)"
        )));
    }
    Ok(())
}

pub fn language_tags(code: &str) -> [Vec<String>; 2] {
    [
        vec!["L".into(), LANGUAGE_NAMESPACE.into()],
        vec!["l".into(), code.into(), LANGUAGE_NAMESPACE.into()],
    ]
}

/// Topic tags (`t`, NIP-24): lowercase words.
pub fn topics(event: &Event) -> Result<Vec<String>, RuleViolation> {
    let topics: Vec<String> = all(event, "t").filter_map(|v| v.first().cloned()).collect();
    if topics.len() > MAX_TOPICS {
        return Err(RuleViolation::new(format!("more than {MAX_TOPICS} topics")));
    }
    for t in &topics {
        check_text("topic", t, MAX_TOPIC_BYTES)?;
        if t.to_lowercase() != *t {
            return Err(RuleViolation::new(format!("topic {t:?} is not lowercase")));
        }
    }
    Ok(topics)
}

/// Attachments (`imeta`, NIP-92); each one's URI must appear in `content`.
pub fn attachments(event: &Event) -> Result<Vec<Attachment>, RuleViolation> {
    let list = event
        .tags
        .iter()
        .filter(|t| t.kind() == "imeta")
        .map(|t| Attachment::from_tag(t.as_slice()))
        .collect::<Result<Vec<_>, _>>()?;
    if list.len() > MAX_ATTACHMENTS {
        return Err(RuleViolation::new(format!(
            "more than {MAX_ATTACHMENTS} attachments"
        )));
    }
    for a in &list {
        if !event.content.contains(&a.uri()) {
            return Err(RuleViolation::new(format!(
                "attachment {} is not mentioned in the content (NIP-92)",
                a.hash
            )));
        }
    }
    Ok(list)
}

/// Checks a piece of free text: not empty, not over `max` bytes, no control
/// characters other than line breaks and tabs.
pub fn check_text(what: &str, text: &str, max: usize) -> Result<(), RuleViolation> {
    if text.trim().is_empty() {
        return Err(RuleViolation::new(format!("{what} is empty")));
    }
    if text.len() > max {
        return Err(RuleViolation::new(format!(
            "{what} is {} bytes, more than {max}",
            text.len()
        )));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(RuleViolation::new(format!(
            "{what} holds control characters"
        )));
    }
    Ok(())
}

/// Appends each attachment's URI to `text` on a line of its own, as NIP-92
/// asks, so stock clients show a link.
pub fn content_with_attachments(text: &str, attachments: &[Attachment]) -> String {
    let mut content = text.trim_end().to_string();
    for (i, a) in attachments.iter().enumerate() {
        content.push_str(if i == 0 && !content.is_empty() {
            "\n\n"
        } else {
            "\n"
        });
        content.push_str(&a.uri());
    }
    content
}

/// The text of `content` without the attachment URI lines that
/// [`content_with_attachments`] appended.
pub fn text_without_attachments(content: &str, attachments: &[Attachment]) -> String {
    let mut text = content;
    for a in attachments.iter().rev() {
        let uri = a.uri();
        if let Some(rest) = text.trim_end().strip_suffix(uri.as_str()) {
            text = rest;
        }
    }
    text.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use nostr::prelude::Tag;

    use super::*;

    #[test]
    fn offsets_are_read_and_written_as_plus_or_minus_hh_mm() {
        for (text, minutes) in [
            ("+06:00", 360),
            ("-03:30", -210),
            ("+05:45", 345),
            ("+00:00", 0),
        ] {
            let offset = Offset::parse(text).expect(text);
            assert_eq!(offset.minutes(), minutes);
            assert_eq!(offset.to_string(), text);
        }
        for bad in [
            "+6:00",
            "06:00",
            "+06:60",
            "+15:00",
            "+06:00:00",
            "UTC",
            "+0a:00",
            "",
        ] {
            assert!(Offset::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn any_tag_named_dash_protects() {
        let tags = |list: &[&[&str]]| {
            Tags::from_list(
                list.iter()
                    .map(|t| Tag::parse(t.iter().copied()).expect("tag"))
                    .collect(),
            )
        };
        assert!(is_protected(&tags(&[&["-"]])));
        assert!(is_protected(&tags(&[&["t", "x"], &["-", "anything"]])));
        assert!(!is_protected(&tags(&[&["t", "-"]])));
        assert!(!is_protected(&tags(&[])));
    }
}
