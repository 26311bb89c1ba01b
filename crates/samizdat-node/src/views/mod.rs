//! What the web pages and the static mirror show, the same way in both:
//! the interface's languages ([`i18n`]) and records and registry entries
//! as lines and pages ([`records`]).

pub mod i18n;
pub mod records;

pub use i18n::Lang;

/// What the drop box's file fields offer to pick: every type the node
/// can clean of identifying metadata (`samizdat_media::CLEANED`).
pub const ACCEPTED_FILES: &str = "image/jpeg,image/png,image/webp,image/gif,image/heic,\
image/heif,image/avif,video/mp4,video/quicktime,video/3gpp,video/webm,video/x-matroska,\
audio/mp4,audio/x-m4a,audio/mpeg,audio/ogg,audio/opus,audio/wav,audio/x-wav,audio/flac,audio/amr";
