//! What a peer is known to hold without showing it, and what it refused
//! for good: neither is sent to that peer again.
//!
//! - **Held**: sealed records (gift wraps) it took (`OK`) or already had
//!   (`duplicate:`). A peer shows a client only the wraps it is allowed
//!   to read, so its side of a reconciliation leaves out the wraps it
//!   carries for others, and every sync would send them again.
//! - **Refused for good**: events it answered `invalid:`, `blocked:` or
//!   `pow:` (see [`is_final`]), with its reason. Every reconciliation
//!   finds them missing there again; sending them again would spend a
//!   short window on bytes the peer will refuse once more. A refusal that
//!   can change (`rate-limited:`, `error:`, `auth-required:`,
//!   `restricted:`) is not remembered: the event goes again next time.
//!
//! Files per peer in `delivered/` of the data directory, named by a hash
//! of the peer's address: held ids as 32 bytes each, appended; refusals
//! as lines `<hex id> <reason>` in `<name>.refused`. A file cut short by a
//! crash loses at most its last entry (sent once more).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use samizdat_core::BlobHash;
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

/// Whether a peer's refusal (an `OK` false's message) is for good: the
/// same event would be refused again by the same peer.
pub fn is_final(reason: &str) -> bool {
    ["invalid:", "blocked:", "pow:"]
        .iter()
        .any(|prefix| reason.starts_with(prefix))
}

/// The file of what `peer` refused for good.
fn refused_file(data: &Path, peer: &RelayUrl) -> PathBuf {
    let mut path = file(data, peer);
    path.set_extension("refused");
    path
}

/// The longest reason kept for a refusal, in characters.
const MAX_REASON_CHARS: usize = 200;

/// What `peer` refused for good, with its reasons.
pub fn refused(data: &Path, peer: &RelayUrl) -> HashMap<EventId, String> {
    let Ok(text) = std::fs::read_to_string(refused_file(data, peer)) else {
        return HashMap::new();
    };
    text.lines()
        .filter_map(|line| {
            let (id, reason) = line.split_once(' ')?;
            Some((EventId::from_hex(id).ok()?, reason.to_string()))
        })
        .collect()
}

/// Adds events `peer` refused for good, each with its reason (control
/// characters dropped, cut to a bounded length: it came from the peer).
pub fn add_refused(
    data: &Path,
    peer: &RelayUrl,
    refusals: &[(EventId, String)],
) -> std::io::Result<()> {
    if refusals.is_empty() {
        return Ok(());
    }
    let mut text = String::new();
    for (id, reason) in refusals {
        let reason: String = reason
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_REASON_CHARS)
            .collect();
        text.push_str(&format!("{} {reason}\n", id.to_hex()));
    }
    append(&refused_file(data, peer), text.as_bytes())
}

fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    out.write_all(bytes)?;
    out.sync_data()
}

/// The file of the uploads begun to the Blossom server at `place`.
fn begun_file(data: &Path, place: &str) -> PathBuf {
    let digest = Sha256::digest(format!("blossom {place}").as_bytes());
    data.join(DIR)
        .join(format!("{}.begun", hex::encode(&digest[..12])))
}

/// The blobs whose upload to the Blossom server at `place` began and did
/// not end: the server may keep part of each (see `blobs::upload`).
pub fn begun(data: &Path, place: &str) -> HashSet<BlobHash> {
    let Ok(text) = std::fs::read_to_string(begun_file(data, place)) else {
        return HashSet::new();
    };
    text.lines()
        .filter_map(|line| line.trim().parse::<BlobHash>().ok())
        .collect()
}

/// Replaces the uploads begun to `place` with `hashes`.
pub fn set_begun(data: &Path, place: &str, hashes: &HashSet<BlobHash>) -> std::io::Result<()> {
    let path = begun_file(data, place);
    if hashes.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        };
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text: String = hashes.iter().map(|h| format!("{}\n", h.to_hex())).collect();
    std::fs::write(&path, text)
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
    let mut bytes = Vec::with_capacity(ids.len() * 32);
    for id in ids {
        bytes.extend_from_slice(id.as_bytes());
    }
    append(&file(data, peer), &bytes)
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

    #[test]
    fn refusals_for_good_are_kept_with_their_reasons() {
        for reason in [
            "invalid: created_at too early",
            "blocked: not here",
            "pow: 20 bits",
        ] {
            assert!(is_final(reason), "{reason}");
        }
        for reason in [
            "rate-limited: slow down",
            "error: database busy",
            "auth-required: who are you",
            "restricted: members only",
            "",
        ] {
            assert!(!is_final(reason), "{reason}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let a = RelayUrl::parse("ws://127.0.0.1:1").expect("url");
        let b = RelayUrl::parse("ws://127.0.0.1:2").expect("url");
        let id = EventId::from_byte_array([7; 32]);
        let hostile = format!("invalid: \u{1b}[2Jcleared\nforged line {}", "x".repeat(500));
        add_refused(dir.path(), &a, &[(id, hostile)]).expect("add");
        let kept = refused(dir.path(), &a);
        assert_eq!(kept.len(), 1);
        let reason = &kept[&id];
        assert!(
            reason.starts_with("invalid: [2Jclearedforged line"),
            "{reason}"
        );
        assert!(!reason.chars().any(char::is_control), "{reason}");
        assert_eq!(reason.chars().count(), MAX_REASON_CHARS);
        assert!(refused(dir.path(), &b).is_empty());
        // Held wraps and refusals are kept apart.
        assert!(read(dir.path(), &a).is_empty());
    }
}
