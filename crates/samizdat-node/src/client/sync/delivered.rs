//! The sealed records (gift wraps) a peer is known to hold: it took them
//! (`OK`) or already had them (`duplicate:`). A peer shows a client only
//! the wraps it is allowed to read, so its side of a reconciliation
//! leaves out the wraps it carries for others, and every sync would send
//! them again; what is written here is not sent to that peer again.
//!
//! One file per peer in `delivered/` of the data directory, named by a
//! hash of the peer's address: 32-byte ids, appended. A file cut short by
//! a crash loses at most its last id (sent once more).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use samizdat_core::nostr::prelude::EventId;
use sha2::{Digest, Sha256};

use crate::route::RelayUrl;

/// The folder of these files in a data directory.
pub const DIR: &str = "delivered";

/// The file of `peer` in the data directory `data`.
fn file(data: &Path, peer: &RelayUrl) -> PathBuf {
    let digest = Sha256::digest(peer.as_str().as_bytes());
    data.join(DIR).join(hex::encode(&digest[..12]))
}

/// The wraps `peer` is known to hold.
pub fn read(data: &Path, peer: &RelayUrl) -> HashSet<EventId> {
    let Ok(bytes) = std::fs::read(file(data, peer)) else {
        return HashSet::new();
    };
    bytes
        .chunks_exact(32)
        .filter_map(|id| <[u8; 32]>::try_from(id).ok())
        .map(EventId::from_byte_array)
        .collect()
}

/// Adds `ids` to what `peer` is known to hold.
pub fn add(data: &Path, peer: &RelayUrl, ids: &[EventId]) -> std::io::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let path = file(data, peer);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    let mut bytes = Vec::with_capacity(ids.len() * 32);
    for id in ids {
        bytes.extend_from_slice(id.as_bytes());
    }
    out.write_all(&bytes)?;
    out.sync_data()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_peer_holds_is_kept_per_peer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = RelayUrl::parse("ws://127.0.0.1:1").expect("url");
        let b = RelayUrl::parse("ws://127.0.0.1:2").expect("url");
        let ids = [
            EventId::from_byte_array([1; 32]),
            EventId::from_byte_array([2; 32]),
        ];
        add(dir.path(), &a, &ids[..1]).expect("add");
        add(dir.path(), &a, &ids[1..]).expect("add");
        assert_eq!(read(dir.path(), &a), ids.into_iter().collect());
        assert!(read(dir.path(), &b).is_empty());
        // A file cut short loses its last id, nothing else.
        let path = file(dir.path(), &a);
        let len = std::fs::metadata(&path).expect("file").len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open")
            .set_len(len - 5)
            .expect("cut");
        assert_eq!(read(dir.path(), &a), [ids[0]].into_iter().collect());
    }
}
