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

mod admit;
mod amr;
mod exif_tiff;
mod flac;
mod gif;
mod heif;
mod inspect;
mod isobmff;
mod jpeg;
mod matroska;
mod mp3;
pub mod noise;
mod ogg;
mod png;
mod wav;
mod webp;

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

pub use admit::{Admitted, admit, admit_large};
pub use inspect::{Finding, inspect};
pub use noise::{Noise, NotNoise};

/// The formats samizdat cleans, in words, for messages.
pub const CLEANED: &str = "JPEG, PNG, WebP, GIF, HEIC and AVIF images, MP4, QuickTime, 3GPP, \
                           WebM and Matroska video, and M4A, MP3, Ogg (Opus, Vorbis), WAV, FLAC \
                           and AMR sound";

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
    Gif,
    Heic,
    Avif,
    Mp4,
    QuickTime,
    ThreeGpp,
    WebM,
    Matroska,
    M4a,
    Mp3,
    Ogg,
    Wav,
    Flac,
    Amr,
    AmrWb,
}

/// `ftyp` brands of HEIF images coded with HEVC, as phones write them.
const HEIC_BRANDS: &[&[u8]] = &[b"heic", b"heix", b"heim", b"heis", b"mif1"];

/// `ftyp` brands of MP4 video, by prefix (HEIF, AVIF, 3GPP and audio-only
/// brands are not among them).
const MP4_BRANDS: &[&[u8]] = &[b"iso", b"mp4", b"avc1", b"M4V", b"MSNV", b"XAVC"];

impl MediaType {
    /// Recognises a type by its leading bytes, never by a file name.
    pub fn detect(bytes: &[u8]) -> Option<MediaType> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(MediaType::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(MediaType::Png)
        } else if gif::looks_like(bytes) {
            Some(MediaType::Gif)
        } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
            Some(MediaType::WebP)
        } else if wav::looks_like(bytes) {
            Some(MediaType::Wav)
        } else if bytes.starts_with(b"OggS") {
            Some(MediaType::Ogg)
        } else if flac::looks_like(bytes) {
            Some(MediaType::Flac)
        } else if bytes.starts_with(amr::WIDE) {
            Some(MediaType::AmrWb)
        } else if bytes.starts_with(amr::NARROW) {
            Some(MediaType::Amr)
        } else if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
            matroska::kind(bytes)
        } else if mp3::looks_like(bytes) {
            Some(MediaType::Mp3)
        } else if bytes.get(4..8) == Some(b"ftyp") {
            match bytes.get(8..12) {
                Some(b"qt  ") => Some(MediaType::QuickTime),
                Some(b"M4A ") => Some(MediaType::M4a),
                Some(b"avif") => Some(MediaType::Avif),
                Some(brand) if HEIC_BRANDS.contains(&brand) => Some(MediaType::Heic),
                Some(brand) if brand.starts_with(b"3gp") || brand.starts_with(b"3g2") => {
                    Some(MediaType::ThreeGpp)
                }
                Some(brand) if MP4_BRANDS.iter().any(|b| brand.starts_with(b)) => {
                    Some(MediaType::Mp4)
                }
                _ => None,
            }
        } else {
            None
        }
    }

    /// The format's name, for people.
    pub fn name(self) -> &'static str {
        match self {
            MediaType::Jpeg => "JPEG",
            MediaType::Png => "PNG",
            MediaType::WebP => "WebP",
            MediaType::Gif => "GIF",
            MediaType::Heic => "HEIC",
            MediaType::Avif => "AVIF",
            MediaType::Mp4 => "MP4",
            MediaType::QuickTime => "QuickTime",
            MediaType::ThreeGpp => "3GPP",
            MediaType::WebM => "WebM",
            MediaType::Matroska => "Matroska",
            MediaType::M4a => "M4A",
            MediaType::Mp3 => "MP3",
            MediaType::Ogg => "Ogg",
            MediaType::Wav => "WAV",
            MediaType::Flac => "FLAC",
            MediaType::Amr => "AMR",
            MediaType::AmrWb => "AMR-WB",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::WebP => "image/webp",
            MediaType::Gif => "image/gif",
            MediaType::Heic => "image/heic",
            MediaType::Avif => "image/avif",
            MediaType::Mp4 => "video/mp4",
            MediaType::QuickTime => "video/quicktime",
            MediaType::ThreeGpp => "video/3gpp",
            MediaType::WebM => "video/webm",
            MediaType::Matroska => "video/x-matroska",
            MediaType::M4a => "audio/mp4",
            MediaType::Mp3 => "audio/mpeg",
            MediaType::Ogg => "audio/ogg",
            MediaType::Wav => "audio/wav",
            MediaType::Flac => "audio/flac",
            MediaType::Amr => "audio/amr",
            MediaType::AmrWb => "audio/amr-wb",
        }
    }

    /// The image format to decode with; `None` for what is walked instead.
    fn image_format(self) -> Option<ImageFormat> {
        match self {
            MediaType::Jpeg => Some(ImageFormat::Jpeg),
            MediaType::Png => Some(ImageFormat::Png),
            MediaType::WebP => Some(ImageFormat::WebP),
            MediaType::Gif => Some(ImageFormat::Gif),
            _ => None,
        }
    }
}

/// Why an attachment was refused.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(
        "{0} files are not accepted: samizdat removes identifying metadata only from {CLEANED} \
         so far, and stores nothing it cannot clean; to keep such a file as evidence, send it \
         sealed and whole to chosen documenters (--keep-metadata with --seal-to)"
    )]
    Unsupported(String),
    #[error("the file is {size} bytes, more than the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "corrupt {kind} file: {reason}; samizdat stores only what it can read and clean, so \
         to keep it as it is, send it sealed and whole to chosen documenters (--keep-metadata \
         with --seal-to)"
    )]
    Corrupt { kind: &'static str, reason: String },
    #[error(
        "refused: the {kind} file carries identifying metadata ({}); clean it first \
         (samizdat testimony add --attach does) and send the clean file",
        list_or(found, "data outside the picture or sound")
    )]
    Identifying {
        kind: &'static str,
        found: Vec<String>,
    },
    #[error(
        "refused: {format} files are not accepted: samizdat stores only {CLEANED} without \
         metadata, or encrypted files, and this is neither ({why}); to keep it as evidence, \
         send it sealed and whole to chosen documenters (--keep-metadata with --seal-to)"
    )]
    NotEncrypted { format: String, why: NotNoise },
}

/// Adds `what` to the list of what was removed, once: a file of a million
/// empty comments costs one line, not a million.
pub(crate) fn note(removed: &mut Vec<String>, what: String) {
    const MAX: usize = 32;
    const MORE: &str = "and more";
    if removed.len() >= MAX {
        if removed.last().is_none_or(|l| l != MORE) {
            removed.push(MORE.to_string());
        }
    } else if !removed.contains(&what) {
        removed.push(what);
    }
}

fn list_or(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_string()
    } else {
        items.join(", ")
    }
}

impl MediaError {
    fn corrupt(kind: MediaType, reason: impl ToString) -> MediaError {
        MediaError::Corrupt {
            kind: kind.name(),
            reason: reason.to_string(),
        }
    }
}

/// An attachment cleaned of metadata. Only [`strip`] makes one, so
/// whoever holds one holds bytes the admission rule takes as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stripped {
    bytes: Vec<u8>,
    media_type: MediaType,
    dim: Option<(u32, u32)>,
    removed: Vec<String>,
}

impl Stripped {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    pub fn media_type(&self) -> MediaType {
        self.media_type
    }

    /// Width and height in pixels; `None` for sound.
    pub fn dim(&self) -> Option<(u32, u32)> {
        self.dim
    }

    /// What was removed, in words (for the user's summary).
    pub fn removed(&self) -> &[String] {
        &self.removed
    }

    /// What was removed, in kinds a witness understands, each once, in
    /// the order of [`Removed`]: for pages in any language.
    pub fn removed_kinds(&self) -> Vec<Removed> {
        let mut kinds: Vec<Removed> = self.removed.iter().flat_map(|w| Removed::of(w)).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }
}

/// A kind of identifying data taken out of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Removed {
    /// Where it was made (GPS, a place).
    Location,
    /// Which camera, phone or program made it.
    Device,
    /// When it was made or changed.
    Times,
    /// Pictures besides the one shown: thumbnails, side images, cover art.
    Images,
    /// Text: titles, comments, tags, descriptions.
    Text,
    /// Anything else that is not the picture or sound itself.
    Other,
}

impl Removed {
    /// Every kind, in order.
    pub const ALL: [Removed; 6] = [
        Removed::Location,
        Removed::Device,
        Removed::Times,
        Removed::Images,
        Removed::Text,
        Removed::Other,
    ];

    /// A name for catalogues and logs: `location`, `device`…
    pub fn as_str(self) -> &'static str {
        match self {
            Removed::Location => "location",
            Removed::Device => "device",
            Removed::Times => "times",
            Removed::Images => "images",
            Removed::Text => "text",
            Removed::Other => "other",
        }
    }

    /// The kinds one description of [`Stripped::removed`] names. The
    /// descriptions are this crate's own words, so the words looked for
    /// are known; a description that names none is `Other`. EXIF and
    /// XMP name what such blocks hold whether or not a file filled it.
    fn of(what: &str) -> Vec<Removed> {
        let w = what.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|word| w.contains(word));
        let mut kinds = Vec::new();
        if has(&["gps", "location", "exif", "xmp", "udta", "meta"]) {
            kinds.push(Removed::Location);
        }
        if has(&[
            "camera",
            "device",
            "make",
            "model",
            "software",
            "encoder",
            "vendor",
            "recorder",
            "exif",
            "xmp",
            "application",
            "originator",
            "udta",
            "iptc",
        ]) {
            kinds.push(Removed::Device);
        }
        if has(&["time", "date", "exif", "xmp", "history"]) {
            kinds.push(Removed::Times);
        }
        if has(&[
            "thumbnail",
            "side image",
            "picture",
            "cover art",
            "mpf",
            "preview",
        ]) {
            kinds.push(Removed::Images);
        }
        if has(&[
            "comment",
            "title",
            "tag",
            "artist",
            "iptc",
            "text",
            "name",
            "chapter",
            "caption",
            "description",
            "xmp",
        ]) {
            kinds.push(Removed::Text);
        }
        if kinds.is_empty() {
            kinds.push(Removed::Other);
        }
        kinds
    }
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
        (MediaType::Mp3, None) => mp3::check(&clean).map(|()| None)?,
        (MediaType::Ogg, None) => ogg::check(&clean).map(|()| None)?,
        (MediaType::Wav, None) => wav::check(&clean).map(|()| None)?,
        (MediaType::Flac, None) => flac::check(&clean).map(|()| None)?,
        (MediaType::Amr, None) => amr::check(&clean, false).map(|()| None)?,
        (MediaType::AmrWb, None) => amr::check(&clean, true).map(|()| None)?,
        (MediaType::Heic | MediaType::Avif, None) => heif::check(&clean, media_type)?,
        (MediaType::WebM | MediaType::Matroska, None) => matroska::check(&clean, media_type)?,
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
        MediaType::Gif => gif::strip(bytes),
        MediaType::Mp4 | MediaType::QuickTime | MediaType::ThreeGpp | MediaType::M4a => {
            isobmff::strip(bytes, media_type)
        }
        MediaType::WebM | MediaType::Matroska => matroska::strip(bytes, media_type),
        MediaType::Mp3 => mp3::strip(bytes),
        MediaType::Ogg => ogg::strip(bytes),
        MediaType::Wav => wav::strip(bytes),
        MediaType::Flac => flac::strip(bytes),
        MediaType::Amr => amr::strip(bytes, false),
        MediaType::AmrWb => amr::strip(bytes, true),
        MediaType::Heic | MediaType::Avif => heif::strip(bytes, media_type),
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

/// Magic bytes, where they stand in a file, and the format's name.
const SIGNATURES: &[(&[u8], usize, &str)] = &[
    (&[0xFF, 0xD8, 0xFF], 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"WEBP", 8, "WebP"),
    (b"WAVE", 8, "WAV"),
    (b"AVI ", 8, "AVI"),
    (b"RIFF", 0, "RIFF"),
    (b"II*\0", 0, "TIFF (or a raw photo: DNG, CR2, NEF, ARW)"),
    (b"MM\0*", 0, "TIFF (or a raw photo: DNG, NEF)"),
    (b"IIRO", 0, "raw photo (ORF)"),
    (b"IIU\0", 0, "raw photo (RW2)"),
    (b"FUJIFILMCCD-RAW", 0, "raw photo (RAF)"),
    (&[0xFF, 0x0A], 0, "JPEG XL"),
    (b"\0\0\0\x0cJXL \r\n\x87\n", 0, "JPEG XL"),
    (b"\0\0\0\x0cjP  \r\n\x87\n", 0, "JPEG 2000"),
    (&[0xFF, 0x4F, 0xFF, 0x51], 0, "JPEG 2000"),
    (b"ftypavif", 4, "AVIF"),
    (b"ftypavis", 4, "AVIF"),
    (b"ftypcrx ", 4, "raw photo (CR3)"),
    (b"ftyp", 4, "ISO media (another brand)"),
    (b"moov", 4, "QuickTime (MOV) without a file type"),
    (b"mdat", 4, "QuickTime (MOV) without a file type"),
    (b"wide", 4, "QuickTime (MOV) without a file type"),
    (b"free", 4, "QuickTime (MOV) without a file type"),
    (&[0x1A, 0x45, 0xDF, 0xA3], 0, "WebM or Matroska"),
    (b"fLaC", 0, "FLAC"),
    (b"#!AMR", 0, "AMR"),
    (b"OggS", 0, "Ogg"),
    (b"ID3", 0, "MP3"),
    (b"FORM", 0, "AIFF"),
    (b"caff", 0, "Core Audio (CAF)"),
    (b"MThd", 0, "MIDI"),
    (b"%PDF", 0, "PDF"),
    (b"%!PS", 0, "PostScript"),
    (b"8BPS", 0, "Photoshop (PSD)"),
    (b"gimp xcf", 0, "GIMP (XCF)"),
    (b"BM", 0, "BMP"),
    (&[0, 0, 1, 0], 0, "icon (ICO)"),
    (b"{\\rtf", 0, "RTF"),
    (
        &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
        0,
        "Office document (OLE)",
    ),
    (
        b"PK\x03\x04",
        0,
        "ZIP (or an Office or OpenDocument file, an EPUB, an APK)",
    ),
    (&[0x1F, 0x8B, 0x08], 0, "gzip"),
    (&[0x28, 0xB5, 0x2F, 0xFD], 0, "zstd"),
    (b"BZh", 0, "bzip2"),
    (&[0xFD, b'7', b'z', b'X', b'Z', 0], 0, "xz"),
    (b"7z\xBC\xAF\x27\x1C", 0, "7-Zip"),
    (b"Rar!", 0, "RAR"),
    (b"ustar", 257, "tar"),
    (b"SQLite format 3\0", 0, "SQLite"),
    (
        b"age-encryption.org/",
        0,
        "age (an encrypted samizdat bundle or vault)",
    ),
    (b"\x7fELF", 0, "ELF program"),
    (b"MZ", 0, "Windows program"),
    (b"<?xml", 0, "XML (or SVG)"),
    (b"<svg", 0, "SVG"),
    (b"<!DOCTYPE", 0, "HTML"),
    (b"<!doctype", 0, "HTML"),
    (b"<html", 0, "HTML"),
    (b"<HTML", 0, "HTML"),
];

/// The format whose magic bytes open `bytes`, and how many bytes that
/// magic is (a longer one is the surer).
pub fn signature(bytes: &[u8]) -> Option<(&'static str, usize)> {
    SIGNATURES
        .iter()
        .find(|(magic, at, _)| bytes.get(*at..*at + magic.len()) == Some(*magic))
        .map(|(magic, _, name)| (*name, magic.len()))
}

/// The name of a file's type, by its magic bytes: a known format by name
/// (with the bytes in front of it, when it starts a little later), `text`,
/// or `unrecognised` for bytes of no known format (such as noise).
pub fn describe(bytes: &[u8]) -> String {
    if let Some((name, _)) = signature(bytes) {
        return name.to_string();
    }
    // A file with junk in front of it is still that file: one byte or a
    // few dozen are how such a file gets past a check of the first bytes.
    for offset in 1..=64 {
        if let Some(name) = SIGNATURES
            .iter()
            .filter(|(magic, _, _)| magic.len() >= 3)
            .find(|(magic, at, _)| {
                bytes.get(offset + *at..offset + *at + magic.len()) == Some(*magic)
            })
            .map(|(_, _, name)| *name)
        {
            let s = if offset == 1 { "" } else { "s" };
            return format!("{name} (with {offset} byte{s} in front of it)");
        }
    }
    let head = &bytes[..bytes.len().min(4096)];
    let text = head
        .iter()
        .filter(|&&b| b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r'))
        .count();
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.valid_up_to() + 4 > head.len(),
    };
    if !head.is_empty() && utf8 && text == head.len() {
        return "text".to_string();
    }
    "unrecognised".to_string()
}

#[cfg(test)]
mod tests {
    use super::Removed::{self, *};

    #[test]
    fn what_was_removed_is_told_in_kinds() {
        for (what, kinds) in [
            (
                "EXIF (GPS, camera, times, thumbnail)",
                &[Location, Device, Times, Images][..],
            ),
            (
                "user data (udta: location, make, model, software)",
                &[Location, Device],
            ),
            ("MPF side images", &[Images]),
            ("comment", &[Text]),
            ("1448 bytes after the end of the image", &[Other]),
            ("picture (cover art)", &[Images]),
            (
                "bext chunk (broadcast: originator, date and time, history)",
                &[Device, Times],
            ),
        ] {
            let found = Removed::of(what);
            for kind in kinds {
                assert!(found.contains(kind), "{what}: {found:?} lacks {kind:?}");
            }
        }
    }
}
