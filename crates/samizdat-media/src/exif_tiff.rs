//! The one EXIF field samizdat keeps: the orientation, without which a
//! phone's portrait photo shows on its side.

/// The orientation (1 to 8) recorded in a raw EXIF (TIFF) block.
pub fn orientation(tiff: Vec<u8>) -> Option<u32> {
    let exif = exif::Reader::new().read_raw(tiff).ok()?;
    exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?
        .value
        .get_uint(0)
        .filter(|o| (1..=8).contains(o))
}

/// A minimal EXIF (TIFF) block holding only a non-default orientation: a
/// big-endian header and one IFD with one SHORT entry. `None` for the
/// default (1), which needs no block.
pub fn orientation_only(orientation: u32) -> Option<Vec<u8>> {
    if !(2..=8).contains(&orientation) {
        return None;
    }
    let mut b = Vec::with_capacity(26);
    b.extend_from_slice(b"MM\0\x2a\0\0\0\x08"); // header, IFD0 at offset 8
    b.extend_from_slice(&1u16.to_be_bytes()); // one entry
    b.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    b.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    b.extend_from_slice(&1u32.to_be_bytes()); // count
    b.extend_from_slice(&(orientation as u16).to_be_bytes());
    b.extend_from_slice(&[0, 0]); // value padding
    b.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    Some(b)
}
