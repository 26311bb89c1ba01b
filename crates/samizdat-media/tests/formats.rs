//! The formats phones and messengers make besides photos and MP4: WAV,
//! FLAC and AMR voice recordings, GIF, WebM and Matroska. Each file built
//! here carries identifying data in every place its format allows
//! (including inside tracks and after the end of the data); after
//! `strip`, none of it remains, and an independent reader (hound, claxon,
//! matroska-demuxer, the image crate) finds the same sound, frames or
//! pixels.

mod common;

use std::io::Cursor;

use common::contains;
use samizdat_media::{Admitted, MediaError, MediaType, admit, strip};

const SECRETS: &[&str] = &["43.2389", "ACME-PHONE", "SN-4417-0042", "Aigerim"];

fn riff_chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// Half a second of a 440 Hz tone, 16-bit mono at 8 kHz.
fn tone() -> Vec<i16> {
    (0..4000)
        .map(|i| ((i as f32 * 440.0 * std::f32::consts::TAU / 8000.0).sin() * 12_000.0) as i16)
        .collect()
}

fn wav_with_everything() -> Vec<u8> {
    let mut fmt = Vec::new();
    fmt.extend(1u16.to_le_bytes()); // PCM
    fmt.extend(1u16.to_le_bytes()); // mono
    fmt.extend(8000u32.to_le_bytes());
    fmt.extend(16000u32.to_le_bytes());
    fmt.extend(2u16.to_le_bytes());
    fmt.extend(16u16.to_le_bytes());
    let data: Vec<u8> = tone().iter().flat_map(|s| s.to_le_bytes()).collect();
    let info = [
        &b"INFO"[..],
        &riff_chunk(b"IART", b"Aigerim, witness\0"),
        &riff_chunk(b"ISFT", b"ACME-PHONE recorder SN-4417-0042\0"),
        &riff_chunk(b"ICMT", b"recorded at 43.2389 76.8897\0"),
    ]
    .concat();
    let mut bext = b"ACME-PHONE SN-4417-0042".to_vec();
    bext.resize(602, 0);
    let body = [
        &b"WAVE"[..],
        &riff_chunk(b"bext", &bext),
        &riff_chunk(b"fmt ", &fmt),
        &riff_chunk(b"LIST", &info),
        &riff_chunk(b"data", &data),
        &riff_chunk(b"iXML", b"<BWFXML>43.2389</BWFXML>"),
    ]
    .concat();
    let mut out = b"RIFF".to_vec();
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(body);
    out.extend_from_slice(b"TAG trailer Aigerim");
    out
}

#[test]
fn wav_loses_its_chunks_and_keeps_its_sound() {
    let original = wav_with_everything();
    let clean = strip(&original).expect("strips");
    assert_eq!(clean.media_type(), MediaType::Wav);
    assert_eq!(clean.media_type().mime(), "audio/wav");
    for secret in SECRETS {
        assert!(!contains(clean.bytes(), secret), "{secret} survived");
    }
    let reader = hound::WavReader::new(Cursor::new(clean.bytes())).expect("hound reads it");
    let samples: Vec<i16> = reader.into_samples().map(|s| s.expect("sample")).collect();
    assert_eq!(samples, tone());
    assert_eq!(
        strip(clean.bytes()).expect("idempotent").bytes(),
        clean.bytes()
    );
    assert_eq!(
        admit(clean.bytes()).expect("clean"),
        Admitted::Clean(MediaType::Wav)
    );
    assert!(admit(&original).is_err());

    // A recording cut off: the size says more than there is.
    let cut = &original[..original.len() - 2_000];
    let clean = strip(cut).expect("a cut recording is kept");
    assert!(clean.removed().iter().any(|r| r.contains("LIST")));
    // A format chunk longer than any format needs: refused.
    let mut long = original.clone();
    let fmt = long.windows(4).position(|w| w == b"fmt ").expect("fmt");
    long[fmt + 4] = 24;
    long.splice(fmt + 24..fmt + 24, *b"SN-4417-");
    assert!(strip(&long).is_err());
    // Not a WAV inside: refused.
    let mut wrong = original.clone();
    let fmt = wrong.windows(4).position(|w| w == b"fmt ").expect("fmt");
    wrong[fmt + 8..fmt + 10].copy_from_slice(&0x55u16.to_le_bytes());
    assert!(matches!(strip(&wrong), Err(MediaError::Unsupported(_))));
}

/// CRC-8 and CRC-16 as FLAC uses them, written here apart from the
/// crate's own.
fn crc8(bytes: &[u8]) -> u8 {
    let mut crc = 0u8;
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 7
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x8005
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// One FLAC frame of 256 samples, stored verbatim.
fn flac_frame(number: u8, samples: &[i16]) -> Vec<u8> {
    // Fixed block size; 256 samples (code 8); 8 kHz (code 4); mono;
    // 16-bit (code 4).
    let mut frame = vec![0xFF, 0xF8, 0x84, 0x08, number];
    frame.push(crc8(&frame));
    frame.push(0x02); // a verbatim subframe
    for s in samples {
        frame.extend_from_slice(&s.to_be_bytes());
    }
    let crc = crc16(&frame);
    frame.extend_from_slice(&crc.to_be_bytes());
    frame
}

fn flac_with_everything() -> (Vec<u8>, Vec<i16>) {
    let samples: Vec<i16> = tone()[..256 * 4].to_vec();
    let mut streaminfo = Vec::new();
    streaminfo.extend(256u16.to_be_bytes());
    streaminfo.extend(256u16.to_be_bytes());
    streaminfo.extend([0; 6]); // frame sizes unknown
    // 8000 Hz (20 bits), 1 channel (3 bits, minus one), 16 bits (5 bits,
    // minus one), 1024 samples (36 bits).
    let packed: u64 = (8000u64 << 44) | (15u64 << 36) | 1024;
    streaminfo.extend(packed.to_be_bytes());
    streaminfo.extend([0; 16]); // no MD5
    let block = |kind: u8, last: bool, body: &[u8]| {
        let mut b = vec![kind | if last { 0x80 } else { 0 }];
        b.extend(&(body.len() as u32).to_be_bytes()[1..]);
        b.extend_from_slice(body);
        b
    };
    let vendor = b"ACME-PHONE encoder SN-4417-0042";
    let mut comments = (vendor.len() as u32).to_le_bytes().to_vec();
    comments.extend_from_slice(vendor);
    comments.extend(2u32.to_le_bytes());
    for c in [&b"ARTIST=Aigerim"[..], b"LOCATION=43.2389,76.8897"] {
        comments.extend((c.len() as u32).to_le_bytes());
        comments.extend_from_slice(c);
    }
    let mut picture = vec![0, 0, 0, 3];
    picture.extend(b"\0\0\0\x0aimage/jpeg\0\0\0\x0cphoto 43.2389".iter());
    let mut out = b"ID3\x03\0\0\0\0\0\x10TIT2Aigerim ACME".to_vec();
    out.extend(b"fLaC");
    out.extend(block(0, false, &streaminfo));
    out.extend(block(4, false, &comments));
    out.extend(block(6, false, &picture));
    out.extend(block(1, true, &[0; 64]));
    for (i, chunk) in samples.chunks(256).enumerate() {
        out.extend(flac_frame(i as u8, chunk));
    }
    let mut id3v1 = b"TAGAigerim 43.2389 ACME-PHONE".to_vec();
    id3v1.resize(128, 0);
    out.extend(id3v1);
    (out, samples)
}

#[test]
fn flac_loses_its_tags_and_keeps_its_frames() {
    let (original, samples) = flac_with_everything();
    let clean = strip(&original).expect("strips");
    assert_eq!(clean.media_type(), MediaType::Flac);
    for secret in SECRETS {
        assert!(!contains(clean.bytes(), secret), "{secret} survived");
    }
    let mut reader = claxon::FlacReader::new(Cursor::new(clean.bytes())).expect("claxon reads it");
    let decoded: Vec<i16> = reader
        .samples()
        .map(|s| s.expect("a sample") as i16)
        .collect();
    assert_eq!(decoded, samples);
    assert!(reader.tags().next().is_none());
    assert_eq!(
        strip(clean.bytes()).expect("idempotent").bytes(),
        clean.bytes()
    );
    assert!(admit(&original).is_err());

    // A cut-off last frame is dropped; a damaged frame header is refused.
    let cut = &original[..original.len() - 128 - 100];
    let kept = strip(cut).expect("cut");
    assert!(kept.bytes().len() < clean.bytes().len());
    let mut damaged = clean.bytes().to_vec();
    let first_frame = damaged.len() - 4 * (6 + 1 + 512 + 2);
    damaged[first_frame + 5] ^= 0xFF;
    assert!(strip(&damaged).is_err());
}

#[test]
fn amr_keeps_its_frames_and_nothing_after() {
    for (magic, toc, len, kind) in [
        (&b"#!AMR\n"[..], 7u8 << 3 | 4, 31, MediaType::Amr),
        (&b"#!AMR-WB\n"[..], 8u8 << 3 | 4, 60, MediaType::AmrWb),
    ] {
        let mut file = magic.to_vec();
        for i in 0..50u8 {
            file.push(toc);
            file.extend(std::iter::repeat_n(i, len));
        }
        let frames = file.len();
        file.extend_from_slice(b"Aigerim 43.2389 ACME-PHONE SN-4417-0042");
        let clean = strip(&file).expect("strips");
        assert_eq!(clean.media_type(), kind);
        assert_eq!(clean.bytes(), &file[..frames]);
        assert!(admit(&file).is_err());
        assert_eq!(admit(clean.bytes()).expect("clean"), Admitted::Clean(kind));
        assert!(strip(magic).is_err(), "no frame");
    }
}

fn gif_with_everything() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut out);
        encoder
            .set_repeat(image::codecs::gif::Repeat::Infinite)
            .expect("repeat");
        let frames = (0..3u8).map(|f| {
            image::Frame::new(image::RgbaImage::from_fn(32, 24, move |x, y| {
                image::Rgba([(x * 8) as u8, (y * 10) as u8, f * 80, 255])
            }))
        });
        encoder.encode_frames(frames).expect("encodes");
    }
    // Comments and an XMP packet before the first image, a plain-text
    // extension in the middle, junk after the trailer.
    let packed = out[10];
    let table = if packed & 0x80 != 0 {
        3 << ((packed & 7) + 1)
    } else {
        0
    };
    let first = 13 + table;
    let mut extra = b"\x21\xFE\x17comment Aigerim 43.2389\x00".to_vec();
    extra.extend(b"\x21\xFF\x0BXMP DataXMP\x19<x:xmpmeta>ACME-PHONE</x>\x00");
    extra.extend(b"\x21\x01\x0C\0\0\0\0\x20\0\x18\0\x08\x08\0\0\x0ESN-4417-0042!!\x00");
    out.splice(first..first, extra);
    out.extend_from_slice(b"after the end 43.2389");
    out
}

fn gif_frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    use image::AnimationDecoder;
    let decoder = image::codecs::gif::GifDecoder::new(Cursor::new(bytes)).expect("decodes");
    decoder
        .into_frames()
        .map(|f| f.expect("frame").into_buffer().into_raw())
        .collect()
}

#[test]
fn gif_loses_comments_and_extensions_and_keeps_its_frames() {
    let original = gif_with_everything();
    for secret in SECRETS {
        assert!(contains(&original, secret), "the fixture plants {secret}");
    }
    let clean = strip(&original).expect("strips");
    assert_eq!(clean.media_type(), MediaType::Gif);
    assert_eq!(clean.dim(), Some((32, 24)));
    for secret in SECRETS {
        assert!(!contains(clean.bytes(), secret), "{secret} survived");
    }
    assert!(contains(clean.bytes(), "NETSCAPE2.0"), "it still loops");
    let frames = gif_frames(clean.bytes());
    assert_eq!(frames.len(), 3);
    assert_eq!(frames, gif_frames(&original[..original.len() - 21]));
    assert_eq!(
        strip(clean.bytes()).expect("idempotent").bytes(),
        clean.bytes()
    );
    assert!(strip(&original[..original.len() / 2]).is_err(), "cut");
}

/// An EBML element with a one-byte... eight-byte size.
fn el(id: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.push(0x01);
    out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
    out.extend_from_slice(body);
    out
}

/// An element of unknown size, as a live recorder writes it.
fn el_open(id: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.push(0x01);
    out.extend_from_slice(&[0xFF; 7]);
    out.extend_from_slice(body);
    out
}

fn uint(id: &[u8], v: u64) -> Vec<u8> {
    el(id, &v.to_be_bytes())
}

fn block(track: u8, time: i16, data: &[u8]) -> Vec<u8> {
    let mut b = vec![0x80 | track];
    b.extend(time.to_be_bytes());
    b.push(0x80); // keyframe
    b.extend_from_slice(data);
    el(&[0xA3], &b)
}

fn video_frame(i: u8) -> Vec<u8> {
    format!("vp8-frame-{i}-").repeat(30).into_bytes()
}

fn webm_with_everything(live: bool) -> Vec<u8> {
    matroska_with_everything(live, b"webm", &[])
}

fn matroska_with_everything(live: bool, doc_type: &[u8], track_extra: &[u8]) -> Vec<u8> {
    let header = el(
        &[0x1A, 0x45, 0xDF, 0xA3],
        &[
            uint(&[0x42, 0x86], 1),
            el(&[0x42, 0x82], doc_type),
            uint(&[0x42, 0x87], 4),
            uint(&[0x42, 0x85], 2),
        ]
        .concat(),
    );
    let info = el(
        &[0x15, 0x49, 0xA9, 0x66],
        &[
            uint(&[0x2A, 0xD7, 0xB1], 1_000_000),
            el(&[0x7B, 0xA9], b"Aigerim at the square"),
            el(&[0x4D, 0x80], b"ACME-PHONE muxer"),
            el(&[0x57, 0x41], b"ACME-PHONE SN-4417-0042"),
            uint(&[0x44, 0x61], 694_224_000_000_000_000),
            el(&[0x73, 0xA4], &[7; 16]),
        ]
        .concat(),
    );
    let video = el(
        &[0xAE],
        &[
            uint(&[0xD7], 1),
            uint(&[0x73, 0xC5], 11),
            uint(&[0x83], 1),
            el(&[0x86], b"V_VP8"),
            el(&[0x53, 0x6E], b"camera of Aigerim"),
            el(&[0xE0], &[uint(&[0xB0], 64), uint(&[0xBA], 48)].concat()),
            track_extra.to_vec(),
        ]
        .concat(),
    );
    let subtitles = el(
        &[0xAE],
        &[
            uint(&[0xD7], 2),
            uint(&[0x73, 0xC5], 22),
            uint(&[0x83], 0x11),
            el(&[0x86], b"S_TEXT/UTF8"),
        ]
        .concat(),
    );
    let tracks = el(&[0x16, 0x54, 0xAE, 0x6B], &[video, subtitles].concat());
    let cluster = |from: u8| {
        let mut body = uint(&[0xE7], u64::from(from) * 100);
        body.extend(el(&[0xEC], b"void: ACME-PHONE"));
        for i in from..from + 3 {
            body.extend(block(1, i16::from(i - from) * 33, &video_frame(i)));
            body.extend(block(2, 0, b"GPS 43.2389 76.8897"));
        }
        // A block with additions: data beside the frame.
        let group = [
            el(&[0xA1], &{
                let mut b = vec![0x81, 0, 99, 0];
                b.extend(video_frame(from + 100));
                b
            }),
            el(&[0x75, 0xA1], b"addition SN-4417-0042"),
        ]
        .concat();
        body.extend(el(&[0xA0], &group));
        body
    };
    let tags = el(
        &[0x12, 0x54, 0xC3, 0x67],
        &el(
            &[0x73, 0x73],
            &el(&[0x67, 0xC8], &el(&[0x45, 0xA3], b"LOCATION 43.2389")),
        ),
    );
    let attachments = el(&[0x19, 0x41, 0xA4, 0x69], b"cover photo of Aigerim");
    let clusters: Vec<u8> = if live {
        [
            el_open(&[0x1F, 0x43, 0xB6, 0x75], &cluster(0)),
            el_open(&[0x1F, 0x43, 0xB6, 0x75], &cluster(3)),
        ]
        .concat()
    } else {
        [
            el(&[0x1F, 0x43, 0xB6, 0x75], &cluster(0)),
            el(&[0x1F, 0x43, 0xB6, 0x75], &cluster(3)),
        ]
        .concat()
    };
    let body = [info, tracks, clusters, tags, attachments].concat();
    let segment = if live {
        el_open(&[0x18, 0x53, 0x80, 0x67], &body)
    } else {
        el(&[0x18, 0x53, 0x80, 0x67], &body)
    };
    let mut out = header;
    out.extend(segment);
    if !live {
        out.extend_from_slice(b"trailer SN-4417-0042");
    }
    out
}

fn frames(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut file = matroska_demuxer::MatroskaFile::open(Cursor::new(bytes)).expect("demuxes");
    let mut frame = matroska_demuxer::Frame::default();
    let mut out = Vec::new();
    while file.next_frame(&mut frame).expect("a frame") {
        out.push((frame.track, frame.data.clone()));
    }
    out
}

#[test]
fn webm_keeps_its_video_and_nothing_that_names_anyone() {
    for live in [false, true] {
        let original = webm_with_everything(live);
        for secret in SECRETS {
            assert!(contains(&original, secret), "the fixture plants {secret}");
        }
        let clean = strip(&original).expect("strips");
        assert_eq!(clean.media_type(), MediaType::WebM);
        assert_eq!(clean.media_type().mime(), "video/webm");
        assert_eq!(clean.dim(), Some((64, 48)));
        for secret in SECRETS {
            assert!(
                !contains(clean.bytes(), secret),
                "{secret} survived (live {live})"
            );
        }
        let file = matroska_demuxer::MatroskaFile::open(Cursor::new(clean.bytes())).expect("opens");
        assert_eq!(file.tracks().len(), 1);
        assert_eq!(file.tracks()[0].codec_id(), "V_VP8");
        assert_eq!(file.info().title(), None);
        assert_eq!(file.info().writing_app(), "samizdat");
        let mut expected: Vec<(u64, Vec<u8>)> = Vec::new();
        for from in [0u8, 3] {
            for i in from..from + 3 {
                expected.push((1, video_frame(i)));
            }
            expected.push((1, video_frame(from + 100)));
        }
        assert_eq!(frames(clean.bytes()), expected, "live {live}");
        assert_eq!(
            strip(clean.bytes()).expect("idempotent").bytes(),
            clean.bytes()
        );
        assert_eq!(
            admit(clean.bytes()).expect("clean"),
            Admitted::Clean(MediaType::WebM)
        );
        assert!(admit(&original).is_err());
    }
    // The same file called Matroska.
    let rebuilt = matroska_with_everything(false, b"matroska", &[]);
    let clean = strip(&rebuilt).expect("strips");
    assert_eq!(clean.media_type(), MediaType::Matroska);
    assert_eq!(clean.media_type().mime(), "video/x-matroska");
}

#[test]
fn broken_webm_is_refused() {
    let original = webm_with_everything(false);
    // Cut inside the tracks.
    let tracks = original
        .windows(4)
        .position(|w| w == [0x16, 0x54, 0xAE, 0x6B])
        .expect("tracks");
    assert!(matches!(
        strip(&original[..tracks + 20]),
        Err(MediaError::Corrupt { kind: "WebM", .. })
    ));
    // A track compressed or encrypted (ContentEncodings): refused, as a
    // format samizdat does not clean.
    let encodings = el(
        &[0x6D, 0x80],
        &el(&[0x62, 0x40], &el(&[0x50, 0x35], b"key")),
    );
    let encoded = matroska_with_everything(false, b"webm", &encodings);
    assert!(matches!(strip(&encoded), Err(MediaError::Unsupported(_))));
    // An unknown document type.
    let mut other = original.clone();
    let doc = other
        .windows(4)
        .position(|w| w == b"webm")
        .expect("doc type");
    other[doc..doc + 4].copy_from_slice(b"evil");
    assert!(strip(&other).is_err());
    assert!(admit(&other).is_err());
}
