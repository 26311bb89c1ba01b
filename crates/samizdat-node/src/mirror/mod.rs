//! Publishing that survives blocking: a static mirror of the public
//! records that anyone can host, copy or open from a USB stick
//! ([`site`]) and its check ([`verify`]). (Pushing the public records to
//! public Nostr relays is a client's work: `client::relays`.)
//!
//! Only what the author made public leaves: testimonies, person reports,
//! samizdat attestations and retractions, signed, that follow their
//! kind's rules and carry no NIP-70 `["-"]` tag. Sealed records (gift
//! wraps, seals, file messages), other applications' events and records
//! the author marked private never do. See `docs/PROTOCOL.md`, "Static
//! mirror".

pub mod site;
pub mod verify;

/// The file name extension a browser opening the mirror from disk needs
/// to show a blob of media type `mime`.
pub fn extension(mime: &str) -> &'static str {
    samizdat_core::blob::MEDIA_TYPES
        .iter()
        .find(|(m, _)| *m == mime)
        .map_or("bin", |(_, ext)| ext)
}
