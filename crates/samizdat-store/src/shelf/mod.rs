//! Where whole blobs are kept: the shelf behind [`BlobStore`](crate::BlobStore).
//!
//! A shelf holds blobs that are whole and checked, each under the hex of
//! its SHA-256, and nothing else. Everything before that (the bytes of an
//! upload or a download still coming, the check of their hash and of the
//! admission rule) happens in the blob store's local staging folder, so
//! no shelf ever holds bytes under a name they do not hash to.
//!
//! Two shelves exist: [`Folder`], a directory on the node's own disk (the
//! default), and [`S3`], a bucket of any S3-compatible object store
//! (Garage, MinIO, Ceph, a cloud bucket) for archives that outgrow one
//! machine. Both are held to one conformance suite
//! (`tests/it/shelf.rs`).

mod bucket;
mod folder;
mod http;
mod s3;

use std::fmt;
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use samizdat_core::BlobHash;

pub use bucket::{BucketAt, Credentials, S3Error};
pub use folder::Folder;
pub use s3::{PART, S3, SINGLE_PUT};

/// What a shelf knows of one blob it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub size: u64,
    /// How long since it was put, or last [touched](Shelf::touch); `None`
    /// when its time is ahead of this machine's clock.
    pub age: Option<Duration>,
}

/// What a shelf's listing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShelfEntry {
    Blob(BlobHash),
    /// A file or object whose name is not a blob's in its right place.
    Stray(PathBuf),
}

/// A place that keeps whole blobs under their hashes.
///
/// Every method blocks: callers on an async runtime call them from a
/// blocking task, as they do for the local disk.
pub trait Shelf: Send + Sync + fmt::Debug {
    /// What and where this shelf is, for logs and reports (never with a
    /// credential).
    fn describe(&self) -> String;

    /// Size and age of the blob `hash`, `None` when it is not here.
    fn stat(&self, hash: &BlobHash) -> io::Result<Option<Stat>>;

    /// Puts the local file `file`, whose bytes the caller has checked to
    /// hash to `hash` and to be `size` long, on the shelf under that name,
    /// durably. The file is used up: moved, or removed once copied.
    fn put_file(&self, file: &Path, hash: &BlobHash, size: u64) -> io::Result<()>;

    /// Reads the blob `hash`, all of it or the bytes of `range`; an error
    /// of kind `NotFound` when it is not here.
    fn open(&self, hash: &BlobHash, range: Option<Range<u64>>) -> io::Result<Box<dyn Read + Send>>;

    /// Marks the blob as put now (see [`remove_if_old`](Self::remove_if_old));
    /// an error of kind `NotFound` when it is not here.
    fn touch(&self, hash: &BlobHash) -> io::Result<()>;

    /// Deletes the blob durably; a missing blob is not an error.
    fn remove(&self, hash: &BlobHash) -> io::Result<()>;

    /// Deletes the blob unless it was put or touched in the last `grace`;
    /// its size when it was deleted.
    fn remove_if_old(&self, hash: &BlobHash, grace: Duration) -> io::Result<Option<u64>>;

    /// Everything on the shelf, sorted by name.
    fn list(&self) -> io::Result<Vec<ShelfEntry>>;

    /// The blobs put or touched `grace` ago or longer, sorted by name:
    /// those the collection of unneeded blobs looks at.
    fn list_old(&self, grace: Duration) -> io::Result<Vec<BlobHash>> {
        let mut old = Vec::new();
        for entry in self.list()? {
            if let ShelfEntry::Blob(hash) = entry
                && self
                    .stat(&hash)?
                    .and_then(|s| s.age)
                    .is_some_and(|age| age >= grace)
            {
                old.push(hash);
            }
        }
        Ok(old)
    }

    /// The blob's file on this machine, when the shelf is a local folder:
    /// served from there without a copy.
    fn local_path(&self, _hash: &BlobHash) -> Option<PathBuf> {
        None
    }

    /// Whether the shelf is on this machine's disk (no request is slow).
    fn is_local(&self) -> bool {
        false
    }
}

/// Where a store keeps its blobs, as `[store] blobs` says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BlobsAt {
    /// The `blobs/` folder of the data directory.
    #[default]
    Folder,
    /// A bucket of an S3-compatible object store.
    S3(BucketAt),
}

impl std::str::FromStr for BlobsAt {
    type Err = S3Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "" | "folder" | "local" => Ok(BlobsAt::Folder),
            _ => Ok(BlobsAt::S3(text.parse()?)),
        }
    }
}

impl fmt::Display for BlobsAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlobsAt::Folder => f.write_str("folder"),
            BlobsAt::S3(at) => at.fmt(f),
        }
    }
}

impl TryFrom<String> for BlobsAt {
    type Error = S3Error;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.trim().parse()
    }
}

impl From<BlobsAt> for String {
    fn from(at: BlobsAt) -> String {
        at.to_string()
    }
}
