//! Person report (kind 1948): a claim about what happened to a person.

use std::fmt;
use std::str::FromStr;

use nostr::prelude::Event;

use crate::blob::Attachment;
use crate::record::RuleViolation;
use crate::tags::{self, Observed, Place};

/// Longest name or alias, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Most other spellings of a name.
pub const MAX_ALIASES: usize = 16;
/// Longest role, in bytes.
pub const MAX_ROLE_BYTES: usize = 64;
/// Longest free-text details, in bytes.
pub const MAX_DETAILS_BYTES: usize = 16 * 1024;

macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = RuleViolation;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($word => Ok($name::$variant),)+
                    _ => Err(RuleViolation::new(format!(
                        concat!(stringify!($name), " {:?} is not one of: {}"),
                        s,
                        [$($word),+].join(", ")
                    ))),
                }
            }
        }
    };
}

word_enum!(
    /// What is claimed to have happened to the person.
    Status {
        Missing = "missing",
        Detained = "detained",
        Injured = "injured",
        Killed = "killed",
        Released = "released",
        Found = "found",
        Unknown = "unknown",
    }
);

word_enum!(
    /// How the reporter knows.
    Source {
        Witnessed = "witnessed",
        Relative = "relative",
        Official = "official",
        Media = "media",
    }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonReport {
    /// The name as the reporter wrote it, in whatever script.
    pub name: String,
    /// Other spellings the reporter knows (other scripts, transliterations).
    pub aliases: Vec<String>,
    pub age: Option<u8>,
    /// Free text such as "journalist" or "union activist".
    pub role: Option<String>,
    pub status: Status,
    /// When the status was observed.
    pub observed: Option<Observed>,
    pub place: Place,
    pub source: Source,
    pub lang: Option<String>,
    /// Free-text details.
    pub details: String,
    pub attachments: Vec<Attachment>,
}

impl PersonReport {
    /// The NIP-31 `alt` text that stock clients show for this unknown kind.
    pub fn alt(&self) -> String {
        format!("Person report: {} — {}", self.name, self.status)
    }

    pub fn content(&self) -> String {
        tags::content_with_attachments(&self.details, &self.attachments)
    }

    pub fn tags(&self) -> Vec<Vec<String>> {
        let mut tags = vec![
            vec!["alt".into(), self.alt()],
            vec!["name".into(), self.name.clone()],
        ];
        for a in &self.aliases {
            tags.push(vec!["alias".into(), a.clone()]);
        }
        if let Some(age) = self.age {
            tags.push(vec!["age".into(), age.to_string()]);
        }
        if let Some(role) = &self.role {
            tags.push(vec!["role".into(), role.clone()]);
        }
        tags.push(vec!["status".into(), self.status.to_string()]);
        tags.push(vec!["source".into(), self.source.to_string()]);
        if let Some(o) = &self.observed {
            tags.extend(o.to_tags());
        }
        self.place.push_tags(&mut tags);
        if let Some(lang) = &self.lang {
            tags.extend(tags::language_tags(lang));
        }
        for a in &self.attachments {
            tags.push(a.to_tag());
        }
        tags
    }

    pub fn from_event(event: &Event) -> Result<PersonReport, RuleViolation> {
        tags::exactly_one(event, "alt")?;
        let name = tags::exactly_one(event, "name")?.to_string();
        tags::check_text("name", &name, MAX_NAME_BYTES)?;
        let aliases: Vec<String> = tags::all(event, "alias")
            .filter_map(|v| v.first().cloned())
            .collect();
        if aliases.len() > MAX_ALIASES {
            return Err(RuleViolation::new(format!(
                "more than {MAX_ALIASES} aliases"
            )));
        }
        for a in &aliases {
            tags::check_text("alias", a, MAX_NAME_BYTES)?;
        }
        let age = match tags::at_most_one(event, "age")? {
            None => None,
            Some(a) => Some(
                a.parse::<u8>()
                    .ok()
                    .filter(|age| *age <= 130)
                    .ok_or_else(|| RuleViolation::new(format!("age {a:?} is not 0 to 130")))?,
            ),
        };
        let role = tags::at_most_one(event, "role")?.map(str::to_string);
        if let Some(r) = &role {
            tags::check_text("role", r, MAX_ROLE_BYTES)?;
        }
        let attachments = tags::attachments(event)?;
        let details = tags::text_without_attachments(&event.content, &attachments);
        if !details.is_empty() {
            tags::check_text("details", &details, MAX_DETAILS_BYTES)?;
        }
        Ok(PersonReport {
            name,
            aliases,
            age,
            role,
            status: tags::exactly_one(event, "status")?.parse()?,
            observed: Observed::parse(event)?,
            place: Place::parse(event)?,
            source: tags::exactly_one(event, "source")?.parse()?,
            lang: tags::language(event)?,
            details,
            attachments,
        })
    }
}
