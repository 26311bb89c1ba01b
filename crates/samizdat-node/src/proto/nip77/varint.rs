//! The varints of negentropy messages.

/// Longest varint of a `u64`.
pub(super) const MAX_VARINT: usize = 10;

/// Base 128, most significant group first, the high bit set on every byte
/// but the last.
pub(super) fn write_varint(mut n: u64, out: &mut Vec<u8>) {
    let mut groups = [0u8; MAX_VARINT];
    let mut len = 0;
    loop {
        groups[len] = (n & 0x7f) as u8;
        len += 1;
        n >>= 7;
        if n == 0 {
            break;
        }
    }
    for i in (0..len).rev() {
        out.push(groups[i] | if i > 0 { 0x80 } else { 0 });
    }
}
