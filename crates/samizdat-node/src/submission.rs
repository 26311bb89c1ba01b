//! A witness's submission made into what the store takes: the files
//! stripped of what identifies them, the record built with them, signed,
//! validated, and sealed for the documenters when the witness asks
//! (with the untouched originals, too, when the witness sends them).
//!
//! [`prepare`] is a pure step: CPU only, no store, no network, no clock
//! but the time it is given. The drop box runs it off the async runtime
//! (stripping and signing are the slow part of a submission) and then
//! commits what it made: the blobs first, then the events through
//! `Ingest`, so that a record is never stored before its files.

use samizdat_core::nostr::prelude::{Event, EventId, Keys, PublicKey, Timestamp};
use samizdat_core::person::PersonReport;
use samizdat_core::sealed::{self, Inner};
use samizdat_core::sealed_file::{self, Role};
use samizdat_core::sign::Draft;
use samizdat_core::testimony::Testimony;
use samizdat_core::{Attachment, BlobHash, Limits, kind, validate};
use samizdat_media::{MediaError, Stripped};

/// Who may read a record, and who may publish it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Stored as it is, for anyone.
    Public,
    /// Sealed for the documenters, who may publish it with the author's
    /// signature.
    Sealed,
    /// Sealed for the documenters and marked NIP-70: only the author may
    /// publish it.
    Private,
}

impl Visibility {
    /// A form's choice: `sealed`, `private`, anything else public.
    pub fn from_form(text: &str) -> Visibility {
        match text {
            "sealed" => Visibility::Sealed,
            "private" => Visibility::Private,
            _ => Visibility::Public,
        }
    }

    /// The form's value for this choice.
    pub fn name(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Sealed => "sealed",
            Visibility::Private => "private",
        }
    }

    pub fn is_sealed(self) -> bool {
        self != Visibility::Public
    }
}

/// What the witness wrote. Attachments are the files', filled in by
/// [`prepare`].
#[derive(Debug, Clone)]
pub enum Content {
    Testimony(Testimony),
    Person(PersonReport),
}

/// Everything a submission brings.
#[derive(Debug)]
pub struct Submission {
    pub content: Content,
    pub visibility: Visibility,
    /// Each file's name, as sent, and its bytes.
    pub files: Vec<(String, Vec<u8>)>,
    /// Whether the untouched originals also go, sealed, to the
    /// documenters beside a public record.
    pub keep_originals: bool,
    /// The witness's own key; `None`: a new one is made for the record.
    pub key: Option<Keys>,
    pub documenters: Vec<PublicKey>,
    pub limits: Limits,
    pub now: Timestamp,
}

/// What [`prepare`] made.
pub struct Prepared {
    /// The record's id.
    pub id: EventId,
    /// The key that signed it, and whether it was made for it (and so
    /// must be shown to the witness, once).
    pub keys: Keys,
    pub new_key: bool,
    pub visibility: Visibility,
    /// The record itself, or its gift wraps, and the wraps of sealed
    /// files: what goes through `Ingest`.
    pub events: Vec<Event>,
    /// Each file by its name, stripped: stored as it is when the record
    /// is public, and the list of what was removed shown to the witness.
    pub files: Vec<(String, Stripped)>,
    /// Encrypted files (a sealed record's attachments, sealed originals).
    pub encrypted: Vec<Vec<u8>>,
    /// How many untouched originals were sealed for the documenters.
    pub originals_sealed: usize,
}

/// Why a submission was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmissionError {
    #[error("nobody to seal it for: this node has no documenters")]
    NoDocumenters,
    #[error("{name}: {source}")]
    File {
        name: String,
        #[source]
        source: MediaError,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Strips, builds, signs, validates and seals a submission.
pub fn prepare(submission: Submission) -> Result<Prepared, SubmissionError> {
    let Submission {
        content,
        visibility,
        files,
        keep_originals,
        key,
        documenters,
        limits,
        now,
    } = submission;
    if visibility.is_sealed() && documenters.is_empty() {
        return Err(SubmissionError::NoDocumenters);
    }
    let keep_originals = keep_originals && !visibility.is_sealed() && !documenters.is_empty();
    let mut stripped = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        match samizdat_media::strip(&bytes) {
            Ok(clean) => {
                let original = keep_originals.then_some(bytes);
                stripped.push((name, clean, original));
            }
            Err(source) => return Err(SubmissionError::File { name, source }),
        }
    }
    let attachments: Vec<Attachment> = stripped
        .iter()
        .map(|(_, s, _)| Attachment {
            hash: BlobHash::of(s.bytes()),
            mime: s.media_type().mime().to_string(),
            size: s.bytes().len() as u64,
            dim: s.dim(),
        })
        .collect();
    let mut draft = match content {
        Content::Testimony(mut testimony) => {
            testimony.attachments = attachments.clone();
            Draft {
                kind: kind::TESTIMONY,
                created_at: now,
                tags: testimony.tags(),
                content: testimony.content(),
            }
        }
        Content::Person(mut report) => {
            report.attachments = attachments.clone();
            Draft {
                kind: kind::PERSON_REPORT,
                created_at: now,
                tags: report.tags(),
                content: report.content(),
            }
        }
    };
    if visibility == Visibility::Private {
        // NIP-70: only the author may publish it.
        draft.tags.push(vec!["-".to_string()]);
    }
    let new_key = key.is_none();
    let keys = key.unwrap_or_else(Keys::generate);
    let invalid = |e: &dyn std::fmt::Display| SubmissionError::Invalid(e.to_string());
    let record = draft
        .sign(&keys)
        .map_err(|e| SubmissionError::Invalid(e.reason().to_string()))?;
    let record = validate(record, &limits, now)
        .map_err(|e| invalid(&e))?
        .into_event();
    let id = record.id;
    let mut events = Vec::new();
    let mut encrypted = Vec::new();
    let mut originals_sealed = 0;
    if visibility.is_sealed() {
        let inner = Inner::Signed(record);
        for reader in &documenters {
            events.push(sealed::wrap(&keys, &inner, reader, &[], now).map_err(|e| invalid(&e))?);
        }
        for ((_, s, _), a) in stripped.iter().zip(&attachments) {
            let file = sealed_file::seal(
                &keys,
                &documenters,
                s.bytes(),
                &a.mime,
                id,
                Role::Attachment,
                now,
            )
            .map_err(|e| invalid(&e))?;
            events.extend(file.wraps.into_iter().map(|(_, w)| w));
            encrypted.push(file.encrypted);
        }
    } else {
        events.push(record);
        // Evidence: the untouched files, whose link to the public copies
        // exists only inside the seal.
        for ((_, _, original), a) in stripped.iter().zip(&attachments) {
            let Some(original) = original.as_deref().filter(|o| BlobHash::of(o) != a.hash) else {
                continue;
            };
            let file = sealed_file::seal(
                &keys,
                &documenters,
                original,
                &a.mime,
                id,
                Role::Original { stripped: a.hash },
                now,
            )
            .map_err(|e| invalid(&e))?;
            events.extend(file.wraps.into_iter().map(|(_, w)| w));
            encrypted.push(file.encrypted);
            originals_sealed += 1;
        }
    }
    Ok(Prepared {
        id,
        keys,
        new_key,
        visibility,
        events,
        files: stripped.into_iter().map(|(name, s, _)| (name, s)).collect(),
        encrypted,
        originals_sealed,
    })
}

#[cfg(test)]
mod tests {
    use samizdat_core::tags::Place;

    use super::*;

    fn testimony(text: &str) -> Content {
        Content::Testimony(Testimony {
            text: text.into(),
            lang: "ru".into(),
            place: Place::default(),
            observed: None,
            attachments: Vec::new(),
            topics: Vec::new(),
        })
    }

    fn submission(visibility: Visibility, documenters: Vec<PublicKey>) -> Submission {
        Submission {
            content: testimony("Колонна техники на проспекте."),
            visibility,
            files: Vec::new(),
            keep_originals: false,
            key: None,
            documenters,
            limits: Limits::default(),
            now: Timestamp::from_secs(1_767_225_600),
        }
    }

    #[test]
    fn a_public_record_is_signed_by_a_new_key_and_stored_as_it_is() {
        let prepared = prepare(submission(Visibility::Public, Vec::new())).expect("prepares");
        assert!(prepared.new_key);
        assert_eq!(prepared.events.len(), 1);
        let record = &prepared.events[0];
        assert_eq!(record.id, prepared.id);
        assert_eq!(record.pubkey, prepared.keys.public_key());
        assert!(samizdat_core::record::is_public(record));
    }

    #[test]
    fn sealed_and_private_records_go_to_each_documenter_alone() {
        let documenters: Vec<Keys> = (0..2).map(|_| Keys::generate()).collect();
        let readers: Vec<PublicKey> = documenters.iter().map(Keys::public_key).collect();
        assert!(matches!(
            prepare(submission(Visibility::Sealed, Vec::new())),
            Err(SubmissionError::NoDocumenters)
        ));
        for visibility in [Visibility::Sealed, Visibility::Private] {
            let prepared = prepare(submission(visibility, readers.clone())).expect("prepares");
            assert_eq!(prepared.events.len(), 2);
            for (wrap, reader) in prepared.events.iter().zip(&documenters) {
                assert!(!samizdat_core::record::is_public(wrap));
                let opened = sealed::open(reader, wrap).expect("the documenter opens it");
                assert_eq!(
                    opened.inner.is_protected(),
                    visibility == Visibility::Private
                );
            }
        }
    }

    #[test]
    fn a_file_samizdat_cannot_clean_refuses_the_submission_by_its_name() {
        let mut s = submission(Visibility::Public, Vec::new());
        s.files = vec![("notes.pdf".into(), b"%PDF-1.7 trailer".to_vec())];
        match prepare(s) {
            Err(SubmissionError::File { name, .. }) => assert_eq!(name, "notes.pdf"),
            other => panic!("{:?}", other.map(|p| p.id)),
        }
    }
}
