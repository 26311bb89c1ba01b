//! WAV sound: a RIFF `WAVE` file, a list of chunks.
//!
//! Kept, by allow-list: `fmt ` (how to play the sound), `fact` (the
//! sample count of compressed sound) and `data`, byte for byte. Dropped:
//! `LIST` (`INFO`: title, artist, software, creation date, comments),
//! `bext` (broadcast: originator, reference, date and time, coding
//! history), `iXML`, `id3 `, cue points, `JUNK`, padding and every other
//! chunk, and anything after the RIFF data. A recorder that was cut off
//! leaves sizes that run past the end: the sound is kept up to the last
//! whole sample frame.

use crate::{MediaError, MediaType};

fn le16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Whether `bytes` start like a WAV file.
pub fn looks_like(bytes: &[u8]) -> bool {
    bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WAVE")
}

fn corrupt(reason: impl ToString) -> MediaError {
    MediaError::corrupt(MediaType::Wav, reason)
}

/// The chunks kept: `fmt `, `fact` if any, and `data` (trimmed to whole
/// sample frames), with what was dropped.
struct Parts<'a> {
    fmt: &'a [u8],
    fact: Option<&'a [u8]>,
    data: &'a [u8],
    removed: Vec<String>,
}

fn parts(bytes: &[u8], strict: bool) -> Result<Parts<'_>, MediaError> {
    if !looks_like(bytes) {
        return Err(corrupt("not a RIFF WAVE file"));
    }
    let declared = le32(bytes, 4).ok_or_else(|| corrupt("a short header"))? as usize;
    let end = declared.saturating_add(8).min(bytes.len());
    let mut removed = Vec::new();
    if declared.saturating_add(8) < bytes.len() {
        crate::note(
            &mut removed,
            format!("{} bytes after the RIFF data", bytes.len() - declared - 8),
        );
    }
    let (mut fmt, mut fact, mut data) = (None, None, None);
    let mut at = 12;
    while at + 8 <= end {
        let id: [u8; 4] = bytes[at..at + 4].try_into().unwrap_or_default();
        let size = le32(bytes, at + 4).unwrap_or(0) as usize;
        let body = at + 8;
        let body_end = body.saturating_add(size);
        if body_end > end {
            if &id == b"data" && !strict {
                // Cut off while recording, or a streaming writer's size:
                // the sound is whatever follows.
                data = Some(&bytes[body..end]);
                break;
            }
            return Err(corrupt(format!(
                "the {} chunk runs past the end of the file",
                String::from_utf8_lossy(&id)
            )));
        }
        let chunk = &bytes[body..body_end];
        match &id {
            b"fmt " if fmt.is_none() && data.is_none() => fmt = Some(chunk),
            b"fact" if fact.is_none() && chunk.len() == 4 => fact = Some(chunk),
            b"data" if data.is_none() && fmt.is_some() => data = Some(chunk),
            b"fmt " | b"data" | b"fact" => {
                return Err(corrupt(format!(
                    "a {} chunk out of place",
                    String::from_utf8_lossy(&id)
                )));
            }
            other => crate::note(&mut removed, chunk_name(other)),
        }
        // Chunks are padded to an even length.
        at = body_end + (size & 1);
    }
    if strict && at < end {
        return Err(corrupt("bytes after the last chunk"));
    }
    let fmt = fmt.ok_or_else(|| corrupt("no fmt chunk"))?;
    let data = data.ok_or_else(|| corrupt("no data chunk"))?;
    let align = check_fmt(fmt)?;
    let whole = data.len() - data.len() % align;
    if whole < data.len() {
        if strict {
            return Err(corrupt("a partial sample frame at the end"));
        }
        crate::note(
            &mut removed,
            format!("{} bytes of a cut-off sample", data.len() - whole),
        );
    }
    Ok(Parts {
        fmt,
        fact,
        data: &data[..whole],
        removed,
    })
}

/// Checks the format chunk; returns the size of one sample frame.
fn check_fmt(fmt: &[u8]) -> Result<usize, MediaError> {
    // PCM's 16 bytes, 18 with an empty extension, 40 for the extensible
    // format, 20 for IMA ADPCM: nothing longer to carry anything else.
    if !matches!(fmt.len(), 16 | 18 | 20 | 40) {
        return Err(corrupt(format!("a fmt chunk of {} bytes", fmt.len())));
    }
    let (Some(tag), Some(channels), Some(rate), Some(align)) =
        (le16(fmt, 0), le16(fmt, 2), le32(fmt, 4), le16(fmt, 12))
    else {
        return Err(corrupt("a short fmt chunk"));
    };
    // PCM, IEEE float, A-law, μ-law, IMA ADPCM, GSM 6.10, extensible.
    if !matches!(tag, 1 | 3 | 6 | 7 | 0x11 | 0x31 | 0xFFFE) {
        return Err(MediaError::Unsupported(format!(
            "WAV with sound coded as format {tag:#06x}"
        )));
    }
    if !(1..=32).contains(&channels) || !(1..=768_000).contains(&rate) || align == 0 {
        return Err(corrupt("impossible channels, rate or block size"));
    }
    Ok(usize::from(align))
}

fn chunk_name(id: &[u8; 4]) -> String {
    match id {
        b"LIST" => "LIST chunk (INFO: title, artist, software, dates, comments)".into(),
        b"bext" => "bext chunk (broadcast: originator, date and time, history)".into(),
        b"iXML" => "iXML chunk (recorder metadata)".into(),
        b"id3 " | b"ID3 " => "ID3 tag".into(),
        b"JUNK" | b"PAD " | b"FLLR" => "padding".into(),
        other => format!("{} chunk", String::from_utf8_lossy(other).trim_end()),
    }
}

fn chunk(out: &mut Vec<u8>, id: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(id);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
    if body.len() % 2 == 1 {
        out.push(0);
    }
}

pub fn strip(bytes: &[u8]) -> Result<(Vec<u8>, Vec<String>), MediaError> {
    let parts = parts(bytes, false)?;
    let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
    chunk(&mut out, b"fmt ", parts.fmt);
    if let Some(fact) = parts.fact {
        chunk(&mut out, b"fact", fact);
    }
    chunk(&mut out, b"data", parts.data);
    let size = u32::try_from(out.len() - 8).map_err(|_| corrupt("over 4 GiB"))?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Ok((out, parts.removed))
}

/// Reads a cleaned file back: its three chunks, exactly, and nothing else.
pub fn check(bytes: &[u8]) -> Result<(), MediaError> {
    let parts = parts(bytes, true)?;
    if !parts.removed.is_empty() {
        return Err(corrupt("chunks left that cleaning drops"));
    }
    if parts.data.is_empty() {
        return Err(corrupt("no sound"));
    }
    Ok(())
}
