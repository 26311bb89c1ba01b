//! Boxes read and written: a box's header (32- or 64-bit sizes, to the
//! end of the file), the boxes of a range, a path of boxes, and boxes
//! written with their sizes filled in afterwards. HEIF shares these.

use std::ops::Range;

/// One box: its type, where it starts and where its body lies in the input.
#[derive(Clone)]
pub(crate) struct Atom {
    pub kind: [u8; 4],
    pub start: usize,
    pub body: Range<usize>,
}

pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

pub(crate) fn be64(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8).map(|s| {
        let mut a = [0; 8];
        a.copy_from_slice(s);
        u64::from_be_bytes(a)
    })
}

/// The boxes in `range`; each must end within it.
pub(crate) fn parse(b: &[u8], range: Range<usize>) -> Result<Vec<Atom>, String> {
    let mut atoms = Vec::new();
    let mut at = range.start;
    while at < range.end {
        let atom = parse_one(b, at, range.end)?;
        at = atom.1;
        atoms.push(atom.0);
    }
    Ok(atoms)
}

/// One box at `at`, and where the next one starts.
fn parse_one(b: &[u8], at: usize, end: usize) -> Result<(Atom, usize), String> {
    let short = || format!("a box at byte {at} runs past its end (truncated file?)");
    let size = be32(b, at).ok_or_else(short)?;
    let kind: [u8; 4] = b
        .get(at + 4..at + 8)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(short)?;
    let (mut header, size) = match size {
        1 => (
            16,
            usize::try_from(be64(b, at + 8).ok_or_else(short)?).map_err(|_| short())?,
        ),
        0 => (8, end - at),
        n => (8, n as usize),
    };
    if &kind == b"uuid" {
        header += 16;
    }
    let box_end = at.checked_add(size).ok_or_else(short)?;
    if size < header || box_end > end {
        return Err(short());
    }
    Ok((
        Atom {
            kind,
            start: at,
            body: at + header..box_end,
        },
        box_end,
    ))
}

pub(crate) fn children(b: &[u8], atom: &Atom) -> Result<Vec<Atom>, String> {
    parse(b, atom.body.clone())
}

/// The box at `path` below `atom`, one level at a time.
pub(crate) fn find(b: &[u8], atom: &Atom, path: &[&[u8; 4]]) -> Result<Atom, String> {
    let mut at = atom.clone();
    for kind in path {
        at = one(&children(b, &at)?, kind)?;
    }
    Ok(at)
}

/// Where input position `old`, inside one of the media data bodies, is in
/// the output: each body is `(where it was, where it starts now)`.
pub(crate) fn relocate(mdats: &[(Range<usize>, usize)], old: u64) -> Option<u64> {
    mdats
        .iter()
        .find(|(body, _)| body.start as u64 <= old && old <= body.end as u64)
        .map(|(body, now)| old - body.start as u64 + *now as u64)
}

/// Writes a big-endian offset of `width` bytes (4 or 8) at `at`.
pub(crate) fn put_offset(
    bytes: &mut [u8],
    at: usize,
    width: usize,
    value: u64,
) -> Result<(), String> {
    match width {
        4 => {
            let v = u32::try_from(value).map_err(|_| "an offset past 4 GiB")?;
            bytes[at..at + 4].copy_from_slice(&v.to_be_bytes());
        }
        8 => bytes[at..at + 8].copy_from_slice(&value.to_be_bytes()),
        _ => return Err("an offset of unknown width".into()),
    }
    Ok(())
}

/// Starts a box of `kind` at the end of `bytes`; its size is written by
/// [`close_box`].
pub(crate) fn open_box(bytes: &mut Vec<u8>, kind: &[u8; 4]) -> usize {
    let at = bytes.len();
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(kind);
    at
}

/// Ends the box started at `at`: everything after it is its body.
pub(crate) fn close_box(bytes: &mut [u8], at: usize) -> Result<(), String> {
    let size = u32::try_from(bytes.len() - at).map_err(|_| "a box over 4 GiB")?;
    bytes[at..at + 4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

/// The top-level boxes, and how many bytes follow the last one that are
/// not a box (a vendor trailer).
pub(crate) fn parse_top(b: &[u8]) -> Result<(Vec<Atom>, usize), String> {
    let mut atoms = Vec::new();
    let mut at = 0;
    while at < b.len() {
        match parse_one(b, at, b.len()) {
            Ok((atom, next)) => {
                atoms.push(atom);
                at = next;
            }
            // Bytes that do not even name a box are a trailer; a box that
            // names itself and runs past the end is a truncated file.
            Err(e) => {
                let named = b
                    .get(at + 4..at + 8)
                    .is_some_and(|k| k.iter().all(|c| c.is_ascii_alphanumeric() || *c == b' '));
                if named || atoms.is_empty() {
                    return Err(e);
                }
                return Ok((atoms, b.len() - at));
            }
        }
    }
    Ok((atoms, 0))
}

pub(crate) fn one(atoms: &[Atom], kind: &[u8; 4]) -> Result<Atom, String> {
    let mut found = atoms.iter().filter(|a| &a.kind == kind);
    match (found.next(), found.next()) {
        (Some(a), None) => Ok(a.clone()),
        (None, _) => Err(format!("no {} box", String::from_utf8_lossy(kind))),
        (Some(_), Some(_)) => Err(format!("two {} boxes", String::from_utf8_lossy(kind))),
    }
}
