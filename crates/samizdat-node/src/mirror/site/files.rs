//! Writing a mirror: beside its target, hard-linking what the previous
//! mirror already holds, then made durable and swapped in.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use samizdat_core::blob::BlobHash;
use samizdat_store::{Query, Store};
use sha2::{Digest, Sha256};

use crate::progress::Observer;
use crate::views::Lang;
use crate::views::records::{self as read};

use super::*;

/// Writes the whole new mirror into `staging`, durably.
pub(super) fn write(
    store: &Store,
    staging: &Path,
    old: Option<PathBuf>,
    queries: &[Query],
    observer: &mut dyn Observer,
    started: Instant,
) -> Result<SiteSummary, SiteError> {
    observer.phase("reading records", None);
    let mut selection = select(store, queries)?;
    observer.phase("checking media", Some(selection.blobs.len() as u64));
    let refused = only_public(store, old.as_deref(), &mut selection);
    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        "publish: records read"
    );
    let mut summary = SiteSummary {
        records: selection.records.len() as u64,
        attestations: selection.attestations.len() as u64,
        blobs: selection.blobs.len() as u64,
        blobs_absent: selection.absent.len() as u64 - refused,
        blobs_refused: refused,
        withheld: selection.withheld,
        ..Default::default()
    };
    let people = people(&selection);
    summary.people = people.entries.len() as u64;

    let mut files = Files::new(staging.to_path_buf(), old);
    files.put("assets/style.css", STYLE.as_bytes())?;
    files.put("assets/icon.svg", ICON.as_bytes())?;
    let days = days(&selection);
    summary.days = days.len() as u64;
    // An empty mirror is not "as of" 1970.
    let as_of = match selection.as_of {
        0 => String::new(),
        secs => read::date_time(secs),
    };

    observer.phase("writing pages", Some(selection.records.len() as u64));
    for batch in selection.records.chunks(BATCH) {
        let events = read_events(store, batch.iter().map(|e| e.id))?;
        let pages: Vec<Vec<(String, String)>> = events
            .par_iter()
            .map(|event| record_pages(&selection, event, &as_of))
            .collect::<Result<_, _>>()?;
        for (path, body) in pages.iter().flatten() {
            files.put(path, body.as_bytes())?;
        }
        observer.advance(batch.len() as u64);
    }
    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        "publish: record pages written"
    );
    for lang in Lang::ALL {
        index_pages(
            &mut files,
            &selection,
            &days,
            people.entries.len(),
            lang,
            &as_of,
        )?;
        people_pages(&mut files, &people, lang, &as_of)?;
    }
    files.put("index.html", root_page(&selection)?.as_bytes())?;
    files.put("feed.atom", feed(store, &selection)?.as_bytes())?;
    let signatures = write_records(&mut files, store, &selection)?;

    observer.phase("copying media", Some(selection.blobs.len() as u64));
    for (hash, mime) in &selection.blobs {
        files.put_blob(&blob_path(hash, mime), store.blobs(), hash)?;
        observer.advance(1);
    }

    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        "publish: media copied"
    );
    let sums = files.sums();
    let manifest = manifest(&selection, &files, &sums, &signatures);
    files.put_unlisted(SUMS, sums.as_bytes())?;
    files.put_unlisted(MANIFEST, manifest.as_bytes())?;
    summary.files = files.listed.len() as u64 + 2;
    summary.bytes = files.bytes;
    summary.written = files.written;
    summary.kept = files.kept;
    summary.digest = hex::encode(Sha256::digest(manifest.as_bytes()));

    durable(staging)?;
    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        "publish: written to the disk"
    );
    Ok(summary)
}

/// The folders beside `out` that a publish uses: where the new mirror is
/// written, and where the previous one waits while the two swap.
pub(super) fn beside(out: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mirror".into());
    let parent = out.parent().unwrap_or(Path::new("/"));
    (
        parent.join(format!(".{name}.publishing")),
        parent.join(format!(".{name}.previous")),
        parent.join(format!(".{name}.lock")),
    )
}

/// Takes the lock that keeps two publishes from writing the same mirror
/// at once; it lasts as long as the returned file is open.
pub(super) fn hold(lock: &Path, out: &Path) -> Result<fs::File, SiteError> {
    use std::os::fd::AsRawFd;
    if let Some(parent) = lock.parent() {
        fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock)
        .map_err(io_at(lock))?;
    // SAFETY: flock on a descriptor this function owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(SiteError::Busy(out.to_path_buf()));
    }
    Ok(file)
}

/// Makes ready to publish into `out`: finishes a swap an earlier run was
/// killed in, clears what it left half-written, and checks that `out`
/// is a mirror (or empty, or absent). Returns the mirror now in `out`.
pub(super) fn prepare(
    out: &Path,
    staging: &Path,
    previous: &Path,
) -> Result<Option<PathBuf>, SiteError> {
    if !out.exists() && previous.join(MANIFEST).is_file() {
        // Killed between the two renames of a swap: the old mirror is
        // whole, put it back.
        tracing::warn!(path = %previous.display(), "restoring the mirror of an interrupted publish");
        fs::rename(previous, out).map_err(io_at(out))?;
    }
    for leftover in [staging, previous] {
        if leftover.exists() {
            fs::remove_dir_all(leftover).map_err(io_at(leftover))?;
        }
    }
    if !out.exists() {
        return Ok(None);
    }
    if !out.is_dir() {
        return Err(SiteError::NotAMirror(out.to_path_buf()));
    }
    let empty = fs::read_dir(out).map_err(io_at(out))?.next().is_none();
    if empty {
        return Ok(None);
    }
    let format = fs::read(out.join(MANIFEST))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|m| m.get("format").and_then(|f| f.as_str()).map(str::to_string));
    match format {
        Some(f) if f == FORMAT => Ok(Some(out.to_path_buf())),
        _ => Err(SiteError::NotAMirror(out.to_path_buf())),
    }
}

/// The files of the mirror being written: each one's hash and size, and
/// where the previous mirror may already hold its bytes.
pub(super) struct Files {
    pub(super) root: PathBuf,
    pub(super) old: Option<PathBuf>,
    pub(super) listed: BTreeMap<String, String>,
    pub(super) made: HashSet<PathBuf>,
    pub(super) bytes: u64,
    pub(super) written: u64,
    pub(super) kept: u64,
}

impl Files {
    pub(super) fn new(root: PathBuf, old: Option<PathBuf>) -> Files {
        Files {
            root,
            old,
            listed: BTreeMap::new(),
            made: HashSet::new(),
            bytes: 0,
            written: 0,
            kept: 0,
        }
    }

    pub(super) fn put(&mut self, path: &str, bytes: &[u8]) -> Result<(), SiteError> {
        self.listed
            .insert(path.to_string(), hex::encode(Sha256::digest(bytes)));
        self.put_unlisted(path, bytes)
    }

    /// Writes a file that `SHA256SUMS` does not list (itself and the
    /// manifest).
    pub(super) fn put_unlisted(&mut self, path: &str, bytes: &[u8]) -> Result<(), SiteError> {
        self.bytes += bytes.len() as u64;
        let dest = self.dest(path)?;
        if let Some(old) = self.old.as_ref().map(|o| o.join(path)) {
            let same = fs::metadata(&old)
                .is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
                && fs::read(&old).is_ok_and(|b| b == bytes);
            if same && fs::hard_link(&old, &dest).is_ok() {
                self.kept += 1;
                return Ok(());
            }
        }
        fs::write(&dest, bytes).map_err(io_at(&dest))?;
        self.written += 1;
        Ok(())
    }

    /// Writes a file through `write`, hashing it on the way; if the
    /// previous mirror holds the same bytes, links that copy instead.
    pub(super) fn put_streamed(
        &mut self,
        path: &str,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<(), SiteError> {
        let dest = self.dest(path)?;
        let file = fs::File::create(&dest).map_err(io_at(&dest))?;
        let mut out = Hashing {
            inner: io::BufWriter::new(file),
            hasher: Sha256::new(),
            size: 0,
        };
        write(&mut out).map_err(io_at(&dest))?;
        out.inner.flush().map_err(io_at(&dest))?;
        let hash: [u8; 32] = out.hasher.finalize().into();
        self.bytes += out.size;
        self.listed.insert(path.to_string(), hex::encode(hash));
        if let Some(old) = self.old.as_ref().map(|o| o.join(path))
            && hash_file(&old).is_ok_and(|(h, size)| h == hash && size == out.size)
            && fs::remove_file(&dest).is_ok()
            && fs::hard_link(&old, &dest).is_ok()
        {
            self.kept += 1;
            return Ok(());
        }
        if !dest.exists() {
            // The link failed after the new copy was removed: write it
            // again from the old one, whose bytes are the same.
            if let Some(old) = self.old.as_ref().map(|o| o.join(path)) {
                fs::copy(&old, &dest).map_err(io_at(&dest))?;
            }
        }
        self.written += 1;
        Ok(())
    }

    /// Copies the blob `hash` from `source` (the store), checking its
    /// hash on the way; or links the previous mirror's copy, checked too.
    pub(super) fn put_blob(
        &mut self,
        path: &str,
        blobs: &samizdat_store::BlobStore,
        hash: &BlobHash,
    ) -> Result<(), SiteError> {
        let dest = self.dest(path)?;
        if let Some(old) = self.old.as_ref().map(|o| o.join(path))
            && hash_file(&old).is_ok_and(|(h, _)| h == *hash.as_bytes())
            && fs::hard_link(&old, &dest).is_ok()
        {
            self.kept += 1;
        } else {
            // Hashed as it is copied: one read of the store's blob.
            let source = PathBuf::from(format!("blob {hash}"));
            let mut from = blobs.open_read(hash, None).map_err(|e| SiteError::Io {
                path: source.clone(),
                source: io::Error::other(e),
            })?;
            let mut to = Hashing {
                inner: fs::File::create(&dest).map_err(io_at(&dest))?,
                hasher: Sha256::new(),
                size: 0,
            };
            io::copy(&mut from, &mut to).map_err(io_at(&dest))?;
            let actual: [u8; 32] = to.hasher.finalize().into();
            if actual != *hash.as_bytes() {
                return Err(SiteError::Io {
                    path: source,
                    source: io::Error::other(format!(
                        "blob {hash} is damaged in the store (SHA-256 {}); run `samizdat verify`",
                        hex::encode(actual)
                    )),
                });
            }
            self.written += 1;
        }
        let size = fs::metadata(&dest).map_err(io_at(&dest))?.len();
        self.bytes += size;
        self.listed.insert(path.to_string(), hash.to_hex());
        Ok(())
    }

    pub(super) fn dest(&mut self, path: &str) -> Result<PathBuf, SiteError> {
        let dest = self.root.join(path);
        if let Some(dir) = dest.parent()
            && !self.made.contains(dir)
        {
            fs::create_dir_all(dir).map_err(io_at(dir))?;
            self.made.insert(dir.to_path_buf());
        }
        Ok(dest)
    }

    /// `SHA256SUMS`: `sha256sum -c` reads it.
    pub(super) fn sums(&self) -> String {
        let mut out = String::with_capacity(self.listed.len() * 110);
        for (path, hash) in &self.listed {
            out.push_str(hash);
            out.push_str("  ");
            out.push_str(path);
            out.push('\n');
        }
        out
    }
}

/// A writer that hashes and counts what goes through it.
pub(super) struct Hashing<W> {
    pub(super) inner: W,
    pub(super) hasher: Sha256,
    pub(super) size: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// SHA-256 and size of a file, read in pieces.
pub(crate) fn hash_file(path: &Path) -> io::Result<([u8; 32], u64)> {
    let (hash, size) = samizdat_store::hash_reader(&mut fs::File::open(path)?)?;
    Ok((*hash.as_bytes(), size))
}

/// Makes every file written under `dir` durable before the swap.
pub(super) fn durable(dir: &Path) -> Result<(), SiteError> {
    let handle = fs::File::open(dir).map_err(io_at(dir))?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: syncfs on a descriptor this function holds open.
        if unsafe { libc::syncfs(handle.as_raw_fd()) } != 0 {
            return Err(io_at(dir)(io::Error::last_os_error()));
        }
    }
    #[cfg(not(target_os = "linux"))]
    handle.sync_all().map_err(io_at(dir))?;
    Ok(())
}

/// Puts the new mirror `staging` in the place of `out`.
pub(super) fn swap(staging: &Path, out: &Path, previous: &Path) -> Result<(), SiteError> {
    if !out.exists() {
        fs::rename(staging, out).map_err(io_at(out))?;
    } else if exchange(staging, out).is_ok() {
        // `staging` now holds the previous mirror.
        fs::remove_dir_all(staging).map_err(io_at(staging))?;
    } else {
        // Two renames; a run killed between them finds `previous` and
        // no `out`, and puts the previous mirror back (`prepare`).
        fs::rename(out, previous).map_err(io_at(out))?;
        fs::rename(staging, out).map_err(io_at(out))?;
        fs::remove_dir_all(previous).map_err(io_at(previous))?;
    }
    if let Some(parent) = out.parent() {
        samizdat_store::fsutil::sync_dir(parent).map_err(io_at(parent))?;
    }
    Ok(())
}

/// Swaps two directories in one step (Linux `renameat2` with
/// `RENAME_EXCHANGE`); an error where the system or the file system
/// cannot.
pub(super) fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let a = CString::new(a.as_os_str().as_bytes()).map_err(io::Error::other)?;
        let b = CString::new(b.as_os_str().as_bytes()).map_err(io::Error::other)?;
        // SAFETY: two valid C strings; the call reads them only.
        let done = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                a.as_ptr(),
                libc::AT_FDCWD,
                b.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if done == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Err(io::Error::other("no atomic exchange here"))
    }
}
