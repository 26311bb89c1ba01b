//! Passphrases: from `SAMIZDAT_PASSPHRASE` for scripts, otherwise asked on
//! the terminal without echo. Never taken from an argument (it would show in
//! the process list) and never logged.

use anyhow::{Context, Result, bail};

pub const ENV: &str = "SAMIZDAT_PASSPHRASE";

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

fn prompt(text: &str) -> Result<String> {
    rpassword::prompt_password(text)
        .with_context(|| format!("cannot ask for a passphrase (no terminal?); set {ENV} instead"))
}
