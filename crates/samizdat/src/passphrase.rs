//! Passphrases: from `SAMIZDAT_PASSPHRASE` for scripts, otherwise asked on
//! the terminal without echo. Never taken from an argument (it would show in
//! the process list) and never logged.

use anyhow::{Context, Result, bail};

pub const ENV: &str = "SAMIZDAT_PASSPHRASE";
/// For bundles, which are not opened with an identity's passphrase.
pub const BUNDLE_ENV: &str = "SAMIZDAT_BUNDLE_PASSPHRASE";

/// Asks for the passphrase of an existing key.
pub fn existing(name: &str) -> Result<String> {
    if let Ok(p) = std::env::var(ENV) {
        return Ok(p);
    }
    prompt(&format!("Passphrase for identity {name:?}: "))
}

/// Asks for a new passphrase, twice on a terminal.
pub fn new(name: &str) -> Result<String> {
    if let Ok(p) = std::env::var(ENV) {
        return Ok(p);
    }
    let first = prompt(&format!("New passphrase for identity {name:?}: "))?;
    let second = prompt("Repeat the passphrase: ")?;
    if first != second {
        bail!("the two passphrases differ; nothing was created");
    }
    Ok(first)
}

/// For vaults: a data directory packed away, encrypted.
pub const VAULT_ENV: &str = "SAMIZDAT_VAULT_PASSPHRASE";

/// The passphrase that opens a bundle.
pub fn bundle_existing() -> Result<String> {
    existing_for("bundle", BUNDLE_ENV)
}

/// A new passphrase for a bundle, twice on a terminal.
pub fn bundle_new() -> Result<String> {
    new_for("bundle", BUNDLE_ENV)
}

/// The passphrase of a `what` (a bundle, a vault), from `env` or asked.
pub fn existing_for(what: &str, env: &str) -> Result<String> {
    if let Ok(p) = std::env::var(env) {
        return Ok(p);
    }
    prompt_for(&format!("Passphrase of the {what}: "), env)
}

/// A new passphrase for a `what`, from `env` or asked twice; never empty.
pub fn new_for(what: &str, env: &str) -> Result<String> {
    let passphrase = match std::env::var(env) {
        Ok(p) => p,
        Err(_) => {
            let first = prompt_for(&format!("Passphrase for the {what}: "), env)?;
            let second = prompt_for("Repeat the passphrase: ", env)?;
            if first != second {
                bail!("the two passphrases differ; nothing was written");
            }
            first
        }
    };
    if passphrase.is_empty() {
        bail!("an empty passphrase protects nothing; nothing was written");
    }
    Ok(passphrase)
}

fn prompt(text: &str) -> Result<String> {
    prompt_for(text, ENV)
}

fn prompt_for(text: &str, env: &str) -> Result<String> {
    rpassword::prompt_password(text)
        .with_context(|| format!("cannot ask for a passphrase (no terminal?); set {env} instead"))
}
