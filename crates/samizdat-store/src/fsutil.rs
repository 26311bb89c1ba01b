//! Durable file writes: temporary file, fsync, rename, fsync the directory.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` so that after a crash the file holds either its
/// old content or all of `bytes`, never a part. The file is readable by
/// its owner only. The directory must exist: nothing here makes one, so a
/// data directory that was wiped under a running node is never made
/// again by a late write.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("path has no parent directory"))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Makes the directory `dir` (0700) if it is not there; its parent must
/// exist.
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        other => other,
    }
}

/// Makes a rename or a new file in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// What a directory is, beyond its name: its device and inode. A data
/// directory removed and made again under the same name is another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirId {
    dev: u64,
    ino: u64,
}

impl DirId {
    pub fn of(dir: &Path) -> io::Result<DirId> {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::symlink_metadata(dir)?;
        Ok(DirId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// Whether `dir` is still this directory.
    pub fn still(&self, dir: &Path) -> bool {
        DirId::of(dir).is_ok_and(|now| now == *self)
    }
}
