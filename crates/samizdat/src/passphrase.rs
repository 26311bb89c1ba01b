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
        warn_if_weak(&p, false)?;
        return Ok(p);
    }
    let first = prompt(&format!("New passphrase for identity {name:?}: "))?;
    let second = prompt("Repeat the passphrase: ")?;
    if first != second {
        bail!("the two passphrases differ; nothing was created");
    }
    warn_if_weak(&first, true)?;
    Ok(first)
}

/// Fewest characters of a passphrase that is not called weak.
const STRONG_CHARS: usize = 12;

/// Why `passphrase` is weak, if it is: whoever seizes the file can try
/// short or repetitive passphrases by the billion.
pub fn weakness(passphrase: &str) -> Option<String> {
    let chars = passphrase.chars().count();
    let mut distinct: Vec<char> = passphrase.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if chars < STRONG_CHARS {
        Some(format!(
            "it has {chars} characters; use at least {STRONG_CHARS}, such as four unrelated words"
        ))
    } else if distinct.len() < 5 {
        Some("it repeats a few characters; use four unrelated words".into())
    } else {
        None
    }
}

/// Warns of a weak new passphrase. Typed on a terminal, it is used only
/// if the user says so; from the environment (a script), the warning is
/// printed and the script's choice stands.
fn warn_if_weak(passphrase: &str, typed: bool) -> Result<()> {
    let Some(why) = weakness(passphrase) else {
        return Ok(());
    };
    eprintln!("warning: this passphrase is weak: {why}");
    if !typed {
        return Ok(());
    }
    if !crate::confirm::typed("Use it anyway? Type `weak` to go on: ", "weak")? {
        bail!("nothing was written: choose a longer passphrase");
    }
    Ok(())
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
    let (passphrase, typed) = match std::env::var(env) {
        Ok(p) => (p, false),
        Err(_) => {
            let first = prompt_for(&format!("Passphrase for the {what}: "), env)?;
            let second = prompt_for("Repeat the passphrase: ", env)?;
            if first != second {
                bail!("the two passphrases differ; nothing was written");
            }
            (first, true)
        }
    };
    if passphrase.is_empty() {
        bail!("an empty passphrase protects nothing; nothing was written");
    }
    warn_if_weak(&passphrase, typed)?;
    Ok(passphrase)
}

fn prompt(text: &str) -> Result<String> {
    prompt_for(text, ENV)
}

fn prompt_for(text: &str, env: &str) -> Result<String> {
    rpassword::prompt_password(text)
        .with_context(|| format!("cannot ask for a passphrase (no terminal?); set {env} instead"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_repetitive_passphrases_are_weak() {
        for weak in [
            "a",
            "12345678",
            "hunter2",
            "aaaaaaaaaaaaaaaa",
            "abababababab",
        ] {
            assert!(weakness(weak).is_some(), "{weak}");
        }
        for strong in ["correct horse battery staple", "тюльпан мост 1986 ветер"] {
            assert!(weakness(strong).is_none(), "{strong}");
        }
    }
}
