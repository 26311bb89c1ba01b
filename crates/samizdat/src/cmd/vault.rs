//! `samizdat vault lock | open`: the whole data directory as one file
//! encrypted under a passphrase, for the hours no node runs on it.
//!
//! `lock` writes the vault beside the directory (to a temporary name,
//! flushed, then renamed), reads it back whole with the passphrase to
//! prove it opens, and only then destroys the directory as `wipe` does,
//! keys first. `open` unpacks into a new directory beside the target and
//! renames it into place only once the whole vault has been read and
//! checked, then removes the vault; a wrong passphrase or a damaged vault
//! leaves everything as it was.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use samizdat_bundle::seal::SecretString;
use samizdat_bundle::vault;
use serde_json::json;

use crate::cli::{VaultArgs, VaultCommand};
use crate::context::Context;
use crate::exit::Code;
use crate::passphrase::{self, VAULT_ENV};
use crate::progress;

/// The vault's default place: beside the data directory.
fn default_file(data: &Path) -> PathBuf {
    let mut name = data.as_os_str().to_owned();
    name.push(".samizdat-vault");
    PathBuf::from(name)
}

/// `path` with `suffix` added to its file name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

pub fn run(ctx: &Context, command: VaultCommand) -> Result<Code> {
    match command {
        VaultCommand::Lock(args) => lock(ctx, args),
        VaultCommand::Open(args) => open(ctx, args),
    }
}

fn lock(ctx: &Context, args: VaultArgs) -> Result<Code> {
    ctx.require_initialised()?;
    let file = args.file.unwrap_or_else(|| default_file(&ctx.data));
    if file.exists() {
        bail!(
            "{} already exists; open it, or move it away, before locking again",
            file.display()
        );
    }
    let held = super::hold(&ctx.data, "locking it in a vault")?;
    let asked = format!(
        "This packs {} into {} and then destroys the directory.\nType `lock` to go on: ",
        ctx.data.display(),
        file.display()
    );
    let secret = SecretString::from(passphrase::new_for("vault", VAULT_ENV)?);
    if !args.yes && !crate::confirm::typed(&asked, "lock")? {
        bail!("nothing was locked: give --yes, or type `lock` at the prompt, to confirm");
    }
    let total = size_of(&ctx.data)?;
    let bar = progress::bar(Some(total), "packing");
    let partial = beside(&file, ".partial");
    let written = (|| -> Result<vault::Contents> {
        let out =
            File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        let (contents, out) =
            vault::pack(&ctx.data, BufWriter::new(out), secret.clone(), &mut |n| {
                bar.inc(n)
            })?;
        let out = out.into_inner().map_err(|e| e.into_error())?;
        out.sync_all()?;
        Ok(contents)
    })();
    bar.finish_and_clear();
    let written = match written {
        Ok(w) => w,
        Err(e) => {
            let _ = fs::remove_file(&partial);
            return Err(e.context("nothing was changed; the data directory is as it was"));
        }
    };
    // Read back whole before anything is destroyed: a vault that does not
    // open would be the loss of everything.
    let checked = File::open(&partial)
        .map_err(anyhow::Error::from)
        .and_then(|f| Ok(vault::check(BufReader::new(f), secret)?));
    match checked {
        Ok(read) if read == written => {}
        Ok(read) => {
            let _ = fs::remove_file(&partial);
            bail!(
                "the vault read back differs ({read:?} against {written:?}); nothing was changed"
            );
        }
        Err(e) => {
            let _ = fs::remove_file(&partial);
            return Err(e.context("the vault did not read back; nothing was changed"));
        }
    }
    fs::rename(&partial, &file).with_context(|| format!("naming {}", file.display()))?;
    sync_parent(&file);
    drop(held);
    let summary = super::wipe::destroy(&ctx.data, true)?;
    if ctx.json {
        println!(
            "{}",
            json!({"vault": file.display().to_string(), "files": written.files,
                   "bytes": written.bytes, "directory_removed": summary.directory_removed})
        );
    } else {
        println!(
            "locked {} ({} files, {} bytes) into {}; the directory is gone (keys overwritten \
             first). `samizdat vault open` brings it back.",
            ctx.data.display(),
            written.files,
            written.bytes,
            file.display()
        );
    }
    Ok(Code::Success)
}

fn open(ctx: &Context, args: VaultArgs) -> Result<Code> {
    let file = args.file.unwrap_or_else(|| default_file(&ctx.data));
    if fs::symlink_metadata(&ctx.data).is_ok() {
        bail!(
            "{} exists; a vault opens only where there is no data directory (move it away, or \
             give --data)",
            ctx.data.display()
        );
    }
    let size = fs::metadata(&file)
        .with_context(|| format!("no vault at {}", file.display()))?
        .len();
    let secret = SecretString::from(passphrase::existing_for("vault", VAULT_ENV)?);
    let opening = beside(&ctx.data, ".opening");
    if fs::symlink_metadata(&opening).is_ok() {
        // Left by an open that was cut short: it is incomplete.
        fs::remove_dir_all(&opening).with_context(|| format!("removing {}", opening.display()))?;
    }
    let bar = progress::bar(Some(size), "opening");
    let unpacked = File::open(&file)
        .with_context(|| format!("reading {}", file.display()))
        .and_then(|f| {
            let reader = bar.wrap_read(f);
            Ok(vault::unpack(
                BufReader::new(reader),
                secret,
                &opening,
                &mut |_| {},
            )?)
        });
    bar.finish_and_clear();
    let read = match unpacked {
        Ok(read) => read,
        Err(e) => {
            let _ = fs::remove_dir_all(&opening);
            return Err(e.context(format!(
                "nothing was opened; {} is as it was",
                file.display()
            )));
        }
    };
    fs::rename(&opening, &ctx.data).with_context(|| format!("naming {}", ctx.data.display()))?;
    sync_parent(&ctx.data);
    fs::remove_file(&file).with_context(|| format!("removing {}", file.display()))?;
    if ctx.json {
        println!(
            "{}",
            json!({"opened": ctx.data.display().to_string(), "files": read.files, "bytes": read.bytes})
        );
    } else {
        println!(
            "opened {} ({} files, {} bytes) from {}; the vault is removed",
            ctx.data.display(),
            read.files,
            read.bytes,
            file.display()
        );
    }
    Ok(Code::Success)
}

/// Bytes of every file under `dir`, for the progress bar.
fn size_of(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            total += size_of(&entry.path())?;
        } else if kind.is_file() {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

/// Flushes a directory entry (a rename) to the disk, as far as the
/// system allows.
fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent()
        && let Ok(dir) = File::open(parent)
    {
        let _ = dir.sync_all();
    }
    let _ = std::io::stdout().flush();
}
