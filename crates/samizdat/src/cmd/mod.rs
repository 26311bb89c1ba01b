//! One module per command (or family of commands).

pub mod blob;
pub mod bundle;
pub mod call;
pub mod copy_events;
pub mod events;
pub mod id;
pub mod init;
pub mod peers;
pub mod people;
pub mod publish;
pub mod read;
pub mod record;
pub mod sealed;
pub mod serve;
pub mod store;
pub mod submit;
pub mod sync;
pub mod vault;
pub mod verify;
pub mod wipe;

/// Creates a file at `path`, readable by its owner only, lets `write`
/// fill it (straight from a secret, with no copy in between), and
/// flushes it to the disk. An existing file is never overwritten.
pub(crate) fn create_private(
    path: &std::path::Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;

    use anyhow::Context as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "creating {} (an existing file is never overwritten)",
                path.display()
            )
        })?;
    write(&mut file)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// The file `serve` and `vault lock` hold an exclusive lock on, so that a
/// data directory is never packed away under a running node.
pub(crate) const LOCK_FILE: &str = "serve.lock";

/// Takes the data directory's lock, or says who holds it. The lock lasts
/// as long as the returned file is open.
pub(crate) fn hold(data: &std::path::Path, what: &str) -> anyhow::Result<std::fs::File> {
    use std::os::fd::AsRawFd;

    use anyhow::Context as _;
    let path = data.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns.
    let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    if !taken {
        anyhow::bail!(
            "{} is in use by a running `samizdat serve` or `vault lock`; stop it before {what}",
            data.display()
        );
    }
    Ok(file)
}

/// Whether the data directory's lock is free now (taken and let go).
fn lock_is_free(path: &std::path::Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(file) = std::fs::File::open(path) else {
        return true;
    };
    // SAFETY: flock on a descriptor this function owns; closing it at the
    // end of the function lets the lock go.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// The process holding the `flock` on `path`, from the kernel's own list
/// (`/proc/locks`): no pid file that could be stale or forged.
fn lock_holder(path: &std::path::Path) -> Option<i32> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    let (major, minor) = (libc::major(meta.dev()), libc::minor(meta.dev()));
    let wanted = format!("{major:02x}:{minor:02x}:{}", meta.ino());
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // "1: FLOCK  ADVISORY  WRITE 26592 fe:00:10027345 0 EOF"
        (fields.get(1) == Some(&"FLOCK") && fields.get(5) == Some(&wanted.as_str()))
            .then(|| fields.get(4)?.parse().ok())
            .flatten()
    })
}

/// Stops, with SIGKILL, the process that holds the data directory's lock
/// (a running `serve`), and waits (at most ten seconds) until the lock is
/// free. Nothing acknowledged is lost: every `OK` was durable. Returns
/// the process stopped, if one was.
pub(crate) fn stop_holder(data: &std::path::Path) -> anyhow::Result<Option<i32>> {
    let path = data.join(LOCK_FILE);
    if lock_is_free(&path) {
        return Ok(None);
    }
    let pid = lock_holder(&path).ok_or_else(|| {
        anyhow::anyhow!(
            "{} is in use by a running samizdat process that could not be found; stop it, then \
             wipe again",
            data.display()
        )
    })?;
    // SAFETY: a signal to the process the kernel says holds the lock.
    if unsafe { libc::kill(pid, libc::SIGKILL) } != 0 {
        anyhow::bail!(
            "could not stop process {pid}, which is using {}: {}",
            data.display(),
            std::io::Error::last_os_error()
        );
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // Bounded: at most ten seconds of 10 ms waits.
    while !lock_is_free(&path) {
        if std::time::Instant::now() > deadline {
            anyhow::bail!("process {pid} did not stop; nothing was wiped");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok(Some(pid))
}

/// The prefix of a bundle import's spool directory in the data directory.
pub(crate) const SPOOL_PREFIX: &str = "bundle-";
/// The lock an import holds on its spool while it runs.
const SPOOL_LOCK: &str = ".lock";

/// A spool directory for a bundle import, locked for as long as it lives,
/// so that a sweep never takes one an import is using.
pub(crate) struct Spool {
    pub dir: tempfile::TempDir,
    _lock: std::fs::File,
}

pub(crate) fn new_spool(data: &std::path::Path) -> std::io::Result<Spool> {
    use std::os::fd::AsRawFd;
    let dir = tempfile::Builder::new()
        .prefix(SPOOL_PREFIX)
        .tempdir_in(data)?;
    let lock = std::fs::File::create(dir.path().join(SPOOL_LOCK))?;
    // SAFETY: flock on a descriptor this function owns.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    Ok(Spool { dir, _lock: lock })
}

/// Removes what imports killed part-way left in the data directory (their
/// spools, each up to a bundle's size, decrypted) and temporary blob
/// files older than an hour; returns what was removed. A spool whose
/// import still runs (its lock held) is left, and so is one made in the
/// last minute (its lock may not be taken yet).
pub(crate) fn sweep(data: &std::path::Path) -> Vec<std::path::PathBuf> {
    use std::os::fd::AsRawFd;
    let mut removed = Vec::new();
    let old = |path: &std::path::Path, age: u64| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|e| e.as_secs() > age)
    };
    if let Ok(entries) = std::fs::read_dir(data) {
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(SPOOL_PREFIX) || !path.is_dir() || !old(&path, 60) {
                continue;
            }
            let free = match std::fs::File::open(path.join(SPOOL_LOCK)) {
                // SAFETY: flock on a descriptor this loop owns.
                Ok(f) => unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 },
                Err(_) => true,
            };
            if free && std::fs::remove_dir_all(&path).is_ok() {
                removed.push(path);
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(data.join("blobs").join("tmp")) {
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".tmp") && old(&path, 3600) && std::fs::remove_file(&path).is_ok() {
                removed.push(path);
            }
        }
    }
    removed
}
