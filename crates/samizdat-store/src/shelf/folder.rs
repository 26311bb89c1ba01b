//! The default shelf: a folder on the node's own disk.
//!
//! A blob lives at `<root>/<first two hex digits>/<sha256 hex>`. It comes
//! from the staging folder `<root>/tmp/`, fsynced, renamed into place, and
//! the directory fsynced, so a blob that exists under its name is whole.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use samizdat_core::BlobHash;

use super::{Shelf, ShelfEntry, Stat};
use crate::fsutil::{ensure_dir, sync_dir};

#[derive(Debug, Clone)]
pub struct Folder {
    root: PathBuf,
}

impl Folder {
    /// The folder at `root`, whose `tmp/` is the staging folder.
    pub fn new(root: PathBuf) -> Folder {
        Folder { root }
    }

    fn path(&self, hash: &BlobHash) -> PathBuf {
        let hex = hash.to_hex();
        self.root.join(&hex[..2]).join(hex)
    }
}

impl Shelf for Folder {
    fn describe(&self) -> String {
        format!("the folder {}", self.root.display())
    }

    fn stat(&self, hash: &BlobHash) -> io::Result<Option<Stat>> {
        match fs::metadata(self.path(hash)) {
            Ok(meta) if meta.is_file() => Ok(Some(Stat {
                size: meta.len(),
                age: age(&meta),
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn put_file(&self, file: &Path, hash: &BlobHash, _size: u64) -> io::Result<()> {
        fs::File::open(file)?.sync_all()?;
        let path = self.path(hash);
        let dir = path
            .parent()
            .ok_or_else(|| io::Error::other("blob path has no parent"))?;
        // One level only: a store whose directory is gone makes nothing.
        ensure_dir(dir)?;
        fs::rename(file, &path)?;
        sync_dir(dir)
    }

    fn open(&self, hash: &BlobHash, range: Option<Range<u64>>) -> io::Result<Box<dyn Read + Send>> {
        let mut file = fs::File::open(self.path(hash))?;
        match range {
            None => Ok(Box::new(file)),
            Some(range) => {
                file.seek(SeekFrom::Start(range.start))?;
                Ok(Box::new(file.take(range.end.saturating_sub(range.start))))
            }
        }
    }

    fn touch(&self, hash: &BlobHash) -> io::Result<()> {
        fs::File::open(self.path(hash))?.set_modified(std::time::SystemTime::now())
    }

    fn remove(&self, hash: &BlobHash) -> io::Result<()> {
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

    /// The blob is first moved aside, so that a `put` of the same bytes
    /// either sees it gone (and writes it anew) or has made it young
    /// before the check (and it is put back).
    fn remove_if_old(&self, hash: &BlobHash, grace: Duration) -> io::Result<Option<u64>> {
        let path = self.path(hash);
        let aside = self
            .root
            .join("tmp")
            .join(format!(".unneeded-{}", hash.to_hex()));
        match fs::rename(&path, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
        let meta = fs::metadata(&aside)?;
        if age(&meta).is_none_or(|a| a < grace) {
            if path.exists() {
                fs::remove_file(&aside)?;
            } else {
                fs::rename(&aside, &path)?;
            }
            return Ok(None);
        }
        fs::remove_file(&aside)?;
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
        Ok(Some(meta.len()))
    }

    fn list(&self) -> io::Result<Vec<ShelfEntry>> {
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
                out.push(ShelfEntry::Stray(dir));
                continue;
            }
            for file in sorted_entries(&dir)? {
                let parsed = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.parse::<BlobHash>().ok())
                    .filter(|h| h.to_hex()[..2] == name);
                out.push(match parsed {
                    Some(hash) => ShelfEntry::Blob(hash),
                    None => ShelfEntry::Stray(file),
                });
            }
        }
        Ok(out)
    }

    fn local_path(&self, hash: &BlobHash) -> Option<PathBuf> {
        Some(self.path(hash))
    }

    fn is_local(&self) -> bool {
        true
    }
}

/// How long since a file was last modified (`None` for a time ahead).
fn age(meta: &fs::Metadata) -> Option<Duration> {
    meta.modified().ok()?.elapsed().ok()
}

fn sorted_entries(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut entries = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<io::Result<Vec<_>>>()?;
    entries.sort();
    Ok(entries)
}
