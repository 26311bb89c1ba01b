//! JPEG: keep the image data, quantisation and Huffman tables, the colour
//! profile (ICC) and Adobe colour-transform segment, and the orientation;
//! drop EXIF (GPS, serials, times, thumbnails), XMP, IPTC, comments, MPF
//! side images and anything after the end-of-image marker.

use img_parts::Bytes;
use img_parts::jpeg::{Jpeg, JpegSegment, markers};

use crate::{MediaError, MediaType, exif_tiff};

pub fn strip(bytes: &[u8]) -> Result<(Vec<u8>, Vec<String>), MediaError> {
    let corrupt = |e: &dyn std::fmt::Display| MediaError::corrupt(MediaType::Jpeg, e);
    let mut jpeg = Jpeg::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|e| corrupt(&e))?;
    let orientation = orientation(&jpeg);
    let mut removed = Vec::new();
    jpeg.segments_mut().retain(|segment| {
        let keep = keep(segment);
        if !keep {
            removed.push(name(segment));
        }
        keep
    });
    if let Some(exif) = orientation.and_then(exif_tiff::orientation_only) {
        // After the JFIF segment if there is one, as readers expect.
        let at = usize::from(
            jpeg.segments()
                .first()
                .is_some_and(|s| s.marker() == markers::APP0),
        );
        jpeg.segments_mut().insert(
            at,
            JpegSegment::new_with_contents(
                markers::APP1,
                Bytes::from([b"Exif\0\0".as_slice(), &exif].concat()),
            ),
        );
    }
    let mut out = jpeg.encoder().bytes().to_vec();
    // img-parts keeps everything after the first scan as "entropy", which
    // includes what follows the image: side images with their own EXIF,
    // vendor trailers. Cut at the real end of image.
    let end =
        end_of_image(&out).ok_or_else(|| corrupt(&"no end-of-image marker (truncated file?)"))?;
    if end < out.len() {
        removed.push(format!(
            "{} bytes after the end of the image",
            out.len() - end
        ));
        out.truncate(end);
    }
    removed.sort();
    removed.dedup();
    Ok((out, removed))
}

fn keep(segment: &JpegSegment) -> bool {
    let contents = segment.contents();
    match segment.marker() {
        // JFIF without a thumbnail (the last two header bytes are its size).
        markers::APP0 => contents.starts_with(b"JFIF\0") && contents.get(12..14) == Some(&[0, 0]),
        markers::APP2 => contents.starts_with(b"ICC_PROFILE\0"),
        markers::APP14 => contents.starts_with(b"Adobe"),
        markers::DQT | markers::DHT | markers::DRI | markers::DAC => true,
        m if is_sof(m) => true,
        markers::SOS => true,
        _ => false,
    }
}

fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, markers::DHT | markers::JPG | markers::DAC)
}

fn name(segment: &JpegSegment) -> String {
    let contents = segment.contents();
    let starts = |p: &[u8]| contents.starts_with(p);
    match segment.marker() {
        markers::APP1 if starts(b"Exif\0") => "EXIF (GPS, camera, times, thumbnail)".into(),
        markers::APP1 if starts(b"http://ns.adobe.com/") => "XMP".into(),
        markers::APP13 => "IPTC / Photoshop".into(),
        markers::APP2 if starts(b"MPF\0") => "MPF side images".into(),
        markers::APP0 => "JFIF thumbnail".into(),
        0xFE => "comment".into(),
        m => format!("segment 0x{m:02X}"),
    }
}

fn orientation(jpeg: &Jpeg) -> Option<u32> {
    let tiff = jpeg
        .segments_by_marker(markers::APP1)
        .find_map(|s| s.contents().strip_prefix(b"Exif\0\0").map(<[u8]>::to_vec))?;
    exif_tiff::orientation(tiff)
}

/// Offset just past the EOI marker that ends the image, walking segments
/// and entropy-coded data (where 0xFF is followed by 0x00 or a restart
/// marker). Segments between progressive scans other than tables and
/// scans would be metadata, but are rare; they are kept out by refusing
/// them as corrupt rather than guessed at.
fn end_of_image(b: &[u8]) -> Option<usize> {
    let mut i = 2; // after SOI
    let mut in_scan = false;
    while i + 1 < b.len() {
        if b[i] != 0xFF {
            if !in_scan {
                return None;
            }
            i += 1;
            continue;
        }
        let marker = b[i + 1];
        match marker {
            0x00 | 0xD0..=0xD7 if in_scan => i += 2,
            0xFF => i += 1, // fill byte
            markers::EOI => return Some(i + 2),
            _ => {
                let len = usize::from(u16::from_be_bytes([*b.get(i + 2)?, *b.get(i + 3)?]));
                if len < 2 {
                    return None;
                }
                let allowed = matches!(
                    marker,
                    markers::DHT | markers::DQT | markers::DRI | markers::DAC | markers::SOS
                ) || is_sof(marker)
                    || !in_scan;
                if !allowed {
                    return None;
                }
                in_scan = marker == markers::SOS || in_scan;
                i += 2 + len;
            }
        }
    }
    None
}

/// The raw EXIF (TIFF) block of a JPEG, if it has one.
pub fn exif_block(bytes: &[u8]) -> Option<Vec<u8>> {
    let jpeg = Jpeg::from_bytes(Bytes::copy_from_slice(bytes)).ok()?;
    jpeg.segments_by_marker(markers::APP1)
        .find_map(|s| s.contents().strip_prefix(b"Exif\0\0").map(<[u8]>::to_vec))
}
