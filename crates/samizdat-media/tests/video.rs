//! An MP4 (and an M4A) built here carries a location, a device make and a serial in
//! every place the format offers (movie and track user data, Apple-style
//! metadata, an XMP `uuid` box, free space, a timed text track, a trailer),
//! with all of it placed before the media data, so that removing it moves
//! the samples. After `strip`, none remains anywhere in the bytes, and an
//! independent reader (the `mp4` crate) finds the same video samples.

mod common;

use std::io::Cursor;

use common::{boxed, contains};
use img_parts::Bytes;
use mp4::{
    AacConfig, AvcConfig, FourCC, MediaConfig, Mp4Config, Mp4Reader, Mp4Sample, Mp4Writer,
    TrackConfig, TrackType, TtxtConfig,
};
use samizdat_media::{MediaError, MediaType, inspect, strip};

const SECRETS: &[&str] = &[
    "+43.2389+076.9445",
    "ACME-PHONE",
    "SN-4417-0042",
    "ns.adobe.com",
    "comment-by-witness",
    "TRAILER-SECRET",
    "Location: 43.2389",
];

const FRAMES: u32 = 5;

fn frame(i: u32) -> Vec<u8> {
    format!("video-frame-{i}-").repeat(40).into_bytes()
}

/// The top-level boxes of a small file: (type, whole box).
fn top_level(b: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut at = 0;
    let mut out = Vec::new();
    while at + 8 <= b.len() {
        let size = u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes")) as usize;
        let kind: [u8; 4] = b[at + 4..at + 8].try_into().expect("4 bytes");
        out.push((kind, b[at..at + size].to_vec()));
        at += size;
    }
    out
}

/// A plain file from the `mp4` crate: one track of `main`, and one timed
/// text track whose samples name a place.
fn plain(brand: &str, main: MediaConfig, track_type: TrackType) -> Vec<u8> {
    let config = Mp4Config {
        major_brand: brand.parse::<FourCC>().expect("brand"),
        minor_version: 512,
        compatible_brands: [brand, "isom", "iso2", "mp41"]
            .iter()
            .map(|b| b.parse().expect("brand"))
            .collect(),
        timescale: 1000,
    };
    let mut writer = Mp4Writer::write_start(Cursor::new(Vec::new()), &config).expect("start");
    writer
        .add_track(&TrackConfig {
            track_type,
            timescale: 1000,
            language: "und".into(),
            media_conf: main,
        })
        .expect("main track");
    writer
        .add_track(&TrackConfig {
            track_type: TrackType::Subtitle,
            timescale: 1000,
            language: "und".into(),
            media_conf: MediaConfig::TtxtConfig(TtxtConfig {}),
        })
        .expect("text track");
    for i in 0..FRAMES {
        let sample = |bytes: Vec<u8>| Mp4Sample {
            start_time: u64::from(i) * 100,
            duration: 100,
            rendering_offset: 0,
            is_sync: true,
            bytes: Bytes::from(bytes),
        };
        writer.write_sample(1, &sample(frame(i))).expect("frame");
        writer
            .write_sample(
                2,
                &sample(b"Location: 43.2389 76.9445 SN-4417-0042".to_vec()),
            )
            .expect("text");
    }
    writer.write_end().expect("end");
    writer.into_writer().into_inner()
}

fn plain_mp4() -> Vec<u8> {
    plain(
        "isom",
        MediaConfig::AvcConfig(AvcConfig {
            width: 64,
            height: 48,
            seq_param_set: vec![0x67, 0x42, 0x00, 0x0a, 0xf8, 0x41, 0xa2],
            pic_param_set: vec![0x68, 0xce, 0x38, 0x80],
        }),
        TrackType::Video,
    )
}

fn plain_m4a() -> Vec<u8> {
    plain(
        "M4A ",
        MediaConfig::AacConfig(AacConfig::default()),
        TrackType::Audio,
    )
}

fn mp4_with_everything() -> Vec<u8> {
    with_everything(&plain_mp4())
}

/// A plain file with identifying data everywhere, the movie box moved in
/// front of the media data (as phones write it) and its sample offsets
/// moved to match.
fn with_everything(plain: &[u8]) -> Vec<u8> {
    let boxes = top_level(plain);
    let part = |kind: &[u8; 4]| {
        boxes
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, b)| b.clone())
            .expect("box present")
    };
    let (ftyp, mdat, moov) = (part(b"ftyp"), part(b"mdat"), part(b"moov"));

    let location = b"\x00\x11\x15\xc7+43.2389+076.9445/".to_vec();
    let mut udta = boxed(b"\xa9xyz", &location);
    udta.extend(boxed(b"\xa9mak", b"\x00\x0a\x15\xc7ACME-PHONE"));
    let mut moov_body = moov[8..].to_vec();
    moov_body.extend(boxed(b"udta", &udta));
    moov_body.extend(apple_meta());
    let moov = boxed(b"moov", &moov_body);
    let free = boxed(b"free", b"comment-by-witness");
    let uuid = boxed(
        b"uuid",
        b"\xbe\x7a\xcf\xcb\x97\xa9\x42\xe8\x9c\x71\x99\x94\x91\xe3\xaf\xac\
          <x:xmpmeta about='http://ns.adobe.com/'>ACME-PHONE</x:xmpmeta>",
    );

    let old_mdat_at = boxes
        .iter()
        .take_while(|(k, _)| k != b"mdat")
        .map(|(_, b)| b.len())
        .sum::<usize>();
    let new_mdat_at = ftyp.len() + free.len() + uuid.len() + moov.len();
    let mut moov = moov;
    shift_chunk_offsets(&mut moov, (new_mdat_at - old_mdat_at) as u32);

    let mut out = ftyp;
    out.extend(free);
    out.extend(uuid);
    out.extend(moov);
    out.extend(mdat);
    out.extend_from_slice(b"TRAILER-SECRET");
    out
}

/// Apple's metadata as an iPhone writes it: a `meta` box with an `mdta`
/// handler, keys, and values (a location and a model).
fn apple_meta() -> Vec<u8> {
    let mut hdlr = vec![0; 8];
    hdlr.extend_from_slice(b"mdta");
    hdlr.extend_from_slice(&[0; 13]);
    let keys_list = [
        "com.apple.quicktime.location.ISO6709",
        "com.apple.quicktime.model",
    ];
    let mut keys = vec![0, 0, 0, 0];
    keys.extend_from_slice(&(keys_list.len() as u32).to_be_bytes());
    for key in keys_list {
        keys.extend_from_slice(&((key.len() + 8) as u32).to_be_bytes());
        keys.extend_from_slice(b"mdta");
        keys.extend_from_slice(key.as_bytes());
    }
    let mut ilst = Vec::new();
    for (i, value) in ["+43.2389+076.9445/", "SN-4417-0042"].iter().enumerate() {
        let mut data = vec![0, 0, 0, 1, 0, 0, 0, 0];
        data.extend_from_slice(value.as_bytes());
        ilst.extend(boxed(
            &((i + 1) as u32).to_be_bytes(),
            &boxed(b"data", &data),
        ));
    }
    let mut meta = vec![0, 0, 0, 0];
    meta.extend(boxed(b"hdlr", &hdlr));
    meta.extend(boxed(b"keys", &keys));
    meta.extend(boxed(b"ilst", &ilst));
    boxed(b"meta", &meta)
}

/// Adds `delta` to every 32-bit chunk offset in a movie box.
fn shift_chunk_offsets(moov: &mut [u8], delta: u32) {
    let mut at = 0;
    while let Some(p) = moov[at..].windows(4).position(|w| w == b"stco") {
        let body = at + p + 4;
        let count = u32::from_be_bytes(moov[body + 4..body + 8].try_into().expect("4"));
        for i in 0..count as usize {
            let e = body + 8 + i * 4;
            let old = u32::from_be_bytes(moov[e..e + 4].try_into().expect("4"));
            moov[e..e + 4].copy_from_slice(&(old + delta).to_be_bytes());
        }
        at = body;
    }
}

/// Every sample of every track, as an independent reader sees them.
fn samples(bytes: &[u8]) -> Vec<(String, Vec<Vec<u8>>)> {
    let mut reader =
        Mp4Reader::read_header(Cursor::new(bytes), bytes.len() as u64).expect("mp4 reads");
    let mut ids: Vec<u32> = reader.tracks().keys().copied().collect();
    ids.sort_unstable();
    ids.into_iter()
        .map(|id| {
            let kind = format!("{:?}", reader.tracks()[&id].track_type().expect("type"));
            let n = reader.sample_count(id).expect("count");
            let all = (1..=n)
                .map(|s| {
                    reader
                        .read_sample(id, s)
                        .expect("sample reads")
                        .expect("sample present")
                        .bytes
                        .to_vec()
                })
                .collect();
            (kind, all)
        })
        .collect()
}

#[test]
fn mp4_loses_every_identifier_and_keeps_its_video_samples() {
    let original = mp4_with_everything();
    for secret in SECRETS {
        assert!(contains(&original, secret), "fixture plants {secret}");
    }
    // The reader does not skip a trailer; the file before it is valid.
    let before = samples(&original[..original.len() - b"TRAILER-SECRET".len()]);
    assert_eq!(before.len(), 2, "the fixture is a valid two-track file");
    let frames: Vec<Vec<u8>> = (0..FRAMES).map(frame).collect();
    assert_eq!(before[0], ("Video".to_string(), frames.clone()));

    let found = inspect(&original).expect("inspects");
    assert!(
        found.iter().any(|f| f.place.starts_with("user data")),
        "{found:#?}"
    );

    let clean = strip(&original).expect("strips");
    assert_eq!(clean.media_type(), MediaType::Mp4);
    assert_eq!(clean.dim(), Some((64, 48)));
    for secret in SECRETS {
        assert!(!contains(clean.bytes(), secret), "{secret} survived");
    }
    for gone in ["udta", "uuid", "free", "sbtl"] {
        assert!(!contains(clean.bytes(), gone), "a {gone} box survived");
    }
    assert_eq!(
        samples(clean.bytes()),
        vec![("Video".to_string(), frames)],
        "the same video samples, at their new offsets"
    );
    assert!(
        clean
            .removed()
            .iter()
            .any(|r| r.starts_with("a sbtl track")),
        "{:?}",
        clean.removed()
    );
    assert_eq!(inspect(clean.bytes()).expect("inspects"), vec![]);
    assert_eq!(
        strip(clean.bytes()).expect("idempotent").bytes(),
        clean.bytes()
    );

    // The same file branded as QuickTime (MOV) is cleaned the same way.
    let mut mov = original;
    mov[8..12].copy_from_slice(b"qt  ");
    let clean_mov = strip(&mov).expect("strips a MOV");
    assert_eq!(clean_mov.media_type(), MediaType::QuickTime);
    assert_eq!(clean_mov.media_type().mime(), "video/quicktime");
    assert_eq!(clean_mov.bytes()[12..], clean.bytes()[12..]);
}

#[test]
fn m4a_loses_every_identifier_and_keeps_its_sound() {
    let original = with_everything(&plain_m4a());
    let frames: Vec<Vec<u8>> = (0..FRAMES).map(frame).collect();
    let clean = strip(&original).expect("strips");
    assert_eq!(clean.media_type(), MediaType::M4a);
    assert_eq!(clean.media_type().mime(), "audio/mp4");
    assert_eq!(clean.dim(), None);
    for secret in SECRETS {
        assert!(!contains(clean.bytes(), secret), "{secret} survived");
    }
    assert_eq!(samples(clean.bytes()), vec![("Audio".to_string(), frames)]);
}

#[test]
fn broken_and_unsupported_video_is_refused() {
    let original = mp4_with_everything();
    let moov_at = original
        .windows(4)
        .position(|w| w == b"moov")
        .expect("moov")
        - 4;
    // Cut inside the movie box, and inside the media data.
    for cut in [moov_at + 40, original.len() - 200] {
        let err = strip(&original[..cut]).expect_err("truncated");
        assert!(
            matches!(err, MediaError::Corrupt { kind: "MP4", .. }),
            "cut at {cut}: {err:?}"
        );
    }
    // A sample offset pointing outside the media data.
    let mut bad = original.clone();
    let stco = bad.windows(4).position(|w| w == b"stco").expect("stco");
    bad[stco + 12..stco + 16].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        strip(&bad),
        Err(MediaError::Corrupt { kind: "MP4", .. })
    ));
    // Tables that claim four billion samples cost no memory for them.
    let mut huge = original.clone();
    let stsz = huge.windows(4).position(|w| w == b"stsz").expect("stsz");
    huge[stsz + 8..stsz + 12].copy_from_slice(&1u32.to_be_bytes());
    huge[stsz + 12..stsz + 16].copy_from_slice(&u32::MAX.to_be_bytes());
    // (Materialising them would abort the test for want of 16 GiB.)
    let _ = strip(&huge);
    // A video branded AVIF is no AVIF image; fragmented files are not
    // taken.
    let mut avif = original.clone();
    avif[8..12].copy_from_slice(b"avif");
    assert!(matches!(
        strip(&avif),
        Err(MediaError::Corrupt { kind: "AVIF", .. })
    ));
    let mut fragmented = original;
    let free = fragmented
        .windows(4)
        .position(|w| w == b"free")
        .expect("free");
    fragmented[free..free + 4].copy_from_slice(b"moof");
    assert!(matches!(
        strip(&fragmented),
        Err(MediaError::Unsupported(_))
    ));
}

/// Regenerates the video used by the command-line tests
/// (`SAMIZDAT_BLESS=1`), and checks the committed one still carries its
/// location.
#[test]
fn tour_video_carries_location() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/tour/video-with-location.mp4"
    );
    if std::env::var_os("SAMIZDAT_BLESS").is_some() {
        std::fs::write(path, mp4_with_everything()).expect("write tour video");
    }
    let bytes = std::fs::read(path).expect("tour video is committed");
    assert!(contains(&bytes, "+43.2389+076.9445"));
    assert_eq!(strip(&bytes).expect("strips").media_type(), MediaType::Mp4);
}

/// `file` with `extra` added at the end of its media data (the sample
/// offsets stay right: nothing moves before them).
fn with_hidden_bytes(file: &[u8], extra: &[u8]) -> Vec<u8> {
    let mdat = file.windows(4).position(|w| w == b"mdat").expect("mdat") - 4;
    let size = u32::from_be_bytes(file[mdat..mdat + 4].try_into().expect("4")) as usize;
    let mut out = file[..mdat + size].to_vec();
    out.extend_from_slice(extra);
    out.extend_from_slice(&file[mdat + size..]);
    let grown = ((size + extra.len()) as u32).to_be_bytes();
    out[mdat..mdat + 4].copy_from_slice(&grown);
    out
}

#[test]
fn media_data_no_kept_track_plays_is_zeroed() {
    let hidden = b"HIDDEN: GPS 43.2389 76.9445, ACME-PHONE SN-4417-0042";
    let original = with_hidden_bytes(&mp4_with_everything(), hidden);
    let clean = strip(&original).expect("strips");
    assert!(
        !contains(clean.bytes(), "HIDDEN"),
        "unreferenced bytes survived"
    );
    let frames: Vec<Vec<u8>> = (0..FRAMES).map(frame).collect();
    assert_eq!(samples(clean.bytes()), vec![("Video".to_string(), frames)]);
    assert!(
        clean
            .removed()
            .iter()
            .any(|r| r.contains("no kept track plays")),
        "{:?}",
        clean.removed()
    );
    assert_eq!(
        strip(clean.bytes()).expect("idempotent").bytes(),
        clean.bytes()
    );
}

#[test]
fn a_3gpp_voice_note_loses_its_text_track_and_keeps_its_sound() {
    let original = with_everything(&plain(
        "3gp4",
        MediaConfig::AacConfig(AacConfig::default()),
        TrackType::Audio,
    ));
    let clean = strip(&original).expect("strips");
    assert_eq!(clean.media_type(), MediaType::ThreeGpp);
    assert_eq!(clean.media_type().mime(), "video/3gpp");
    assert_eq!(clean.dim(), None);
    for secret in SECRETS {
        assert!(!contains(clean.bytes(), secret), "{secret} survived");
    }
    let frames: Vec<Vec<u8>> = (0..FRAMES).map(frame).collect();
    assert_eq!(samples(clean.bytes()), vec![("Audio".to_string(), frames)]);
}
