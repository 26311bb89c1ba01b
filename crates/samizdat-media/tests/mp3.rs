//! An MP3 built here carries a location, a device and a serial in every
//! tag the format knows (ID3v2 at the start, APEv2 and ID3v1 at the end)
//! and junk between frames; after `strip`, only the audio frames remain,
//! byte for byte.

mod common;

use common::contains;
use samizdat_media::{MediaError, MediaType, strip};

const SECRETS: &[&str] = &[
    "43.2389",
    "ACME-PHONE",
    "SN-4417-0042",
    "comment-by-witness",
    "TRAILER-SECRET",
];

/// An MPEG-1 Layer III frame, 128 kbit/s at 44.1 kHz: 417 bytes.
fn frame(i: u8) -> Vec<u8> {
    let mut f = vec![0xFF, 0xFB, 0x90, 0x00];
    f.extend((0..413).map(|j: u32| (j as u8).wrapping_mul(i).wrapping_add(i)));
    f
}

fn frames() -> Vec<u8> {
    (1..=10).flat_map(frame).collect()
}

fn id3v2(body: &[u8]) -> Vec<u8> {
    let n = body.len();
    let mut tag = b"ID3\x03\x00\x00".to_vec();
    tag.extend([21, 14, 7, 0].map(|shift| ((n >> shift) & 0x7F) as u8));
    tag.extend_from_slice(body);
    tag
}

fn ape(items: &[u8]) -> Vec<u8> {
    let block = |flags: u8| {
        let mut b = b"APETAGEX".to_vec();
        b.extend(2000u32.to_le_bytes());
        b.extend(((items.len() + 32) as u32).to_le_bytes());
        b.extend(1u32.to_le_bytes());
        b.extend([0, 0, 0, flags]);
        b.extend([0; 8]);
        b
    };
    let mut tag = block(0xA0); // header: has a header, is the header
    tag.extend_from_slice(items);
    tag.extend(block(0x80)); // footer
    tag
}

fn mp3_with_everything() -> Vec<u8> {
    let audio = frames();
    let mut out = id3v2(b"TXXX\0\0\0\x20\0\0\0GPS 43.2389 76.9445 TPE1 ACME-PHONE");
    out.extend_from_slice(&audio[..417 * 5]);
    out.extend_from_slice(b"comment-by-witness");
    out.extend_from_slice(&audio[417 * 5..]);
    out.extend(ape(b"\x0c\0\0\0\0\0\0\0Serial\0SN-4417-0042"));
    let mut v1 = b"TAG".to_vec();
    v1.extend_from_slice(b"TRAILER-SECRET");
    v1.resize(128, 0);
    out.extend(v1);
    out
}

#[test]
fn mp3_keeps_only_its_frames() {
    let original = mp3_with_everything();
    for secret in SECRETS {
        assert!(contains(&original, secret), "fixture plants {secret}");
    }
    let clean = strip(&original).expect("strips");
    assert_eq!(clean.media_type(), MediaType::Mp3);
    assert_eq!(clean.media_type().mime(), "audio/mpeg");
    assert_eq!(clean.dim(), None);
    for secret in SECRETS {
        assert!(!contains(clean.bytes(), secret), "{secret} survived");
    }
    assert_eq!(clean.bytes(), frames(), "every frame, byte for byte");
    for what in [
        "ID3v2 tag",
        "APE tag",
        "ID3v1 tag",
        "18 bytes between frames",
    ] {
        assert!(
            clean.removed().iter().any(|r| r == what),
            "{what} not reported: {:?}",
            clean.removed()
        );
    }
    assert_eq!(
        strip(clean.bytes()).expect("idempotent").bytes(),
        clean.bytes()
    );
}

#[test]
fn broken_mp3_is_refused() {
    let original = mp3_with_everything();
    let cut = &original[..original.len() - 128 - 100 - 300];
    assert!(
        matches!(strip(cut), Err(MediaError::Corrupt { kind: "MP3", .. })),
        "{:?}",
        strip(cut).err()
    );
    // A tag and no sound.
    let only_tag = id3v2(b"TPE1 ACME-PHONE");
    assert!(matches!(
        strip(&only_tag),
        Err(MediaError::Corrupt { kind: "MP3", .. })
    ));
    // One frame header in otherwise random bytes is not taken for MP3.
    let mut random = vec![0xFF, 0xFB, 0x90, 0x00];
    random.extend((0..2000u32).map(|i| (i * 7919 % 251) as u8));
    assert!(matches!(strip(&random), Err(MediaError::Unsupported(_))));
}
