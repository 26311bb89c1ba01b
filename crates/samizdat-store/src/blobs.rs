//! Content-addressed blob directory.
//!
//! A blob lives at `blobs/<first two hex digits>/<sha256 hex>`. It is
//! written to `blobs/tmp/` first, fsynced, renamed into place, and the
//! directory fsynced, so a blob that exists under its name is whole. Every
//! read checks the hash, so a blob altered on disk is never served as good.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use samizdat_core::BlobHash;
use sha2::{Digest, Sha256};

use crate::fsutil::sync_dir;

/// A blob could not be read as good.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} is not in this store")]
    NotFound(BlobHash),
    #[error("blob {hash} is corrupt: its bytes hash to {actual}")]
    Corrupt { hash: BlobHash, actual: BlobHash },
    #[error("blob {hash}: {source}")]
    Io { hash: BlobHash, source: io::Error },
}

/// What `list` found in the blob directory.
#[derive(Debug)]
pub enum BlobEntry {
    Blob(BlobHash),
    /// A file whose name is not a hash in its right place.
    Stray(PathBuf),
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    pub fn open(root: PathBuf) -> io::Result<BlobStore> {
        fs::create_dir_all(root.join("tmp"))?;
        Ok(BlobStore { root })
    }

    /// Where the blob named `hash` lives (whether or not it exists).
    pub fn path(&self, hash: &BlobHash) -> PathBuf {
        let hex = hash.to_hex();
        self.root.join(&hex[..2]).join(hex)
    }

    pub fn contains(&self, hash: &BlobHash) -> bool {
        self.path(hash).is_file()
    }

    /// Stores `bytes` durably and returns their hash. Storing bytes that are
    /// already present rewrites nothing.
    pub fn put(&self, bytes: &[u8]) -> io::Result<BlobHash> {
        let hash = BlobHash::of(bytes);
        let path = self.path(&hash);
        if path.is_file() {
            return Ok(hash);
        }
        let mut tmp = tempfile::NamedTempFile::new_in(self.root.join("tmp"))?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        let dir = path
            .parent()
            .ok_or_else(|| io::Error::other("blob path has no parent"))?;
        fs::create_dir_all(dir)?;
        tmp.persist(&path).map_err(|e| e.error)?;
        sync_dir(dir)?;
        Ok(hash)
    }

    /// Where a download of `hash` in progress keeps the bytes it has so
    /// far, so that a cut link resumes (an HTTP range request) instead of
    /// starting over.
    pub fn partial_path(&self, hash: &BlobHash) -> PathBuf {
        self.root
            .join("tmp")
            .join(format!("{}.part", hash.to_hex()))
    }

    /// Moves a finished download from [`partial_path`](Self::partial_path)
    /// into the store, after checking that its bytes hash to `hash`. Bytes
    /// that do not are deleted: a resumed download that went wrong starts
    /// over rather than being kept. Returns the size.
    pub fn adopt_partial(&self, hash: &BlobHash) -> Result<u64, BlobError> {
        self.adopt(&self.partial_path(hash), hash)
    }

    /// Moves the file at `partial` (on the store's file system) into the
    /// store as the blob named `hash`, after checking that its bytes hash
    /// to that name; bytes that do not are deleted. Returns the size.
    pub fn adopt(&self, partial: &Path, hash: &BlobHash) -> Result<u64, BlobError> {
        let io_err = |source: io::Error| BlobError::Io {
            hash: *hash,
            source,
        };
        let mut file = fs::File::open(partial).map_err(io_err)?;
        let (actual, size) = hash_reader(&mut file).map_err(io_err)?;
        if actual != *hash {
            drop(file);
            fs::remove_file(partial).map_err(io_err)?;
            return Err(BlobError::Corrupt {
                hash: *hash,
                actual,
            });
        }
        file.sync_all().map_err(io_err)?;
        let path = self.path(hash);
        let dir = path
            .parent()
            .ok_or_else(|| io_err(io::Error::other("blob path has no parent")))?;
        fs::create_dir_all(dir).map_err(io_err)?;
        fs::rename(partial, &path).map_err(io_err)?;
        sync_dir(dir).map_err(io_err)?;
        Ok(size)
    }

    /// Deletes a blob's bytes (durably); a missing blob is not an error.
    pub fn remove(&self, hash: &BlobHash) -> io::Result<()> {
        let path = self.path(hash);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        match path.parent() {
            Some(dir) => sync_dir(dir),
            None => Ok(()),
        }
    }

    /// Reads a blob and checks its hash.
    pub fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        let bytes = fs::read(self.path(hash)).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => BlobError::NotFound(*hash),
            _ => BlobError::Io {
                hash: *hash,
                source: e,
            },
        })?;
        let actual = BlobHash::of(&bytes);
        if actual != *hash {
            return Err(BlobError::Corrupt {
                hash: *hash,
                actual,
            });
        }
        Ok(bytes)
    }

    /// Re-hashes a blob from disk without holding it in memory.
    pub fn verify(&self, hash: &BlobHash) -> Result<u64, BlobError> {
        let io_err = |e: io::Error| match e.kind() {
            io::ErrorKind::NotFound => BlobError::NotFound(*hash),
            _ => BlobError::Io {
                hash: *hash,
                source: e,
            },
        };
        let mut file = fs::File::open(self.path(hash)).map_err(io_err)?;
        let (actual, size) = hash_reader(&mut file).map_err(io_err)?;
        if actual != *hash {
            return Err(BlobError::Corrupt {
                hash: *hash,
                actual,
            });
        }
        Ok(size)
    }

    /// Every file in the blob directory, sorted by name.
    pub fn list(&self) -> io::Result<Vec<BlobEntry>> {
        let mut out = Vec::new();
        for dir in sorted_entries(&self.root)? {
            let name = dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if name == "tmp" {
                continue;
            }
            if !dir.is_dir() {
                out.push(BlobEntry::Stray(dir));
                continue;
            }
            for file in sorted_entries(&dir)? {
                let parsed = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.parse::<BlobHash>().ok())
                    .filter(|h| h.to_hex()[..2] == name);
                out.push(match parsed {
                    Some(hash) => BlobEntry::Blob(hash),
                    None => BlobEntry::Stray(file),
                });
            }
        }
        Ok(out)
    }
}

/// The SHA-256 and length of everything `reader` yields, read in pieces.
pub fn hash_reader(reader: &mut impl Read) -> io::Result<(BlobHash, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((BlobHash::from_bytes(hasher.finalize().into()), size))
}

fn sorted_entries(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut entries = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<Vec<_>>>()?;
    entries.sort();
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_download_is_adopted_only_when_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobStore::open(dir.path().join("blobs")).expect("open");
        let hash = BlobHash::of(b"testimony photo");
        fs::write(blobs.partial_path(&hash), b"testimony").expect("first part");
        assert!(matches!(
            blobs.adopt_partial(&hash),
            Err(BlobError::Corrupt { .. })
        ));
        assert!(!blobs.partial_path(&hash).exists(), "bad bytes are dropped");
        assert!(!blobs.contains(&hash));

        fs::write(blobs.partial_path(&hash), b"testimony photo").expect("whole");
        assert_eq!(blobs.adopt_partial(&hash).expect("adopt"), 15);
        assert!(blobs.contains(&hash));
        assert!(!blobs.partial_path(&hash).exists());
        assert_eq!(blobs.get(&hash).expect("get"), b"testimony photo");
    }

    #[test]
    fn put_get_and_detect_corruption() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobStore::open(dir.path().join("blobs")).expect("open");
        let hash = blobs.put(b"evidence").expect("put");
        assert_eq!(blobs.put(b"evidence").expect("put again"), hash);
        assert_eq!(blobs.get(&hash).expect("get"), b"evidence");
        assert_eq!(blobs.verify(&hash).expect("verify"), 8);

        fs::write(blobs.path(&hash), b"evidencE").expect("tamper");
        assert!(matches!(blobs.get(&hash), Err(BlobError::Corrupt { .. })));
        assert!(matches!(
            blobs.verify(&hash),
            Err(BlobError::Corrupt { .. })
        ));

        let missing = BlobHash::of(b"nothing");
        assert!(matches!(blobs.get(&missing), Err(BlobError::NotFound(_))));
        fs::write(dir.path().join("blobs").join("stray.txt"), b"x").expect("stray");
        let listed = blobs.list().expect("list");
        assert_eq!(listed.len(), 2);
    }
}
