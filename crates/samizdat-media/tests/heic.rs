//! A HEIC built here carries a location, a device and a serial in an EXIF
//! item, an XMP item, an `xml ` box in `meta`, free space before it and a
//! trailer. After `strip`, none of it is anywhere in the bytes, and the
//! picture item's bytes are found, unchanged, where the rewritten `iloc`
//! says they are (read here by code independent of samizdat's).

mod common;

use common::{boxed, contains};
use samizdat_media::{MediaError, MediaType, strip};

const SECRETS: &[&str] = &[
    "43.2389",
    "ACME-PHONE",
    "SN-4417-0042",
    "ns.adobe.com",
    "comment-by-witness",
    "TRAILER-SECRET",
];

fn full(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
    let mut b = vec![version, 0, 0, 0];
    b.extend_from_slice(body);
    boxed(kind, &b)
}

fn infe(id: u16, kind: &[u8; 4], extra: &[u8]) -> Vec<u8> {
    let mut b = id.to_be_bytes().to_vec();
    b.extend([0, 0]); // protection index
    b.extend_from_slice(kind);
    b.push(0); // empty name
    b.extend_from_slice(extra);
    full(b"infe", 2, &b)
}

fn picture() -> Vec<u8> {
    b"HEVC-PICTURE-DATA-".repeat(20)
}

fn exif() -> Vec<u8> {
    b"\0\0\0\0MM\0\x2aGPSLatitude 43.2389 Make ACME-PHONE Serial SN-4417-0042".to_vec()
}

fn xmp() -> Vec<u8> {
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/' about='http://ns.adobe.com/'>43.2389</x:xmpmeta>".to_vec()
}

/// `meta` for items at these (offset, length) places.
fn meta(places: &[(u32, u32); 3]) -> Vec<u8> {
    let mut hdlr = vec![0; 4];
    hdlr.extend_from_slice(b"pict");
    hdlr.extend([0; 13]);
    let mut iloc = vec![0x44, 0x00]; // 4-byte offsets and lengths, no base
    iloc.extend(3u16.to_be_bytes());
    for (id, (offset, length)) in (1u16..).zip(places) {
        iloc.extend(id.to_be_bytes());
        iloc.extend([0, 0]); // data reference
        iloc.extend(1u16.to_be_bytes());
        iloc.extend(offset.to_be_bytes());
        iloc.extend(length.to_be_bytes());
    }
    let mut iinf = 3u16.to_be_bytes().to_vec();
    iinf.extend(infe(1, b"hvc1", b""));
    iinf.extend(infe(2, b"Exif", b""));
    iinf.extend(infe(3, b"mime", b"application/rdf+xml\0"));
    let cdsc = |from: u16| {
        let mut b = from.to_be_bytes().to_vec();
        b.extend(1u16.to_be_bytes());
        b.extend(1u16.to_be_bytes());
        boxed(b"cdsc", &b)
    };
    let mut iref = cdsc(2);
    iref.extend(cdsc(3));
    let mut ispe = 64u32.to_be_bytes().to_vec();
    ispe.extend(48u32.to_be_bytes());
    let mut ipco = full(b"ispe", 0, &ispe);
    ipco.extend(boxed(b"irot", &[1]));
    let mut ipma = 2u32.to_be_bytes().to_vec();
    ipma.extend(1u16.to_be_bytes());
    ipma.extend([2, 0x81, 0x02]);
    ipma.extend(2u16.to_be_bytes());
    ipma.extend([1, 0x01]);
    let mut iprp = boxed(b"ipco", &ipco);
    iprp.extend(full(b"ipma", 0, &ipma));

    let mut body = full(b"hdlr", 0, &hdlr);
    body.extend(full(b"pitm", 0, &1u16.to_be_bytes()));
    body.extend(full(b"iloc", 0, &iloc));
    body.extend(full(b"iinf", 0, &iinf));
    body.extend(full(b"iref", 0, &iref));
    body.extend(boxed(b"iprp", &iprp));
    body.extend(full(b"xml ", 0, b"<model>SN-4417-0042</model>"));
    full(b"meta", 0, &body)
}

fn heic_with_everything() -> Vec<u8> {
    let mut ftyp = b"heic".to_vec();
    ftyp.extend([0; 4]);
    ftyp.extend_from_slice(b"mif1heic");
    let ftyp = boxed(b"ftyp", &ftyp);
    let free = boxed(b"free", b"comment-by-witness");
    let parts = [picture(), exif(), xmp()];
    let placeholder = meta(&[(0, 0); 3]);
    let mut at = (ftyp.len() + free.len() + placeholder.len() + 8) as u32;
    let mut places = [(0, 0); 3];
    for (place, part) in places.iter_mut().zip(&parts) {
        *place = (at, part.len() as u32);
        at += part.len() as u32;
    }
    let mut out = ftyp;
    out.extend(free);
    out.extend(meta(&places));
    out.extend(boxed(b"mdat", &parts.concat()));
    out.extend_from_slice(b"TRAILER-SECRET");
    out
}

/// The (id, offset, length) entries of a version-0 `iloc` with 4-byte
/// fields, found by its name.
fn locations(file: &[u8]) -> Vec<(u16, usize, usize)> {
    let at = file.windows(4).position(|w| w == b"iloc").expect("iloc") + 4;
    let be16 = |p: usize| usize::from(u16::from_be_bytes([file[p], file[p + 1]]));
    let be32 = |p: usize| u32::from_be_bytes(file[p..p + 4].try_into().expect("4")) as usize;
    let count = be16(at + 6);
    (0..count)
        .map(|i| {
            let e = at + 8 + i * 14;
            (be16(e) as u16, be32(e + 6), be32(e + 10))
        })
        .collect()
}

#[test]
fn heic_loses_every_identifier_and_keeps_its_picture() {
    let original = heic_with_everything();
    for secret in SECRETS {
        assert!(contains(&original, secret), "fixture plants {secret}");
    }
    let (_, at, len) = locations(&original)[0];
    assert_eq!(
        original[at..at + len],
        picture()[..],
        "the fixture is consistent"
    );

    let clean = strip(&original).expect("strips");
    assert_eq!(clean.media_type(), MediaType::Heic);
    assert_eq!(clean.media_type().mime(), "image/heic");
    assert_eq!(clean.dim(), Some((64, 48)));
    for secret in SECRETS {
        assert!(!contains(clean.bytes(), secret), "{secret} survived");
    }
    for gone in ["Exif", "mime", "xml ", "cdsc", "free"] {
        assert!(!contains(clean.bytes(), gone), "{gone} survived");
    }
    assert!(contains(clean.bytes(), "irot"), "the rotation is kept");
    let places = locations(clean.bytes());
    assert_eq!(places.len(), 1);
    let (id, at, len) = places[0];
    assert_eq!(id, 1);
    assert_eq!(
        clean.bytes()[at..at + len],
        picture()[..],
        "the picture, moved"
    );
    assert!(
        clean.removed().iter().any(|r| r.starts_with("EXIF item")),
        "{:?}",
        clean.removed()
    );
    assert_eq!(
        strip(clean.bytes()).expect("idempotent").bytes(),
        clean.bytes()
    );
}

#[test]
fn broken_heic_is_refused() {
    let original = heic_with_everything();
    let cut = &original[..original.len() - 300];
    assert!(
        matches!(strip(cut), Err(MediaError::Corrupt { kind: "HEIC", .. })),
        "{:?}",
        strip(cut).err()
    );
    // The EXIF item said to lie beyond the end of the file.
    let mut bad = original.clone();
    let iloc = bad.windows(4).position(|w| w == b"iloc").expect("iloc") + 4;
    let exif_offset = iloc + 8 + 14 + 6;
    bad[exif_offset..exif_offset + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        strip(&bad),
        Err(MediaError::Corrupt { kind: "HEIC", .. })
    ));
    // A `meta` at the very end whose last box is too short for its header.
    let mut short = original[..original.len() - b"TRAILER-SECRET".len()].to_vec();
    let meta_at = short.windows(4).position(|w| w == b"meta").expect("meta") - 4;
    let meta_len = u32::from_be_bytes(short[meta_at..meta_at + 4].try_into().expect("4")) as usize;
    let meta = short[meta_at..meta_at + meta_len].to_vec();
    short.drain(meta_at..meta_at + meta_len);
    let mut meta = meta;
    meta.extend_from_slice(&[0, 0, 0, 9, b'i', b'r', b'e', b'f', 0]);
    let grown = (meta.len() as u32).to_be_bytes();
    meta[..4].copy_from_slice(&grown);
    short.extend(meta);
    let err = strip(&short).expect_err("refused");
    assert!(
        matches!(err, MediaError::Corrupt { kind: "HEIC", .. })
            && err.to_string().contains("short iref"),
        "{err:?}"
    );
}

#[test]
fn avif_is_cleaned_as_heif_is() {
    let mut avif = heic_with_everything();
    avif[8..12].copy_from_slice(b"avif");
    let infe = avif
        .windows(4)
        .position(|w| w == b"hvc1")
        .expect("the picture item");
    avif[infe..infe + 4].copy_from_slice(b"av01");
    let clean = strip(&avif).expect("strips");
    assert_eq!(clean.media_type(), MediaType::Avif);
    assert_eq!(clean.media_type().mime(), "image/avif");
    assert_eq!(clean.dim(), Some((64, 48)));
    for secret in SECRETS {
        assert!(!contains(clean.bytes(), secret), "{secret} survived");
    }
    let (_, at, len) = locations(clean.bytes())[0];
    assert_eq!(clean.bytes()[at..at + len], picture()[..]);
}

#[test]
fn media_data_no_kept_item_uses_is_zeroed() {
    let mut original = heic_with_everything();
    let mdat = original
        .windows(4)
        .position(|w| w == b"mdat")
        .expect("mdat")
        - 4;
    let size = u32::from_be_bytes(original[mdat..mdat + 4].try_into().expect("4")) as usize;
    let hidden = b"HIDDEN-OUTSIDE-ANY-ITEM";
    original.splice(mdat + size..mdat + size, hidden.iter().copied());
    let grown = ((size + hidden.len()) as u32).to_be_bytes();
    original[mdat..mdat + 4].copy_from_slice(&grown);
    let clean = strip(&original).expect("strips");
    assert!(!contains(clean.bytes(), "HIDDEN"));
    let (_, at, len) = locations(clean.bytes())[0];
    assert_eq!(clean.bytes()[at..at + len], picture()[..]);
    assert_eq!(
        strip(clean.bytes()).expect("idempotent").bytes(),
        clean.bytes()
    );
}
