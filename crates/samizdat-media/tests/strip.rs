//! Files built here carry GPS coordinates, a camera serial and other
//! identifying data in every place JPEG and PNG allow; after `strip`, none
//! of it remains anywhere in the bytes, and the picture decodes to the same
//! pixels.

use std::io::Cursor;

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::{ImageEncoder, RgbImage};
use img_parts::jpeg::{Jpeg, JpegSegment, markers};
use img_parts::png::{Png, PngChunk};
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

fn picture() -> RgbImage {
    RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
    })
}

fn exif_with_gps() -> Vec<u8> {
    let fields = [
        Field {
            tag: Tag::Make,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"ACME-PHONE".to_vec()]),
        },
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![6]),
        },
        Field {
            tag: Tag::BodySerialNumber,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"SN-4417-0042".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![
                Rational { num: 43, denom: 1 },
                Rational { num: 14, denom: 1 },
                Rational { num: 20, denom: 1 },
            ]),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"E".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![
                Rational { num: 76, denom: 1 },
                Rational { num: 56, denom: 1 },
                Rational { num: 40, denom: 1 },
            ]),
        },
    ];
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).expect("exif writes");
    out.into_inner()
}

fn plain_jpeg() -> Vec<u8> {
    let mut out = Vec::new();
    let pic = picture();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(
            pic.as_raw(),
            pic.width(),
            pic.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("jpeg encodes");
    out
}

/// A JPEG with EXIF (GPS, make, serial, orientation), XMP, IPTC, a
/// comment, an MPF segment and a side image with its own EXIF after EOI.
pub fn jpeg_with_everything() -> Vec<u8> {
    let mut jpeg = Jpeg::from_bytes(Bytes::from(plain_jpeg())).expect("parses");
    jpeg.set_exif(Some(Bytes::from(exif_with_gps())));
    let segments = jpeg.segments_mut();
    let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><exif:GPSLatitude>43,14.33N</exif:GPSLatitude></x:xmpmeta>";
    segments.insert(
        1,
        JpegSegment::new_with_contents(markers::APP1, Bytes::from_static(xmp)),
    );
    segments.insert(
        1,
        JpegSegment::new_with_contents(
            markers::APP13,
            Bytes::from_static(b"Photoshop 3.0\08BIM IPTC-ALMATY"),
        ),
    );
    segments.insert(
        1,
        JpegSegment::new_with_contents(0xFE, Bytes::from_static(b"comment-by-witness")),
    );
    segments.insert(
        1,
        JpegSegment::new_with_contents(
            markers::APP2,
            Bytes::from_static(b"MPF\0MM\0*TRAILER-SECRET"),
        ),
    );
    let mut bytes = jpeg.encoder().bytes().to_vec();
    let mut side = Jpeg::from_bytes(Bytes::from(plain_jpeg())).expect("parses");
    side.set_exif(Some(Bytes::from(exif_with_gps())));
    bytes.extend_from_slice(&side.encoder().bytes());
    bytes.extend_from_slice(b"TRAILER-SECRET");
    bytes
}

fn png_with_everything() -> Vec<u8> {
    let mut out = Vec::new();
    let pic = picture();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            pic.as_raw(),
            pic.width(),
            pic.height(),
            image::ExtendedColorType::Rgb8,
        )
        .expect("png encodes");
    let mut png = Png::from_bytes(Bytes::from(out)).expect("parses");
    png.set_exif(Some(Bytes::from(exif_with_gps())));
    let chunks = png.chunks_mut();
    chunks.insert(
        1,
        PngChunk::new(
            *b"tEXt",
            Bytes::from_static(b"Comment\0Location: 43.2389 76.9445"),
        ),
    );
    chunks.insert(
        1,
        PngChunk::new(
            *b"iTXt",
            Bytes::from_static(b"XML:com.adobe.xmp\0\0\0\0\0http://ns.adobe.com/ SN-4417-0042"),
        ),
    );
    chunks.insert(
        1,
        PngChunk::new(*b"tIME", Bytes::from_static(&[7, 230, 1, 5, 10, 0, 0])),
    );
    chunks.insert(
        1,
        PngChunk::new(*b"prVt", Bytes::from_static(b"ACME-PHONE")),
    );
    let mut bytes = png.encoder().bytes().to_vec();
    bytes.extend_from_slice(b"TRAILER-SECRET");
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
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
    let found = inspect(&original).expect("inspects");
    assert!(
        found.iter().any(|f| f.detail.starts_with("GPSLatitude")),
        "{found:#?}"
    );

    let clean = strip(&original).expect("strips");
    assert_eq!(clean.media_type, MediaType::Jpeg);
    assert_eq!(clean.dim, (64, 48));
    for secret in SECRETS {
        assert!(!contains(&clean.bytes, secret), "{secret} survived");
    }
    assert!(!contains(&clean.bytes, "GPS"));
    assert_eq!(pixels(&clean.bytes), pixels(&plain_jpeg()), "lossless");
    assert_eq!(
        inspect(&clean.bytes).expect("inspects"),
        vec![],
        "nothing left to find"
    );

    let exif = Jpeg::from_bytes(Bytes::from(clean.bytes.clone()))
        .expect("parses")
        .exif()
        .expect("orientation kept");
    let exif = exif::Reader::new()
        .read_raw(exif.to_vec())
        .expect("valid exif");
    assert_eq!(exif.fields().len(), 1);
    assert_eq!(
        exif.get_field(Tag::Orientation, In::PRIMARY)
            .and_then(|f| f.value.get_uint(0)),
        Some(6)
    );
    assert_eq!(strip(&clean.bytes).expect("idempotent").bytes, clean.bytes);
}

#[test]
fn png_loses_every_identifier_and_keeps_pixels() {
    let original = png_with_everything();
    let clean = strip(&original).expect("strips");
    assert_eq!(clean.media_type, MediaType::Png);
    for secret in SECRETS {
        assert!(!contains(&clean.bytes, secret), "{secret} survived");
    }
    assert!(!contains(&clean.bytes, "eXIf") && !contains(&clean.bytes, "tIME"));
    assert_eq!(pixels(&clean.bytes), picture().into_raw());
    assert!(
        clean.removed.iter().any(|r| r == "tEXt chunk"),
        "{:?}",
        clean.removed
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

    let err = strip(b"GIF89a\x01\x00\x01\x00").expect_err("gif refused");
    assert!(
        err.to_string().starts_with("GIF files are not accepted"),
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
