//! One module per command (or family of commands).

pub mod bench;
pub mod blob;
pub mod bundle;
pub mod events;
pub mod id;
pub mod init;
pub mod peers;
pub mod people;
pub mod read;
pub mod record;
pub mod sealed;
pub mod sealing;
pub mod serve;
pub mod sync;
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
