//! Helpers shared by the media tests.

use std::io::Cursor;

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::{ImageEncoder, RgbImage};
use img_parts::jpeg::{Jpeg, JpegSegment, markers};
use img_parts::png::{Png, PngChunk};
use img_parts::{Bytes, ImageEXIF};

/// Whether `needle` occurs anywhere in the bytes.
#[allow(dead_code)] // not every test file looks for strings
pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// An ISO base media box: 32-bit size, type, body.
#[allow(dead_code)] // not every test file builds boxes
pub fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

#[allow(dead_code)]
pub fn picture() -> RgbImage {
    RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
    })
}

#[allow(dead_code)]
pub fn exif_with_gps() -> Vec<u8> {
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

#[allow(dead_code)]
pub fn plain_jpeg() -> Vec<u8> {
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

#[allow(dead_code)]
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

#[allow(dead_code)]
pub fn png_with_everything() -> Vec<u8> {
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
