//! PNG: keep the chunks that define the picture and its colour; drop text
//! (tEXt, zTXt, iTXt), EXIF (eXIf), times (tIME), private chunks and
//! anything after IEND.

use img_parts::Bytes;
use img_parts::png::Png;

use crate::{MediaError, MediaType};

/// Chunks that affect how the picture looks, and nothing else.
const KEEP: &[&[u8; 4]] = &[
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB",
    b"cICP", b"mDCV", b"cLLI", b"bKGD", b"hIST", b"pHYs", b"acTL", b"fcTL", b"fdAT",
];

pub fn strip(bytes: &[u8]) -> Result<(Vec<u8>, Vec<String>), MediaError> {
    let mut png = Png::from_bytes(Bytes::copy_from_slice(bytes))
        .map_err(|e| MediaError::corrupt(MediaType::Png, e))?;
    if png.chunks().last().map(|c| c.kind()) != Some(*b"IEND") {
        return Err(MediaError::corrupt(
            MediaType::Png,
            "no IEND chunk (truncated file?)",
        ));
    }
    let mut removed = Vec::new();
    png.chunks_mut().retain(|chunk| {
        let keep = KEEP.contains(&&chunk.kind());
        if !keep {
            removed.push(format!("{} chunk", String::from_utf8_lossy(&chunk.kind())));
        }
        keep
    });
    removed.sort();
    removed.dedup();
    Ok((png.encoder().bytes().to_vec(), removed))
}

/// The raw EXIF (TIFF) block of a PNG, if it has one.
pub fn exif_block(bytes: &[u8]) -> Option<Vec<u8>> {
    let png = Png::from_bytes(Bytes::copy_from_slice(bytes)).ok()?;
    png.chunk_by_type(*b"eXIf").map(|c| c.contents().to_vec())
}
