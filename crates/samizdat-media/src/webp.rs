//! WebP: keep the image data (`VP8 `, `VP8L`, `ALPH`), the animation
//! (`ANIM`, and `ANMF` frames holding only image data), the colour profile
//! (`ICCP`) and the orientation; drop EXIF, XMP and every other chunk,
//! inside animation frames too, and anything after the RIFF container.
//! The `VP8X` header's flags are brought in line with what is left.

use img_parts::riff::{RiffChunk, RiffContent};
use img_parts::webp::{
    CHUNK_ALPH, CHUNK_ANIM, CHUNK_ANMF, CHUNK_EXIF, CHUNK_ICCP, CHUNK_VP8, CHUNK_VP8L, CHUNK_VP8X,
    WebP,
};
use img_parts::{Bytes, ImageEXIF};

use crate::{MediaError, MediaType, exif_tiff};

/// Chunks that define the picture.
const KEEP: &[[u8; 4]] = &[
    CHUNK_VP8X, CHUNK_VP8, CHUNK_VP8L, CHUNK_ALPH, CHUNK_ANIM, CHUNK_ANMF, CHUNK_ICCP,
];
/// Chunks an animation frame may hold after its 16-byte header.
const FRAME_KEEP: &[[u8; 4]] = &[CHUNK_ALPH, CHUNK_VP8, CHUNK_VP8L];
/// `VP8X` flags that say EXIF and XMP chunks follow.
const EXIF_FLAG: u8 = 0b0000_1000;
const XMP_FLAG: u8 = 0b0000_0100;

pub fn strip(bytes: &[u8]) -> Result<(Vec<u8>, Vec<String>), MediaError> {
    let corrupt = |reason: &dyn std::fmt::Display| MediaError::corrupt(MediaType::WebP, reason);
    // The container's own size says where it ends; what follows is not
    // part of the picture.
    let declared = bytes
        .get(4..8)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize + 8)
        .ok_or_else(|| corrupt(&"shorter than a RIFF header"))?;
    if declared > bytes.len() {
        return Err(corrupt(
            &"the file is shorter than its header says (truncated?)",
        ));
    }
    let mut removed = Vec::new();
    if declared < bytes.len() {
        removed.push(format!(
            "{} bytes after the end of the image",
            bytes.len() - declared
        ));
    }
    let mut webp =
        WebP::from_bytes(Bytes::copy_from_slice(&bytes[..declared])).map_err(|e| corrupt(&e))?;
    let orientation = webp
        .exif()
        .and_then(|tiff| exif_tiff::orientation(tiff.to_vec()));
    webp.chunks_mut().retain(|chunk| {
        let keep = KEEP.contains(&chunk.id());
        if !keep {
            removed.push(name(chunk.id()));
        }
        keep
    });
    for chunk in webp.chunks_mut() {
        if chunk.id() == CHUNK_ANMF {
            clean_frame(chunk, &mut removed).map_err(|e| corrupt(&e))?;
        }
    }
    let exif = orientation
        .and_then(exif_tiff::orientation_only)
        .map(Bytes::from);
    if let Some(exif) = &exif {
        webp.chunks_mut()
            .push(RiffChunk::new(CHUNK_EXIF, RiffContent::Data(exif.clone())));
    }
    // Flags: no XMP any more, EXIF only if the orientation was kept.
    if let Some(vp8x) = webp
        .chunks_mut()
        .iter_mut()
        .find(|chunk| chunk.id() == CHUNK_VP8X)
        && let RiffContent::Data(data) = vp8x.content_mut()
    {
        let mut header = data.to_vec();
        let flags = header
            .first_mut()
            .ok_or_else(|| corrupt(&"empty VP8X chunk"))?;
        *flags &= !(EXIF_FLAG | XMP_FLAG);
        if exif.is_some() {
            *flags |= EXIF_FLAG;
        }
        *data = Bytes::from(header);
    }
    removed.sort();
    removed.dedup();
    Ok((webp.encoder().bytes().to_vec(), removed))
}

/// Drops every chunk but image data from one animation frame.
fn clean_frame(chunk: &mut RiffChunk, removed: &mut Vec<String>) -> Result<(), String> {
    let RiffContent::Data(data) = chunk.content_mut() else {
        return Err("an ANMF chunk is a list".into());
    };
    let header = data
        .get(..16)
        .ok_or("an animation frame shorter than its header")?;
    let mut out = header.to_vec();
    let mut rest = &data[16..];
    while !rest.is_empty() {
        let (id, size) = match rest.get(..8) {
            Some(h) => (
                [h[0], h[1], h[2], h[3]],
                u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize,
            ),
            None => return Err("a truncated chunk inside an animation frame".into()),
        };
        let padded = size + (size & 1);
        let whole = rest
            .get(..8 + padded)
            .or_else(|| rest.get(..8 + size))
            .ok_or("a chunk inside an animation frame runs past its end")?;
        if FRAME_KEEP.contains(&id) {
            out.extend_from_slice(whole);
            if whole.len() < 8 + padded {
                out.push(0);
            }
        } else {
            removed.push(format!("{} inside an animation frame", name(id)));
        }
        rest = &rest[whole.len()..];
    }
    *data = Bytes::from(out);
    Ok(())
}

fn name(id: [u8; 4]) -> String {
    match &id {
        b"EXIF" => "EXIF (GPS, camera, times)".into(),
        b"XMP " => "XMP".into(),
        other => format!("{} chunk", String::from_utf8_lossy(other).trim_end()),
    }
}

/// The raw EXIF (TIFF) block of a WebP, if it has one.
pub fn exif_block(bytes: &[u8]) -> Option<Vec<u8>> {
    let webp = WebP::from_bytes(Bytes::copy_from_slice(bytes)).ok()?;
    webp.exif().map(|tiff| tiff.to_vec())
}
