//! Content-addressed blobs: a local staging folder and a shelf.
//!
//! Bytes arrive in the staging folder `blobs/tmp/` (an upload, a download,
//! a blob written whole), are checked there against their name and the
//! admission rule, and only then go to the [shelf](crate::shelf) that
//! keeps whole blobs: the `blobs/` folder itself by default, or an S3
//! bucket. So a blob that exists under its name is whole, and every read
//! of a whole blob checks the hash again, so a blob altered at rest is
//! never served as good.
//!
//! Nothing is written here that the admission rule refuses
//! ([`samizdat_media::admit`]): `put` and `adopt` run it on the bytes
//! themselves, and `put_stripped` takes only what `samizdat_media::strip`
//! made. So whichever door bytes come through (the command line, the web,
//! Blossom, sync, a bundle, the console), a file that could expose a
//! witness is never stored.

use std::fs;
use std::io::{self, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use samizdat_core::BlobHash;
use samizdat_media::{Admitted, MediaError, Noise, Stripped};
use sha2::{Digest, Sha256};

pub use crate::shelf::ShelfEntry as BlobEntry;
use crate::shelf::{Folder, Shelf, Stat};

/// A blob could not be read as good.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} is not in this store")]
    NotFound(BlobHash),
    #[error("blob {hash} is corrupt: its bytes hash to {actual}")]
    Corrupt { hash: BlobHash, actual: BlobHash },
    #[error("blob {hash}: {source}")]
    Io { hash: BlobHash, source: io::Error },
    /// The admission rule refused the bytes; nothing was written.
    #[error("{0}")]
    Refused(#[from] MediaError),
    #[error(
        "the disk is full: the blob was not stored, and everything stored before is intact; \
         free some space and send it again"
    )]
    Full,
    #[error("storing a blob: {0}")]
    Write(io::Error),
}

impl BlobError {
    /// An I/O error while writing, with a full disk told apart.
    fn write(e: io::Error) -> BlobError {
        if is_full(&e) {
            BlobError::Full
        } else {
            BlobError::Write(e)
        }
    }

    /// An I/O error while reading `hash`, with a missing blob told apart.
    fn read(hash: &BlobHash, e: io::Error) -> BlobError {
        match e.kind() {
            io::ErrorKind::NotFound => BlobError::NotFound(*hash),
            _ => BlobError::Io {
                hash: *hash,
                source: e,
            },
        }
    }
}

/// Whether an I/O error means the file system has no room left.
pub fn is_full(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}

/// The right to download one blob; dropping it lets the next one in.
#[derive(Debug)]
pub struct DownloadLock {
    path: PathBuf,
    _file: fs::File,
}

impl Drop for DownloadLock {
    fn drop(&mut self) {
        // Removed while still locked, so no one locks a name about to go.
        let _ = fs::remove_file(&self.path);
    }
}

/// A blob that is in the store now: its name, its size and why the rule
/// admitted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    pub hash: BlobHash,
    pub size: u64,
    pub admitted: Admitted,
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    /// The staging folder's parent: `blobs/` of the data directory.
    root: PathBuf,
    shelf: Arc<dyn Shelf>,
    /// Held by whoever stores or removes a blob, by its hash's first
    /// byte: the removal of an old blob (asked, then done) never runs
    /// between another thread's check that the blob is there and the
    /// record that names it.
    names: Arc<[std::sync::Mutex<()>; 64]>,
}

impl BlobStore {
    /// The blob store in `root`, keeping whole blobs in that folder too.
    pub fn open(root: PathBuf) -> io::Result<BlobStore> {
        let shelf = Arc::new(Folder::new(root.clone()));
        BlobStore::open_on(root, shelf)
    }

    /// The blob store staging in `root` and keeping whole blobs on `shelf`.
    pub fn open_on(root: PathBuf, shelf: Arc<dyn Shelf>) -> io::Result<BlobStore> {
        fs::create_dir_all(root.join("tmp"))?;
        Ok(BlobStore {
            root,
            shelf,
            names: Arc::new(std::array::from_fn(|_| std::sync::Mutex::new(()))),
        })
    }

    /// The lock of the blobs whose names start like `hash`'s.
    fn name_lock(&self, hash: &BlobHash) -> std::sync::MutexGuard<'_, ()> {
        let lock = &self.names[usize::from(hash.as_bytes()[0]) % self.names.len()];
        // A thread that panicked holding it left nothing half done: the
        // shelf's own steps are whole or absent.
        lock.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The staging folder: where bytes wait to be checked, on the same
    /// file system as the folder shelf.
    pub fn staging(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where whole blobs are kept.
    pub fn shelf(&self) -> &Arc<dyn Shelf> {
        &self.shelf
    }

    /// The blob's file on this machine, when blobs are kept in a local
    /// folder (whether or not it exists).
    pub fn local_path(&self, hash: &BlobHash) -> Option<PathBuf> {
        self.shelf.local_path(hash)
    }

    /// Size and age of a whole blob, `None` when it is not here.
    pub fn stat(&self, hash: &BlobHash) -> io::Result<Option<Stat>> {
        self.shelf.stat(hash)
    }

    /// Whether the blob is here. A shelf that cannot be reached holds
    /// nothing, as far as this answer goes.
    pub fn contains(&self, hash: &BlobHash) -> bool {
        match self.shelf.stat(hash) {
            Ok(found) => found.is_some(),
            Err(e) => {
                tracing::warn!(%hash, error = %e, "the blob shelf did not answer");
                false
            }
        }
    }

    /// Reads a whole blob, or the bytes of `range`, without checking its
    /// hash (a range cannot be): for serving and copying, where the
    /// reader checks or the bytes are checked again at the other end.
    pub fn open_read(
        &self,
        hash: &BlobHash,
        range: Option<Range<u64>>,
    ) -> Result<Box<dyn Read + Send>, BlobError> {
        self.shelf
            .open(hash, range)
            .map_err(|e| BlobError::read(hash, e))
    }

    /// Stores `bytes` durably, if the admission rule takes them, and
    /// returns their hash. Storing bytes that are already present rewrites
    /// nothing.
    pub fn put(&self, bytes: &[u8]) -> Result<Kept, BlobError> {
        let admitted = samizdat_media::admit(bytes)?;
        let hash = self.write(bytes).map_err(BlobError::write)?;
        Ok(Kept {
            hash,
            size: bytes.len() as u64,
            admitted,
        })
    }

    /// Stores what [`samizdat_media::strip`] made: clean by construction,
    /// so the rule is not run a second time.
    pub fn put_stripped(&self, stripped: &Stripped) -> Result<BlobHash, BlobError> {
        self.write(stripped.bytes()).map_err(BlobError::write)
    }

    fn write(&self, bytes: &[u8]) -> io::Result<BlobHash> {
        let hash = BlobHash::of(bytes);
        let _name = self.name_lock(&hash);
        // Stored again: made young, so that it is not collected as unneeded
        // between now and the commit of the record that names it.
        if self.shelf.stat(&hash)?.is_some() && self.shelf.touch(&hash).is_ok() {
            return Ok(hash);
        }
        let mut tmp = tempfile::NamedTempFile::new_in(self.root.join("tmp"))?;
        tmp.write_all(bytes)?;
        let tmp = tmp.into_temp_path();
        self.shelf.put_file(&tmp, &hash, bytes.len() as u64)?;
        Ok(hash)
    }

    /// Takes the right to download `hash` into its partial file, for this
    /// process and every other on the same store: `None` while another
    /// download of it runs. Two downloads of one blob writing one partial
    /// file would let the slower write into the blob the faster one
    /// stored, after the admission rule had passed it.
    pub fn download_lock(&self, hash: &BlobHash) -> io::Result<Option<DownloadLock>> {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::MetadataExt;
        let path = self
            .root
            .join("tmp")
            .join(format!("{}.lock", hash.to_hex()));
        // Bounded: a retry only when the lock file was replaced between
        // opening and locking it.
        for _ in 0..8 {
            let file = fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            // SAFETY: flock on a descriptor this function owns.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                return Ok(None);
            }
            // The file locked must still be the one the name points at: a
            // finished download removes it.
            let same = fs::metadata(&path)
                .is_ok_and(|m| m.ino() == file.metadata().map_or(0, |f| f.ino()));
            if same {
                return Ok(Some(DownloadLock { path, _file: file }));
            }
        }
        Ok(None)
    }

    /// Where a download of `hash` in progress keeps the bytes it has so
    /// far, so that a cut link resumes (an HTTP range request) instead of
    /// starting over.
    pub fn partial_path(&self, hash: &BlobHash) -> PathBuf {
        self.root
            .join("tmp")
            .join(format!("{}.part", hash.to_hex()))
    }

    /// Where an upload of `hash` by `uploader` (a public key's 32 bytes)
    /// that was cut keeps the bytes that came, so that its sender resumes
    /// (`Upload-Offset`) instead of sending them again. Each uploader has
    /// its own: no one else can add to it, stop it or see it.
    fn upload_path(&self, hash: &BlobHash, uploader: &[u8; 32]) -> PathBuf {
        self.root.join("tmp").join(format!(
            "{}.{}.upload",
            hash.to_hex(),
            hex::encode(&uploader[..16])
        ))
    }

    /// How many bytes of a cut upload of `hash` by `uploader` are kept.
    pub fn partial_upload_len(&self, hash: &BlobHash, uploader: &[u8; 32]) -> Option<u64> {
        fs::metadata(self.upload_path(hash, uploader))
            .ok()
            .map(|m| m.len())
    }

    /// The bytes of a cut upload of `hash` by `uploader`, none if there is
    /// none.
    pub fn partial_upload(&self, hash: &BlobHash, uploader: &[u8; 32]) -> io::Result<Vec<u8>> {
        match fs::read(self.upload_path(hash, uploader)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            other => other,
        }
    }

    /// Opens the file of a cut upload of `hash` by `uploader` to add to
    /// it as bytes arrive (created empty if there is none), so that
    /// whatever ends the upload, what came is kept; only while all cut
    /// uploads together would stay within `cap` bytes with `room` more
    /// for this one (`None`: not kept). Nothing here is a blob: it is
    /// checked against its name and the admission rule when the rest has
    /// come.
    pub fn open_partial_upload(
        &self,
        hash: &BlobHash,
        uploader: &[u8; 32],
        room: u64,
        cap: u64,
    ) -> io::Result<Option<fs::File>> {
        let all: u64 = self
            .partial_uploads()?
            .into_iter()
            .map(|(_, len, _)| len)
            .sum();
        if all.saturating_add(room) > cap {
            return Ok(None);
        }
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.upload_path(hash, uploader))
            .map(Some)
    }

    /// Forgets a cut upload of `hash` by `uploader` (finished, or gone
    /// wrong).
    pub fn drop_partial_upload(&self, hash: &BlobHash, uploader: &[u8; 32]) -> io::Result<()> {
        match fs::remove_file(self.upload_path(hash, uploader)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Removes the cut uploads untouched for `grace` or longer; returns
    /// how many bytes that freed.
    pub fn sweep_partial_uploads(&self, grace: Duration) -> io::Result<u64> {
        let mut freed = 0;
        for (path, len, age) in self.partial_uploads()? {
            if age >= grace {
                match fs::remove_file(&path) {
                    // Finished or dropped meanwhile.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    other => other?,
                }
                freed += len;
            }
        }
        Ok(freed)
    }

    /// Every cut upload kept: its file, length and age.
    fn partial_uploads(&self) -> io::Result<Vec<(PathBuf, u64, Duration)>> {
        let entries = match fs::read_dir(self.root.join("tmp")) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            other => other?,
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "upload") {
                let meta = entry.metadata()?;
                let age = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .unwrap_or_default();
                found.push((path, meta.len(), age));
            }
        }
        Ok(found)
    }

    /// Moves a finished download from [`partial_path`](Self::partial_path)
    /// into the store, after checking that its bytes hash to `hash` and
    /// that the admission rule takes them. Bytes that fail either are
    /// deleted: a resumed download that went wrong starts over rather than
    /// being kept.
    pub fn adopt_partial(&self, hash: &BlobHash) -> Result<Kept, BlobError> {
        self.adopt(&self.partial_path(hash), hash)
    }

    /// Moves the file at `partial` (on the store's file system) into the
    /// store as the blob named `hash`, after checking that its bytes hash
    /// to that name and that the admission rule takes them; bytes that
    /// fail either are deleted.
    pub fn adopt(&self, partial: &Path, hash: &BlobHash) -> Result<Kept, BlobError> {
        let io_err = |source: io::Error| BlobError::Io {
            hash: *hash,
            source,
        };
        let mut file = fs::File::open(partial).map_err(io_err)?;
        let (actual, size, verdict) = hash_and_admit(&mut file).map_err(io_err)?;
        let refuse = |e: BlobError| {
            fs::remove_file(partial).map_err(io_err)?;
            Err(e)
        };
        if actual != *hash {
            drop(file);
            return refuse(BlobError::Corrupt {
                hash: *hash,
                actual,
            });
        }
        let admitted = match verdict {
            Ok(admitted) => admitted,
            Err(e) => {
                drop(file);
                return refuse(e.into());
            }
        };
        drop(file);
        let _name = self.name_lock(hash);
        self.shelf
            .put_file(partial, hash, size)
            .map_err(|e| match BlobError::write(e) {
                BlobError::Write(source) => io_err(source),
                full => full,
            })?;
        Ok(Kept {
            hash: *hash,
            size,
            admitted,
        })
    }

    /// Why the stored blob `hash` is admitted today, or why not: for a
    /// blob kept under an older rule, and for what goes out in public.
    pub fn admission(&self, hash: &BlobHash) -> Result<Admitted, BlobError> {
        let mut reader = self.open_read(hash, None)?;
        let (actual, _, verdict) =
            hash_and_admit(&mut reader).map_err(|e| BlobError::read(hash, e))?;
        if actual != *hash {
            return Err(BlobError::Corrupt {
                hash: *hash,
                actual,
            });
        }
        Ok(verdict?)
    }

    /// Deletes a blob's bytes (durably); a missing blob is not an error.
    pub fn remove(&self, hash: &BlobHash) -> io::Result<()> {
        self.shelf.remove(hash)
    }

    /// How long since the blob was written or last stored again.
    pub fn age(&self, hash: &BlobHash) -> Option<Duration> {
        self.shelf.stat(hash).ok().flatten()?.age
    }

    /// Removes a blob unless it was stored again in the last `grace`;
    /// returns its size if it was removed.
    pub fn remove_if_old(&self, hash: &BlobHash, grace: Duration) -> io::Result<Option<u64>> {
        let _name = self.name_lock(hash);
        self.shelf.remove_if_old(hash, grace)
    }

    /// Of `candidates`, removes each that `needed` says nothing needs and
    /// that was not written or stored again for `grace`; returns what went,
    /// with its size. A blob that cannot be removed is kept and told of.
    pub(crate) fn collect<E>(
        &self,
        candidates: Vec<BlobHash>,
        grace: Duration,
        mut needed: impl FnMut(&BlobHash) -> Result<bool, E>,
    ) -> Result<Vec<(BlobHash, u64)>, E> {
        let mut gone = Vec::new();
        for hash in candidates {
            if needed(&hash)? {
                continue;
            }
            match self.remove_if_old(&hash, grace) {
                Ok(Some(size)) => gone.push((hash, size)),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "removing an unneeded blob"),
            }
        }
        Ok(gone)
    }

    /// Reads a blob and checks its hash.
    pub fn get(&self, hash: &BlobHash) -> Result<Vec<u8>, BlobError> {
        let mut bytes = Vec::new();
        self.open_read(hash, None)?
            .read_to_end(&mut bytes)
            .map_err(|e| BlobError::read(hash, e))?;
        let actual = BlobHash::of(&bytes);
        if actual != *hash {
            return Err(BlobError::Corrupt {
                hash: *hash,
                actual,
            });
        }
        Ok(bytes)
    }

    /// Re-hashes a blob without holding it in memory.
    pub fn verify(&self, hash: &BlobHash) -> Result<u64, BlobError> {
        let mut reader = self.open_read(hash, None)?;
        let (actual, size) = hash_reader(&mut reader).map_err(|e| BlobError::read(hash, e))?;
        if actual != *hash {
            return Err(BlobError::Corrupt {
                hash: *hash,
                actual,
            });
        }
        Ok(size)
    }

    /// Everything on the shelf, sorted by name.
    pub fn list(&self) -> io::Result<Vec<BlobEntry>> {
        self.shelf.list()
    }

    /// The blobs written or stored again `grace` ago or longer.
    pub fn list_old(&self, grace: Duration) -> io::Result<Vec<BlobHash>> {
        self.shelf.list_old(grace)
    }
}

/// The SHA-256, the length and the admission rule's verdict on everything
/// `reader` yields. Bytes that could be cleaned media (at most
/// [`samizdat_media::MAX_INPUT_BYTES`]) are read whole, since cleaning
/// needs them all; larger ones can only be encrypted data, tested as they
/// are read.
fn hash_and_admit(
    reader: &mut impl Read,
) -> io::Result<(BlobHash, u64, Result<Admitted, MediaError>)> {
    let limit = samizdat_media::MAX_INPUT_BYTES as u64;
    let mut whole = Vec::new();
    reader.by_ref().take(limit + 1).read_to_end(&mut whole)?;
    if whole.len() as u64 <= limit {
        let verdict = samizdat_media::admit(&whole);
        return Ok((BlobHash::of(&whole), whole.len() as u64, verdict));
    }
    let mut hasher = Sha256::new();
    let mut noise = Noise::new();
    hasher.update(&whole);
    noise.update(&whole);
    let mut size = whole.len() as u64;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
        noise.update(&buf[..n]);
    }
    let verdict = samizdat_media::admit_large(noise, &whole[..4096], size);
    Ok((
        BlobHash::from_bytes(hasher.finalize().into()),
        size,
        verdict,
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Uniform bytes, as an encrypted file is.
    fn noise(seed: u64, n: usize) -> Vec<u8> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn cut_uploads_are_kept_within_their_cap_and_swept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobStore::open(dir.path().join("blobs")).expect("open");
        let (a, b) = (BlobHash::of(b"a"), BlobHash::of(b"b"));
        let (me, other) = ([1u8; 32], [2u8; 32]);
        assert_eq!(blobs.partial_upload_len(&a, &me), None);
        assert!(blobs.partial_upload(&a, &me).expect("none").is_empty());
        let mut file = blobs
            .open_partial_upload(&a, &me, 600, 1_000)
            .expect("open")
            .expect("room");
        file.write_all(&[1; 600]).expect("write");
        assert_eq!(blobs.partial_upload_len(&a, &me), Some(600));
        // Another uploader of the same blob has its own.
        assert_eq!(blobs.partial_upload_len(&a, &other), None);
        // Going on adds to what is there.
        let mut file = blobs
            .open_partial_upload(&a, &me, 300, 1_000)
            .expect("open")
            .expect("room");
        file.write_all(&[2; 300]).expect("write");
        assert_eq!(blobs.partial_upload(&a, &me).expect("read").len(), 900);
        // No room for b beside it.
        let no_room = blobs
            .open_partial_upload(&b, &me, 200, 1_000)
            .expect("open");
        assert!(no_room.is_none());
        assert_eq!(blobs.partial_upload_len(&b, &me), None);
        // Nothing cut is ever a blob.
        assert!(!blobs.contains(&a));
        let kept = blobs.sweep_partial_uploads(Duration::from_secs(3_600));
        assert_eq!(kept.expect("sweep"), 0);
        assert_eq!(
            blobs.sweep_partial_uploads(Duration::ZERO).expect("sweep"),
            900
        );
        assert_eq!(blobs.partial_upload_len(&a, &me), None);
        blobs
            .drop_partial_upload(&a, &me)
            .expect("dropping nothing is fine");
    }

    #[test]
    fn a_partial_download_is_adopted_only_when_whole_and_admitted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobStore::open(dir.path().join("blobs")).expect("open");
        let sealed = noise(1, 5_000);
        let hash = BlobHash::of(&sealed);
        fs::write(blobs.partial_path(&hash), &sealed[..3_000]).expect("first part");
        assert!(matches!(
            blobs.adopt_partial(&hash),
            Err(BlobError::Corrupt { .. })
        ));
        assert!(!blobs.partial_path(&hash).exists(), "bad bytes are dropped");
        assert!(!blobs.contains(&hash));

        fs::write(blobs.partial_path(&hash), &sealed).expect("whole");
        let kept = blobs.adopt_partial(&hash).expect("adopt");
        assert_eq!((kept.size, kept.admitted), (5_000, Admitted::Encrypted));
        assert!(blobs.contains(&hash));
        assert!(!blobs.partial_path(&hash).exists());
        assert_eq!(blobs.get(&hash).expect("get"), sealed);

        // Whole and named right, but text: refused and dropped.
        let text = b"lat 43.238949, lon 76.889709, taken with a Canon EOS 5D".repeat(20);
        let hash = BlobHash::of(&text);
        fs::write(blobs.partial_path(&hash), &text).expect("text");
        assert!(matches!(
            blobs.adopt_partial(&hash),
            Err(BlobError::Refused(_))
        ));
        assert!(!blobs.partial_path(&hash).exists());
        assert!(!blobs.contains(&hash));
    }

    #[test]
    fn one_download_of_a_blob_at_a_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobStore::open(dir.path().join("blobs")).expect("open");
        let hash = BlobHash::of(b"anything");
        let first = blobs.download_lock(&hash).expect("lock").expect("taken");
        assert!(blobs.download_lock(&hash).expect("lock").is_none(), "held");
        drop(first);
        assert!(
            blobs.download_lock(&hash).expect("lock").is_some(),
            "free again"
        );
    }

    #[test]
    fn put_get_and_detect_corruption() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobStore::open(dir.path().join("blobs")).expect("open");
        let sealed = noise(2, 800);
        let hash = blobs.put(&sealed).expect("put").hash;
        assert_eq!(blobs.put(&sealed).expect("put again").hash, hash);
        assert_eq!(blobs.get(&hash).expect("get"), sealed);
        assert_eq!(blobs.verify(&hash).expect("verify"), 800);
        assert_eq!(
            blobs.admission(&hash).expect("admitted"),
            Admitted::Encrypted
        );

        let mut tampered = sealed.clone();
        tampered[0] ^= 1;
        fs::write(blobs.local_path(&hash).expect("a folder"), &tampered).expect("tamper");
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

    #[test]
    fn what_the_rule_refuses_is_never_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobStore::open(dir.path().join("blobs")).expect("open");
        let text = b"a testimony written in plain text, with the place and the time";
        assert!(matches!(blobs.put(text), Err(BlobError::Refused(_))));
        assert!(!blobs.contains(&BlobHash::of(text)));
        assert!(blobs.list().expect("list").is_empty());
    }
}
