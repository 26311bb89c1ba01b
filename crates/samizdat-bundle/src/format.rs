//! The names and the two JSON documents of a bundle.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::BundleError;

/// The first member.
pub const HEADER: &str = "samizdat-bundle.json";
/// The last member.
pub const MANIFEST: &str = "manifest.json";
/// What `format` says in both documents.
pub const FORMAT: &str = "samizdat-bundle";
/// The version this code writes and the newest it reads.
pub const VERSION: u32 = 1;

/// The first member: what this file is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// Random, 32 hex digits: names this bundle in messages.
    pub id: String,
    /// When it was written (Unix seconds).
    pub created_at: u64,
    /// In a bundle split into parts, which part this file is (from 1).
    /// Every part of a bundle has the bundle's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<u32>,
}

/// One member as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub path: String,
    pub size: u64,
    /// SHA-256 of the member's bytes, hex.
    pub sha256: String,
}

/// The last member: what the bundle holds, and how to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// The header's id.
    pub id: String,
    /// Event lines over all `events/` members.
    pub events: u64,
    /// `blobs/` members.
    pub blobs: u64,
    /// Every member before the manifest, in order, header included.
    pub members: Vec<Member>,
    /// SHA-256 over the member list: for each member the line
    /// `<sha256 hex> <size> <path>\n`, in order.
    pub digest: String,
    /// The header's part, in a bundle split into parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<u32>,
    /// In the last part only: how many parts there are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<u32>,
}

impl Manifest {
    /// The digest of `members`, as [`Manifest::digest`] holds it.
    pub fn digest_of(members: &[Member]) -> String {
        let mut hasher = Sha256::new();
        for m in members {
            hasher.update(format!("{} {} {}\n", m.sha256, m.size, m.path).as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

/// What a member is, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    Header,
    /// `events/NNNNNN.jsonl`, numbered from 1.
    Events(u32),
    /// `blobs/<sha256 hex>`.
    Blob([u8; 32]),
    Manifest,
}

impl MemberKind {
    /// The member's name in the archive.
    pub fn path(&self) -> String {
        match self {
            MemberKind::Header => HEADER.to_string(),
            MemberKind::Events(n) => format!("events/{n:06}.jsonl"),
            MemberKind::Blob(hash) => format!("blobs/{}", hex::encode(hash)),
            MemberKind::Manifest => MANIFEST.to_string(),
        }
    }
}

/// The kind of the member named `path`, or why no bundle has such a
/// member. Only the exact names [`MemberKind::path`] writes are taken: no
/// directories, no `..`, no absolute paths, no upper-case hex, no second
/// spelling of a name.
pub fn classify(path: &str) -> Result<MemberKind, BundleError> {
    let bad = |why: &'static str| BundleError::BadMember {
        path: path.to_string(),
        why,
    };
    if path == HEADER {
        return Ok(MemberKind::Header);
    }
    if path == MANIFEST {
        return Ok(MemberKind::Manifest);
    }
    if let Some(name) = path.strip_prefix("events/") {
        let digits = name
            .strip_suffix(".jsonl")
            .ok_or_else(|| bad("an events member ends in .jsonl"))?;
        if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("an events member is numbered with six digits"));
        }
        let n: u32 = digits
            .parse()
            .map_err(|_| bad("an events member is numbered with six digits"))?;
        if n == 0 {
            return Err(bad("events members are numbered from 1"));
        }
        return Ok(MemberKind::Events(n));
    }
    if let Some(name) = path.strip_prefix("blobs/") {
        let lower_hex =
            name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !lower_hex {
            return Err(bad(
                "a blob member is named by its SHA-256 in lower-case hex",
            ));
        }
        let mut hash = [0u8; 32];
        hex::decode_to_slice(name, &mut hash)
            .map_err(|_| bad("a blob member is named by its SHA-256 in lower-case hex"))?;
        return Ok(MemberKind::Blob(hash));
    }
    Err(bad("an unknown name (or a path that leaves the bundle)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_nothing_else_passes() {
        for kind in [
            MemberKind::Header,
            MemberKind::Events(1),
            MemberKind::Events(999_999),
            MemberKind::Blob([0xab; 32]),
            MemberKind::Manifest,
        ] {
            assert_eq!(classify(&kind.path()).expect("a bundle name"), kind);
        }
        for hostile in [
            "../manifest.json",
            "/etc/passwd",
            "events/../../x.jsonl",
            "events/000000.jsonl",
            "events/1.jsonl",
            "events/0000001.jsonl",
            "blobs/../../../.bashrc",
            &format!("blobs/{}", "AB".repeat(32)),
            &format!("blobs/{}/x", "ab".repeat(32)),
            "./samizdat-bundle.json",
            "",
        ] {
            assert!(classify(hostile).is_err(), "{hostile:?} was taken");
        }
    }

    #[test]
    fn the_digest_covers_every_field_of_every_member() {
        let members = vec![Member {
            path: HEADER.into(),
            size: 10,
            sha256: "00".repeat(32),
        }];
        let digest = Manifest::digest_of(&members);
        let mut other = members.clone();
        other[0].size = 11;
        assert_ne!(Manifest::digest_of(&other), digest);
        let mut other = members.clone();
        other[0].path = MANIFEST.into();
        assert_ne!(Manifest::digest_of(&other), digest);
    }
}
