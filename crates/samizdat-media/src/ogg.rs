//! Ogg sound (Opus and Vorbis, what phones' voice messages and recorders
//! write): every packet is kept as it is but the comment header, which
//! holds the tags (a location, the device, dates, an embedded picture)
//! and the encoder's vendor string: it is replaced by an empty one. The
//! pages are written anew (page boundaries and granule positions kept,
//! checksums recomputed), so bytes outside the streams go too. Other
//! codecs in Ogg (Theora video, FLAC, Speex) are refused.

use std::collections::HashMap;
use std::io::Cursor;

use ogg::writing::PacketWriteEndInfo;
use ogg::{PacketReader, PacketWriter};

use crate::{MediaError, MediaType};

/// Logical streams one file may hold (chained or multiplexed).
const MAX_STREAMS: usize = 16;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Codec {
    Opus,
    Vorbis,
}

impl Codec {
    fn of(first: &[u8]) -> Option<Codec> {
        if first.starts_with(b"OpusHead") {
            Some(Codec::Opus)
        } else if first.starts_with(b"\x01vorbis") {
            Some(Codec::Vorbis)
        } else {
            None
        }
    }

    /// The magic that starts the comment header.
    fn comment_magic(self) -> &'static [u8] {
        match self {
            Codec::Opus => b"OpusTags",
            Codec::Vorbis => b"\x03vorbis",
        }
    }

    /// A comment header with no vendor string and no comments.
    fn empty_comments(self) -> Vec<u8> {
        let mut packet = self.comment_magic().to_vec();
        packet.extend_from_slice(&0u32.to_le_bytes());
        packet.extend_from_slice(&0u32.to_le_bytes());
        if self == Codec::Vorbis {
            packet.push(1); // the framing bit
        }
        packet
    }
}

fn corrupt(reason: impl ToString) -> MediaError {
    MediaError::corrupt(MediaType::Ogg, reason)
}

pub fn strip(bytes: &[u8]) -> Result<(Vec<u8>, Vec<String>), MediaError> {
    let mut reader = PacketReader::new(Cursor::new(bytes));
    let mut out = Vec::with_capacity(bytes.len());
    let mut removed = Vec::new();
    let mut streams: HashMap<u32, (Codec, u64)> = HashMap::new();
    {
        let mut writer = PacketWriter::new(&mut out);
        while let Some(packet) = reader.read_packet().map_err(corrupt)? {
            let serial = packet.stream_serial();
            let end = if packet.last_in_stream() {
                PacketWriteEndInfo::EndStream
            } else if packet.last_in_page() {
                PacketWriteEndInfo::EndPage
            } else {
                PacketWriteEndInfo::NormalPacket
            };
            let granule = packet.absgp_page();
            let index = match streams.get_mut(&serial) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    if streams.len() == MAX_STREAMS {
                        return Err(corrupt(format!("more than {MAX_STREAMS} streams")));
                    }
                    let codec = Codec::of(&packet.data).ok_or_else(|| {
                        MediaError::Unsupported("Ogg with a codec other than Opus or Vorbis".into())
                    })?;
                    streams.insert(serial, (codec, 0));
                    0
                }
            };
            let Some(&(codec, _)) = streams.get(&serial) else {
                continue; // inserted just above
            };
            let data = if index == 1 {
                if !packet.data.starts_with(codec.comment_magic()) {
                    return Err(corrupt("the second packet is not the comment header"));
                }
                removed.push(describe(&packet.data[codec.comment_magic().len()..]));
                codec.empty_comments()
            } else {
                packet.data
            };
            writer
                .write_packet(data, serial, end, granule)
                .map_err(|e| corrupt(format!("writing: {e}")))?;
        }
    }
    if streams.is_empty() {
        return Err(corrupt("no Ogg stream in the file"));
    }
    if streams.values().any(|(_, n)| *n < 1) {
        return Err(corrupt("a stream ends before its comment header"));
    }
    Ok((out, removed))
}

/// Reads the whole file back: every page's checksum, every stream with
/// an empty comment header.
pub fn check(bytes: &[u8]) -> Result<(), MediaError> {
    let mut reader = PacketReader::new(Cursor::new(bytes));
    let mut seen: HashMap<u32, (Codec, u64)> = HashMap::new();
    while let Some(packet) = reader.read_packet().map_err(corrupt)? {
        let serial = packet.stream_serial();
        match seen.get_mut(&serial) {
            None => {
                let codec = Codec::of(&packet.data).ok_or_else(|| corrupt("an unknown codec"))?;
                seen.insert(serial, (codec, 0));
            }
            Some((codec, n)) => {
                *n += 1;
                if *n == 1 && packet.data != codec.empty_comments() {
                    return Err(corrupt("tags remain"));
                }
            }
        }
    }
    if seen.is_empty() {
        return Err(corrupt("no Ogg stream"));
    }
    Ok(())
}

/// What a comment header held, in words: the vendor string and the
/// names of the tags.
fn describe(body: &[u8]) -> String {
    let mut names = Vec::new();
    let parsed = (|| -> Option<()> {
        let mut at = 4usize.checked_add(length_at(body, 0)?)?;
        let count = length_at(body, at)?;
        at += 4;
        for _ in 0..count.min(1_000) {
            let len = length_at(body, at)?;
            at += 4;
            let comment = body.get(at..at.checked_add(len)?)?;
            at += len;
            let name = comment.split(|&c| c == b'=').next().unwrap_or_default();
            names.push(String::from_utf8_lossy(name).to_uppercase());
        }
        Some(())
    })();
    names.sort();
    names.dedup();
    match (parsed, names.is_empty()) {
        (Some(()), true) => "Ogg vendor string".to_string(),
        (Some(()), false) => format!("Ogg tags ({})", names.join(", ")),
        (None, _) => "a damaged Ogg comment header".to_string(),
    }
}

/// A little-endian 32-bit length at `at`.
fn length_at(body: &[u8], at: usize) -> Option<usize> {
    let b = body.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}
