//! One module per command (or family of commands).

pub mod bench;
pub mod blob;
pub mod bundle;
pub mod events;
pub mod id;
pub mod init;
pub mod peers;
pub mod people;
pub mod publish;
pub mod read;
pub mod record;
pub mod sealed;
pub mod sealing;
pub mod serve;
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
