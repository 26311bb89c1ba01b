//! Testimony: a public text record, readable in stock Nostr clients
//! (a NIP-01 kind 1 note), with structured tags.

use nostr::prelude::Event;

use crate::blob::Attachment;
use crate::kind::{NAMESPACE, TESTIMONY_LABEL};
use crate::record::RuleViolation;
use crate::tags::{self, Observed, Place};

/// Longest testimony text, in bytes.
pub const MAX_TEXT_BYTES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Testimony {
    /// What the witness wrote, without the attachment URIs.
    pub text: String,
    /// ISO 639-1 code of the language the text is written in.
    pub lang: String,
    pub place: Place,
    pub observed: Option<Observed>,
    pub attachments: Vec<Attachment>,
    pub topics: Vec<String>,
}

impl Testimony {
    /// The event content: the text, then each attachment's URI.
    pub fn content(&self) -> String {
        tags::content_with_attachments(&self.text, &self.attachments)
    }

    /// The event tags, in the order `docs/PROTOCOL.md` gives.
    pub fn tags(&self) -> Vec<Vec<String>> {
        let mut tags = vec![
            vec!["L".into(), NAMESPACE.into()],
            vec!["l".into(), TESTIMONY_LABEL.into(), NAMESPACE.into()],
        ];
        tags.extend(tags::language_tags(&self.lang));
        self.place.push_tags(&mut tags);
        if let Some(o) = &self.observed {
            tags.extend(o.to_tags());
        }
        for t in &self.topics {
            tags.push(vec!["t".into(), t.clone()]);
        }
        for a in &self.attachments {
            tags.push(a.to_tag());
        }
        tags
    }

    pub fn from_event(event: &Event) -> Result<Testimony, RuleViolation> {
        let lang = tags::language(event)?
            .ok_or_else(|| RuleViolation::new("testimony without a language label"))?;
        let attachments = tags::attachments(event)?;
        let text = tags::text_without_attachments(&event.content, &attachments);
        if text.trim().is_empty() && attachments.is_empty() {
            return Err(RuleViolation::new(
                "testimony with neither text nor attachments",
            ));
        }
        if !text.is_empty() {
            tags::check_text("testimony text", &text, MAX_TEXT_BYTES)?;
        }
        Ok(Testimony {
            text,
            lang,
            place: Place::parse(event)?,
            observed: Observed::parse(event)?,
            attachments,
            topics: tags::topics(event)?,
        })
    }
}
