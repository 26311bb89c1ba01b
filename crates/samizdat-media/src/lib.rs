//! Attachments without the metadata that exposes witnesses.
//!
//! Photos, videos and recordings carry GPS coordinates, device serial
//! numbers, timestamps, editing software, embedded thumbnails (which keep
//! the uncropped picture) and vendor trailers. [`strip`] keeps only what is
//! needed to show or play the file the way the witness recorded it,
//! losslessly: the coded pictures and sound, the colour profile and the
//! orientation. Everything else is dropped by allow-list, so a metadata
//! block that nobody anticipated is dropped too. Then the result is
//! checked (images decoded in full; video, sound and HEIC walked so that
//! every sample lies where the file says), so a corrupt or truncated file
//! is refused instead of stored.
//!
//! Supported: JPEG, PNG, WebP and HEIC images, MP4 and QuickTime (MOV)
//! video, M4A and MP3 sound. Any other type is refused with a clear error.
//! No I/O: bytes in, bytes out.

mod exif_tiff;
mod heif;
mod inspect;
mod isobmff;
mod jpeg;
mod mp3;
mod ogg;
mod png;
mod webp;

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

pub use inspect::{Finding, inspect};

/// Largest attachment accepted, in bytes.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
/// Most memory a decode may allocate: guards against decompression bombs
/// (a small file that claims to be 100,000 × 100,000 pixels).
const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;

/// Media types samizdat can strip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Jpeg,
    Png,
    WebP,
    Mp4,
    QuickTime,
    M4a,
    Mp3,
    Ogg,
    Heic,
}

/// `ftyp` brands of HEIF images coded with HEVC, as phones write them.
const HEIC_BRANDS: &[&[u8]] = &[b"heic", b"heix", b"heim", b"heis", b"mif1"];

/// `ftyp` brands of MP4 video, by prefix (HEIF, AVIF and audio-only brands
/// are not among them).
const MP4_BRANDS: &[&[u8]] = &[
    b"iso", b"mp4", b"avc1", b"M4V", b"3gp", b"3g2", b"MSNV", b"XAVC",
];

impl MediaType {
    /// Recognises a type by its leading bytes, never by a file name.
    pub fn detect(bytes: &[u8]) -> Option<MediaType> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(MediaType::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(MediaType::Png)
        } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
            Some(MediaType::WebP)
        } else if bytes.starts_with(b"OggS") {
            Some(MediaType::Ogg)
        } else if mp3::looks_like(bytes) {
            Some(MediaType::Mp3)
        } else if bytes.get(4..8) == Some(b"ftyp") {
            match bytes.get(8..12) {
                Some(b"qt  ") => Some(MediaType::QuickTime),
                Some(b"M4A ") => Some(MediaType::M4a),
                Some(brand) if HEIC_BRANDS.contains(&brand) => Some(MediaType::Heic),
                Some(brand) if MP4_BRANDS.iter().any(|b| brand.starts_with(b)) => {
                    Some(MediaType::Mp4)
                }
                _ => None,
            }
        } else {
            None
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::WebP => "image/webp",
            MediaType::Mp4 => "video/mp4",
            MediaType::QuickTime => "video/quicktime",
            MediaType::M4a => "audio/mp4",
            MediaType::Mp3 => "audio/mpeg",
            MediaType::Ogg => "audio/ogg",
            MediaType::Heic => "image/heic",
        }
    }

    /// The image format to decode with; `None` for video.
    fn image_format(self) -> Option<ImageFormat> {
        match self {
            MediaType::Jpeg => Some(ImageFormat::Jpeg),
            MediaType::Png => Some(ImageFormat::Png),
            MediaType::WebP => Some(ImageFormat::WebP),
            MediaType::Mp4
            | MediaType::QuickTime
            | MediaType::M4a
            | MediaType::Mp3
            | MediaType::Ogg
            | MediaType::Heic => None,
        }
    }
}

/// Why an attachment was refused.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(
        "{0} files are not accepted: samizdat can remove identifying metadata only from \
         JPEG, PNG, WebP and HEIC images, MP4 and QuickTime video and M4A, MP3 and Ogg (Opus, Vorbis) sound so far, and stores nothing it \
         cannot clean"
    )]
    Unsupported(String),
    #[error("the file is {size} bytes, more than the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("corrupt {kind} file: {reason}")]
    Corrupt { kind: &'static str, reason: String },
}

impl MediaError {
    fn corrupt(kind: MediaType, reason: impl ToString) -> MediaError {
        MediaError::Corrupt {
            kind: match kind {
                MediaType::Jpeg => "JPEG",
                MediaType::Png => "PNG",
                MediaType::WebP => "WebP",
                MediaType::Mp4 => "MP4",
                MediaType::QuickTime => "QuickTime",
                MediaType::M4a => "M4A",
                MediaType::Mp3 => "MP3",
                MediaType::Ogg => "Ogg",
                MediaType::Heic => "HEIC",
            },
            reason: reason.to_string(),
        }
    }
}

/// An attachment cleaned of metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stripped {
    pub bytes: Vec<u8>,
    pub media_type: MediaType,
    /// Width and height in pixels; `None` for sound.
    pub dim: Option<(u32, u32)>,
    /// What was removed, in words (for the user's summary).
    pub removed: Vec<String>,
}

/// Removes identifying metadata from an image and checks that what remains
/// decodes.
pub fn strip(bytes: &[u8]) -> Result<Stripped, MediaError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(MediaError::TooLarge {
            size: bytes.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    let media_type =
        MediaType::detect(bytes).ok_or_else(|| MediaError::Unsupported(describe(bytes)))?;
    let (clean, removed) = remove_metadata(bytes, media_type)?;
    let dim = match (media_type, media_type.image_format()) {
        (_, Some(format)) => Some(decode_check(&clean, media_type, format)?),
        (MediaType::Mp3, None) => {
            mp3::check(&clean)?;
            None
        }
        (MediaType::Ogg, None) => {
            ogg::check(&clean)?;
            None
        }
        (MediaType::Heic, None) => heif::check(&clean)?,
        (_, None) => isobmff::check(&clean, media_type)?,
    };
    Ok(Stripped {
        bytes: clean,
        media_type,
        dim,
        removed,
    })
}

/// The type's own stripping: the cleaned bytes, and what was removed.
fn remove_metadata(
    bytes: &[u8],
    media_type: MediaType,
) -> Result<(Vec<u8>, Vec<String>), MediaError> {
    match media_type {
        MediaType::Jpeg => jpeg::strip(bytes),
        MediaType::Png => png::strip(bytes),
        MediaType::WebP => webp::strip(bytes),
        MediaType::Mp4 | MediaType::QuickTime | MediaType::M4a => isobmff::strip(bytes, media_type),
        MediaType::Mp3 => mp3::strip(bytes),
        MediaType::Ogg => ogg::strip(bytes),
        MediaType::Heic => heif::strip(bytes),
    }
}

/// Decodes the whole image (within memory limits) and returns its size.
fn decode_check(
    bytes: &[u8],
    media_type: MediaType,
    format: ImageFormat,
) -> Result<(u32, u32), MediaError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| MediaError::corrupt(media_type, e))?;
    Ok((image.width(), image.height()))
}

/// A short name for an unsupported file, from its leading bytes.
/// The name of a file's type, by its magic bytes: `"unrecognised"` for
/// bytes that are no known media or document format (opaque data, such as
/// an encrypted blob).
pub fn describe(bytes: &[u8]) -> String {
    let known: &[(&[u8], usize, &str)] = &[
        (b"GIF8", 0, "GIF"),
        (b"RIFF", 0, "RIFF (WAV or AVI)"),
        (b"ftyp", 4, "ISO media (AVIF or another brand)"),
        (b"moov", 4, "QuickTime (MOV) without a file type"),
        (b"mdat", 4, "QuickTime (MOV) without a file type"),
        (b"wide", 4, "QuickTime (MOV) without a file type"),
        (b"free", 4, "QuickTime (MOV) without a file type"),
        (b"%PDF", 0, "PDF"),
        (b"ID3", 0, "MP3"),
        (b"PK\x03\x04", 0, "ZIP"),
    ];
    known
        .iter()
        .find(|(magic, at, _)| bytes.get(*at..*at + magic.len()) == Some(*magic))
        .map(|(_, _, name)| name.to_string())
        .unwrap_or_else(|| "unrecognised".to_string())
}
