//! GIF images, still or animated: a header, a screen descriptor and its
//! colour table, then blocks up to the trailer.
//!
//! Kept, by allow-list: every image (descriptor, local colour table and
//! coded data) with its graphic control extension (timing,
//! transparency), and the looping of an animation (the `NETSCAPE2.0`
//! extension, written anew with its loop count alone). Dropped: comments,
//! plain-text extensions, every other application extension (XMP, ICC
//! profiles, editors' private data), and anything after the trailer.

use crate::{MediaError, MediaType};

fn corrupt(reason: impl ToString) -> MediaError {
    MediaError::corrupt(MediaType::Gif, reason)
}

pub fn looks_like(bytes: &[u8]) -> bool {
    bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a")
}

/// The sub-blocks starting at `at` (each a length byte and that many
/// bytes, up to an empty one): where they end, after the terminator.
fn sub_blocks(b: &[u8], mut at: usize) -> Result<usize, MediaError> {
    // Bounded: every sub-block moves `at` forward.
    loop {
        let len = *b
            .get(at)
            .ok_or_else(|| corrupt("data runs past the end (truncated file?)"))?;
        at += 1 + usize::from(len);
        if len == 0 {
            return Ok(at);
        }
        if at > b.len() {
            return Err(corrupt("data runs past the end (truncated file?)"));
        }
    }
}

/// The colour table's length from a packed field (its flag and size).
fn table_len(packed: u8) -> usize {
    if packed & 0x80 != 0 {
        3 << ((packed & 7) + 1)
    } else {
        0
    }
}

pub fn strip(bytes: &[u8]) -> Result<(Vec<u8>, Vec<String>), MediaError> {
    if !looks_like(bytes) {
        return Err(corrupt("not a GIF"));
    }
    let packed = *bytes.get(10).ok_or_else(|| corrupt("a short header"))?;
    let mut at = 13 + table_len(packed);
    if at > bytes.len() {
        return Err(corrupt("a short colour table"));
    }
    let mut out = bytes[..at].to_vec();
    let mut removed = Vec::new();
    let mut images = 0;
    // Bounded: every block moves `at` forward.
    loop {
        match bytes.get(at) {
            Some(0x3B) => {
                out.push(0x3B);
                at += 1;
                break;
            }
            Some(0x2C) => {
                let packed = *bytes
                    .get(at + 9)
                    .ok_or_else(|| corrupt("a short image descriptor"))?;
                let data = at + 10 + table_len(packed) + 1; // LZW code size
                if data > bytes.len() {
                    return Err(corrupt("a short image descriptor"));
                }
                let end = sub_blocks(bytes, data)?;
                out.extend_from_slice(&bytes[at..end]);
                images += 1;
                at = end;
            }
            Some(0x21) => {
                let label = *bytes
                    .get(at + 1)
                    .ok_or_else(|| corrupt("a cut extension"))?;
                let end = sub_blocks(bytes, at + 2)?;
                match label {
                    // Timing and transparency: one 4-byte block, or dropped.
                    0xF9 if end - at == 8 && bytes[at + 2] == 4 => {
                        out.extend_from_slice(&bytes[at..end]);
                    }
                    0xF9 => crate::note(&mut removed, "malformed graphic control".to_string()),
                    0xFF if is_loop(&bytes[at + 2..end]) => {
                        // The loop count only, in the one form players read.
                        let count = &bytes[at + 2 + 12 + 2..at + 2 + 12 + 4];
                        out.extend_from_slice(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01");
                        out.extend_from_slice(count);
                        out.push(0);
                    }
                    0xFE => crate::note(&mut removed, "comment".to_string()),
                    0x01 => crate::note(&mut removed, "plain-text extension".to_string()),
                    0xFF => crate::note(
                        &mut removed,
                        format!(
                            "application extension {}",
                            String::from_utf8_lossy(bytes.get(at + 3..at + 11).unwrap_or(b"?"))
                        ),
                    ),
                    other => crate::note(&mut removed, format!("extension {other:#04x}")),
                }
                at = end;
            }
            Some(other) => return Err(corrupt(format!("an unknown block {other:#04x}"))),
            None => return Err(corrupt("no trailer (truncated file?)")),
        }
    }
    if images == 0 {
        return Err(corrupt("no image"));
    }
    if at < bytes.len() {
        crate::note(
            &mut removed,
            format!("{} bytes after the trailer", bytes.len() - at),
        );
    }
    removed.sort();
    removed.dedup();
    Ok((out, removed))
}

/// Whether an application extension's sub-blocks are a loop count: the
/// `NETSCAPE2.0` (or `ANIMEXTS1.0`) identifier and one 3-byte block.
fn is_loop(blocks: &[u8]) -> bool {
    blocks.len() == 1 + 11 + 1 + 3 + 1
        && blocks[0] == 11
        && (&blocks[1..12] == b"NETSCAPE2.0" || &blocks[1..12] == b"ANIMEXTS1.0")
        && blocks[12] == 3
        && blocks[13] == 1
}
