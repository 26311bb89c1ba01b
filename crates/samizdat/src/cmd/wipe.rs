//! `samizdat wipe`: destroy this node's keys and data, fastest first.
//!
//! Order matters when there may be seconds before a device is taken: the
//! keys go first (overwritten with random bytes, flushed, then unlinked),
//! then the configuration and peer list (which name other nodes), then the
//! database and the blobs, unlinked. Only what samizdat itself creates in
//! a data directory is touched; anything else is left and reported, and a
//! symbolic link is removed as a link, never followed. What this can and
//! cannot guarantee is in docs/THREAT-MODEL.md.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result, bail};

use crate::cli::WipeArgs;
use crate::context::Context;
use crate::exit::Code;

/// Entries of a data directory, in the order they are destroyed.
const KEYS: &str = "keys";
use samizdat_node::node_key::NODE_KEY_FILE;
/// What says whom this node talks to and for whom it reads: the
/// configuration, the peers' state, the console's key, the identities'
/// tokens (`node.reads-for`) and which sealed records each peer holds.
const SMALL_SECRETS: &[&str] = &[
    "samizdat.toml",
    "peers.json",
    "console.url",
    samizdat_node::node_key::READS_FOR_FILE,
    samizdat_node::client::sync::DELIVERED_DIR,
];
const DATA: &[&str] = &[
    super::LOCK_FILE,
    "samizdat.db-wal",
    "samizdat.db-shm",
    "samizdat.db-journal",
    "samizdat.db",
    "bundles",
    "blobs",
];

#[derive(Default, serde::Serialize)]
pub struct Summary {
    pub keys_overwritten: u64,
    pub files_removed: u64,
    pub bytes_removed: u64,
    /// Entries samizdat did not create, left where they are.
    pub left: Vec<String>,
    pub directory_removed: bool,
}

pub fn run(ctx: &Context, args: WipeArgs) -> Result<Code> {
    ctx.require_initialised()?;
    if !args.yes && !confirmed(&ctx.data)? {
        bail!("nothing was wiped: give --yes, or type `wipe` at the prompt, to confirm");
    }
    // A node running on the directory would go on writing into it (and
    // would have to be trusted to stop): it is stopped first, at once.
    if let Some(pid) = super::stop_holder(&ctx.data)? {
        eprintln!("stopped the samizdat process {pid} that was using the data directory");
    }
    // Held until everything is gone: a node started again meanwhile (by a
    // service manager, say) waits rather than writing into the directory.
    let held = super::hold(&ctx.data, "wiping it")?;
    let mut summary = destroy(&ctx.data, false)?;
    drop(held);
    // A vault being packed when its process was stopped leaves a partial
    // (encrypted) copy beside the directory.
    let mut partial = ctx.data.as_os_str().to_owned();
    partial.push(".samizdat-vault.partial");
    let partial = std::path::PathBuf::from(partial);
    if is_real_file(&partial) {
        overwrite(&partial).with_context(|| format!("overwriting {}", partial.display()))?;
        remove(&partial, &mut summary)?;
    }
    if ctx.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "wiped {}: {} key file(s) overwritten, {} file(s) removed ({} bytes)",
            ctx.data.display(),
            summary.keys_overwritten,
            summary.files_removed,
            summary.bytes_removed
        );
        if !summary.left.is_empty() {
            println!("left alone (not samizdat's): {}", summary.left.join(", "));
        }
        println!(
            "unlinked data can stay readable on the disk until it is overwritten, and flash \
             storage may keep old copies; see docs/THREAT-MODEL.md"
        );
    }
    Ok(Code::Success)
}

/// Destroys a data directory, keys first (overwritten, flushed, unlinked),
/// then the rest. Entries samizdat did not create are left and listed,
/// unless `everything`.
pub fn destroy(data: &Path, everything: bool) -> Result<Summary> {
    let mut summary = Summary::default();

    let keys = data.join(KEYS);
    if is_real_dir(&keys) {
        for entry in fs::read_dir(&keys).with_context(|| format!("reading {}", keys.display()))? {
            let path = entry?.path();
            if is_real_file(&path) {
                overwrite(&path).with_context(|| format!("overwriting {}", path.display()))?;
                summary.keys_overwritten += 1;
            }
        }
    }
    let node_key = data.join(NODE_KEY_FILE);
    if is_real_file(&node_key) {
        overwrite(&node_key).with_context(|| format!("overwriting {}", node_key.display()))?;
        summary.keys_overwritten += 1;
    }
    for name in [KEYS, NODE_KEY_FILE]
        .into_iter()
        .chain(SMALL_SECRETS.iter().copied())
        .chain(DATA.iter().copied())
    {
        remove(&data.join(name), &mut summary)?;
    }
    // Spools of bundles being imported, and temporary files of writes cut
    // short.
    for entry in fs::read_dir(data).with_context(|| format!("reading {}", data.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if everything || name.starts_with("bundle-") || name.starts_with(".tmp") {
            remove(&entry.path(), &mut summary)?;
        } else {
            summary.left.push(name);
        }
    }
    summary.left.sort();
    summary.directory_removed = summary.left.is_empty() && fs::remove_dir(data).is_ok();

    Ok(summary)
}

/// Asks on the terminal; without one, there is no confirmation but `--yes`.
fn confirmed(data: &Path) -> Result<bool> {
    crate::confirm::typed(
        &format!(
            "This destroys the keys and every record and file in {}.\nType `wipe` to go on: ",
            data.display()
        ),
        "wipe",
    )
}

fn is_real_dir(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

fn is_real_file(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.is_file())
}

/// Overwrites a file in place with random bytes and flushes it to the disk.
fn overwrite(path: &Path) -> Result<()> {
    let len = fs::symlink_metadata(path)?.len();
    let mut file: File = OpenOptions::new().write(true).open(path)?;
    let mut noise = vec![0u8; len.min(1 << 20) as usize];
    let mut left = len;
    while left > 0 {
        let n = left.min(noise.len() as u64) as usize;
        rand::fill(&mut noise[..n]);
        file.write_all(&noise[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    Ok(())
}

/// Removes a file, a symbolic link (not what it points to) or a directory
/// tree, counting what goes.
fn remove(path: &Path, summary: &mut Summary) -> Result<()> {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.is_dir() {
        for entry in fs::read_dir(path).with_context(|| format!("reading {}", path.display()))? {
            remove(&entry?.path(), summary)?;
        }
        fs::remove_dir(path).with_context(|| format!("removing {}", path.display()))?;
    } else {
        fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
        summary.files_removed += 1;
        summary.bytes_removed += if meta.is_file() { meta.len() } else { 0 };
    }
    Ok(())
}
