//! The node's own key: what it authenticates with (NIP-42) when it syncs
//! with a peer, so that a peer which lists it among its `carriers` hands
//! it sealed records (gift wraps) to carry on.
//!
//! It is not an identity: it signs nothing but authentication events and
//! never a record. It is kept unencrypted (`node.key`, readable by its
//! owner only) so that an unattended node can start; whoever reads it can
//! fetch from the node's peers the gift wraps they would give this node,
//! which are encrypted for their recipients anyway.

use std::io;
use std::path::Path;

use samizdat_core::delegation::ReadsFor;
use samizdat_core::nostr::prelude::{Keys, SecretKey};

/// File name of the node key inside a data directory.
pub const NODE_KEY_FILE: &str = "node.key";

#[derive(Debug, thiserror::Error)]
pub enum NodeKeyError {
    #[error("reading {0}: {1}")]
    Io(String, io::Error),
    #[error("{0} does not hold a key (64 hex digits); move it away and a new one is made")]
    Damaged(String),
}

/// The node key of the data directory `data`, made on first use.
pub fn load_or_create(data: &Path) -> Result<Keys, NodeKeyError> {
    let path = data.join(NODE_KEY_FILE);
    let shown = || path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let secret =
                SecretKey::from_hex(text.trim()).map_err(|_| NodeKeyError::Damaged(shown()))?;
            Ok(Keys::new(secret))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let keys = Keys::generate();
            let hex = keys.secret_key().to_secret_hex();
            // A fresh temporary file is created readable by its owner only.
            samizdat_store::write_atomic(&path, format!("{hex}\n").as_bytes())
                .map_err(|e| NodeKeyError::Io(shown(), e))?;
            tracing::info!(node = %keys.public_key(), "made this node's key");
            Ok(keys)
        }
        Err(e) => Err(NodeKeyError::Io(shown(), e)),
    }
}

/// File name, inside a data directory, of the identities' tokens that
/// this node reads their sealed records (`samizdat_core::delegation`).
pub const READS_FOR_FILE: &str = "node.reads-for";

/// The tokens kept for this node: identities that vouched it reads their
/// sealed records. Lines that do not hold a valid token for the node's
/// key are left out.
pub fn reads_for(data: &Path, node: &Keys) -> Vec<ReadsFor> {
    let Ok(text) = std::fs::read_to_string(data.join(READS_FOR_FILE)) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| serde_json::from_str::<Vec<String>>(line).ok())
        .filter_map(|tag| ReadsFor::from_tag(&tag, &node.public_key()))
        .collect()
}

/// Keeps `identity`'s word that this node reads its sealed records, once.
pub fn vouch(data: &Path, identity: &Keys) -> Result<(), NodeKeyError> {
    let node = load_or_create(data)?;
    let mut all = reads_for(data, &node);
    if all.iter().any(|t| t.reader == identity.public_key()) {
        return Ok(());
    }
    all.push(ReadsFor::sign(identity, &node.public_key()));
    let text: String = all
        .iter()
        .map(|t| format!("{}\n", serde_json::Value::from(t.to_tag())))
        .collect();
    let path = data.join(READS_FOR_FILE);
    samizdat_store::write_atomic(&path, text.as_bytes())
        .map_err(|e| NodeKeyError::Io(path.display().to_string(), e))?;
    tracing::info!(reader = %identity.public_key(), "this node now reads the sealed records of an identity");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_kept_and_damage_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(first.public_key(), again.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(NODE_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "readable by others: {mode:o}");
        }
        std::fs::write(dir.path().join(NODE_KEY_FILE), "not a key").unwrap();
        let err = load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains("does not hold a key"), "{err}");
    }

    #[test]
    fn an_identity_vouches_once_and_the_token_is_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let documenter = Keys::generate();
        vouch(dir.path(), &documenter).unwrap();
        vouch(dir.path(), &documenter).unwrap();
        let node = load_or_create(dir.path()).unwrap();
        let tokens = reads_for(dir.path(), &node);
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].reader, documenter.public_key());
        // Another node key reads no token made for this one.
        assert!(reads_for(dir.path(), &Keys::generate()).is_empty());
    }
}
