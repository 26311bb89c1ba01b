//! FLAC sound: `fLaC`, metadata blocks, then audio frames.
//!
//! Kept, by allow-list: `STREAMINFO` (how to decode) and `SEEKTABLE`
//! (where frames start, relative to the first one, which does not move),
//! and every audio frame byte for byte. Dropped: `VORBIS_COMMENT` (title,
//! artist, location, device, the encoder's vendor string), `PICTURE`
//! (cover art, which may be a photo), `APPLICATION`, `CUESHEET`,
//! `PADDING`, an ID3v2 tag in front, and anything after the last frame (an
//! ID3v1 or APE tag). Frames are found by their sync code, header CRC-8
//! and whole-frame CRC-16, so the end of the sound is exact.

use crate::{MediaError, MediaType};

const STREAMINFO: u8 = 0;
const SEEKTABLE: u8 = 3;

fn corrupt(reason: impl ToString) -> MediaError {
    MediaError::corrupt(MediaType::Flac, reason)
}

/// The length of an ID3v2 tag at the start of `b`, if there is one.
pub(crate) fn id3v2_len(b: &[u8]) -> Option<usize> {
    if !b.starts_with(b"ID3") {
        return None;
    }
    let size = b.get(6..10)?;
    if size.iter().any(|&x| x & 0x80 != 0) {
        return None;
    }
    let size = size
        .iter()
        .fold(0usize, |acc, &x| (acc << 7) | usize::from(x));
    let footer = if b.get(5).is_some_and(|f| f & 0x10 != 0) {
        10
    } else {
        0
    };
    Some(10 + size + footer)
}

/// Whether `bytes` is a FLAC stream, with or without an ID3v2 tag in
/// front.
pub fn looks_like(bytes: &[u8]) -> bool {
    let start = id3v2_len(bytes).unwrap_or(0);
    bytes.get(start..start + 4) == Some(b"fLaC")
}

/// The metadata blocks kept, where the frames start, and what was dropped.
struct Layout {
    kept: Vec<(u8, std::ops::Range<usize>)>,
    frames: usize,
    removed: Vec<String>,
}

fn layout(bytes: &[u8]) -> Result<Layout, MediaError> {
    let mut removed = Vec::new();
    let start = match id3v2_len(bytes) {
        Some(n) => {
            crate::note(&mut removed, "ID3v2 tag".to_string());
            n
        }
        None => 0,
    };
    if bytes.get(start..start + 4) != Some(b"fLaC") {
        return Err(corrupt("no fLaC marker"));
    }
    let mut at = start + 4;
    let mut kept = Vec::new();
    // Bounded: each block moves `at` forward by at least four bytes.
    loop {
        let header = bytes
            .get(at..at + 4)
            .ok_or_else(|| corrupt("metadata runs past the end"))?;
        let last = header[0] & 0x80 != 0;
        let kind = header[0] & 0x7F;
        let len =
            (usize::from(header[1]) << 16) | (usize::from(header[2]) << 8) | usize::from(header[3]);
        let body = at + 4..at + 4 + len;
        if body.end > bytes.len() {
            return Err(corrupt("a metadata block runs past the end"));
        }
        match kind {
            STREAMINFO if kept.is_empty() && len == 34 => kept.push((kind, body.clone())),
            STREAMINFO => return Err(corrupt("STREAMINFO out of place")),
            SEEKTABLE if len % 18 == 0 => kept.push((kind, body.clone())),
            127 => return Err(corrupt("an invalid metadata block")),
            other => crate::note(&mut removed, block_name(other)),
        }
        at = body.end;
        if last {
            break;
        }
    }
    if kept.first().map(|(k, _)| *k) != Some(STREAMINFO) {
        return Err(corrupt("no STREAMINFO"));
    }
    Ok(Layout {
        kept,
        frames: at,
        removed,
    })
}

fn block_name(kind: u8) -> String {
    match kind {
        1 => "padding".into(),
        2 => "APPLICATION block".into(),
        4 => "Vorbis comments (title, artist, location, device, encoder)".into(),
        5 => "cue sheet".into(),
        6 => "picture (cover art)".into(),
        other => format!("metadata block of type {other}"),
    }
}

/// CRC-8, polynomial x^8 + x^2 + x + 1, as FLAC frame headers use it.
fn crc8(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |mut crc, &b| {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
        crc
    })
}

/// CRC-16, polynomial x^16 + x^15 + x^2 + 1, one byte at a time.
fn crc16_step(crc: u16, b: u8) -> u16 {
    let mut crc = crc ^ (u16::from(b) << 8);
    for _ in 0..8 {
        crc = if crc & 0x8000 != 0 {
            (crc << 1) ^ 0x8005
        } else {
            crc << 1
        };
    }
    crc
}

/// The length of the frame header at `at`, if one is there and its CRC-8
/// checks.
fn header_len(b: &[u8], at: usize) -> Option<usize> {
    let h = b.get(at..at + 4)?;
    if h[0] != 0xFF || h[1] & 0xFE != 0xF8 {
        return None;
    }
    let block = h[2] >> 4;
    let rate = h[2] & 0x0F;
    let channels = h[3] >> 4;
    let depth = (h[3] >> 1) & 7;
    if block == 0 || rate == 15 || channels > 10 || depth == 3 || h[3] & 1 != 0 {
        return None;
    }
    // The frame or sample number: UTF-8-like, one to seven bytes.
    let first = *b.get(at + 4)?;
    let extra = match first {
        0x00..=0x7F => 0,
        0xC0..=0xDF => 1,
        0xE0..=0xEF => 2,
        0xF0..=0xF7 => 3,
        0xF8..=0xFB => 4,
        0xFC..=0xFD => 5,
        0xFE => 6,
        _ => return None,
    };
    let mut len = 5 + extra;
    if (1..=extra).any(|i| b.get(at + 4 + i).is_none_or(|c| c & 0xC0 != 0x80)) {
        return None;
    }
    len += match block {
        6 => 1,
        7 => 2,
        _ => 0,
    };
    len += match rate {
        12 => 1,
        13 | 14 => 2,
        _ => 0,
    };
    let crc = *b.get(at + len)?;
    (crc8(&b[at..at + len]) == crc).then_some(len + 1)
}

/// Where the audio ends once tags appended to it are set aside: ID3v1
/// (`TAG`, 128 bytes) and APEv2 (found by its `APETAGEX` footer), in any
/// order.
fn before_tags(b: &[u8], start: usize) -> usize {
    let mut end = b.len();
    // Bounded: each round removes a tag or stops.
    loop {
        if end >= start + 128 && b[end - 128..end].starts_with(b"TAG") {
            end -= 128;
        } else if end >= start + 32 && &b[end - 32..end - 24] == b"APETAGEX" {
            // The footer's size counts the items and the footer itself.
            let size = b[end - 20..end - 16]
                .try_into()
                .map(u32::from_le_bytes)
                .unwrap_or(0) as usize;
            let header = if b[end - 9] & 0x80 != 0 { 32 } else { 0 };
            match end.checked_sub(size.saturating_add(header)) {
                Some(e) if size >= 32 && e >= start && e < end => end = e,
                _ => return end,
            }
        } else {
            return end;
        }
    }
}

/// Where the audio frames from `start` end: the end of the last frame
/// whose CRC-16 checks and which is followed by another frame or by the
/// end of the audio (tags after it set aside).
fn frames_end(b: &[u8], start: usize) -> Result<usize, MediaError> {
    let b = &b[..before_tags(b, start)];
    let mut at = start;
    if header_len(b, at).is_none() {
        return Err(corrupt("no audio frame after the metadata"));
    }
    // Bounded: every byte is fed to the CRC once.
    'frames: while at < b.len() {
        let Some(header) = header_len(b, at) else {
            break;
        };
        let mut crc = 0u16;
        for (i, &byte) in b[at..].iter().enumerate() {
            crc = crc16_step(crc, byte);
            let end = at + i + 1;
            if i + 1 > header + 1 && crc == 0 && (end == b.len() || header_len(b, end).is_some()) {
                at = end;
                continue 'frames;
            }
        }
        break;
    }
    if at == start {
        return Err(corrupt("the first audio frame does not check out"));
    }
    Ok(at)
}

pub fn strip(bytes: &[u8]) -> Result<(Vec<u8>, Vec<String>), MediaError> {
    let mut layout = layout(bytes)?;
    let end = frames_end(bytes, layout.frames)?;
    if end < bytes.len() {
        crate::note(
            &mut layout.removed,
            format!("{} bytes after the last audio frame", bytes.len() - end),
        );
    }
    let mut out = b"fLaC".to_vec();
    let count = layout.kept.len();
    for (i, (kind, body)) in layout.kept.iter().enumerate() {
        let last = if i + 1 == count { 0x80 } else { 0 };
        let len = body.len() as u32;
        out.push(kind | last);
        out.extend_from_slice(&len.to_be_bytes()[1..]);
        out.extend_from_slice(&bytes[body.clone()]);
    }
    out.extend_from_slice(&bytes[layout.frames..end]);
    Ok((out, layout.removed))
}

/// Reads a cleaned stream back: only kept blocks, then frames to the end.
pub fn check(bytes: &[u8]) -> Result<(), MediaError> {
    let layout = layout(bytes)?;
    if !layout.removed.is_empty() {
        return Err(corrupt("metadata left that cleaning drops"));
    }
    if frames_end(bytes, layout.frames)? != bytes.len() {
        return Err(corrupt("bytes after the last audio frame"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_that_claims_no_size_ends_the_search() {
        // An APE footer of size 0 once sent this round for ever.
        let mut b = b"fLaC\x80\0\0\x22".to_vec();
        b.extend([0; 34]);
        b.extend(b"APETAGEX\xd0\x07\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(before_tags(&b, 42), b.len());
        assert!(strip(&b).is_err());
    }

    #[test]
    fn crcs_are_flacs() {
        // CRC-8/SMBUS and CRC-16/UMTS of "123456789".
        assert_eq!(crc8(b"123456789"), 0xF4);
        assert_eq!(
            b"123456789".iter().fold(0, |c, &b| crc16_step(c, b)),
            0xFEE8
        );
    }
}
