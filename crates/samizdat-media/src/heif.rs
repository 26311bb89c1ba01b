//! HEIF images (HEIC from phones, AVIF): a `meta` box lists items (the
//! coded picture, its tiles and thumbnails, and metadata items: `Exif`,
//! XMP as a `mime` item, `uri ` items) and where each item's bytes lie
//! (`iloc`); the bytes are in `mdat` or `idat`.
//!
//! Kept, by allow-list: items that are pictures, with their properties
//! (`iprp`: size, colour, rotation and mirroring, so the orientation
//! stays) and references. Dropped: every other item, its entry in `iinf`,
//! `iloc`, `iref` and `ipma`, and its bytes, which are zeroed where they
//! lie; every `meta` child not needed to show the picture (`xml `, `bxml`,
//! groups); top-level boxes other than `ftyp`, `meta` and `mdat`, and
//! trailers. Item offsets are rewritten for what was removed before
//! `mdat`.

use std::collections::HashSet;
use std::ops::Range;

use crate::isobmff::{
    Atom, be32, be64, close_box, one, open_box, parse, parse_top, put_offset, relocate,
};
use crate::{MediaError, MediaType};

/// Item types that are (part of) a picture.
const PICTURE_ITEMS: &[&[u8; 4]] = &[
    b"hvc1", b"hvt1", b"lhv1", b"av01", b"avc1", b"vvc1", b"jpeg", b"j2k1", b"unci", b"grid",
    b"iden", b"iovl", b"tmap",
];
/// `meta` children kept.
const META_KEEP: &[&[u8; 4]] = &[
    b"hdlr", b"pitm", b"iloc", b"iinf", b"iref", b"iprp", b"idat", b"dinf",
];

/// Where one item's bytes are.
struct Location {
    id: u32,
    method: u8,
    base: u64,
    /// (index, offset, length) of each extent, as written.
    extents: Vec<(u64, u64, u64)>,
}

/// The parsed `iloc` box.
struct Iloc {
    version: u8,
    offset_size: usize,
    length_size: usize,
    base_size: usize,
    index_size: usize,
    items: Vec<Location>,
}

pub fn strip(bytes: &[u8], media_type: MediaType) -> Result<(Vec<u8>, Vec<String>), MediaError> {
    let corrupt = |reason: String| MediaError::corrupt(media_type, reason);
    let (top, trailer) = parse_top(bytes).map_err(corrupt)?;
    let mut removed = Vec::new();
    if trailer > 0 {
        removed.push(format!("{trailer} bytes after the last box"));
    }
    let meta = one(&top, b"meta").map_err(corrupt)?;
    let meta_body = meta.body.start + 4..meta.body.end; // a full box
    if meta_body.start > meta_body.end {
        return Err(corrupt("a short meta box".into()));
    }
    let children = parse(bytes, meta_body).map_err(corrupt)?;
    // Full boxes start with a version and flags: four bytes at least.
    if let Some(short) = children.iter().find(|c| {
        matches!(&c.kind, b"hdlr" | b"pitm" | b"iloc" | b"iinf" | b"iref") && c.body.len() < 4
    }) {
        return Err(corrupt(format!(
            "a short {} box",
            String::from_utf8_lossy(&short.kind)
        )));
    }
    let iinf = one(&children, b"iinf").map_err(corrupt)?;
    let iloc_box = one(&children, b"iloc").map_err(corrupt)?;
    let items = item_types(bytes, &iinf).map_err(corrupt)?;
    let iloc = parse_iloc(&bytes[iloc_box.body.clone()]).map_err(corrupt)?;
    let idat = children
        .iter()
        .find(|a| &a.kind == b"idat")
        .map(|a| a.body.clone());

    let dropped: HashSet<u32> = items
        .iter()
        .filter(|(_, kind, _)| !PICTURE_ITEMS.contains(&kind))
        .map(|(id, _, _)| *id)
        .collect();
    for (_, kind, _) in items.iter().filter(|(id, _, _)| dropped.contains(id)) {
        removed.push(item_name(kind));
    }
    if dropped.len() == items.len() {
        return Err(corrupt("no picture item".into()));
    }

    // Zero the bytes of dropped items where they lie, and every byte of
    // the media data that no kept item covers, whatever put it there.
    let mut source = bytes.to_vec();
    let mut covered = Vec::new();
    for loc in &iloc.items {
        let area = match loc.method {
            0 => 0..bytes.len(),
            1 => idat
                .clone()
                .ok_or_else(|| corrupt("an item in a missing idat".into()))?,
            _ => continue, // made of other items: no bytes of its own
        };
        for &(_, offset, length) in &loc.extents {
            let outside = || corrupt(format!("item {} lies outside the file", loc.id));
            let start = (area.start as u64)
                .checked_add(loc.base)
                .and_then(|s| s.checked_add(offset))
                .ok_or_else(outside)?;
            let end = start.checked_add(length).ok_or_else(outside)?;
            if length == 0 || end > area.end as u64 {
                return Err(outside());
            }
            let range = start as usize..end as usize;
            if dropped.contains(&loc.id) {
                source[range].fill(0);
            } else if loc.method == 0 {
                covered.push(range);
            }
        }
    }
    let mdats: Vec<Range<usize>> = top
        .iter()
        .filter(|a| &a.kind == b"mdat")
        .map(|a| a.body.clone())
        .collect();
    let zeroed = crate::isobmff::zero_uncovered(&mut source, &mdats, covered);
    if zeroed > 0 {
        removed.push(format!(
            "{zeroed} bytes of media data that no kept item uses"
        ));
    }

    let mut out = Out::default();
    for atom in &top {
        match &atom.kind {
            b"ftyp" => out.whole(&source, atom),
            b"mdat" => {
                out.mdats.push((
                    atom.body.clone(),
                    out.bytes.len() + (atom.body.start - atom.start),
                ));
                out.whole(&source, atom);
            }
            b"meta" => {
                let at = out.open(b"meta");
                out.bytes
                    .extend_from_slice(&source[atom.body.start..atom.body.start + 4]);
                for child in &children {
                    if !META_KEEP.contains(&&child.kind) {
                        removed.push(format!(
                            "{} box in meta",
                            String::from_utf8_lossy(&child.kind)
                        ));
                        continue;
                    }
                    match &child.kind {
                        b"iinf" => out
                            .iinf(&source, child, &items, &dropped)
                            .map_err(corrupt)?,
                        b"iloc" => out.iloc(&iloc, &dropped),
                        b"iref" => out.iref(&source, child, &dropped).map_err(corrupt)?,
                        b"iprp" => out.iprp(&source, child, &dropped).map_err(corrupt)?,
                        _ => out.whole(&source, child),
                    }
                }
                out.close(at).map_err(corrupt)?;
            }
            other => removed.push(format!("{} box", String::from_utf8_lossy(other))),
        }
    }
    let clean = out.finish().map_err(corrupt)?;
    removed.sort();
    removed.dedup();
    Ok((clean, removed))
}

fn item_name(kind: &[u8; 4]) -> String {
    match kind {
        b"Exif" => "EXIF item (GPS, camera, times)".into(),
        b"mime" => "XMP or other metadata item".into(),
        other => format!("{} item", String::from_utf8_lossy(other).trim_end()),
    }
}

/// The items of `iinf`: id, type and the `infe` box itself.
fn item_types(b: &[u8], iinf: &Atom) -> Result<Vec<(u32, [u8; 4], Atom)>, String> {
    let version = *b.get(iinf.body.start).ok_or("a short iinf box")?;
    let skip = if version == 0 { 6 } else { 8 };
    let entries = parse(b, iinf.body.start + skip..iinf.body.end)?;
    let mut items = Vec::new();
    for infe in entries.into_iter().filter(|a| &a.kind == b"infe") {
        let body = &b[infe.body.clone()];
        let bad = || "an item entry samizdat cannot read (infe before version 2)".to_string();
        let (id, kind) = match body.first() {
            Some(2) => (
                u32::from(u16::from_be_bytes([
                    *body.get(4).ok_or_else(bad)?,
                    *body.get(5).ok_or_else(bad)?,
                ])),
                body.get(8..12).ok_or_else(bad)?,
            ),
            Some(3) => (
                be32(body, 4).ok_or_else(bad)?,
                body.get(10..14).ok_or_else(bad)?,
            ),
            _ => return Err(bad()),
        };
        let kind: [u8; 4] = kind.try_into().map_err(|_| bad())?;
        items.push((id, kind, infe));
    }
    Ok(items)
}

fn read_sized(b: &[u8], at: &mut usize, size: usize) -> Result<u64, String> {
    let v = match size {
        0 => Some(0),
        4 => be32(b, *at).map(u64::from),
        8 => be64(b, *at),
        _ => None,
    }
    .ok_or("a malformed iloc box")?;
    *at += size;
    Ok(v)
}

fn parse_iloc(b: &[u8]) -> Result<Iloc, String> {
    let bad = || "a malformed iloc box".to_string();
    let version = *b.first().ok_or_else(bad)?;
    if version > 2 {
        return Err(bad());
    }
    let sizes = b.get(4..6).ok_or_else(bad)?;
    let (offset_size, length_size) = (usize::from(sizes[0] >> 4), usize::from(sizes[0] & 15));
    let base_size = usize::from(sizes[1] >> 4);
    let index_size = if version > 0 {
        usize::from(sizes[1] & 15)
    } else {
        0
    };
    let mut at = 6;
    let count = if version < 2 {
        let c = read_u16(b, &mut at)?;
        u32::from(c)
    } else {
        read_sized(b, &mut at, 4)? as u32
    };
    let mut items = Vec::new();
    for _ in 0..count {
        let id = if version < 2 {
            u32::from(read_u16(b, &mut at)?)
        } else {
            read_sized(b, &mut at, 4)? as u32
        };
        let method = if version > 0 {
            (read_u16(b, &mut at)? & 15) as u8
        } else {
            0
        };
        let _data_reference = read_u16(b, &mut at)?;
        let base = read_sized(b, &mut at, base_size)?;
        let extent_count = read_u16(b, &mut at)?;
        let mut extents = Vec::new();
        for _ in 0..extent_count {
            let index = read_sized(b, &mut at, index_size)?;
            let offset = read_sized(b, &mut at, offset_size)?;
            let length = read_sized(b, &mut at, length_size)?;
            extents.push((index, offset, length));
        }
        items.push(Location {
            id,
            method,
            base,
            extents,
        });
    }
    Ok(Iloc {
        version,
        offset_size,
        length_size,
        base_size,
        index_size,
        items,
    })
}

fn read_u16(b: &[u8], at: &mut usize) -> Result<u16, String> {
    let v = b
        .get(*at..*at + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or("a malformed iloc box")?;
    *at += 2;
    Ok(v)
}

/// The output, with the item offsets still to rewrite.
#[derive(Default)]
struct Out {
    bytes: Vec<u8>,
    /// An offset field: where, how wide, and the absolute input position
    /// it stands for minus the value written (what it is relative to).
    fields: Vec<(usize, usize, u64, u64)>,
    mdats: Vec<(Range<usize>, usize)>,
}

impl Out {
    fn open(&mut self, kind: &[u8; 4]) -> usize {
        open_box(&mut self.bytes, kind)
    }

    fn close(&mut self, at: usize) -> Result<(), String> {
        close_box(&mut self.bytes, at)
    }

    fn whole(&mut self, source: &[u8], atom: &Atom) {
        self.bytes
            .extend_from_slice(&source[atom.start..atom.body.end]);
    }

    fn put(&mut self, value: u64, size: usize) {
        match size {
            4 => self.bytes.extend_from_slice(&(value as u32).to_be_bytes()),
            8 => self.bytes.extend_from_slice(&value.to_be_bytes()),
            _ => {}
        }
    }

    fn id(&mut self, id: u32, wide: bool) {
        if wide {
            self.bytes.extend_from_slice(&id.to_be_bytes());
        } else {
            self.bytes.extend_from_slice(&(id as u16).to_be_bytes());
        }
    }

    fn iinf(
        &mut self,
        source: &[u8],
        iinf: &Atom,
        items: &[(u32, [u8; 4], Atom)],
        dropped: &HashSet<u32>,
    ) -> Result<(), String> {
        let at = self.open(b"iinf");
        let version = source[iinf.body.start];
        self.bytes
            .extend_from_slice(&source[iinf.body.start..iinf.body.start + 4]);
        let kept: Vec<_> = items
            .iter()
            .filter(|(id, _, _)| !dropped.contains(id))
            .collect();
        if version == 0 {
            self.bytes
                .extend_from_slice(&(kept.len() as u16).to_be_bytes());
        } else {
            self.bytes
                .extend_from_slice(&(kept.len() as u32).to_be_bytes());
        }
        for (_, _, infe) in kept {
            self.whole(source, infe);
        }
        self.close(at)
    }

    fn iloc(&mut self, iloc: &Iloc, dropped: &HashSet<u32>) {
        let at = self.open(b"iloc");
        self.bytes.extend_from_slice(&[iloc.version, 0, 0, 0]);
        self.bytes
            .push(((iloc.offset_size << 4) | iloc.length_size) as u8);
        self.bytes
            .push(((iloc.base_size << 4) | iloc.index_size) as u8);
        let kept: Vec<&Location> = iloc
            .items
            .iter()
            .filter(|l| !dropped.contains(&l.id))
            .collect();
        let wide = iloc.version == 2;
        if wide {
            self.bytes
                .extend_from_slice(&(kept.len() as u32).to_be_bytes());
        } else {
            self.bytes
                .extend_from_slice(&(kept.len() as u16).to_be_bytes());
        }
        for loc in kept {
            self.id(loc.id, wide);
            if iloc.version > 0 {
                self.bytes
                    .extend_from_slice(&u16::from(loc.method).to_be_bytes());
            }
            self.bytes.extend_from_slice(&[0, 0]); // data reference: this file
            // File offsets (method 0) move with mdat: the base if there is
            // one, else each extent's offset.
            let moves = loc.method == 0;
            if moves && iloc.base_size > 0 {
                let first = loc.extents.first().map_or(0, |e| e.1);
                self.fields
                    .push((self.bytes.len(), iloc.base_size, loc.base + first, first));
            }
            self.put(loc.base, iloc.base_size);
            self.bytes
                .extend_from_slice(&(loc.extents.len() as u16).to_be_bytes());
            for &(index, offset, length) in &loc.extents {
                self.put(index, iloc.index_size);
                if moves && iloc.base_size == 0 && iloc.offset_size > 0 {
                    self.fields
                        .push((self.bytes.len(), iloc.offset_size, offset, 0));
                }
                self.put(offset, iloc.offset_size);
                self.put(length, iloc.length_size);
            }
        }
        let _ = self.close(at);
    }

    /// References, without those from or to dropped items.
    fn iref(&mut self, source: &[u8], iref: &Atom, dropped: &HashSet<u32>) -> Result<(), String> {
        let bad = || "a malformed iref box".to_string();
        let version = *source.get(iref.body.start).ok_or_else(bad)?;
        let wide = version > 0;
        let width = if wide { 4 } else { 2 };
        let read = |at: usize| -> Option<u32> {
            if wide {
                be32(source, at)
            } else {
                source
                    .get(at..at + 2)
                    .map(|s| u32::from(u16::from_be_bytes([s[0], s[1]])))
            }
        };
        let at = self.open(b"iref");
        self.bytes
            .extend_from_slice(&source[iref.body.start..iref.body.start + 4]);
        for reference in parse(source, iref.body.start + 4..iref.body.end)? {
            let mut p = reference.body.start;
            let from = read(p).ok_or_else(bad)?;
            p += width;
            let count = read_u16(source, &mut p)?;
            let mut to = Vec::new();
            for _ in 0..count {
                to.push(read(p).ok_or_else(bad)?);
                p += width;
            }
            to.retain(|id| !dropped.contains(id));
            if dropped.contains(&from) || to.is_empty() {
                continue;
            }
            let r = self.open(&reference.kind);
            self.id(from, wide);
            self.bytes
                .extend_from_slice(&(to.len() as u16).to_be_bytes());
            for id in to {
                self.id(id, wide);
            }
            self.close(r)?;
        }
        self.close(at)
    }

    /// Properties, with the associations of dropped items removed.
    fn iprp(&mut self, source: &[u8], iprp: &Atom, dropped: &HashSet<u32>) -> Result<(), String> {
        let bad = || "a malformed ipma box".to_string();
        let at = self.open(b"iprp");
        for child in parse(source, iprp.body.clone())? {
            if &child.kind != b"ipma" {
                self.whole(source, &child);
                continue;
            }
            let body = &source[child.body.clone()];
            let version = *body.first().ok_or_else(bad)?;
            let large = body.get(3).ok_or_else(bad)? & 1 == 1;
            let count = be32(body, 4).ok_or_else(bad)?;
            let mut p = 8;
            let mut entries = Vec::new();
            for _ in 0..count {
                let start = p;
                p += if version < 1 { 2 } else { 4 };
                let id = if version < 1 {
                    let mut q = start;
                    u32::from(read_u16(body, &mut q)?)
                } else {
                    be32(body, start).ok_or_else(bad)?
                };
                let n = usize::from(*body.get(p).ok_or_else(bad)?);
                p += 1 + n * if large { 2 } else { 1 };
                let entry = body.get(start..p).ok_or_else(bad)?;
                if !dropped.contains(&id) {
                    entries.push(entry);
                }
            }
            let m = self.open(b"ipma");
            self.bytes.extend_from_slice(&body[..4]);
            self.bytes
                .extend_from_slice(&(entries.len() as u32).to_be_bytes());
            for e in entries {
                self.bytes.extend_from_slice(e);
            }
            self.close(m)?;
        }
        self.close(at)
    }

    /// Rewrites each file offset for where its `mdat` now lies.
    fn finish(mut self) -> Result<Vec<u8>, String> {
        for &(at, size, absolute, relative_to) in &self.fields {
            let new = relocate(&self.mdats, absolute)
                .ok_or_else(|| format!("an item at byte {absolute} is outside the media data"))?;
            let value = new
                .checked_sub(relative_to)
                .ok_or("an item offset that cannot be rewritten")?;
            put_offset(&mut self.bytes, at, size, value)?;
        }
        Ok(self.bytes)
    }
}

/// Checks a stripped file (every picture item's bytes lie in the file) and
/// returns the picture's size from its first `ispe` property.
pub fn check(bytes: &[u8], media_type: MediaType) -> Result<Option<(u32, u32)>, MediaError> {
    let corrupt = |reason: String| MediaError::corrupt(media_type, reason);
    let (top, _) = parse_top(bytes).map_err(corrupt)?;
    let meta = one(&top, b"meta").map_err(corrupt)?;
    let children = parse(bytes, meta.body.start + 4..meta.body.end).map_err(corrupt)?;
    let iloc_box = one(&children, b"iloc").map_err(corrupt)?;
    let iloc = parse_iloc(&bytes[iloc_box.body.clone()]).map_err(corrupt)?;
    for loc in iloc.items.iter().filter(|l| l.method == 0) {
        for &(_, offset, length) in &loc.extents {
            let end = loc
                .base
                .checked_add(offset)
                .and_then(|e| e.checked_add(length));
            if end.is_none_or(|end| end > bytes.len() as u64) {
                return Err(corrupt(format!("item {} lies outside the file", loc.id)));
            }
        }
    }
    let Ok(iprp) = one(&children, b"iprp") else {
        return Ok(None);
    };
    let ispe = parse(bytes, iprp.body.clone())
        .ok()
        .and_then(|p| p.into_iter().find(|a| &a.kind == b"ipco"))
        .and_then(|ipco| parse(bytes, ipco.body).ok())
        .and_then(|props| props.into_iter().find(|a| &a.kind == b"ispe"));
    Ok(ispe.and_then(|ispe| {
        Some((
            be32(bytes, ispe.body.start + 4)?,
            be32(bytes, ispe.body.start + 8)?,
        ))
    }))
}
