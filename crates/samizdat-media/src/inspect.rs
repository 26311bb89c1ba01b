//! What identifying metadata a file carries, for a person to check a photo
//! before and after samizdat cleans it.

use crate::{MediaError, MediaType, describe, jpeg, png, remove_metadata, webp};

/// One piece of metadata found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where it is: "EXIF", "XMP", "PNG tEXt chunk"…
    pub place: String,
    /// What it says (for EXIF, one field and its value).
    pub detail: String,
}

/// Lists the metadata in `bytes` that [`crate::strip`] would remove. A
/// cleaned file gives an empty list (save a preserved orientation).
pub fn inspect(bytes: &[u8]) -> Result<Vec<Finding>, MediaError> {
    let media_type =
        MediaType::detect(bytes).ok_or_else(|| MediaError::Unsupported(describe(bytes)))?;
    let mut findings = Vec::new();
    if let Some(exif) = exif_block(bytes, media_type)
        && let Ok(exif) = exif::Reader::new().read_raw(exif)
    {
        for field in exif.fields() {
            if field.tag == exif::Tag::Orientation && exif.fields().len() == 1 {
                continue; // what strip keeps on purpose
            }
            findings.push(Finding {
                place: "EXIF".into(),
                detail: format!("{} = {}", field.tag, field.display_value().with_unit(&exif)),
            });
        }
    }
    let (_, removed) = remove_metadata(bytes, media_type)?;
    findings.extend(
        removed
            .into_iter()
            .filter(|r| !r.starts_with("EXIF"))
            .map(|r| Finding {
                place: r,
                detail: String::new(),
            }),
    );
    Ok(findings)
}

fn exif_block(bytes: &[u8], media_type: MediaType) -> Option<Vec<u8>> {
    match media_type {
        MediaType::Jpeg => jpeg::exif_block(bytes),
        MediaType::Png => png::exif_block(bytes),
        MediaType::WebP => webp::exif_block(bytes),
        _ => None,
    }
}
