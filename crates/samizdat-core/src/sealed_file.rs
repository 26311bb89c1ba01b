//! Sealed files: a file encrypted with a key of its own, the key carried
//! inside a sealed record (a NIP-17 file message, kind 15, sealed and
//! gift-wrapped as in [`crate::sealed`]).
//!
//! The encrypted file is an ordinary blob: any node, bundle or courier
//! carries it without being able to read it. Two uses:
//! - an attachment of a sealed record: the stripped photo, readable only
//!   by the record's readers;
//! - a sealed original: the untouched file (with its metadata, kept as
//!   evidence) of an attachment of a public record, whose public copy is
//!   stripped. The link between the two (`stripped`) exists only here,
//!   inside the seal;
//! - an untouched file sent with a sealed record (`metadata kept`): a
//!   type samizdat cannot strip, or evidence the readers should have
//!   whole; it is never published.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use nostr::prelude::{Event, EventId, Keys, Kind, PublicKey, Tag, Tags, Timestamp};
use rand::RngExt;

use crate::blob::BlobHash;
use crate::record::RuleViolation;
use crate::sealed::{Inner, wrap};
use crate::sign::Draft;

/// Kind of a file message (NIP-17).
pub const FILE_MESSAGE: Kind = Kind::Custom(15);
/// The only algorithm written and read (NIP-17's `aes-gcm`, 256-bit key).
pub const ALGORITHM: &str = "aes-gcm";
/// Media type of an encrypted file as a blob.
pub const ENCRYPTED_MIME: &str = "application/octet-stream";

/// What a sealed file is to the record it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An attachment of a sealed record: the record's `imeta` names the
    /// file's plain hash.
    Attachment,
    /// The untouched original of a public attachment, whose stripped
    /// copy has this hash.
    Original { stripped: BlobHash },
    /// A file sent whole, metadata kept, with a sealed record, and never
    /// published: for files that cannot be stripped, or that the readers
    /// should have as they are.
    Untouched,
}

/// A file message: where the encrypted file is and how to open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedFile {
    /// The record the file belongs to.
    pub record: EventId,
    pub role: Role,
    /// Media type of the plain file.
    pub mime: String,
    pub key: [u8; 32],
    pub nonce: [u8; 12],
    /// The encrypted blob, and its size.
    pub encrypted: BlobHash,
    pub encrypted_size: u64,
    /// The plain file's hash.
    pub plain: BlobHash,
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the encrypted file does not hash to {0}: it is damaged or another file")]
    WrongFile(BlobHash),
    #[error("the encrypted file does not open with its key: it is damaged")]
    Decrypt,
    #[error("the opened file does not hash to {0}")]
    WrongPlain(BlobHash),
    #[error(transparent)]
    Seal(#[from] crate::sealed::SealError),
    #[error(transparent)]
    Sign(#[from] RuleViolation),
}

/// A file sealed for its readers: one gift wrap of its file message per
/// reader, each naming the encrypted blob so that the blob travels with
/// it, and the encrypted blob itself.
#[derive(Debug)]
pub struct Sealed {
    pub file: SealedFile,
    pub wraps: Vec<(PublicKey, Event)>,
    pub encrypted: Vec<u8>,
}

/// Encrypts `plain` once and seals its file message, signed by `author`,
/// for each of `readers`.
pub fn seal(
    author: &Keys,
    readers: &[PublicKey],
    plain: &[u8],
    mime: &str,
    record: EventId,
    role: Role,
    now: Timestamp,
) -> Result<Sealed, FileError> {
    let (file, encrypted) = SealedFile::encrypt(plain, mime, record, role)?;
    let message = Draft {
        kind: FILE_MESSAGE,
        created_at: now,
        tags: file.tags(),
        content: file.uri(),
    }
    .sign(author)?;
    let inner = Inner::Signed(message);
    let wraps = readers
        .iter()
        .map(|reader| {
            Ok((
                *reader,
                wrap(author, &inner, reader, &[file.carry_tag()], now)?,
            ))
        })
        .collect::<Result<Vec<_>, FileError>>()?;
    Ok(Sealed {
        file,
        wraps,
        encrypted,
    })
}

impl SealedFile {
    /// Encrypts `plain` with a new key; returns the file message and the
    /// encrypted bytes to store as a blob.
    pub fn encrypt(
        plain: &[u8],
        mime: &str,
        record: EventId,
        role: Role,
    ) -> Result<(SealedFile, Vec<u8>), FileError> {
        let key: [u8; 32] = rand::rng().random();
        // A key is used once, so a random nonce cannot repeat under it.
        let nonce: [u8; 12] = rand::rng().random();
        let encrypted = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key))
            .encrypt(Nonce::from_slice(&nonce), plain)
            .map_err(|_| FileError::Decrypt)?;
        let file = SealedFile {
            record,
            role,
            mime: mime.to_string(),
            key,
            nonce,
            encrypted: BlobHash::of(&encrypted),
            encrypted_size: encrypted.len() as u64,
            plain: BlobHash::of(plain),
        };
        Ok((file, encrypted))
    }

    /// Opens the encrypted blob, checking both hashes.
    pub fn decrypt(&self, encrypted: &[u8]) -> Result<Vec<u8>, FileError> {
        if BlobHash::of(encrypted) != self.encrypted {
            return Err(FileError::WrongFile(self.encrypted));
        }
        let plain = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.key))
            .decrypt(Nonce::from_slice(&self.nonce), encrypted)
            .map_err(|_| FileError::Decrypt)?;
        if BlobHash::of(&plain) != self.plain {
            return Err(FileError::WrongPlain(self.plain));
        }
        Ok(plain)
    }

    /// The BUD-10 URI of the encrypted blob: the message's content, as
    /// NIP-17 puts the file's URL there.
    pub fn uri(&self) -> String {
        format!(
            "blossom:{}.bin?size={}",
            self.encrypted, self.encrypted_size
        )
    }

    /// The file message's tags (NIP-17 names, plus `stripped` for an
    /// original). The author adds `-` (NIP-70): it is never published.
    pub fn tags(&self) -> Vec<Vec<String>> {
        let tag = |name: &str, value: String| vec![name.to_string(), value];
        let mut tags = vec![
            tag("e", self.record.to_hex()),
            tag("file-type", self.mime.clone()),
            tag("encryption-algorithm", ALGORITHM.to_string()),
            tag("decryption-key", hex::encode(self.key)),
            tag("decryption-nonce", hex::encode(self.nonce)),
            tag("x", self.encrypted.to_hex()),
            tag("ox", self.plain.to_hex()),
            tag("size", self.encrypted_size.to_string()),
        ];
        match self.role {
            Role::Original { stripped } => tags.push(tag("stripped", stripped.to_hex())),
            Role::Untouched => tags.push(tag("metadata", "kept".to_string())),
            Role::Attachment => {}
        }
        tags.push(vec!["-".to_string()]);
        tags
    }

    /// The outer tag of a gift wrap that carries this file message: it
    /// names the encrypted blob (and nothing else), so that sync and
    /// bundles carry the blob with the wrap.
    pub fn carry_tag(&self) -> Tag {
        let parts = vec![
            "imeta".to_string(),
            format!("url {}", self.uri()),
            format!("m {ENCRYPTED_MIME}"),
            format!("x {}", self.encrypted),
            format!("size {}", self.encrypted_size),
        ];
        Tag::parse(parts).expect("an imeta tag has a name")
    }

    /// Reads a file message's tags.
    pub fn from_tags(tags: &Tags) -> Result<SealedFile, RuleViolation> {
        let value = |name: &str| {
            tags.iter().find_map(|t| match t.as_slice() {
                [n, v, ..] if n == name => Some(v.as_str()),
                _ => None,
            })
        };
        let need = |name: &str| {
            value(name).ok_or_else(|| RuleViolation::new(format!("file message without `{name}`")))
        };
        let bad = |name: &str| RuleViolation::new(format!("file message: bad `{name}`"));
        let hash = |name: &str| need(name)?.parse::<BlobHash>().map_err(|_| bad(name));
        let bytes = |name: &str, out: &mut [u8]| {
            hex::decode_to_slice(need(name)?, out).map_err(|_| bad(name))
        };
        if need("encryption-algorithm")? != ALGORITHM {
            return Err(RuleViolation::new(format!(
                "file message: only {ALGORITHM} is supported"
            )));
        }
        let mut key = [0u8; 32];
        bytes("decryption-key", &mut key)?;
        let mut nonce = [0u8; 12];
        bytes("decryption-nonce", &mut nonce)?;
        let role = match (value("stripped"), value("metadata")) {
            (Some(h), _) => Role::Original {
                stripped: h.parse().map_err(|_| bad("stripped"))?,
            },
            (None, Some("kept")) => Role::Untouched,
            _ => Role::Attachment,
        };
        Ok(SealedFile {
            record: EventId::from_hex(need("e")?).map_err(|_| bad("e"))?,
            role,
            mime: need("file-type")?.to_string(),
            key,
            nonce,
            encrypted: hash("x")?,
            encrypted_size: need("size")?.parse().map_err(|_| bad("size"))?,
            plain: hash("ox")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(file: &SealedFile) -> Tags {
        Tags::from_list(
            file.tags()
                .into_iter()
                .map(|t| Tag::parse(t).unwrap())
                .collect(),
        )
    }

    #[test]
    fn round_trip_and_every_damage_is_named() {
        let plain = b"JPEG bytes with a GPS tag".to_vec();
        let record = EventId::from_byte_array([0; 32]);
        let stripped = BlobHash::of(b"stripped");
        let (file, encrypted) =
            SealedFile::encrypt(&plain, "image/jpeg", record, Role::Original { stripped }).unwrap();
        assert_ne!(encrypted, plain);
        assert_eq!(file.decrypt(&encrypted).unwrap(), plain);
        let read = SealedFile::from_tags(&tags(&file)).unwrap();
        assert_eq!(read, file);

        let mut damaged = encrypted.clone();
        damaged[0] ^= 1;
        assert!(matches!(
            file.decrypt(&damaged),
            Err(FileError::WrongFile(_))
        ));
        let forged = SealedFile {
            encrypted: BlobHash::of(&damaged),
            ..file.clone()
        };
        assert!(matches!(forged.decrypt(&damaged), Err(FileError::Decrypt)));
        let lying = SealedFile {
            plain: BlobHash::of(b"something else"),
            ..file.clone()
        };
        assert!(matches!(
            lying.decrypt(&encrypted),
            Err(FileError::WrongPlain(_))
        ));
    }

    #[test]
    fn attachments_have_no_stripped_link_and_bad_tags_are_refused() {
        let (file, _) = SealedFile::encrypt(
            b"x",
            "image/png",
            EventId::from_byte_array([0; 32]),
            Role::Attachment,
        )
        .unwrap();
        assert!(!file.tags().iter().any(|t| t[0] == "stripped"));
        assert_eq!(
            SealedFile::from_tags(&tags(&file)).unwrap().role,
            Role::Attachment
        );
        let mut other = file.tags();
        other.retain(|t| t[0] != "decryption-key");
        let other = Tags::from_list(other.into_iter().map(|t| Tag::parse(t).unwrap()).collect());
        let err = SealedFile::from_tags(&other).unwrap_err();
        assert!(err.to_string().contains("decryption-key"), "{err}");
    }
}
