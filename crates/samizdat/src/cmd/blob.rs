//! `blob get` and `media inspect`.

use std::io::Write;

use anyhow::{Context as _, Result};
use samizdat_core::BlobHash;
use serde_json::json;

use crate::cli::{BlobCommand, MediaCommand};
use crate::context::Context;
use crate::exit::Code;

pub fn run(ctx: &Context, command: BlobCommand) -> Result<Code> {
    let BlobCommand::Get { hash, output } = command;
    let store = ctx.store()?;
    let hash: BlobHash = hash.parse()?;
    let bytes = store.blobs().get(&hash)?;
    match output {
        Some(path) => samizdat_store::write_atomic(&path, &bytes)
            .with_context(|| format!("writing {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)?;
            out.flush()?;
        }
    }
    Ok(Code::Success)
}

pub fn media(ctx: &Context, command: MediaCommand) -> Result<Code> {
    let MediaCommand::Inspect { file } = command;
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let findings =
        samizdat_media::inspect(&bytes).with_context(|| format!("{}", file.display()))?;
    if ctx.json {
        for f in &findings {
            println!("{}", json!({ "place": f.place, "detail": f.detail }));
        }
    } else if findings.is_empty() {
        println!("{}: no identifying metadata found", file.display());
    } else {
        for f in &findings {
            if f.detail.is_empty() {
                println!("{}", f.place);
            } else {
                println!("{}: {}", f.place, f.detail);
            }
        }
    }
    Ok(Code::Success)
}
