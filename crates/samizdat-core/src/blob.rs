//! Content addresses of blobs and the NIP-92 `imeta` tags that reference them.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::record::RuleViolation;

/// SHA-256 of a blob's bytes: the blob's name everywhere (store, Blossom,
/// bundles). Parsed once at the edge, so a hostile "hash" such as
/// `../../etc` can never reach a file path.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobHash([u8; 32]);

impl BlobHash {
    /// Hashes `bytes`.
    pub fn of(bytes: &[u8]) -> BlobHash {
        BlobHash(Sha256::digest(bytes).into())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> BlobHash {
        BlobHash(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// Error parsing a [`BlobHash`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 hash (64 lowercase hex digits): {0:?}")]
pub struct BadBlobHash(pub String);

impl FromStr for BlobHash {
    type Err = BadBlobHash;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadBlobHash(s.chars().take(80).collect());
        if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| bad())?;
        Ok(BlobHash(out))
    }
}

impl fmt::Display for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobHash({})", self.to_hex())
    }
}

/// The media types a record may reference, with the file extension used in
/// their Blossom URI.
pub const MEDIA_TYPES: &[(&str, &str)] = &[
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
    ("video/mp4", "mp4"),
    ("video/quicktime", "mov"),
    ("audio/mp4", "m4a"),
    ("audio/mpeg", "mp3"),
    ("audio/ogg", "ogg"),
    ("image/heic", "heic"),
    ("image/gif", "gif"),
    ("image/avif", "avif"),
    ("video/3gpp", "3gp"),
    ("video/webm", "webm"),
    ("video/x-matroska", "mkv"),
    ("audio/wav", "wav"),
    ("audio/flac", "flac"),
    ("audio/amr", "amr"),
    ("audio/amr-wb", "awb"),
];

/// A blob attached to a record, described by a NIP-92 `imeta` tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub hash: BlobHash,
    /// MIME type, one of [`MEDIA_TYPES`].
    pub mime: String,
    pub size: u64,
    /// Width and height in pixels, for images.
    pub dim: Option<(u32, u32)>,
}

impl Attachment {
    /// The BUD-10 `blossom:` URI of the blob: any Blossom server that holds
    /// the hash can serve it, so the record does not depend on one host.
    pub fn uri(&self) -> String {
        let ext = MEDIA_TYPES
            .iter()
            .find(|(m, _)| *m == self.mime)
            .map(|(_, e)| *e)
            .unwrap_or("bin");
        format!("blossom:{}.{ext}?size={}", self.hash, self.size)
    }

    /// The `imeta` tag (NIP-92) for this attachment.
    pub fn to_tag(&self) -> Vec<String> {
        let mut tag = vec![
            "imeta".to_string(),
            format!("url {}", self.uri()),
            format!("m {}", self.mime),
            format!("x {}", self.hash),
            format!("size {}", self.size),
        ];
        if let Some((w, h)) = self.dim {
            tag.push(format!("dim {w}x{h}"));
        }
        tag
    }

    /// Parses an `imeta` tag. The `url`, `m`, `x` and `size` fields are
    /// required, the media type must be one samizdat stores, and the URL
    /// must be the blob's own Blossom URI.
    pub fn from_tag(tag: &[String]) -> Result<Attachment, RuleViolation> {
        let field = |key: &str| {
            tag.iter().skip(1).find_map(|entry| {
                entry
                    .split_once(' ')
                    .filter(|(k, _)| *k == key)
                    .map(|(_, v)| v)
            })
        };
        let missing = |key: &str| RuleViolation::new(format!("imeta tag without `{key}`"));
        let hash: BlobHash = field("x")
            .ok_or_else(|| missing("x"))?
            .parse()
            .map_err(|e: BadBlobHash| RuleViolation::new(format!("imeta: {e}")))?;
        let mime = field("m").ok_or_else(|| missing("m"))?.to_string();
        if !MEDIA_TYPES.iter().any(|(m, _)| *m == mime) {
            return Err(RuleViolation::new(format!(
                "imeta: media type {mime:?} is not one samizdat stores"
            )));
        }
        let size = field("size")
            .ok_or_else(|| missing("size"))?
            .parse::<u64>()
            .map_err(|_| RuleViolation::new("imeta: size is not a number"))?;
        let dim = match field("dim") {
            None => None,
            Some(d) => Some(parse_dim(d).ok_or_else(|| RuleViolation::new("imeta: bad dim"))?),
        };
        let attachment = Attachment {
            hash,
            mime,
            size,
            dim,
        };
        let url = field("url").ok_or_else(|| missing("url"))?;
        if url != attachment.uri() {
            return Err(RuleViolation::new(
                "imeta: url is not the blob's blossom: URI",
            ));
        }
        Ok(attachment)
    }
}

fn parse_dim(s: &str) -> Option<(u32, u32)> {
    let (w, h) = s.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_parsing_rejects_hostile_text() {
        for bad in [
            "",
            "../../etc/passwd",
            &"A".repeat(64),
            &"g".repeat(64),
            &"0".repeat(63),
        ] {
            assert!(bad.parse::<BlobHash>().is_err(), "{bad:?}");
        }
        let h = BlobHash::of(b"abc");
        assert_eq!(
            h.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(h.to_string().parse::<BlobHash>(), Ok(h));
    }

    #[test]
    fn imeta_round_trip() {
        let a = Attachment {
            hash: BlobHash::of(b"x"),
            mime: "image/png".into(),
            size: 1,
            dim: Some((3, 4)),
        };
        assert_eq!(Attachment::from_tag(&a.to_tag()), Ok(a.clone()));
        let mut wrong_url = a.to_tag();
        wrong_url[1] = "url https://example.invalid/x.png".into();
        assert!(Attachment::from_tag(&wrong_url).is_err());
    }
}
