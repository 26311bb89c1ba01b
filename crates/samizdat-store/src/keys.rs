//! Secret keys at rest: each identity is a file holding its public key and
//! its secret key encrypted with NIP-49 (scrypt + XChaCha20-Poly1305). The
//! secret key is never written in the clear, and nothing here logs or
//! returns a passphrase.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use samizdat_core::nostr::prelude::{
    EncryptedSecretKey, FromBech32, KeySecurity, Keys, PublicKey, SecretKey, ToBech32,
};
use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;

/// scrypt cost of new keys: 2^16 iterations, 64 MiB, a fraction of a
/// second on a laptop and costly for whoever guesses passphrases.
const LOG_N: u8 = 16;
const DEFAULT_FILE: &str = "default";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no identity named {0:?}; `samizdat id list` shows them")]
    NotFound(String),
    #[error("an identity named {0:?} exists already")]
    Exists(String),
    #[error("identity name {0:?}: use 1 to 32 of a-z, 0-9, - and _")]
    BadName(String),
    #[error("no identity yet: create one with `samizdat id new`")]
    NoDefault,
    #[error("wrong passphrase for identity {0:?}")]
    WrongPassphrase(String),
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    #[error("not a secret key (expected nsec1… or ncryptsec1…): {0}")]
    BadSecret(String),
    #[error("key file {path} is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// What is stored for one identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    pub name: String,
    /// Public key, hex: shown without the passphrase.
    pub pubkey: String,
    /// NIP-49 `ncryptsec1…` encrypted secret key.
    pub ncryptsec: String,
}

impl KeyEntry {
    pub fn public_key(&self) -> Result<PublicKey, KeyError> {
        PublicKey::from_hex(&self.pubkey).map_err(|e| KeyError::Damaged {
            path: PathBuf::from(&self.name),
            reason: e.to_string(),
        })
    }
}

pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    pub fn new(dir: PathBuf) -> KeyStore {
        KeyStore { dir }
    }

    fn path(&self, name: &str) -> Result<PathBuf, KeyError> {
        let ok = !name.is_empty()
            && name.len() <= 32
            && name
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'));
        if !ok {
            return Err(KeyError::BadName(name.chars().take(40).collect()));
        }
        Ok(self.dir.join(format!("{name}.json")))
    }

    /// Generates a new identity, encrypts it with `passphrase` and stores
    /// it; the first identity becomes the default.
    pub fn generate(&self, name: &str, passphrase: &str) -> Result<KeyEntry, KeyError> {
        self.generate_keys(name, passphrase).map(|(entry, _)| entry)
    }

    /// Like [`generate`](Self::generate), and hands back the new keys,
    /// for what must be signed while they are at hand.
    pub fn generate_keys(
        &self,
        name: &str,
        passphrase: &str,
    ) -> Result<(KeyEntry, Keys), KeyError> {
        let keys = Keys::generate();
        let entry = self.add(name, keys.secret_key(), passphrase, KeySecurity::Medium)?;
        Ok((entry, keys))
    }

    /// Imports `nsec1…` (re-encrypted with `passphrase`) or `ncryptsec1…`
    /// (which must open with `passphrase`).
    pub fn import(&self, name: &str, secret: &str, passphrase: &str) -> Result<KeyEntry, KeyError> {
        let secret = secret.trim();
        if secret.starts_with("ncryptsec1") {
            let encrypted = EncryptedSecretKey::from_bech32(secret)
                .map_err(|e| KeyError::BadSecret(e.to_string()))?;
            let sk = encrypted
                .decrypt(passphrase)
                .map_err(|_| KeyError::WrongPassphrase(name.to_string()))?;
            self.add(name, &sk, passphrase, encrypted.key_security())
        } else {
            let sk = SecretKey::from_bech32(secret)
                .or_else(|_| SecretKey::from_hex(secret))
                .map_err(|_| KeyError::BadSecret("neither nsec1… nor ncryptsec1…".into()))?;
            // It was handled in the clear, which NIP-49 calls weak.
            self.add(name, &sk, passphrase, KeySecurity::Weak)
        }
    }

    fn add(
        &self,
        name: &str,
        sk: &SecretKey,
        passphrase: &str,
        security: KeySecurity,
    ) -> Result<KeyEntry, KeyError> {
        if passphrase.is_empty() {
            return Err(KeyError::EmptyPassphrase);
        }
        let path = self.path(name)?;
        if path.exists() {
            return Err(KeyError::Exists(name.to_string()));
        }
        let encrypted = EncryptedSecretKey::new(sk, passphrase, LOG_N, security)
            .map_err(|e| KeyError::BadSecret(e.to_string()))?;
        let entry = KeyEntry {
            name: name.to_string(),
            pubkey: Keys::new(sk.clone()).public_key().to_hex(),
            ncryptsec: encrypted
                .to_bech32()
                .map_err(|e| KeyError::BadSecret(e.to_string()))?,
        };
        let json =
            serde_json::to_vec_pretty(&entry).map_err(|e| KeyError::BadSecret(e.to_string()))?;
        crate::fsutil::ensure_dir(&self.dir)
            .and_then(|()| write_atomic(&path, &json))
            .map_err(|source| KeyError::Io {
                path: path.clone(),
                source,
            })?;
        if self.default_name()?.is_none() {
            self.set_default(name)?;
        }
        Ok(entry)
    }

    pub fn get(&self, name: &str) -> Result<KeyEntry, KeyError> {
        let path = self.path(name)?;
        let bytes = fs::read(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => KeyError::NotFound(name.to_string()),
            _ => KeyError::Io {
                path: path.clone(),
                source,
            },
        })?;
        serde_json::from_slice(&bytes).map_err(|e| KeyError::Damaged {
            path,
            reason: e.to_string(),
        })
    }

    /// Decrypts the secret key of `name`.
    pub fn unlock(&self, name: &str, passphrase: &str) -> Result<Keys, KeyError> {
        let entry = self.get(name)?;
        let damaged = |reason: String| KeyError::Damaged {
            path: PathBuf::from(name),
            reason,
        };
        let encrypted = EncryptedSecretKey::from_bech32(&entry.ncryptsec)
            .map_err(|e| damaged(e.to_string()))?;
        let sk = encrypted
            .decrypt(passphrase)
            .map_err(|_| KeyError::WrongPassphrase(name.to_string()))?;
        let keys = Keys::new(sk);
        if keys.public_key().to_hex() != entry.pubkey {
            return Err(damaged(
                "the secret key does not match the public key".into(),
            ));
        }
        Ok(keys)
    }

    /// Every identity, by name.
    pub fn list(&self) -> Result<Vec<KeyEntry>, KeyError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(KeyError::Io {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| KeyError::Io {
                path: self.dir.clone(),
                source,
            })?;
            if let Some(name) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
            {
                names.push(name.to_string());
            }
        }
        names.sort();
        names.iter().map(|n| self.get(n)).collect()
    }

    pub fn default_name(&self) -> Result<Option<String>, KeyError> {
        let path = self.dir.join(DEFAULT_FILE);
        match fs::read_to_string(&path) {
            Ok(name) => Ok(Some(name.trim().to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(KeyError::Io { path, source }),
        }
    }

    /// The default identity's name, or an error saying how to make one.
    pub fn require_default(&self) -> Result<String, KeyError> {
        self.default_name()?.ok_or(KeyError::NoDefault)
    }

    pub fn set_default(&self, name: &str) -> Result<(), KeyError> {
        let path = self.path(name)?;
        if !path.exists() {
            return Err(KeyError::NotFound(name.to_string()));
        }
        let default = self.dir.join(DEFAULT_FILE);
        write_atomic(&default, name.as_bytes()).map_err(|source| KeyError::Io {
            path: default,
            source,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_refuse_wrong_passphrase() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = KeyStore::new(dir.path().join("keys"));
        let entry = store
            .generate("witness", "correct horse")
            .expect("generate");
        assert_eq!(
            store.default_name().expect("default"),
            Some("witness".into())
        );
        let raw = fs::read_to_string(dir.path().join("keys/witness.json")).expect("file");
        assert!(raw.contains("ncryptsec1") && !raw.contains("nsec1"));

        let keys = store.unlock("witness", "correct horse").expect("unlock");
        assert_eq!(keys.public_key().to_hex(), entry.pubkey);
        assert!(matches!(
            store.unlock("witness", "wrong"),
            Err(KeyError::WrongPassphrase(_))
        ));
        assert!(matches!(
            store.generate("witness", "x"),
            Err(KeyError::Exists(_))
        ));
        assert!(matches!(
            store.generate("../etc", "x"),
            Err(KeyError::BadName(_))
        ));
        assert!(matches!(
            store.generate("ok", ""),
            Err(KeyError::EmptyPassphrase)
        ));

        let nsec = keys.secret_key().to_bech32().expect("nsec");
        let imported = store.import("copy", &nsec, "other").expect("import nsec");
        assert_eq!(imported.pubkey, entry.pubkey);
        assert!(matches!(
            store.import("copy2", &entry.ncryptsec, "bad"),
            Err(KeyError::WrongPassphrase(_))
        ));
        let again = store
            .import("copy3", &entry.ncryptsec, "correct horse")
            .expect("import ncryptsec");
        assert_eq!(again.pubkey, entry.pubkey);
        assert_eq!(store.list().expect("list").len(), 3);
    }
}
