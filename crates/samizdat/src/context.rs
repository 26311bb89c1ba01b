//! What every command needs, resolved once from the command line: where
//! the data lives, how to print, and how to reach the store and the keys.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use samizdat_core::nostr::prelude::{EventId, FromBech32, Keys, Nip19Event, PublicKey};
use samizdat_store::StoreSettings;
use samizdat_store::{DB_FILE, KeyStore, Store};

use crate::cli::Cli;
use crate::passphrase;

pub struct Context {
    pub data: PathBuf,
    pub json: bool,
}

impl Context {
    /// The data directory: `--data`, else `SAMIZDAT_DATA`, else the
    /// platform's data directory (`$XDG_DATA_HOME/samizdat` or
    /// `~/.local/share/samizdat` on Linux).
    pub fn from_cli(cli: &Cli) -> Result<Context> {
        // SAMIZDAT_DATA is read here, not by clap: an argument clap
        // takes from the environment shows in every usage line, as if
        // it were required.
        let from_env = std::env::var_os("SAMIZDAT_DATA")
            .filter(|d| !d.is_empty())
            .map(std::path::PathBuf::from);
        let data = match cli.data.clone().or(from_env) {
            Some(d) => d,
            None => dirs::data_dir()
                .map(|d| d.join("samizdat"))
                .context("no data directory: give --data DIR or set SAMIZDAT_DATA")?,
        };
        Ok(Context {
            data,
            json: cli.json,
        })
    }

    pub fn is_initialised(&self) -> bool {
        self.data.join(DB_FILE).is_file()
    }

    /// Fails, saying how to start, unless `samizdat init` ran here.
    pub fn require_initialised(&self) -> Result<()> {
        if !self.is_initialised() {
            bail!(
                "no samizdat data directory at {}; create it with `samizdat init` (or give --data)",
                self.data.display()
            );
        }
        Ok(())
    }

    /// Opens the store of an initialised data directory, where its
    /// `samizdat.toml` says records and blobs are kept.
    pub fn store(&self) -> Result<Store> {
        let config = samizdat_node::config::Config::load(
            &self.data.join(samizdat_node::config::CONFIG_FILE),
        )?;
        self.store_with(&config.store)
    }

    /// Opens the store of an initialised data directory, where `settings`
    /// say records and blobs are kept.
    pub fn store_with(&self, settings: &StoreSettings) -> Result<Store> {
        self.require_initialised()?;
        settings
            .open(&self.data, samizdat_store::StoreOptions::default())
            .with_context(|| format!("opening the store of {}", self.data.display()))
    }

    /// The key store of this data directory.
    pub fn keys(&self) -> KeyStore {
        KeyStore::new(self.data.join("keys"))
    }

    /// The default identity, unlocked with its passphrase.
    pub fn signer(&self) -> Result<Keys> {
        let keys = self.keys();
        let name = keys.require_default()?;
        let passphrase = passphrase::existing(&name)?;
        Ok(keys.unlock(&name, &passphrase)?)
    }

    /// A public key from `npub1…`, hex, or the name of a local identity.
    pub fn public_key(&self, text: &str) -> Result<PublicKey> {
        if let Ok(pk) = PublicKey::from_bech32(text).or_else(|_| PublicKey::from_hex(text)) {
            return Ok(pk);
        }
        let entry = self.keys().get(text).with_context(|| {
            format!("{text:?} is neither a public key (npub1… or hex) nor a local identity")
        })?;
        Ok(entry.public_key()?)
    }
}

/// An event id from hex, `note1…` or `nevent1…`.
pub fn event_id(text: &str) -> Result<EventId> {
    let text = text.trim();
    if text.len() == 64
        && let Ok(id) = EventId::from_hex(text)
    {
        return Ok(id);
    }
    if let Ok(id) = EventId::from_bech32(text) {
        return Ok(id);
    }
    if let Ok(e) = Nip19Event::from_bech32(text) {
        return Ok(e.event_id);
    }
    bail!("{text:?} is not a record id (64 hex digits, note1… or nevent1…)")
}
