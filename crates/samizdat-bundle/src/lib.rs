//! Bundles: records and the blobs they reference in one file that any
//! channel able to move files can carry (a USB stick, a messenger, a
//! laptop passed across a border).
//!
//! A bundle is a tar archive compressed with zstd (frame checksums on),
//! so `tar --zstd -tvf FILE` lists it. Its members, in this order:
//!
//! 1. `samizdat-bundle.json`: the [`Header`] (format, version, bundle id);
//! 2. `events/NNNNNN.jsonl`: events as JSON lines, most important first;
//! 3. `blobs/<sha256 hex>`: the blobs the events reference, smallest
//!    first;
//! 4. `manifest.json`: the [`Manifest`]: counts, the size and SHA-256 of
//!    every member before it, and a digest over that list.
//!
//! The manifest comes last so that a bundle can be written in one pass
//! in bounded memory; a bundle cut short has lost only its end, and what
//! it still holds is in priority order.
//!
//! The whole file may be encrypted with age ([`seal`]): to recipients'
//! X25519 keys or under a passphrase.
//!
//! Reading ([`unpack`]) trusts nothing: only regular files with the names
//! above, each at most its [`Limits`], in that order, once each; every
//! member's hash is computed as it streams past and compared with the
//! manifest at the end; a stream that decompresses far beyond its own
//! size is stopped as a bomb.

mod format;
mod read;
pub mod seal;
pub mod vault;
mod want;
mod write;

pub use format::{HEADER, Header, MANIFEST, Manifest, Member, MemberKind, classify};
pub use read::{Limits, Sink, Unpacked, unpack};
pub use want::Want;
pub use write::{MIN_PART_BYTES, Parts, Single, Writer, Written};

/// What is wrong with a bundle, or with writing one.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("not a samizdat bundle: {0}")]
    NotABundle(String),
    #[error("bundle format version {0} is newer than this samizdat reads (1)")]
    Version(u32),
    #[error("the bundle is cut short{0}")]
    Truncated(String),
    #[error("the bundle is damaged: {0}")]
    Damaged(String),
    #[error("member {path:?} is not part of a bundle: {why}")]
    BadMember { path: String, why: &'static str },
    #[error("member {path} is larger than {limit} bytes")]
    TooLarge { path: String, limit: u64 },
    #[error(
        "the bundle unpacks to more than {ratio} times its size ({unpacked} bytes from {read}): \
         refused as a decompression bomb"
    )]
    Bomb {
        unpacked: u64,
        read: u64,
        ratio: u64,
    },
    #[error("member {path} does not match the manifest: {why}")]
    Mismatch { path: String, why: String },
    #[error("the manifest does not hold: {0}")]
    Manifest(String),
    #[error("reading the bundle: {0}")]
    Read(std::io::Error),
    #[error("writing the bundle: {0}")]
    Write(std::io::Error),
    #[error("{0}")]
    Sink(std::io::Error),
    #[error("{0}")]
    Key(String),
    #[error("not a usable want file: {0}")]
    Want(String),
}

impl BundleError {
    /// Read errors as the reader met them: the end of the input where
    /// more was due is a cut, anything zstd rejects is damage.
    pub(crate) fn reading(e: std::io::Error) -> BundleError {
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof => BundleError::Truncated(String::new()),
            std::io::ErrorKind::Other | std::io::ErrorKind::InvalidData => {
                BundleError::Damaged(e.to_string())
            }
            _ => BundleError::Read(e),
        }
    }
}
