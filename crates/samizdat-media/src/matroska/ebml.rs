//! EBML read and written: elements with variable-length IDs and sizes,
//! the children of an element (with unknown sizes ended where a live
//! recording's next element begins), and elements written in their
//! shortest form.

use std::ops::Range;

use super::{CLUSTER, EBML, INFO, LEVEL_ONE, MAX_CHILDREN, SEGMENT, TRACKS};

/// One element: its ID, where it starts, and where its body lies.
#[derive(Clone)]
pub(super) struct Element {
    pub(super) id: u32,
    pub(super) start: usize,
    pub(super) body: Range<usize>,
}

/// A variable-length integer at `at`: its value (with the length marker
/// removed when `strip`), its length, and whether it is all ones (an
/// unknown size).
pub(super) fn vint(b: &[u8], at: usize, strip: bool) -> Option<(u64, usize, bool)> {
    let first = *b.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let bytes = b.get(at..at + len)?;
    let mut value = u64::from(if strip {
        first & (0xFFu16 >> len) as u8
    } else {
        first
    });
    for &x in &bytes[1..] {
        value = (value << 8) | u64::from(x);
    }
    let data_bits = 7 * len;
    let all_ones = strip && value == (1u64 << data_bits) - 1;
    Some((value, len, all_ones))
}

/// The children of `parent` within `range`. An unknown-size child ends at
/// the first element that cannot be its child, or at `range.end`.
pub(super) fn children(b: &[u8], parent: u32, range: Range<usize>) -> Result<Vec<Element>, String> {
    let mut out = Vec::new();
    let mut at = range.start;
    // Bounded: every element moves `at` forward by its header at least.
    while at < range.end {
        if out.len() == MAX_CHILDREN {
            return Err(format!("more than {MAX_CHILDREN} elements in one place"));
        }
        match element_at(b, parent, at, range.end) {
            Ok(element) => {
                at = element.body.end;
                out.push(element);
            }
            // The last block of a recording cut off is dropped, not fatal;
            // bytes after the segment that are no element are a trailer.
            Err(_) if parent == CLUSTER || (parent == 0 && out.len() >= 2) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The element at `at` inside `parent`, whose body ends by `end`.
pub(super) fn element_at(b: &[u8], parent: u32, at: usize, end: usize) -> Result<Element, String> {
    let short = || format!("an element at byte {at} runs past its end (truncated file?)");
    let (id, id_len, _) = vint(b, at, false).ok_or_else(short)?;
    if id_len > 4 {
        return Err(format!("an element ID of {id_len} bytes at byte {at}"));
    }
    let (size, size_len, unknown) = vint(b, at + id_len, true).ok_or_else(short)?;
    let body_start = at + id_len + size_len;
    let id = id as u32;
    let body_end = if unknown {
        if !matches!(id, SEGMENT | CLUSTER) {
            return Err(format!("element {id:#x} of unknown size"));
        }
        unknown_end(b, id, body_start, end)?
    } else {
        let stop = usize::try_from(size)
            .ok()
            .and_then(|s| body_start.checked_add(s))
            .ok_or_else(short)?;
        match stop {
            s if s <= end => s,
            // A cluster cut off at the end of a recording keeps what
            // arrived; anything else cut off is a damaged file.
            _ if id == CLUSTER && parent == SEGMENT => end,
            _ => return Err(short()),
        }
    };
    if body_start > body_end {
        return Err(short());
    }
    Ok(Element {
        id,
        start: at,
        body: body_start..body_end,
    })
}

/// Where an element of unknown size that starts its body at `at` ends.
pub(super) fn unknown_end(b: &[u8], id: u32, mut at: usize, end: usize) -> Result<usize, String> {
    if id == SEGMENT {
        return Ok(end);
    }
    // A cluster: its children until a level-1 element.
    while at < end {
        let Some((child, id_len, _)) = vint(b, at, false) else {
            return Ok(end);
        };
        if LEVEL_ONE.contains(&(child as u32)) || child as u32 == EBML {
            return Ok(at);
        }
        let Some((size, size_len, unknown)) = vint(b, at + id_len, true) else {
            return Ok(end);
        };
        if unknown {
            return Err("an element of unknown size inside a cluster".into());
        }
        let next = usize::try_from(size)
            .ok()
            .and_then(|s| (at + id_len + size_len).checked_add(s));
        match next {
            Some(n) if n <= end => at = n,
            _ => return Ok(end),
        }
    }
    Ok(end)
}

pub(super) fn one(elements: &[Element], id: u32) -> Result<&Element, String> {
    let mut found = elements.iter().filter(|e| e.id == id);
    match (found.next(), found.next()) {
        (Some(e), None) => Ok(e),
        (None, _) => Err(format!("no element {}", name_of(id))),
        (Some(_), Some(_)) => Err(format!("two elements {}", name_of(id))),
    }
}

pub(super) fn name_of(id: u32) -> &'static str {
    match id {
        EBML => "EBML header",
        SEGMENT => "Segment",
        INFO => "Info",
        TRACKS => "Tracks",
        _ => "?",
    }
}

pub(super) fn uint(b: &[u8]) -> u64 {
    b.iter()
        .take(8)
        .fold(0, |acc, &x| (acc << 8) | u64::from(x))
}

/// An element written: ID, size (the shortest length that holds it) and
/// body.
pub(super) fn put(out: &mut Vec<u8>, id: u32, body: &[u8]) {
    put_id(out, id);
    put_size(out, body.len() as u64, 0);
    out.extend_from_slice(body);
}

pub(super) fn put_id(out: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|&&x| x == 0).count().min(3);
    out.extend_from_slice(&bytes[skip..]);
}

/// A size as a variable-length integer of at least `min_len` bytes.
pub(super) fn put_size(out: &mut Vec<u8>, size: u64, min_len: usize) {
    let mut len = 1;
    while len < 8 && size >= (1u64 << (7 * len)) - 1 {
        len += 1;
    }
    let len = len.max(min_len);
    let value = size | (1u64 << (7 * len));
    out.extend_from_slice(&value.to_be_bytes()[8 - len..]);
}

pub(super) fn put_uint(out: &mut Vec<u8>, id: u32, value: u64) {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|&&x| x == 0).count().min(7);
    put(out, id, &bytes[skip..]);
}
