//! `samizdat init`: create the data directory, private to this user.

use anyhow::{Context as _, Result};

use crate::context::Context;
use crate::exit::Code;

pub fn run(ctx: &Context) -> Result<Code> {
    let existed = ctx.is_initialised();
    create(ctx)?;
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({ "data": ctx.data, "created": !existed })
        );
    } else if existed {
        println!(
            "samizdat data directory {} is ready (it existed already)",
            ctx.data.display()
        );
    } else {
        println!("created samizdat data directory {}", ctx.data.display());
        println!("next: `samizdat id new` to create the identity that signs your records");
    }
    Ok(Code::Success)
}

/// Creates the data directory (mode 0700) and its store, or opens them if
/// they exist.
pub fn create(ctx: &Context) -> Result<()> {
    std::fs::create_dir_all(&ctx.data)
        .with_context(|| format!("creating {}", ctx.data.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ctx.data, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("making {} private", ctx.data.display()))?;
    }
    drop(samizdat_store::Store::open(&ctx.data).context("creating the store")?);
    Ok(())
}
