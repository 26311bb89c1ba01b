//! `samizdat id …`: identities. Secret keys are stored encrypted (NIP-49)
//! and shown only by an explicit `export`.

use std::io::Read;

use anyhow::{Context as _, Result, bail};
use samizdat_core::nostr::prelude::{PublicKey, ToBech32};
use samizdat_store::KeyEntry;
use serde_json::json;

use crate::cli::IdCommand;
use crate::context::Context;
use crate::exit::Code;
use crate::passphrase;

pub fn run(ctx: &Context, command: IdCommand) -> Result<Code> {
    ctx.require_initialised()?;
    let keys = ctx.keys();
    match command {
        IdCommand::New { name } => {
            if keys.get(&name).is_ok() {
                bail!("an identity named {name:?} exists already");
            }
            let passphrase = passphrase::new(&name)?;
            let (entry, secret) = keys.generate_keys(&name, &passphrase)?;
            // This node reads the new identity's sealed records: peers
            // hand it the gift wraps addressed to it.
            samizdat_node::node_key::vouch(&ctx.data, &secret)?;
            print_entry(
                ctx,
                &entry,
                keys.default_name()?.as_deref() == Some(name.as_str()),
            )?;
            if !ctx.json {
                eprintln!(
                    "Keep the passphrase safe: without it this identity cannot sign, and nobody can recover it."
                );
            }
        }
        IdCommand::List => {
            let default = keys.default_name()?;
            let entries = keys.list()?;
            if entries.is_empty() && !ctx.json {
                println!("no identities yet: create one with `samizdat id new`");
            }
            for entry in entries {
                print_entry(ctx, &entry, default.as_deref() == Some(entry.name.as_str()))?;
            }
        }
        IdCommand::Show { name } => {
            let name = match name {
                Some(n) => n,
                None => keys.require_default()?,
            };
            let entry = keys.get(&name)?;
            print_entry(
                ctx,
                &entry,
                keys.default_name()?.as_deref() == Some(name.as_str()),
            )?;
        }
        IdCommand::Use { name } => {
            keys.set_default(&name)?;
            if !ctx.json {
                println!("new records will be signed by {name:?}");
            }
        }
        IdCommand::Export { name, encrypted } => {
            let name = match name {
                Some(n) => n,
                None => keys.require_default()?,
            };
            if encrypted {
                println!("{}", keys.get(&name)?.ncryptsec);
            } else {
                let passphrase = passphrase::existing(&name)?;
                let unlocked = keys.unlock(&name, &passphrase)?;
                eprintln!(
                    "This is the secret key of {name:?}: anyone who sees it can sign as you."
                );
                println!(
                    "{}",
                    unlocked.secret_key().to_bech32().context("encoding nsec")?
                );
            }
        }
        IdCommand::Import { name } => {
            let mut secret = String::new();
            std::io::stdin()
                .take(4096)
                .read_to_string(&mut secret)
                .context("reading the secret key from standard input")?;
            let passphrase = if secret.trim().starts_with("ncryptsec1") {
                passphrase::existing(&name)?
            } else {
                passphrase::new(&name)?
            };
            let entry = keys.import(&name, &secret, &passphrase)?;
            print_entry(
                ctx,
                &entry,
                keys.default_name()?.as_deref() == Some(name.as_str()),
            )?;
        }
    }
    Ok(Code::Success)
}

fn print_entry(ctx: &Context, entry: &KeyEntry, is_default: bool) -> Result<()> {
    let pk: PublicKey = entry.public_key()?;
    let npub = pk.to_bech32().context("encoding npub")?;
    if ctx.json {
        println!(
            "{}",
            json!({ "name": entry.name, "npub": npub, "pubkey": entry.pubkey, "default": is_default })
        );
    } else {
        println!(
            "{}{}  {npub}",
            entry.name,
            if is_default { " (default)" } else { "" }
        );
    }
    Ok(())
}
