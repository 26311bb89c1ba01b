//! The one rule for bytes that a node stores, carries or publishes.
//!
//! Default deny: bytes are admitted only when they are a format samizdat
//! cleans and cleaning would leave them exactly as they are (they carry
//! nothing identifying), or when they are encrypted (a sealed file, which
//! only its readers can open, and which is never published). Everything
//! else is refused, with a message that names the format and says what
//! to do: clean the file first, or send it sealed and whole to chosen
//! documenters.
//!
//! Every door calls this rule, through the store, which refuses to write
//! a blob that does not pass it: the command line, the web drop box,
//! Blossom uploads and mirrors, sync, bundle import and the console; a
//! published mirror takes only [`Admitted::Clean`] bytes.

use crate::noise::{self, NotNoise};
use crate::{MediaError, MediaType, describe, signature, strip};

/// Why bytes were admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// A format samizdat cleans, and clean: stripping changes nothing.
    Clean(MediaType),
    /// Encrypted data (a sealed file), unreadable without its key.
    Encrypted,
}

impl Admitted {
    /// The media type the bytes are served as.
    pub fn mime(self) -> &'static str {
        match self {
            Admitted::Clean(media_type) => media_type.mime(),
            Admitted::Encrypted => "application/octet-stream",
        }
    }

    /// Whether the bytes may go out in public (a mirror, a public page):
    /// clean media only, never an encrypted file.
    pub fn is_public(self) -> bool {
        matches!(self, Admitted::Clean(_))
    }
}

/// Magic bytes at least this long name their format for sure: random
/// bytes open with a given four bytes once in 4·10^9 files. Shorter ones
/// (`BM`, `MZ`, a JPEG's three bytes) open ciphertext often enough that
/// such bytes still get the noise test.
const SURE_MAGIC: usize = 4;

/// Compressed archives whose magic is short but whose compressed bytes
/// look random: named for sure, so an archive of photos is never taken
/// for noise. (A sealed file opens so once in 17 million.)
const ALSO_SURE: &[&str] = &["gzip", "bzip2"];

/// The rule. `Err` says why not, in words for the person who sent the
/// bytes.
pub fn admit(bytes: &[u8]) -> Result<Admitted, MediaError> {
    let magic = signature(bytes);
    let sure = magic.is_some_and(|(name, len)| len >= SURE_MAGIC || ALSO_SURE.contains(&name));
    if let Some(media_type) = MediaType::detect(bytes) {
        return match strip(bytes) {
            Ok(stripped) if stripped.bytes() == bytes => Ok(Admitted::Clean(media_type)),
            Ok(stripped) => Err(MediaError::Identifying {
                kind: media_type.name(),
                found: stripped.removed().to_vec(),
            }),
            // A ciphertext that happens to open like a JPEG is still
            // noise, and a real file of the format is not.
            Err(_) if !sure && noise::check(bytes).is_ok() => Ok(Admitted::Encrypted),
            Err(e) => Err(e),
        };
    }
    if let Some((name, _)) = magic.filter(|_| sure) {
        return Err(MediaError::Unsupported(name.to_string()));
    }
    match noise::check(bytes) {
        Ok(()) => Ok(Admitted::Encrypted),
        Err(why) => Err(refusal(describe(bytes), why)),
    }
}

/// The verdict on bytes too large to be cleaned media, read in pieces:
/// they pass only as encrypted data.
pub fn admit_large(noise: noise::Noise, head: &[u8], size: u64) -> Result<Admitted, MediaError> {
    match noise.finish() {
        Ok(()) => Ok(Admitted::Encrypted),
        Err(_) if MediaType::detect(head).is_some() => Err(MediaError::TooLarge {
            size: usize::try_from(size).unwrap_or(usize::MAX),
            limit: crate::MAX_INPUT_BYTES,
        }),
        Err(why) => Err(refusal(describe(head), why)),
    }
}

fn refusal(format: String, why: NotNoise) -> MediaError {
    MediaError::NotEncrypted { format, why }
}
