//! A record made into what the store takes, as the drop box and the
//! command line both make it: the files stripped of what identifies them,
//! the record built with them, signed, validated, and sealed for chosen
//! readers when the author asks (with the untouched originals, and files
//! sent whole, sealed too).
//!
//! [`prepare`] is a pure step: CPU only, no store, no network, no clock
//! but the time it is given. The drop box runs it off the async runtime
//! (stripping and signing are the slow part of a submission); each door
//! then commits what it made: the blobs first, then the events, so that a
//! record is never stored before its files.

use samizdat_core::nostr::prelude::{EventId, Keys, PublicKey, Timestamp, UnsignedEvent};
use samizdat_core::person::PersonReport;
use samizdat_core::sealed::{self, Inner};
use samizdat_core::sealed_file::{self, ENCRYPTED_MIME, Role};
use samizdat_core::sign::Draft;
use samizdat_core::testimony::Testimony;
use samizdat_core::{Attachment, BlobHash, Limits, VerifiedEvent, kind, validate};
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

/// How a sealed record is sealed: what its readers may do with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SealedAs {
    /// Signed: a reader may publish it, unchanged, as its author's.
    #[default]
    Publishable,
    /// Signed and marked NIP-70: provable, but only its author may
    /// publish it.
    Private,
    /// Unsigned: it proves nothing if it leaks, and is never published.
    Deniable,
}

impl SealedAs {
    pub fn name(self) -> &'static str {
        match self {
            SealedAs::Publishable => "publishable",
            SealedAs::Private => "private",
            SealedAs::Deniable => "deniable",
        }
    }
}

/// Who reads what a submission seals.
#[derive(Debug, Clone, Default)]
pub struct Readers {
    /// Readers of the record itself; none: the record is public.
    pub record: Vec<PublicKey>,
    pub sealed_as: SealedAs,
    /// Readers of the attachments' untouched originals (metadata intact,
    /// as evidence), beside the stripped copies the record names.
    pub originals: Vec<PublicKey>,
}

impl Readers {
    /// The drop box's choice, for the node's documenters: a sealed or
    /// private record goes to them alone; a public one may send them the
    /// originals.
    pub fn of_visibility(
        visibility: Visibility,
        keep_originals: bool,
        documenters: &[PublicKey],
    ) -> Result<Readers, SubmissionError> {
        if visibility.is_sealed() && documenters.is_empty() {
            return Err(SubmissionError::NoDocumenters);
        }
        let to_documenters = || documenters.to_vec();
        Ok(match visibility {
            Visibility::Public => Readers {
                originals: if keep_originals {
                    to_documenters()
                } else {
                    Vec::new()
                },
                ..Readers::default()
            },
            Visibility::Sealed | Visibility::Private => Readers {
                record: to_documenters(),
                sealed_as: if visibility == Visibility::Private {
                    SealedAs::Private
                } else {
                    SealedAs::Publishable
                },
                originals: Vec::new(),
            },
        })
    }

    /// Whether the record itself is sealed rather than public.
    pub fn seals_record(&self) -> bool {
        !self.record.is_empty()
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
    pub readers: Readers,
    /// Each file's name, as sent, and its bytes: stripped, and named by
    /// the record.
    pub files: Vec<(String, Vec<u8>)>,
    /// Files sent to the record's readers exactly as they are, sealed,
    /// never public: a format samizdat cannot clean, or evidence they
    /// should have whole. Only beside a sealed record.
    pub untouched: Vec<(String, Vec<u8>)>,
    /// The author's key; `None`: a new one is made for the record.
    pub key: Option<Keys>,
    pub limits: Limits,
    pub now: Timestamp,
}

/// What [`prepare`] made.
pub struct Prepared {
    /// The record's id.
    pub id: EventId,
    /// The key that signed it, and whether it was made for it (and so
    /// must be shown to the author, once).
    pub keys: Keys,
    pub new_key: bool,
    /// The record itself when it is public, and every gift wrap, each
    /// validated: what the door stores, in this order, after the blobs.
    pub events: Vec<VerifiedEvent>,
    /// Each gift wrap among `events`: for whom, and what it holds.
    pub copies: Vec<Copy>,
    /// Each file by its name, stripped: stored as it is when the record
    /// is public, and the list of what was removed shown to the author.
    pub files: Vec<(String, Stripped)>,
    /// Encrypted files (a sealed record's attachments, sealed originals,
    /// files sent whole).
    pub encrypted: Vec<Vec<u8>>,
    /// How many untouched originals were sealed.
    pub originals_sealed: usize,
}

/// One sealed copy: its gift wrap, its reader, and what it holds.
#[derive(Debug, Clone)]
pub struct Copy {
    pub wrap: EventId,
    pub reader: PublicKey,
    pub holds: Holds,
}

#[derive(Debug, Clone, Copy)]
pub enum Holds {
    /// The record itself.
    Record,
    /// A file (attachment, original or sent whole), by its plain hash.
    File { role: Role, plain: BlobHash },
}

/// Why a submission was refused.
#[derive(Debug, thiserror::Error)]
pub enum SubmissionError {
    #[error("nobody to seal it for: this node has no documenters")]
    NoDocumenters,
    #[error("files sent whole go only to the readers of a sealed record")]
    UntouchedNotSealed,
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
        readers,
        files,
        untouched,
        key,
        limits,
        now,
    } = submission;
    let sealed = readers.seals_record();
    if !untouched.is_empty() && !sealed {
        return Err(SubmissionError::UntouchedNotSealed);
    }
    let keep_originals = !readers.originals.is_empty();
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
    let mut draft = draft(content, attachments.clone(), now);
    if sealed && readers.sealed_as == SealedAs::Private {
        // NIP-70: only the author may publish it.
        draft.tags.push(vec!["-".to_string()]);
    }
    let new_key = key.is_none();
    let keys = key.unwrap_or_else(Keys::generate);
    // The record must be valid as a public one would be: a reader who
    // publishes it publishes exactly this.
    let record = draft
        .sign(&keys)
        .map_err(|e| SubmissionError::Invalid(e.reason().to_string()))?;
    let record = validate(record, &limits, now).map_err(|e| invalid(&e))?;
    let id = record.event().id;
    let mut out = Sealer {
        keys: &keys,
        record: id,
        limits: &limits,
        now,
        events: Vec::new(),
        copies: Vec::new(),
        encrypted: Vec::new(),
    };
    if sealed {
        let record = record.into_event();
        let inner = match readers.sealed_as {
            SealedAs::Publishable | SealedAs::Private => Inner::Signed(record),
            SealedAs::Deniable => Inner::Unsigned(UnsignedEvent::from(record)),
        };
        for reader in &readers.record {
            let wrap = sealed::wrap(&keys, &inner, reader, &[], now).map_err(|e| invalid(&e))?;
            let wrap = validate(wrap, &limits, now).map_err(|e| {
                SubmissionError::Invalid(format!(
                    "the sealed record is too large for one event; shorten the text ({e})"
                ))
            })?;
            out.copies.push(Copy {
                wrap: wrap.event().id,
                reader: *reader,
                holds: Holds::Record,
            });
            out.events.push(wrap);
        }
        for ((_, s, _), a) in stripped.iter().zip(&attachments) {
            out.file(&readers.record, s.bytes(), &a.mime, Role::Attachment)?;
        }
        for (_, bytes) in &untouched {
            let mime =
                samizdat_media::MediaType::detect(bytes).map_or(ENCRYPTED_MIME, |t| t.mime());
            out.file(&readers.record, bytes, mime, Role::Untouched)?;
        }
    } else {
        out.events.push(record);
    }
    // Evidence: the untouched files, whose link to the stripped copies
    // exists only inside the seal.
    let mut originals_sealed = 0;
    for ((_, _, original), a) in stripped.iter().zip(&attachments) {
        // Nothing was removed: the stripped copy is the original.
        let Some(original) = original.as_deref().filter(|o| BlobHash::of(o) != a.hash) else {
            continue;
        };
        let role = Role::Original { stripped: a.hash };
        out.file(&readers.originals, original, &a.mime, role)?;
        originals_sealed += 1;
    }
    let Sealer {
        events,
        copies,
        encrypted,
        ..
    } = out;
    Ok(Prepared {
        id,
        keys,
        new_key,
        events,
        copies,
        files: stripped.into_iter().map(|(name, s, _)| (name, s)).collect(),
        encrypted,
        originals_sealed,
    })
}

fn invalid(e: &dyn std::fmt::Display) -> SubmissionError {
    SubmissionError::Invalid(e.to_string())
}

/// The record's draft, naming `attachments`.
fn draft(content: Content, attachments: Vec<Attachment>, now: Timestamp) -> Draft {
    match content {
        Content::Testimony(mut testimony) => {
            testimony.attachments = attachments;
            Draft {
                kind: kind::TESTIMONY,
                created_at: now,
                tags: testimony.tags(),
                content: testimony.content(),
            }
        }
        Content::Person(mut report) => {
            report.attachments = attachments;
            Draft {
                kind: kind::PERSON_REPORT,
                created_at: now,
                tags: report.tags(),
                content: report.content(),
            }
        }
    }
}

/// The gift wraps and encrypted files of one record, as they are made.
struct Sealer<'a> {
    keys: &'a Keys,
    record: EventId,
    limits: &'a Limits,
    now: Timestamp,
    events: Vec<VerifiedEvent>,
    copies: Vec<Copy>,
    encrypted: Vec<Vec<u8>>,
}

impl Sealer<'_> {
    /// Encrypts `plain` once and seals its file message for each of
    /// `readers`; each wrap names the encrypted blob, so that the blob
    /// travels with it.
    fn file(
        &mut self,
        readers: &[PublicKey],
        plain: &[u8],
        mime: &str,
        role: Role,
    ) -> Result<(), SubmissionError> {
        let file = sealed_file::seal(self.keys, readers, plain, mime, self.record, role, self.now)
            .map_err(|e| invalid(&e))?;
        for (reader, wrap) in file.wraps {
            let wrap = validate(wrap, self.limits, self.now).map_err(|e| invalid(&e))?;
            self.copies.push(Copy {
                wrap: wrap.event().id,
                reader,
                holds: Holds::File {
                    role,
                    plain: file.file.plain,
                },
            });
            self.events.push(wrap);
        }
        self.encrypted.push(file.encrypted);
        Ok(())
    }
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
            readers: Readers::of_visibility(visibility, false, &documenters).unwrap_or_default(),
            files: Vec::new(),
            untouched: Vec::new(),
            key: None,
            limits: Limits::default(),
            now: Timestamp::from_secs(1_767_225_600),
        }
    }

    #[test]
    fn a_public_record_is_signed_by_a_new_key_and_stored_as_it_is() {
        let prepared = prepare(submission(Visibility::Public, Vec::new())).expect("prepares");
        assert!(prepared.new_key);
        assert_eq!(prepared.events.len(), 1);
        let record = prepared.events[0].event();
        assert_eq!(record.id, prepared.id);
        assert_eq!(record.pubkey, prepared.keys.public_key());
        assert!(samizdat_core::record::is_public(record));
    }

    #[test]
    fn sealed_and_private_records_go_to_each_documenter_alone() {
        let documenters: Vec<Keys> = (0..2).map(|_| Keys::generate()).collect();
        let readers: Vec<PublicKey> = documenters.iter().map(Keys::public_key).collect();
        assert!(matches!(
            Readers::of_visibility(Visibility::Sealed, false, &[]),
            Err(SubmissionError::NoDocumenters)
        ));
        for visibility in [Visibility::Sealed, Visibility::Private] {
            let prepared = prepare(submission(visibility, readers.clone())).expect("prepares");
            assert_eq!(prepared.events.len(), 2);
            for (wrap, reader) in prepared
                .events
                .iter()
                .map(VerifiedEvent::event)
                .zip(&documenters)
            {
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
    fn a_deniable_record_is_sealed_unsigned_and_files_sent_whole_only_beside_a_sealed_one() {
        let reader = Keys::generate();
        let mut s = submission(Visibility::Public, Vec::new());
        s.untouched = vec![("call.wav".into(), b"RIFF....WAVE".to_vec())];
        assert!(matches!(
            prepare(s),
            Err(SubmissionError::UntouchedNotSealed)
        ));
        let mut s = submission(Visibility::Public, Vec::new());
        s.readers = Readers {
            record: vec![reader.public_key()],
            sealed_as: SealedAs::Deniable,
            originals: Vec::new(),
        };
        s.untouched = vec![("call.wav".into(), b"RIFF....WAVE".to_vec())];
        let prepared = prepare(s).expect("prepares");
        // The record's wrap, and the file's.
        assert_eq!(prepared.events.len(), 2);
        assert_eq!(prepared.copies.len(), 2);
        assert_eq!(prepared.encrypted.len(), 1);
        let opened = sealed::open(&reader, prepared.events[0].event()).expect("opens");
        assert!(matches!(opened.inner, Inner::Unsigned(_)));
        assert!(matches!(
            prepared.copies[1].holds,
            Holds::File {
                role: Role::Untouched,
                ..
            }
        ));
        assert!(
            prepared
                .events
                .iter()
                .all(|e| !samizdat_core::record::is_public(e.event()))
        );
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
