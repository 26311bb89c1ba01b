//! Publishing that survives blocking: a static mirror of the public
//! records that anyone can host, copy or open from a USB stick
//! ([`site`]), its check ([`verify`]), and pushing the public records to
//! public Nostr relays ([`relays`]).
//!
//! Only what the author made public leaves: testimonies, person reports,
//! samizdat attestations and retractions, signed, that follow their
//! kind's rules and carry no NIP-70 `["-"]` tag. Sealed records (gift
//! wraps, seals, file messages), other applications' events and records
//! the author marked private never do. See `docs/PROTOCOL.md`, "Static
//! mirror".

pub mod relays;
pub mod site;
pub mod verify;

use samizdat_core::nostr::prelude::Event;
use samizdat_core::record::Record;

/// Whether `event` is a public samizdat record that may leave this node:
/// a testimony, person report, attestation or retraction that follows
/// its kind's rules, without the NIP-70 `["-"]` tag (the author asked that
/// nobody else publish it).
pub fn is_public(event: &Event) -> bool {
    if is_protected(event) {
        return false;
    }
    matches!(
        Record::parse(event),
        Ok(Record::Testimony(_)
            | Record::PersonReport(_)
            | Record::Attestation(_)
            | Record::Retraction(_))
    )
}

/// Whether the author marked `event` with NIP-70's `["-"]` tag: nobody
/// but the author may publish it.
pub fn is_protected(event: &Event) -> bool {
    event
        .tags
        .iter()
        .any(|t| t.as_slice().first().is_some_and(|name| name == "-"))
}

/// The file name extension a browser opening the mirror from disk needs
/// to show a blob of media type `mime`.
pub fn extension(mime: &str) -> &'static str {
    samizdat_core::blob::MEDIA_TYPES
        .iter()
        .find(|(m, _)| *m == mime)
        .map_or("bin", |(_, ext)| ext)
}
