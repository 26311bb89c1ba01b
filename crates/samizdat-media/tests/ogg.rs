//! Ogg sound built here (an Opus voice message, a Vorbis recording)
//! carries a location, a device and a serial in its comment header and
//! junk after its last page; after `strip`, every audio packet is there,
//! byte for byte, with its granule position, and none of the tags is.

mod common;

use std::io::Cursor;

use common::contains;
use ogg::writing::PacketWriteEndInfo;
use ogg::{PacketReader, PacketWriter};
use samizdat_media::{MediaError, MediaType, strip};

const SECRETS: &[&str] = &["43.2389", "ACME-PHONE", "SN-4417-0042", "TRAILER-SECRET"];

fn comments(magic: &[u8], vendor: &str, tags: &[&str], framing: bool) -> Vec<u8> {
    let mut p = magic.to_vec();
    p.extend((vendor.len() as u32).to_le_bytes());
    p.extend_from_slice(vendor.as_bytes());
    p.extend((tags.len() as u32).to_le_bytes());
    for t in tags {
        p.extend((t.len() as u32).to_le_bytes());
        p.extend_from_slice(t.as_bytes());
    }
    if framing {
        p.push(1);
    }
    p
}

const TAGS: &[&str] = &[
    "LOCATION=43.2389,76.9445",
    "DEVICE=SN-4417-0042",
    "DATE=2026-11-30T14:30",
];

fn audio(i: u32) -> Vec<u8> {
    (0..60 + i).map(|j| (j * 31 + i * 7) as u8).collect()
}

/// Headers, then 30 audio packets, several to a page; then junk.
fn stream(headers: &[Vec<u8>], serial: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = PacketWriter::new(&mut out);
        for h in headers {
            w.write_packet(h.clone(), serial, PacketWriteEndInfo::EndPage, 0)
                .unwrap();
        }
        for i in 0..30u32 {
            let end = match i {
                29 => PacketWriteEndInfo::EndStream,
                i if i % 4 == 3 => PacketWriteEndInfo::EndPage,
                _ => PacketWriteEndInfo::NormalPacket,
            };
            w.write_packet(audio(i), serial, end, u64::from(i + 1) * 960)
                .unwrap();
        }
    }
    out
}

fn opus() -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.extend([1, 1, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, 0]);
    let tags = comments(b"OpusTags", "libopus ACME-PHONE", TAGS, false);
    let mut file = stream(&[head, tags], 0x5A17);
    file.extend_from_slice(b"TRAILER-SECRET");
    file
}

fn vorbis() -> Vec<u8> {
    let mut id = b"\x01vorbis".to_vec();
    id.extend([
        0, 0, 0, 0, 1, 0x44, 0xAC, 0, 0, 0, 0, 0, 0, 0xEE, 0x02, 0, 0, 0, 0, 0, 0xB8, 1,
    ]);
    let tags = comments(b"\x03vorbis", "Xiph ACME-PHONE", TAGS, true);
    let setup = b"\x05vorbis setup tables".to_vec();
    stream(&[id, tags, setup], 77)
}

/// Every packet with its stream, granule position and flags.
fn packets(bytes: &[u8]) -> Vec<(u32, u64, bool, Vec<u8>)> {
    let mut r = PacketReader::new(Cursor::new(bytes));
    let mut all = Vec::new();
    while let Some(p) = r.read_packet().expect("reads back") {
        all.push((p.stream_serial(), p.absgp_page(), p.last_in_page(), p.data));
    }
    all
}

fn strips_tags_and_keeps_sound(original: &[u8], comment_index: usize, empty: &[u8]) {
    for secret in SECRETS.iter().filter(|s| **s != "TRAILER-SECRET") {
        assert!(contains(original, secret), "fixture plants {secret}");
    }
    let clean = strip(original).expect("strips");
    assert_eq!(clean.media_type(), MediaType::Ogg);
    assert_eq!(clean.media_type().mime(), "audio/ogg");
    assert_eq!(clean.dim(), None);
    for secret in SECRETS {
        assert!(!contains(clean.bytes(), secret), "{secret} survived");
    }
    assert_eq!(
        clean.removed(),
        ["Ogg tags (DATE, DEVICE, LOCATION)"],
        "{:?}",
        clean.removed()
    );
    let before = packets(original);
    let after = packets(clean.bytes());
    assert_eq!(before.len(), after.len());
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        if i == comment_index {
            assert_eq!(a.3, empty, "an empty comment header");
        } else {
            assert_eq!(a, b, "packet {i}: same bytes, granule and page end");
        }
    }
    assert_eq!(
        strip(clean.bytes()).expect("idempotent").bytes(),
        clean.bytes()
    );
}

#[test]
fn opus_loses_its_tags_and_keeps_its_sound() {
    strips_tags_and_keeps_sound(&opus(), 1, b"OpusTags\0\0\0\0\0\0\0\0");
}

#[test]
fn vorbis_loses_its_tags_and_keeps_its_sound() {
    strips_tags_and_keeps_sound(&vorbis(), 1, b"\x03vorbis\0\0\0\0\0\0\0\0\x01");
}

#[test]
fn broken_or_foreign_ogg_is_refused() {
    let original = opus();
    let cut = &original[..original.len() / 2];
    assert!(
        matches!(strip(cut), Err(MediaError::Corrupt { kind: "Ogg", .. })),
        "{:?}",
        strip(cut).err()
    );
    // A flipped byte in a page: its checksum no longer holds.
    let mut flipped = original.clone();
    flipped[200] ^= 0x10;
    assert!(
        matches!(
            strip(&flipped),
            Err(MediaError::Corrupt { kind: "Ogg", .. })
        ),
        "{:?}",
        strip(&flipped).err()
    );
    // Theora video in Ogg: not something samizdat can clean.
    let theora = stream(
        &[b"\x80theora header".to_vec(), b"\x81theora tags".to_vec()],
        9,
    );
    assert!(matches!(strip(&theora), Err(MediaError::Unsupported(_))));
    // Only the capture pattern.
    assert!(strip(b"OggS and nothing else").is_err());
}
