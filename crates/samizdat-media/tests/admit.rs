//! The admission rule of every door: files of formats samizdat does not
//! clean are refused whatever they carry, recognised files with junk in
//! front of them are refused, metadata is refused, and only clean media or
//! encrypted data (a real sealed file) gets in.

mod common;

use common::{boxed, exif_with_gps, jpeg_with_everything, plain_jpeg, png_with_everything};
use samizdat_core::nostr::prelude::EventId;
use samizdat_core::sealed_file::{Role, SealedFile};
use samizdat_media::{Admitted, MediaError, MediaType, admit, strip};

/// Compressed-looking filler: the coded picture or sound of a file.
fn filler(seed: u64, n: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// A TIFF directory (little-endian) of `(tag, type, count, value or
/// bytes)` entries, values that do not fit in four bytes written after it.
fn tiff(entries: &[(u16, u16, &[u8])], magic: &[u8; 4], after: &[u8]) -> Vec<u8> {
    let mut out = magic.to_vec();
    out.extend_from_slice(&8u32.to_le_bytes());
    let dir_len = 2 + entries.len() * 12 + 4;
    let mut data = Vec::new();
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        let unit = match kind {
            3 => 2,
            4 => 4,
            5 => 8,
            _ => 1,
        };
        out.extend_from_slice(&((value.len() / unit) as u32).to_le_bytes());
        if value.len() <= 4 {
            let mut v = value.to_vec();
            v.resize(4, 0);
            out.extend_from_slice(&v);
        } else {
            let at = 8 + dir_len + data.len();
            out.extend_from_slice(&(at as u32).to_le_bytes());
            data.extend_from_slice(value);
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&data);
    out.extend_from_slice(after);
    out
}

fn rationals(values: &[(u32, u32)]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()].concat())
        .collect()
}

/// A camera's TIFF-based file: make, model, serial, GPS, a strip of
/// picture. `magic` picks TIFF, DNG (with its version tag) or CR2.
fn camera_file(magic: &[u8; 4], extra: &[(u16, u16, &[u8])]) -> Vec<u8> {
    let lat = rationals(&[(43, 1), (14, 1), (2033, 100)]);
    let lon = rationals(&[(76, 1), (53, 1), (2211, 100)]);
    let mut entries: Vec<(u16, u16, &[u8])> = vec![
        (0x010F, 2, b"ACME-CAMERA\0"),
        (0x0110, 2, b"ACME X100 MARK II\0"),
        (0xA431, 2, b"SN-4417-0042\0"),
        (0x0132, 2, b"2022:01:05 14:30:00\0"),
        (0x0001, 2, b"N\0"),
        (0x0002, 5, &lat),
        (0x0003, 2, b"E\0"),
        (0x0004, 5, &lon),
    ];
    entries.extend_from_slice(extra);
    tiff(&entries, magic, &filler(3, 40_000))
}

fn ebml_element(id: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.push(0x01);
    out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

/// A file in each format samizdat does not clean, each with identifying
/// data in it, named as the refusal names it; and files of formats it
/// cleans that do not hold together (only a header), refused as corrupt.
fn uncleaned() -> Vec<(&'static str, Vec<u8>)> {
    let tiff_file = camera_file(b"II*\0", &[]);
    let dng = camera_file(b"II*\0", &[(0xC612, 1, &[1, 4, 0, 0])]);
    let mut cr2 = camera_file(b"II*\0", &[]);
    cr2.splice(8..8, *b"CR\x02\0");
    let big_endian = {
        let mut t = camera_file(b"MM\0*", &[]);
        t[4..8].copy_from_slice(&8u32.to_be_bytes());
        t
    };
    let jxl = [
        &b"\0\0\0\x0cJXL \r\n\x87\n"[..],
        &boxed(b"ftyp", b"jxl \0\0\0\0jxl "),
        &boxed(b"Exif", &[&[0, 0, 0, 0][..], &exif_with_gps()].concat()),
        &boxed(b"xml ", b"<x:xmpmeta>GPSLatitude 43.2389</x:xmpmeta>"),
        &boxed(b"jxlc", &[&[0xFF, 0x0A][..], &filler(4, 8_000)].concat()),
    ]
    .concat();
    let jp2 = [
        &b"\0\0\0\x0cjP  \r\n\x87\n"[..],
        &boxed(b"ftyp", b"jp2 \0\0\0\0jp2 "),
        &boxed(b"uuid", &[&[0xBE; 16][..], &exif_with_gps()].concat()),
        &boxed(
            b"jp2c",
            &[&[0xFF, 0x4F, 0xFF, 0x51][..], &filler(5, 8_000)].concat(),
        ),
    ]
    .concat();
    let flac = {
        let mut f = b"fLaC".to_vec();
        let mut streaminfo = vec![0x00, 0, 0, 34];
        streaminfo.extend_from_slice(&filler(6, 34));
        f.extend_from_slice(&streaminfo);
        let comment = b"\x0c\0\0\0reference libFLAC\x02\0\0\0\x16\0\0\0ARTIST=Witness Aigerim\x1b\0\0\0LOCATION=43.2389,76.8897 SN";
        f.push(0x84);
        f.extend_from_slice(&(comment.len() as u32).to_be_bytes()[1..]);
        f.extend_from_slice(comment);
        f.extend_from_slice(&[0xFF, 0xF8]);
        f.extend_from_slice(&filler(7, 20_000));
        f
    };
    let webm = [
        ebml_element(
            &[0x1A, 0x45, 0xDF, 0xA3],
            &ebml_element(&[0x42, 0x82], b"webm"),
        ),
        ebml_element(
            &[0x18, 0x53, 0x80, 0x67],
            &[
                ebml_element(
                    &[0x15, 0x49, 0xA9, 0x66],
                    &[
                        ebml_element(&[0x7B, 0xA9], b"Almaty, Republic Square"),
                        ebml_element(&[0x57, 0x41], b"ACME-PHONE SN-4417-0042"),
                    ]
                    .concat(),
                ),
                ebml_element(&[0x1F, 0x43, 0xB6, 0x75], &filler(8, 20_000)),
            ]
            .concat(),
        ),
    ]
    .concat();
    let pdf =
        b"%PDF-1.7\n1 0 obj << /Author (Witness) /Producer (ACME-PHONE SN-4417-0042) >> endobj\n"
            .iter()
            .copied()
            .chain(filler(9, 5_000))
            .collect();
    let psd = [
        &b"8BPS\0\x01\0\0\0\0\0\0\0\x03\0\0\0\x40\0\0\0\x40\0\x08\0\x03"[..],
        &exif_with_gps(),
        &filler(10, 10_000),
    ]
    .concat();
    let svg =
        b"<svg xmlns='http://www.w3.org/2000/svg'><metadata>GPS 43.2389 76.8897</metadata></svg>"
            .to_vec();
    let html =
        b"<!DOCTYPE html><meta http-equiv=refresh content='0;url=http://evil.example/'>".to_vec();
    let heading_html = b"\n\n  <head><title>lat 43.2389</title></head>".to_vec();
    let avif = [
        &boxed(b"ftyp", b"avif\0\0\0\0mif1avif")[..],
        &boxed(b"meta", &[&[0; 4][..], &exif_with_gps()].concat()),
        &boxed(b"mdat", &filler(11, 8_000)),
    ]
    .concat();
    let zip = [
        &b"PK\x03\x04\x14\0\0\0"[..],
        b"word/document.xml",
        &filler(12, 3_000),
    ]
    .concat();
    let text = "Алматы, площадь Республики, 5 января, 14:30. Снято на ACME-PHONE."
        .as_bytes()
        .to_vec();
    vec![
        ("TIFF", tiff_file),
        ("TIFF", dng),
        ("TIFF", cr2),
        ("TIFF", big_endian),
        ("JPEG XL", jxl),
        ("JPEG 2000", jp2),
        ("FLAC", flac),
        ("WebM", webm),
        ("PDF", pdf),
        ("Photoshop", psd),
        ("SVG", svg),
        ("HTML", html),
        ("text", heading_html),
        ("AVIF", avif),
        ("ZIP", zip),
        ("text", text),
    ]
}

#[test]
fn every_format_samizdat_cannot_clean_is_refused() {
    for (name, file) in uncleaned() {
        let refusal = admit(&file).expect_err(name);
        let message = refusal.to_string();
        assert!(message.contains(name), "{name}: {message}");
        assert!(
            message.contains("--keep-metadata with --seal-to"),
            "{name}: the refusal says what to do: {message}"
        );
    }
}

#[test]
fn a_recognised_file_with_junk_in_front_is_refused() {
    let jpeg = jpeg_with_everything();
    let png = png_with_everything();
    for (name, file) in [("JPEG", &jpeg), ("PNG", &png)] {
        for junk in [vec![0u8], vec![0x42; 3], filler(20, 64), filler(21, 5_000)] {
            let bytes = [junk.clone(), file.clone()].concat();
            let refusal = admit(&bytes).expect_err(name);
            if junk.len() <= 64 {
                assert!(
                    refusal.to_string().contains(&format!("{name} (with")),
                    "{name} after {} bytes: {refusal}",
                    junk.len()
                );
            }
        }
    }
    // Cleaned, then given junk: still refused, though nothing is in it.
    let clean = strip(&plain_jpeg()).expect("strips").into_bytes();
    assert!(admit(&[&[0u8][..], &clean].concat()).is_err());
}

#[test]
fn metadata_is_refused_and_its_list_given() {
    let refusal = admit(&jpeg_with_everything()).expect_err("metadata");
    assert!(
        matches!(&refusal, MediaError::Identifying { kind: "JPEG", found } if !found.is_empty()),
        "{refusal}"
    );
    assert!(refusal.to_string().contains("EXIF"), "{refusal}");
}

#[test]
fn clean_media_and_real_sealed_files_are_admitted() {
    for file in [jpeg_with_everything(), png_with_everything()] {
        let clean = strip(&file).expect("strips");
        assert_eq!(
            admit(clean.bytes()).expect("clean"),
            Admitted::Clean(clean.media_type())
        );
    }
    // A sealed original: the untouched photo, metadata and all, under
    // AES-256-GCM. Many of them, of many sizes, since a refusal here
    // would lose evidence.
    let record = EventId::from_byte_array([7; 32]);
    for (i, plain) in [
        jpeg_with_everything(),
        png_with_everything(),
        camera_file(b"II*\0", &[]),
        b"a sealed note of forty bytes or so, short".to_vec(),
        vec![0; 100_000],
    ]
    .iter()
    .enumerate()
    {
        for _ in 0..40 {
            let (_, encrypted) =
                SealedFile::encrypt(plain, "image/jpeg", record, Role::Untouched).expect("seals");
            assert_eq!(
                admit(&encrypted).map_err(|e| e.to_string()),
                Ok(Admitted::Encrypted),
                "sealed file {i} ({} bytes)",
                encrypted.len()
            );
        }
    }
    assert_eq!(Admitted::Encrypted.mime(), "application/octet-stream");
    assert!(!Admitted::Encrypted.is_public());
    assert!(Admitted::Clean(MediaType::Png).is_public());
}

#[test]
fn too_short_or_empty_is_refused() {
    assert!(admit(&[]).is_err());
    assert!(admit(&filler(1, 10)).is_err());
}
