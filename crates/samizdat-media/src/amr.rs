//! AMR voice recordings (`.amr`, `.awb`: older Android recorders and
//! phones): a magic line, then speech frames, each a table-of-contents
//! byte and a size that byte fixes (RFC 4867, section 5).
//!
//! The format has no place for metadata; what can hide is after the last
//! frame. Kept: the magic and every frame up to the first byte that is
//! not a frame. Dropped: the rest.

use crate::{MediaError, MediaType};

pub const NARROW: &[u8] = b"#!AMR\n";
pub const WIDE: &[u8] = b"#!AMR-WB\n";

/// Speech bytes after the table-of-contents byte, by frame type; `None`
/// for types no file may hold.
fn frame_bytes(wide: bool, kind: u8) -> Option<usize> {
    const NB: [usize; 9] = [12, 13, 15, 17, 19, 20, 26, 31, 5];
    const WB: [usize; 10] = [17, 23, 32, 36, 40, 46, 50, 58, 60, 5];
    match (wide, kind) {
        (_, 15) => Some(0), // no data
        (false, k) => NB.get(usize::from(k)).copied(),
        (true, k) => WB.get(usize::from(k)).copied(),
    }
}

fn media_type(wide: bool) -> MediaType {
    if wide {
        MediaType::AmrWb
    } else {
        MediaType::Amr
    }
}

/// Where the frames end: the first byte that does not start a whole frame.
fn frames_end(bytes: &[u8], wide: bool) -> usize {
    let mut at = if wide { WIDE.len() } else { NARROW.len() };
    // Bounded: every frame moves `at` forward by at least one byte.
    while let Some(&toc) = bytes.get(at) {
        if toc & 0x83 != 0 {
            break; // F bit set (not storage format), or padding bits
        }
        let Some(len) = frame_bytes(wide, (toc >> 3) & 0x0F) else {
            break;
        };
        if at + 1 + len > bytes.len() {
            break;
        }
        at += 1 + len;
    }
    at
}

pub fn strip(bytes: &[u8], wide: bool) -> Result<(Vec<u8>, Vec<String>), MediaError> {
    let end = frames_end(bytes, wide);
    let magic = if wide { WIDE.len() } else { NARROW.len() };
    if end == magic {
        return Err(MediaError::corrupt(media_type(wide), "no speech frame"));
    }
    let mut removed = Vec::new();
    if end < bytes.len() {
        removed.push(format!("{} bytes after the last frame", bytes.len() - end));
    }
    Ok((bytes[..end].to_vec(), removed))
}

pub fn check(bytes: &[u8], wide: bool) -> Result<(), MediaError> {
    let magic = if wide { WIDE.len() } else { NARROW.len() };
    let end = frames_end(bytes, wide);
    if end == magic || end != bytes.len() {
        return Err(MediaError::corrupt(
            media_type(wide),
            "not whole speech frames to the end",
        ));
    }
    Ok(())
}
