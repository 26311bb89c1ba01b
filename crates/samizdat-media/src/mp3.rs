//! MP3: keep the MPEG audio frames and nothing else. ID3v2 tags (at the
//! start or anywhere else), APEv2 and Lyrics3 tags, the ID3v1 tag at the
//! end and any bytes between frames are dropped: an allow-list of one
//! thing, the sound.

use crate::{MediaError, MediaType};

/// Two frames in a row must agree before unknown bytes are taken to end,
/// so that a stray 0xFF in junk is not mistaken for sound.
const RESYNC_FRAMES: usize = 2;

pub fn strip(bytes: &[u8]) -> Result<(Vec<u8>, Vec<String>), MediaError> {
    let corrupt = |reason: String| MediaError::corrupt(MediaType::Mp3, reason);
    let mut out = Vec::with_capacity(bytes.len());
    let mut removed = Vec::new();
    let mut frames = 0usize;
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        if let Some(n) = frame_len(rest) {
            if n > rest.len() {
                return Err(corrupt(format!(
                    "the frame at byte {at} is cut short (truncated file?)"
                )));
            }
            out.extend_from_slice(&rest[..n]);
            frames += 1;
            at += n;
            continue;
        }
        let (what, n) = match tag_len(rest) {
            Some(tag) => tag,
            None => ("bytes between frames", junk_len(rest)),
        };
        if what == "bytes between frames" {
            removed.push(format!("{n} {what}"));
        } else {
            removed.push(what.to_string());
        }
        at += n.max(1).min(rest.len());
    }
    if frames == 0 {
        return Err(corrupt("no MPEG audio frames".into()));
    }
    removed.sort();
    removed.dedup();
    Ok((out, removed))
}

/// Checks that a stripped file is MPEG audio frames from end to end.
pub fn check(bytes: &[u8]) -> Result<(), MediaError> {
    let mut at = 0;
    while at < bytes.len() {
        match frame_len(&bytes[at..]).filter(|&n| at + n <= bytes.len()) {
            Some(n) => at += n,
            None => {
                return Err(MediaError::corrupt(
                    MediaType::Mp3,
                    format!("no MPEG audio frame at byte {at}"),
                ));
            }
        }
    }
    Ok(())
}

/// Whether `bytes` starts like an MP3: an ID3v2 tag, or two frames in a
/// row (one frame header alone is too likely in random bytes).
pub fn looks_like(bytes: &[u8]) -> bool {
    bytes.starts_with(b"ID3") || frames_follow(bytes, RESYNC_FRAMES)
}

/// The length of the MPEG audio frame whose header starts `b`, if it is
/// one (free-format and reserved values are not).
fn frame_len(b: &[u8]) -> Option<usize> {
    let h = b.get(..4)?;
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (h[1] >> 3) & 3; // 0: MPEG 2.5, 2: MPEG 2, 3: MPEG 1
    let layer = (h[1] >> 1) & 3; // 1: III, 2: II, 3: I
    let bitrate_index = usize::from(h[2] >> 4);
    let rate_index = usize::from((h[2] >> 2) & 3);
    let padding = usize::from((h[2] >> 1) & 1);
    if version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    const V1: [[u32; 14]; 3] = [
        [
            32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
        ],
        [
            32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
        ],
        [
            32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
        ],
    ];
    const V2: [[u32; 14]; 2] = [
        [
            32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
        ],
        [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    ];
    let row = 3 - usize::from(layer); // 0: I, 1: II, 2: III
    let kbps = if version == 3 {
        V1[row][bitrate_index - 1]
    } else {
        V2[row.min(1)][bitrate_index - 1]
    };
    let rate = [
        [11_025, 12_000, 8_000],
        [0, 0, 0],
        [22_050, 24_000, 16_000],
        [44_100, 48_000, 32_000],
    ][usize::from(version)][rate_index];
    let bits = kbps as usize * 1000;
    Some(match (layer, version) {
        (3, _) => (12 * bits / rate + padding) * 4,
        (1, 0 | 2) => 72 * bits / rate + padding,
        _ => 144 * bits / rate + padding,
    })
}

/// A tag at the start of `b`: its name and length.
fn tag_len(b: &[u8]) -> Option<(&'static str, usize)> {
    if b.starts_with(b"ID3") && b.len() >= 10 {
        // Size: four 7-bit bytes; a footer adds ten more.
        let size = b[6..10]
            .iter()
            .fold(0usize, |n, &byte| (n << 7) | usize::from(byte & 0x7F));
        let footer = if b[5] & 0x10 != 0 { 10 } else { 0 };
        return Some(("ID3v2 tag", 10 + size + footer));
    }
    if b.starts_with(b"APETAGEX") && b.len() >= 32 {
        // Size counts the items and the footer; a header adds 32.
        let size = u32::from_le_bytes([b[12], b[13], b[14], b[15]]) as usize;
        let has_header = b[23] & 0x80 != 0;
        let is_header = b[23] & 0x20 != 0;
        let len = if is_header && has_header {
            size + 32
        } else {
            32
        };
        return Some(("APE tag", len));
    }
    if b.starts_with(b"LYRICSBEGIN") {
        let end = ["LYRICS200", "LYRICSEND"]
            .iter()
            .filter_map(|m| find(b, m.as_bytes()).map(|at| at + m.len()))
            .min()
            .unwrap_or(b.len());
        return Some(("Lyrics3 tag", end));
    }
    if b.starts_with(b"TAG") && b.len() >= 128 {
        return Some(("ID3v1 tag", 128));
    }
    None
}

/// How many unknown bytes there are before the next frame that is followed
/// by another, or the next tag.
fn junk_len(b: &[u8]) -> usize {
    (1..b.len())
        .find(|&i| {
            let rest = &b[i..];
            tag_len(rest).is_some() || frames_follow(rest, RESYNC_FRAMES)
        })
        .unwrap_or(b.len())
}

fn frames_follow(b: &[u8], n: usize) -> bool {
    let mut at = 0;
    for _ in 0..n {
        match frame_len(&b[at.min(b.len())..]) {
            Some(len) if at + len <= b.len() => at += len,
            _ => return false,
        }
    }
    true
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
