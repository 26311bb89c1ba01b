//! Files built here carry GPS coordinates, a camera serial and other
//! identifying data in every place JPEG, PNG and WebP allow; after `strip`, none
//! of it remains anywhere in the bytes, and the picture decodes to the same
//! pixels.

mod common;

use common::{
    contains, exif_with_gps, jpeg_with_everything, picture, plain_jpeg, png_with_everything,
};
use exif::{In, Tag};
use image::ImageEncoder;
use img_parts::jpeg::Jpeg;
use img_parts::riff::{RiffChunk, RiffContent};
use img_parts::webp::WebP;
use img_parts::{Bytes, ImageEXIF};
use samizdat_media::{MediaError, MediaType, inspect, strip};

/// Strings planted in the metadata; none may survive.
const SECRETS: &[&str] = &[
    "ACME-PHONE",
    "SN-4417-0042",
    "ns.adobe.com",
    "IPTC-ALMATY",
    "comment-by-witness",
    "TRAILER-SECRET",
    "Location: 43.2389",
    "prVt",
];

fn plain_webp() -> Vec<u8> {
    let mut out = Vec::new();
    let pic = picture();
    image::codecs::webp::WebPEncoder::new_lossless(&mut out)
        .write_image(
            pic.as_raw(),
            pic.width(),
            pic.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("webp encodes");
    out
}

/// A RIFF chunk as bytes: id, little-endian size, contents, padding.
fn riff_chunk(id: &[u8; 4], contents: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.extend_from_slice(&(contents.len() as u32).to_le_bytes());
    out.extend_from_slice(contents);
    if contents.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// A WebP in the extended format with EXIF (GPS, make, serial,
/// orientation), XMP, a private chunk, and a trailer after the container.
fn webp_with_everything() -> Vec<u8> {
    let mut webp = WebP::from_bytes(Bytes::from(plain_webp())).expect("parses");
    // Adds the VP8X header, with the EXIF flag set.
    webp.set_exif(Some(Bytes::from(exif_with_gps())));
    let chunks = webp.chunks_mut();
    chunks.push(RiffChunk::new(
        *b"XMP ",
        RiffContent::Data(Bytes::from_static(
            b"<x:xmpmeta xmlns:x='adobe:ns:meta/' about='http://ns.adobe.com/'>\
              <tiff:Make>ACME-PHONE</tiff:Make><aux:SerialNumber>SN-4417-0042</aux:SerialNumber>\
              <exif:GPSLatitude>43,14.33N</exif:GPSLatitude></x:xmpmeta>",
        )),
    ));
    chunks.push(RiffChunk::new(
        *b"prVt",
        RiffContent::Data(Bytes::from_static(b"comment-by-witness")),
    ));
    let vp8x = chunks
        .iter_mut()
        .find(|c| c.id() == *b"VP8X")
        .expect("extended format");
    if let RiffContent::Data(data) = vp8x.content_mut() {
        let mut header = data.to_vec();
        header[0] |= 0b0000_0100; // XMP present
        *data = Bytes::from(header);
    }
    let mut bytes = webp.encoder().bytes().to_vec();
    bytes.extend_from_slice(b"TRAILER-SECRET");
    bytes
}

/// An animated WebP of one frame whose ANMF chunk carries, beside the image
/// data, a private sub-chunk.
fn animated_webp_with_secret() -> Vec<u8> {
    let plain = WebP::from_bytes(Bytes::from(plain_webp())).expect("parses");
    let vp8l = plain
        .chunk_by_id(*b"VP8L")
        .and_then(|c| c.content().data().cloned())
        .expect("lossless image data");
    let (w, h) = (63u32, 47u32); // canvas size minus one
    let le24 = |v: u32| v.to_le_bytes()[..3].to_vec();
    let mut vp8x = vec![0b0000_0010, 0, 0, 0]; // animation
    vp8x.extend(le24(w));
    vp8x.extend(le24(h));
    let anim = [0u8, 0, 0, 0, 0, 0]; // background colour, loop forever
    let mut frame = Vec::new();
    frame.extend(le24(0)); // x / 2
    frame.extend(le24(0)); // y / 2
    frame.extend(le24(w));
    frame.extend(le24(h));
    frame.extend(le24(100)); // duration, ms
    frame.push(0); // flags
    frame.extend(riff_chunk(b"VP8L", &vp8l));
    frame.extend(riff_chunk(b"prVt", b"ACME-PHONE SN-4417-0042"));
    let mut body = b"WEBP".to_vec();
    body.extend(riff_chunk(b"VP8X", &vp8x));
    body.extend(riff_chunk(b"ANIM", &anim));
    body.extend(riff_chunk(b"ANMF", &frame));
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

/// Strips a fixture that carries GPS coordinates and every secret, and
/// checks that none is left.
fn strip_checked(original: &[u8], media_type: MediaType) -> samizdat_media::Stripped {
    let found = inspect(original).expect("inspects");
    assert!(
        found.iter().any(|f| f.detail.starts_with("GPSLatitude")),
        "{found:#?}"
    );
    let clean = strip(original).expect("strips");
    assert_eq!(clean.media_type(), media_type);
    assert_eq!(clean.dim(), Some((64, 48)));
    for secret in SECRETS {
        assert!(!contains(clean.bytes(), secret), "{secret} survived");
    }
    clean
}

/// An EXIF block that holds the fixture's orientation and nothing else.
fn assert_only_orientation_6(tiff: Vec<u8>) {
    let exif = exif::Reader::new().read_raw(tiff).expect("valid exif");
    assert_eq!(exif.fields().len(), 1);
    assert_eq!(
        exif.get_field(Tag::Orientation, In::PRIMARY)
            .and_then(|f| f.value.get_uint(0)),
        Some(6)
    );
}

fn pixels(bytes: &[u8]) -> Vec<u8> {
    image::load_from_memory(bytes)
        .expect("decodes")
        .to_rgb8()
        .into_raw()
}

#[test]
fn jpeg_loses_every_identifier_and_keeps_pixels_and_orientation() {
    let original = jpeg_with_everything();
    assert!(
        SECRETS[..6].iter().all(|s| contains(&original, s)),
        "fixture plants every secret"
    );
    let clean = strip_checked(&original, MediaType::Jpeg);
    assert!(!contains(clean.bytes(), "GPS"));
    assert_eq!(pixels(clean.bytes()), pixels(&plain_jpeg()), "lossless");
    assert_eq!(
        inspect(clean.bytes()).expect("inspects"),
        vec![],
        "nothing left to find"
    );

    let exif = Jpeg::from_bytes(Bytes::from(clean.bytes().to_vec()))
        .expect("parses")
        .exif()
        .expect("orientation kept");
    assert_only_orientation_6(exif.to_vec());
    assert_eq!(
        strip(clean.bytes()).expect("idempotent").bytes(),
        clean.bytes()
    );
}

#[test]
fn png_loses_every_identifier_and_keeps_pixels() {
    let original = png_with_everything();
    let clean = strip(&original).expect("strips");
    assert_eq!(clean.media_type(), MediaType::Png);
    for secret in SECRETS {
        assert!(!contains(clean.bytes(), secret), "{secret} survived");
    }
    assert!(!contains(clean.bytes(), "eXIf") && !contains(clean.bytes(), "tIME"));
    assert_eq!(pixels(clean.bytes()), picture().into_raw());
    assert!(
        clean.removed().iter().any(|r| r == "tEXt chunk"),
        "{:?}",
        clean.removed()
    );
}

#[test]
fn webp_loses_every_identifier_and_keeps_pixels_and_orientation() {
    let original = webp_with_everything();
    for secret in [
        "ACME-PHONE",
        "SN-4417-0042",
        "ns.adobe.com",
        "comment-by-witness",
    ] {
        assert!(contains(&original, secret), "fixture plants {secret}");
    }
    assert_eq!(
        pixels(&original),
        picture().into_raw(),
        "the fixture decodes"
    );
    let clean = strip_checked(&original, MediaType::WebP);
    assert!(!contains(clean.bytes(), "GPS") && !contains(clean.bytes(), "XMP "));
    assert_eq!(pixels(clean.bytes()), picture().into_raw(), "lossless");
    assert_eq!(inspect(clean.bytes()).expect("inspects"), vec![]);

    let webp = WebP::from_bytes(Bytes::from(clean.bytes().to_vec())).expect("parses");
    let flags = webp
        .chunk_by_id(*b"VP8X")
        .and_then(|c| c.content().data().cloned())
        .expect("still extended")[0];
    assert_eq!(
        flags & 0b0000_1100,
        0b0000_1000,
        "EXIF flag only: {flags:#010b}"
    );
    assert_only_orientation_6(webp.exif().expect("orientation kept").to_vec());
    assert_eq!(
        strip(clean.bytes()).expect("idempotent").bytes(),
        clean.bytes()
    );

    // Without an orientation to keep, no EXIF chunk and no EXIF flag.
    let plain = strip(&plain_webp()).expect("strips a plain file");
    assert!(!contains(plain.bytes(), "EXIF"));
    assert_eq!(pixels(plain.bytes()), picture().into_raw());
}

#[test]
fn webp_animation_frames_lose_their_private_chunks() {
    let original = animated_webp_with_secret();
    assert!(contains(&original, "SN-4417-0042"));
    let clean = strip(&original).expect("strips");
    for secret in SECRETS {
        assert!(!contains(clean.bytes(), secret), "{secret} survived");
    }
    assert!(
        clean
            .removed()
            .iter()
            .any(|r| r == "prVt chunk inside an animation frame"),
        "{:?}",
        clean.removed()
    );
    // The decoder composes the frame onto the canvas (with its own
    // rounding): the same before and after.
    assert_eq!(pixels(clean.bytes()), pixels(&original));

    // A sub-chunk that claims more bytes than its frame holds.
    let mut broken = original;
    let at = broken
        .windows(4)
        .position(|w| w == b"prVt")
        .expect("private sub-chunk");
    broken[at + 4..at + 8].copy_from_slice(&1_000_000u32.to_le_bytes());
    let err = strip(&broken).expect_err("refused");
    assert!(
        matches!(err, MediaError::Corrupt { kind: "WebP", .. })
            && err.to_string().contains("animation frame"),
        "{err:?}"
    );
}

#[test]
fn corrupt_and_foreign_files_are_refused() {
    let jpeg = jpeg_with_everything();
    let truncated = &jpeg[..jpeg.len() / 3];
    assert!(
        matches!(
            strip(truncated),
            Err(MediaError::Corrupt { kind: "JPEG", .. })
        ),
        "{:?}",
        strip(truncated).err()
    );

    let mut png = png_with_everything();
    let idat = png.windows(4).position(|w| w == b"IDAT").expect("has IDAT");
    png[idat + 10] ^= 0xFF;
    assert!(matches!(
        strip(&png),
        Err(MediaError::Corrupt { kind: "PNG", .. })
    ));

    let webp = webp_with_everything();
    for cut in [webp.len() / 2, 40, 20, 13] {
        assert!(
            matches!(
                strip(&webp[..cut]),
                Err(MediaError::Corrupt { kind: "WebP", .. })
            ),
            "cut at {cut}: {:?}",
            strip(&webp[..cut]).err()
        );
    }

    let err = strip(b"GIF89a\x01\x00\x01\x00").expect_err("gif refused");
    assert!(err.to_string().starts_with("corrupt GIF file"), "{err}");
    let err = strip(b"II*\0\x08\0\0\0").expect_err("TIFF refused");
    assert!(
        err.to_string()
            .starts_with("TIFF (or a raw photo: DNG, CR2, NEF, ARW) files are not accepted"),
        "{err}"
    );
    assert!(matches!(strip(b"hello"), Err(MediaError::Unsupported(_))));
    assert!(matches!(strip(&[]), Err(MediaError::Unsupported(_))));
}

/// Regenerates the photo used in the README tour (`SAMIZDAT_BLESS=1`), and
/// checks the committed one still carries GPS coordinates.
#[test]
fn tour_photo_carries_gps() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/tour/photo-with-gps.jpg"
    );
    if std::env::var_os("SAMIZDAT_BLESS").is_some() {
        std::fs::write(path, jpeg_with_everything()).expect("write tour photo");
    }
    let bytes = std::fs::read(path).expect("tour photo is committed");
    let found = inspect(&bytes).expect("inspects");
    assert!(found.iter().any(|f| f.detail.starts_with("GPSLatitude")));
}
