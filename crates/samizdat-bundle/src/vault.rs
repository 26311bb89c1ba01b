//! A vault: a whole data directory as one encrypted file, for the hours
//! a node is not running. The directory (keys, configuration, peers,
//! database, blobs) is written as a tar archive, compressed with zstd,
//! inside age under a passphrase (scrypt), the same layers as an
//! encrypted bundle. age authenticates every 64 KiB chunk and the end of
//! the stream, so a damaged or cut vault fails to open instead of
//! opening to something else.
//!
//! Only directories and regular files are written or read back; an
//! entry of any other type, or a path that would leave the directory,
//! is an error.

use std::fs;
use std::io::{self, BufRead, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use crate::BundleError;

/// Why a vault could not be written or opened.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the vault is damaged or cut short: {0}")]
    Damaged(String),
    #[error("{0}")]
    Key(String),
    #[error("reading: {0}")]
    Read(io::Error),
    #[error("writing: {0}")]
    Write(io::Error),
}

impl From<BundleError> for VaultError {
    fn from(e: BundleError) -> VaultError {
        match e {
            BundleError::Key(why) => VaultError::Key(why.replace("bundle", "vault")),
            BundleError::Read(e) => VaultError::Read(e),
            BundleError::Write(e) => VaultError::Write(e),
            other => VaultError::Damaged(other.to_string()),
        }
    }
}

fn damaged(e: io::Error) -> VaultError {
    VaultError::from(BundleError::reading(e))
}
use crate::seal::{self, Keys, Lock, SecretString};

/// Every member's path starts with this, so that an archive from
/// elsewhere is not taken for a vault.
const ROOT: &str = "samizdat-data";

/// What a vault holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Contents {
    pub files: u64,
    pub bytes: u64,
}

/// Writes `dir` into `out`, encrypted under `passphrase`; `progress` is
/// told each file's size as it is written. Returns what was written.
pub fn pack<W: Write>(
    dir: &Path,
    out: W,
    passphrase: SecretString,
    progress: &mut dyn FnMut(u64),
) -> Result<(Contents, W), VaultError> {
    let sealed = seal::Sealed::new(out, Lock::Passphrase(passphrase))?;
    let compressed = zstd::Encoder::new(sealed, 3).map_err(VaultError::Write)?;
    let mut archive = tar::Builder::new(compressed);
    archive.mode(tar::HeaderMode::Deterministic);
    let mut contents = Contents::default();
    add(&mut archive, dir, Path::new(ROOT), &mut contents, progress)?;
    let compressed = archive.into_inner().map_err(VaultError::Write)?;
    let sealed = compressed.finish().map_err(VaultError::Write)?;
    let out = sealed.finish().map_err(VaultError::Write)?;
    Ok((contents, out))
}

fn add<W: Write>(
    archive: &mut tar::Builder<W>,
    dir: &Path,
    name: &Path,
    contents: &mut Contents,
    progress: &mut dyn FnMut(u64),
) -> Result<(), VaultError> {
    archive.append_dir(name, dir).map_err(VaultError::Write)?;
    let mut entries = fs::read_dir(dir)
        .map_err(VaultError::Read)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(VaultError::Read)?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(VaultError::Read)?;
        let member = name.join(entry.file_name());
        if kind.is_dir() {
            add(archive, &path, &member, contents, progress)?;
        } else if kind.is_file() {
            let mut file = fs::File::open(&path).map_err(VaultError::Read)?;
            let size = file.metadata().map_err(VaultError::Read)?.len();
            let mut header = tar::Header::new_gnu();
            header.set_size(size);
            header.set_mode(0o600);
            header.set_entry_type(tar::EntryType::Regular);
            archive
                .append_data(&mut header, &member, (&mut file).take(size))
                .map_err(VaultError::Write)?;
            contents.files += 1;
            contents.bytes += size;
            progress(size);
        } else {
            return Err(VaultError::Damaged(format!(
                "{} is neither a file nor a directory; a data directory holds no such entry",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Reads a whole vault, checking that it opens with `passphrase` and is
/// a well-formed archive; writes nothing.
pub fn check(input: impl BufRead, passphrase: SecretString) -> Result<Contents, VaultError> {
    walk(input, passphrase, None, &mut |_| {})
}

/// Unpacks a vault into `dir`, which must not exist yet (its parent
/// must). On an error, what was unpacked so far is left for the caller
/// to remove.
pub fn unpack(
    input: impl BufRead,
    passphrase: SecretString,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Contents, VaultError> {
    private_dir(false).create(dir).map_err(VaultError::Write)?;
    walk(input, passphrase, Some(dir), progress)
}

fn walk(
    input: impl BufRead,
    passphrase: SecretString,
    into: Option<&Path>,
    progress: &mut dyn FnMut(u64),
) -> Result<Contents, VaultError> {
    let mut answer = Some(passphrase);
    let keys = Keys {
        identities: Vec::new(),
        passphrase: Some(Box::new(move || {
            answer.take().ok_or_else(|| "no passphrase".to_string())
        })),
    };
    let mut input = input;
    if !seal::is_sealed(&mut input)? {
        return Err(VaultError::Damaged(
            "not a samizdat vault (it is not encrypted)".into(),
        ));
    }
    let opened = seal::open(input, keys)?;
    let decompressed = zstd::Decoder::new(opened).map_err(damaged)?;
    let mut archive = tar::Archive::new(decompressed);
    let mut contents = Contents::default();
    let mut seen_root = false;
    for entry in archive.entries().map_err(damaged)? {
        let mut entry = entry.map_err(damaged)?;
        let path = entry.path().map_err(damaged)?.into_owned();
        let relative = inside(&path)?;
        let kind = entry.header().entry_type();
        match (kind, relative.as_os_str().is_empty()) {
            (tar::EntryType::Directory, true) => seen_root = true,
            (tar::EntryType::Directory, false) => {
                if let Some(dir) = into {
                    private_dir(true)
                        .create(dir.join(&relative))
                        .map_err(VaultError::Write)?;
                }
            }
            (tar::EntryType::Regular, false) => {
                let size = entry.header().size().map_err(damaged)?;
                match into {
                    Some(dir) => {
                        let target = dir.join(&relative);
                        let mut file = fs::OpenOptions::new()
                            .write(true)
                            .create_new(true)
                            .mode(0o600)
                            .open(&target)
                            .map_err(VaultError::Write)?;
                        io::copy(&mut entry, &mut file).map_err(damaged)?;
                        file.sync_all().map_err(VaultError::Write)?;
                    }
                    None => {
                        io::copy(&mut entry, &mut io::sink()).map_err(damaged)?;
                    }
                }
                contents.files += 1;
                contents.bytes += size;
                progress(size);
            }
            _ => {
                return Err(VaultError::Damaged(format!(
                    "member {} is not a file or a directory",
                    path.display()
                )));
            }
        }
    }
    if !seen_root {
        return Err(VaultError::Damaged(
            "not a samizdat vault (no data directory inside)".into(),
        ));
    }
    Ok(contents)
}

/// A data directory is its owner's alone: whatever the umask, what a
/// vault opens is readable by nobody else (directories 0700, files 0600).
fn private_dir(recursive: bool) -> fs::DirBuilder {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(recursive).mode(0o700);
    builder
}

/// The path under the root, checked: relative, under [`ROOT`], no `..`.
fn inside(path: &Path) -> Result<PathBuf, VaultError> {
    let mut parts = path.components();
    if parts.next() != Some(Component::Normal(ROOT.as_ref())) {
        return Err(VaultError::Damaged(format!(
            "member {} is outside the data directory",
            path.display()
        )));
    }
    let mut relative = PathBuf::new();
    for part in parts {
        match part {
            Component::Normal(p) => relative.push(p),
            Component::CurDir => {}
            _ => {
                return Err(VaultError::Damaged(format!(
                    "member {} tries to leave the data directory",
                    path.display()
                )));
            }
        }
    }
    Ok(relative)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_string())
    }

    fn tree(root: &Path) {
        fs::create_dir_all(root.join("keys")).unwrap();
        fs::create_dir_all(root.join("blobs/ab")).unwrap();
        fs::write(root.join("keys/witness.json"), b"ncryptsec1...").unwrap();
        fs::write(root.join("samizdat.toml"), b"[web]\nenabled = true\n").unwrap();
        fs::write(root.join("blobs/ab/abcdef"), vec![7u8; 200_000]).unwrap();
        fs::write(root.join("empty"), b"").unwrap();
    }

    #[test]
    fn a_directory_comes_back_as_it_was() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        tree(&data);
        let (written, vault) = pack(&data, Vec::new(), secret("right"), &mut |_| {}).unwrap();
        assert_eq!(written.files, 4);
        assert!(!vault.windows(7).any(|w| w == b"[web]\ne"), "nothing plain");
        assert_eq!(check(&vault[..], secret("right")).unwrap(), written);
        let back = tmp.path().join("back");
        let read = unpack(&vault[..], secret("right"), &back, &mut |_| {}).unwrap();
        assert_eq!(read, written);
        for file in [
            "keys/witness.json",
            "samizdat.toml",
            "blobs/ab/abcdef",
            "empty",
        ] {
            assert_eq!(
                fs::read(data.join(file)).unwrap(),
                fs::read(back.join(file)).unwrap()
            );
        }
    }

    #[test]
    fn what_opens_is_readable_by_its_owner_alone() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        tree(&data);
        let (_, vault) = pack(&data, Vec::new(), secret("right"), &mut |_| {}).unwrap();
        let back = tmp.path().join("back");
        // Under the usual umask (022) plain creation gives 0755 and 0644.
        unpack(&vault[..], secret("right"), &back, &mut |_| {}).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for dir in ["", "keys", "blobs", "blobs/ab"] {
            assert_eq!(mode(&back.join(dir)), 0o700, "{dir}/");
        }
        for file in [
            "keys/witness.json",
            "samizdat.toml",
            "blobs/ab/abcdef",
            "empty",
        ] {
            assert_eq!(mode(&back.join(file)), 0o600, "{file}");
        }
    }

    #[test]
    fn a_wrong_passphrase_or_a_damaged_vault_opens_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        tree(&data);
        let (_, vault) = pack(&data, Vec::new(), secret("right"), &mut |_| {}).unwrap();
        let err = check(&vault[..], secret("wrong")).unwrap_err().to_string();
        assert!(err.contains("passphrase"), "{err}");
        let mut flipped = vault.clone();
        let at = flipped.len() / 2;
        flipped[at] ^= 1;
        assert!(check(&flipped[..], secret("right")).is_err());
        assert!(check(&vault[..vault.len() - 100], secret("right")).is_err());
        assert!(check(&b"just text"[..], secret("right")).is_err());
    }

    #[test]
    fn members_cannot_leave_the_directory() {
        assert!(inside(Path::new("samizdat-data/keys/a")).is_ok());
        assert!(inside(Path::new("samizdat-data/../etc/passwd")).is_err());
        assert!(inside(Path::new("/etc/passwd")).is_err());
        assert!(inside(Path::new("other/keys")).is_err());
    }
}
