//! Seed inputs, one set per target, made with the project's own writers
//! (and the image crate's encoders), plus the committed tour files: valid
//! inputs, so mutations reach deep into each parser.

use std::io::Cursor;
use std::path::Path;

use samizdat_core::nostr::prelude::{Keys, Kind, Timestamp};
use samizdat_core::sign::Draft;

use crate::Rng;

fn tour(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/tour")
            .join(name),
    )
    .unwrap_or_default()
}

fn picture() -> image::RgbaImage {
    image::RgbaImage::from_fn(24, 16, |x, y| {
        image::Rgba([(x * 10) as u8, (y * 15) as u8, 90, 255])
    })
}

fn encoded(format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let picture = image::DynamicImage::ImageRgba8(picture());
    let picture = if format == image::ImageFormat::Jpeg {
        image::DynamicImage::ImageRgb8(picture.to_rgb8())
    } else {
        picture
    };
    let _ = picture.write_to(&mut out, format);
    out.into_inner()
}

pub fn jpeg() -> Vec<Vec<u8>> {
    vec![
        tour("photo-with-gps.jpg"),
        encoded(image::ImageFormat::Jpeg),
    ]
}

pub fn png() -> Vec<Vec<u8>> {
    let mut with_text = encoded(image::ImageFormat::Png);
    let iend = with_text.len().saturating_sub(12);
    let body = b"tEXtComment\0GPS 43.2389";
    let mut chunk = ((body.len() - 4) as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(body);
    chunk.extend_from_slice(&crc32(body).to_be_bytes());
    with_text.splice(iend..iend, chunk);
    vec![encoded(image::ImageFormat::Png), with_text]
}

/// CRC-32 (IEEE), as PNG chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |mut crc, &b| {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
        crc
    })
}

pub fn webp() -> Vec<Vec<u8>> {
    vec![encoded(image::ImageFormat::WebP)]
}

pub fn gif() -> Vec<Vec<u8>> {
    let mut animated = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut animated);
        let _ = encoder.set_repeat(image::codecs::gif::Repeat::Infinite);
        let _ = encoder.encode_frames((0..2).map(|_| image::Frame::new(picture())));
    }
    vec![encoded(image::ImageFormat::Gif), animated]
}

fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

fn full(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 0];
    b.extend_from_slice(body);
    boxed(kind, &b)
}

/// A HEIF image of one picture item and an EXIF item; `brand` picks HEIC
/// or AVIF.
fn heif(brand: &[u8; 4], item: &[u8; 4]) -> Vec<u8> {
    let picture = b"CODED-PICTURE-".repeat(16);
    let exif = b"\0\0\0\0MM\0\x2aGPS 43.2389 ACME-PHONE".to_vec();
    let infe = |id: u16, kind: &[u8; 4]| {
        let mut b = vec![2, 0, 0, 0];
        b.extend(id.to_be_bytes());
        b.extend([0, 0]);
        b.extend_from_slice(kind);
        b.push(0);
        boxed(b"infe", &b)
    };
    let meta = |offsets: [u32; 2]| {
        let mut iloc = vec![0x44, 0x00];
        iloc.extend(2u16.to_be_bytes());
        for (id, (offset, len)) in (1u16..).zip([
            (offsets[0], picture.len() as u32),
            (offsets[1], exif.len() as u32),
        ]) {
            iloc.extend(id.to_be_bytes());
            iloc.extend([0, 0]);
            iloc.extend(1u16.to_be_bytes());
            iloc.extend(offset.to_be_bytes());
            iloc.extend(len.to_be_bytes());
        }
        let mut iinf = 2u16.to_be_bytes().to_vec();
        iinf.extend(infe(1, item));
        iinf.extend(infe(2, b"Exif"));
        let mut ispe = 24u32.to_be_bytes().to_vec();
        ispe.extend(16u32.to_be_bytes());
        let ipco = full(b"ispe", &ispe);
        let mut ipma = 1u32.to_be_bytes().to_vec();
        ipma.extend(1u16.to_be_bytes());
        ipma.extend([1, 0x81]);
        let mut iprp = boxed(b"ipco", &ipco);
        iprp.extend(full(b"ipma", &ipma));
        let mut hdlr = vec![0; 4];
        hdlr.extend_from_slice(b"pict");
        hdlr.extend([0; 13]);
        let mut body = full(b"hdlr", &hdlr);
        body.extend(full(b"pitm", &1u16.to_be_bytes()));
        body.extend(full(b"iloc", &iloc));
        body.extend(full(b"iinf", &iinf));
        body.extend(boxed(b"iprp", &iprp));
        full(b"meta", &body)
    };
    let mut ftyp = brand.to_vec();
    ftyp.extend([0; 4]);
    ftyp.extend_from_slice(b"mif1");
    let ftyp = boxed(b"ftyp", &ftyp);
    let start = (ftyp.len() + meta([0, 0]).len() + 8) as u32;
    let mut out = ftyp;
    out.extend(meta([start, start + picture.len() as u32]));
    out.extend(boxed(b"mdat", &[picture.clone(), exif.clone()].concat()));
    out
}

pub fn heif_images() -> Vec<Vec<u8>> {
    vec![heif(b"heic", b"hvc1"), heif(b"avif", b"av01")]
}

pub fn iso_media() -> Vec<Vec<u8>> {
    let video = tour("video-with-location.mp4");
    let mut mov = video.clone();
    if mov.len() > 12 {
        mov[8..12].copy_from_slice(b"qt  ");
    }
    let mut three = video.clone();
    if three.len() > 12 {
        three[8..12].copy_from_slice(b"3gp4");
    }
    vec![video, mov, three]
}

pub fn mp3() -> Vec<Vec<u8>> {
    // MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417-byte frames.
    let mut frames = b"ID3\x03\0\0\0\0\0\x0aTIT2 title".to_vec();
    for _ in 0..6 {
        frames.extend_from_slice(&[0xFF, 0xFB, 0x90, 0x64]);
        frames.extend(std::iter::repeat_n(0x55, 413));
    }
    let mut tag = b"TAGtitle of the witness".to_vec();
    tag.resize(128, 0);
    frames.extend(tag);
    vec![frames]
}

pub fn ogg() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut writer = ogg::PacketWriter::new(&mut out);
        let mut head = b"OpusHead\x01\x01\x38\x01\x80\xbb\0\0\0\0\0".to_vec();
        head.truncate(19);
        let tags = b"OpusTags\x08\0\0\0samizdat\x01\0\0\0\x0d\0\0\0GPS=43.2,76.9".to_vec();
        let _ = writer.write_packet(head, 7, ogg::PacketWriteEndInfo::EndPage, 0);
        let _ = writer.write_packet(tags, 7, ogg::PacketWriteEndInfo::EndPage, 0);
        for i in 1..=4u64 {
            let end = if i == 4 {
                ogg::PacketWriteEndInfo::EndStream
            } else {
                ogg::PacketWriteEndInfo::NormalPacket
            };
            let _ = writer.write_packet(vec![0xFC, 0xFF, 0xFE, i as u8], 7, end, i * 960);
        }
    }
    vec![out]
}

pub fn wav() -> Vec<Vec<u8>> {
    let chunk = |id: &[u8; 4], body: &[u8]| {
        let mut out = id.to_vec();
        out.extend((body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
        out
    };
    let fmt = [1u16, 1]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .chain(8000u32.to_le_bytes())
        .chain(16000u32.to_le_bytes())
        .chain([2u16, 16].iter().flat_map(|v| v.to_le_bytes()))
        .collect::<Vec<u8>>();
    let body = [
        &b"WAVE"[..],
        &chunk(b"fmt ", &fmt),
        &chunk(b"LIST", b"INFOIART\x08\0\0\0witness\0"),
        &chunk(b"data", &[0x10; 400]),
    ]
    .concat();
    let mut out = b"RIFF".to_vec();
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(body);
    vec![out]
}

fn crc8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |mut crc, &b| {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 7
            } else {
                crc << 1
            };
        }
        crc
    })
}

fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |mut crc, &b| {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x8005
            } else {
                crc << 1
            };
        }
        crc
    })
}

pub fn flac() -> Vec<Vec<u8>> {
    let mut out = b"fLaC\x00\x00\x00\x22".to_vec();
    let mut info = vec![1, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    let packed: u64 = (8000u64 << 44) | (15u64 << 36) | 512;
    info.extend(packed.to_be_bytes());
    info.extend([0; 16]);
    out.extend(info);
    out.extend([0x84, 0, 0, 12]);
    out.extend(b"\x04\0\0\0acme\0\0\0\0");
    out[4] = 0x00;
    for n in 0..2u8 {
        let mut frame = vec![0xFF, 0xF8, 0x84, 0x08, n];
        frame.push(crc8(&frame));
        frame.push(0x02);
        frame.extend(std::iter::repeat_n(0x11, 512));
        let crc = crc16(&frame);
        frame.extend(crc.to_be_bytes());
        out.extend(frame);
    }
    // The same with the tags a tagger appends: APEv2, then ID3v1.
    let mut tagged = out.clone();
    let item = b"\x07\0\0\0\0\0\0\0Artist\0witness";
    let mut footer = b"APETAGEX\xd0\x07\0\0".to_vec();
    footer.extend(((item.len() + 32) as u32).to_le_bytes());
    footer.extend(1u32.to_le_bytes());
    footer.extend([0; 12]);
    tagged.extend_from_slice(item);
    tagged.extend(footer);
    let mut id3 = b"TAGwitness".to_vec();
    id3.resize(128, 0);
    tagged.extend(id3);
    vec![out, tagged]
}

pub fn amr() -> Vec<Vec<u8>> {
    let mut narrow = b"#!AMR\n".to_vec();
    let mut wide = b"#!AMR-WB\n".to_vec();
    for i in 0..8u8 {
        narrow.push(7 << 3 | 4);
        narrow.extend(std::iter::repeat_n(i, 31));
        wide.push(8 << 3 | 4);
        wide.extend(std::iter::repeat_n(i, 60));
    }
    vec![narrow, wide]
}

fn el(id: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.push(0x01);
    out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

pub fn matroska() -> Vec<Vec<u8>> {
    let header = el(&[0x1A, 0x45, 0xDF, 0xA3], &el(&[0x42, 0x82], b"webm"));
    let info = el(
        &[0x15, 0x49, 0xA9, 0x66],
        &[
            el(&[0x2A, 0xD7, 0xB1], &[0x0F, 0x42, 0x40]),
            el(&[0x7B, 0xA9], b"title"),
        ]
        .concat(),
    );
    let track = el(
        &[0xAE],
        &[
            el(&[0xD7], &[1]),
            el(&[0x83], &[1]),
            el(&[0x86], b"V_VP8"),
            el(&[0xE0], &[el(&[0xB0], &[24]), el(&[0xBA], &[16])].concat()),
        ]
        .concat(),
    );
    let tracks = el(&[0x16, 0x54, 0xAE, 0x6B], &track);
    let mut block = vec![0x81, 0, 0, 0x80];
    block.extend(b"frame".repeat(20));
    let cluster = el(
        &[0x1F, 0x43, 0xB6, 0x75],
        &[el(&[0xE7], &[0]), el(&[0xA3], &block)].concat(),
    );
    let tags = el(&[0x12, 0x54, 0xC3, 0x67], b"tags");
    let segment = el(
        &[0x18, 0x53, 0x80, 0x67],
        &[info, tracks, cluster, tags].concat(),
    );
    vec![[header, segment].concat()]
}

pub fn noise() -> Vec<Vec<u8>> {
    let mut rng = Rng::new(42);
    [48usize, 1000, 5000]
        .iter()
        .map(|&n| (0..n).map(|_| rng.next_u64() as u8).collect())
        .collect()
}

fn keys() -> Keys {
    Keys::parse("0000000000000000000000000000000000000000000000000000000000000001")
        .unwrap_or_else(|_| Keys::generate())
}

fn event_json(kind: u16, tags: Vec<Vec<String>>, content: &str) -> String {
    Draft {
        kind: Kind::Custom(kind),
        created_at: Timestamp::from_secs(1_700_000_000),
        tags,
        content: content.into(),
    }
    .sign(&keys())
    .map(|e| e.as_json())
    .unwrap_or_default()
}

pub fn bundle() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if let Ok(mut writer) = samizdat_bundle::Writer::new(&mut out, "0".repeat(32), 1_700_000_000) {
        let _ = writer.event(&event_json(1, Vec::new(), "a testimony"));
        let _ = writer.event(&event_json(1, Vec::new(), "another"));
        let blob = b"a blob".repeat(20);
        use sha2::{Digest, Sha256};
        let hash: [u8; 32] = Sha256::digest(&blob).into();
        let _ = writer.blob(hash, blob.len() as u64, &blob[..]);
        let _ = writer.finish();
    }
    vec![out]
}

/// Blocks of records as a call packs them.
pub fn call_blocks() -> Vec<Vec<u8>> {
    let events = [
        event_json(1, vec![vec!["t".into(), "almaty".into()]], "a testimony"),
        event_json(1948, vec![vec!["name".into(), "Асель".into()]], "задержана"),
    ];
    samizdat_node::call::pack(events.iter().map(String::as_str), 4_000).unwrap_or_default()
}

/// A short transmission of one small block, as a WAV file, and a WAV
/// file of a few samples.
pub fn call_wavs() -> Vec<Vec<u8>> {
    use samizdat_voice::{Speed, Transmission, wav};
    let mut out = Vec::new();
    if let Ok(t) = Transmission::new(Speed::Robust, 1, &[b"a block".to_vec()], 0.0) {
        let mut file = std::io::Cursor::new(Vec::new());
        if wav::write(&mut file, &t.samples[..t.samples.len().min(24_000)]).is_ok() {
            out.push(file.into_inner());
        }
    }
    let mut file = std::io::Cursor::new(Vec::new());
    if wav::write(&mut file, &[0.0, 1.0, -1.0, 300.0]).is_ok() {
        out.push(file.into_inner());
    }
    out
}

pub fn want() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let _ = samizdat_bundle::Want::new([[1; 32], [2; 32]], [[3; 32]]).write(&mut out);
    vec![out]
}

pub fn relay_messages() -> Vec<Vec<u8>> {
    let event = event_json(1, vec![vec!["t".into(), "almaty".into()]], "a testimony");
    let auth = event_json(
        22242,
        vec![
            vec!["relay".into(), "ws://127.0.0.1:4848".into()],
            vec!["challenge".into(), "abc".into()],
        ],
        "",
    );
    [
        format!("[\"EVENT\",{event}]"),
        format!("[\"AUTH\",{auth}]"),
        r##"["REQ","s",{"kinds":[1,1948],"#t":["almaty"],"since":1,"until":2000000000,"limit":10,"search":"алматы"}]"##.into(),
        r#"["COUNT","c",{"authors":["0000000000000000000000000000000000000000000000000000000000000001"]}]"#.into(),
        r#"["CLOSE","s"]"#.into(),
        r#"["NEG-OPEN","n",{"kinds":[1]},"6100000200"]"#.into(),
        r#"["NEG-MSG","n","61"]"#.into(),
        r#"["NEG-CLOSE","n"]"#.into(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

/// What relays answer a client: every message sync and publishing read.
pub fn relay_answers() -> Vec<Vec<u8>> {
    let event = event_json(
        1,
        vec![vec!["t".into(), "almaty".into()]],
        "a \"quoted\" testimony",
    );
    let id = "5c83da77af1dec6d7289834998ad7aafbd9e2191396d75ec3cc27f5a77226f36";
    [
        format!("[\"EVENT\",\"pull-1\",{event}]"),
        format!("[\"OK\",\"{id}\",true,\"\"]"),
        format!("[\"OK\",\"{id}\",false,\"rate-limited: slow down\"]"),
        r#"["EOSE","pull-1"]"#.into(),
        r#"["CLOSED","pull-1","auth-required: who are you"]"#.into(),
        r#"["NOTICE","the relay is restarting"]"#.into(),
        r#"["AUTH","a-challenge"]"#.into(),
        r#"["COUNT","c",{"count":42}]"#.into(),
        r#"["NEG-MSG","n","6100000200"]"#.into(),
        r#"["NEG-ERR","n","blocked: too many records"]"#.into(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

pub fn nip77_messages() -> Vec<Vec<u8>> {
    let keys: Vec<(u64, [u8; 32])> = (0..300u64)
        .map(|i| {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9).to_be_bytes());
            (1_700_000_000 + i / 3, id)
        })
        .collect();
    let storage = samizdat_node::proto::nip77::keys::KeyStorage::vector(keys);
    let mut out = vec![vec![0x61]];
    if let Ok(mut client) = samizdat_node::proto::nip77::Reconciler::new(storage, 4096)
        && let Ok(first) = client.initiate()
    {
        out.push(first);
    }
    out
}

pub fn blossom_authorizations() -> Vec<Vec<u8>> {
    let json = event_json(
        24242,
        vec![
            vec!["t".into(), "upload".into()],
            vec!["x".into(), "ab".repeat(32)],
            vec!["expiration".into(), "2000000000".into()],
        ],
        "Upload",
    );
    use base64::Engine as _;
    [
        base64::engine::general_purpose::STANDARD.encode(&json),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&json),
    ]
    .into_iter()
    .map(|b| format!("Nostr {b}").into_bytes())
    .collect()
}

/// A drop-box form; `CSRF` is replaced with the session's token.
pub fn multipart() -> Vec<Vec<u8>> {
    let mut body = Vec::new();
    for (name, value) in [
        ("csrf", "CSRF"),
        ("text", "У акимата задержали двоих"),
        ("lang", "ru"),
        ("place", "Алматы"),
        ("observed", "2022-01-05T14:30"),
        ("visibility", "public"),
    ] {
        body.extend_from_slice(
            format!(
                "--BOUNDARY\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\
          Content-Type: image/png\r\n\r\n",
    );
    body.extend(encoded(image::ImageFormat::Png));
    body.extend_from_slice(b"\r\n--BOUNDARY--\r\n");
    vec![body]
}

pub fn pfif() -> Vec<Vec<u8>> {
    vec![
        r#"<?xml version="1.0" encoding="UTF-8"?>
<pfif:pfif xmlns:pfif="http://zesty.ca/pfif/1.4">
  <pfif:person>
    <pfif:person_record_id>example.org/p1</pfif:person_record_id>
    <pfif:full_name>Қасым Нұрланұлы</pfif:full_name>
    <pfif:given_name>Қасым</pfif:given_name>
    <pfif:family_name>Нұрланов</pfif:family_name>
    <pfif:age>34</pfif:age>
    <pfif:home_city>Алматы</pfif:home_city>
    <pfif:note>
      <pfif:note_record_id>example.org/n1</pfif:note_record_id>
      <pfif:person_record_id>example.org/p1</pfif:person_record_id>
      <pfif:status>believed_missing</pfif:status>
      <pfif:source_date>2022-01-06T10:00:00Z</pfif:source_date>
      <pfif:text>Задержан у акимата</pfif:text>
    </pfif:note>
  </pfif:person>
</pfif:pfif>"#
            .as_bytes()
            .to_vec(),
    ]
}
