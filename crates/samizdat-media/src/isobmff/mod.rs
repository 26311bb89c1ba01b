//! MP4 and QuickTime (MOV) video and M4A sound: ISO base media files, a
//! tree of boxes.
//!
//! Kept, by allow-list: the file type, the movie header, and for each
//! video or sound track the boxes that define it and its samples; the
//! sample data (`mdat`) byte for byte. Dropped: user data (`udta`, where
//! `©xyz` holds the location and others the make, model and software),
//! metadata (`meta`: Apple's keys with an ISO 6709 location, iTunes-style
//! tags), `uuid` boxes (XMP), free space, track references, anything after
//! the last box, and every track that is neither video nor sound (timed
//! metadata such as a GPS track) together with its samples, which are
//! zeroed where they lie in the media data. Creation and modification
//! times are zeroed; data references are replaced by one self-contained
//! entry. Sample offsets (`stco`, `co64`) are rewritten for what was
//! removed before the media data, and checked to land in it.
//!
//! Fragmented files (`moof`) are refused: their sample offsets are
//! relative to boxes this walk would move.

use std::ops::Range;

use crate::{MediaError, MediaType};

mod boxes;

pub(crate) use boxes::{
    Atom, be32, be64, children, close_box, find, one, open_box, parse, parse_top, put_offset,
    relocate,
};

/// Boxes kept whole inside each container that is walked.
fn kept(parent: &[u8; 4], kind: &[u8; 4]) -> bool {
    let allowed: &[&[u8; 4]] = match parent {
        b"moov" => &[b"mvhd", b"trak", b"iods"],
        b"trak" => &[b"tkhd", b"edts", b"mdia", b"tapt"],
        b"mdia" => &[b"mdhd", b"hdlr", b"minf"],
        // QuickTime puts a data handler (`hdlr`) here too.
        b"minf" => &[b"vmhd", b"smhd", b"hdlr", b"dinf", b"stbl"],
        _ => &[],
    };
    allowed.contains(&kind)
}

/// Boxes whose children are walked rather than copied.
const CONTAINERS: &[&[u8; 4]] = &[b"moov", b"trak", b"mdia", b"minf"];
/// Boxes whose first bytes are a version and the creation and modification
/// times.
const TIMED: &[&[u8; 4]] = &[b"mvhd", b"tkhd", b"mdhd"];

pub fn strip(bytes: &[u8], media_type: MediaType) -> Result<(Vec<u8>, Vec<String>), MediaError> {
    let corrupt = |reason: String| MediaError::corrupt(media_type, reason);
    let (top, trailer) = parse_top(bytes).map_err(corrupt)?;
    let mut removed = Vec::new();
    if trailer > 0 {
        removed.push(format!("{trailer} bytes after the last box"));
    }
    if top
        .iter()
        .any(|a| matches!(&a.kind, b"moof" | b"mfra" | b"styp"))
    {
        return Err(MediaError::Unsupported("fragmented MP4 (moof)".into()));
    }
    let moov = one(&top, b"moov").map_err(corrupt)?;
    if !top.iter().any(|a| &a.kind == b"mdat") {
        return Err(corrupt("no media data (mdat)".into()));
    }

    // Tracks other than video and sound go (timed metadata, subtitles,
    // text); every byte of the media data that no kept track's samples
    // cover is zeroed, whatever put it there.
    let mut source = bytes.to_vec();
    let mut dropped_tracks = Vec::new();
    let mut covered = Vec::new();
    for trak in children(bytes, &moov)
        .map_err(corrupt)?
        .into_iter()
        .filter(|a| &a.kind == b"trak")
    {
        let handler = handler(bytes, &trak).map_err(corrupt)?;
        if matches!(&handler, b"vide" | b"soun") {
            covered.extend(track_chunks(bytes, &trak).map_err(corrupt)?);
        } else {
            dropped_tracks.push(trak.body.start);
            removed.push(format!(
                "a {} track (timed metadata, subtitles or text)",
                String::from_utf8_lossy(&handler).trim_end()
            ));
        }
    }
    let mdats: Vec<Range<usize>> = top
        .iter()
        .filter(|a| &a.kind == b"mdat")
        .map(|a| a.body.clone())
        .collect();
    let zeroed = zero_uncovered(&mut source, &mdats, covered);
    if zeroed > 0 {
        removed.push(format!(
            "{zeroed} bytes of media data that no kept track plays"
        ));
    }

    let mut out = Writer::default();
    for atom in &top {
        match &atom.kind {
            b"ftyp" => out.copy(&atom.kind, &source[atom.body.clone()]),
            b"mdat" => out.mdat(&source, atom.body.clone()),
            b"moov" => out
                .container(&source, atom, &dropped_tracks, &mut removed)
                .map_err(corrupt)?,
            other => removed.push(name(other)),
        }
    }
    let bytes = out.finish().map_err(corrupt)?;
    removed.sort();
    removed.dedup();
    Ok((bytes, removed))
}

/// Checks that every sample offset of a stripped file lands in its media
/// data, and that it has what its type promises: for video, the width and
/// height of its first video track; for sound, a sound track.
pub fn check(bytes: &[u8], media_type: MediaType) -> Result<Option<(u32, u32)>, MediaError> {
    let corrupt = |reason: String| MediaError::corrupt(media_type, reason);
    let (top, _) = parse_top(bytes).map_err(corrupt)?;
    let moov = one(&top, b"moov").map_err(corrupt)?;
    let mdats: Vec<Range<usize>> = top
        .iter()
        .filter(|a| &a.kind == b"mdat")
        .map(|a| a.body.clone())
        .collect();
    let mut dim = None;
    let mut sound = false;
    for trak in children(bytes, &moov)
        .map_err(corrupt)?
        .into_iter()
        .filter(|a| &a.kind == b"trak")
    {
        for chunk in track_chunks(bytes, &trak).map_err(corrupt)? {
            if !mdats
                .iter()
                .any(|m| m.start <= chunk.start && chunk.end <= m.end)
            {
                return Err(corrupt(format!(
                    "samples at bytes {}..{} lie outside the media data",
                    chunk.start, chunk.end
                )));
            }
        }
        match &handler(bytes, &trak).map_err(corrupt)? {
            b"vide" if dim.is_none() => dim = Some(dimensions(bytes, &trak).map_err(corrupt)?),
            b"soun" => sound = true,
            _ => {}
        }
    }
    match (media_type, dim) {
        (MediaType::M4a, _) if sound => Ok(None),
        (MediaType::M4a, _) => Err(corrupt("no sound track".into())),
        // A 3GPP file is a video, or a voice note with sound alone.
        (MediaType::ThreeGpp, dim) if dim.is_some() || sound => Ok(dim),
        (MediaType::ThreeGpp, _) => Err(corrupt("no video or sound track".into())),
        (_, Some(dim)) => Ok(Some(dim)),
        (_, None) => Err(MediaError::Unsupported(
            "MP4 audio without the M4A brand".into(),
        )),
    }
}

/// Zeroes every byte of the `areas` (media data bodies) outside the
/// `covered` ranges; returns how many of them were not zero already.
pub(crate) fn zero_uncovered(
    bytes: &mut [u8],
    areas: &[Range<usize>],
    mut covered: Vec<Range<usize>>,
) -> usize {
    // Merged into sorted, disjoint ranges: then each area finds its first
    // overlap by binary search, and the whole walk is linear in the
    // ranges, whatever a hostile file's tables repeat.
    covered.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(covered.len());
    for range in covered.into_iter().filter(|r| r.start < r.end) {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    let mut zeroed = 0;
    for area in areas {
        let mut at = area.start;
        let first = merged.partition_point(|r| r.end <= area.start);
        for range in merged[first..].iter().take_while(|r| r.start < area.end) {
            if range.start > at {
                zeroed += zero(&mut bytes[at..range.start]);
            }
            at = at.max(range.end);
        }
        if at < area.end {
            zeroed += zero(&mut bytes[at..area.end]);
        }
    }
    zeroed
}

/// Zeroes `bytes`; returns how many were not zero.
fn zero(bytes: &mut [u8]) -> usize {
    let nonzero = bytes.iter().filter(|&&b| b != 0).count();
    bytes.fill(0);
    nonzero
}

fn name(kind: &[u8; 4]) -> String {
    match kind {
        b"udta" => "user data (udta: location, make, model, software)".into(),
        b"meta" => "metadata (meta: location, device, tags)".into(),
        b"uuid" => "uuid box (XMP)".into(),
        b"free" | b"skip" | b"wide" => "free space".into(),
        b"tref" => "track references".into(),
        other => format!("{} box", String::from_utf8_lossy(other).trim_end()),
    }
}

/// A track's handler type: `vide`, `soun`, `meta`…
fn handler(b: &[u8], trak: &Atom) -> Result<[u8; 4], String> {
    let hdlr = find(b, trak, &[b"mdia", b"hdlr"])?;
    // version and flags, pre_defined, then the handler type.
    b.get(hdlr.body.start + 8..hdlr.body.start + 12)
        .and_then(|s| s.try_into().ok())
        .filter(|_| hdlr.body.len() >= 12)
        .ok_or_else(|| "a short hdlr box".to_string())
}

/// Width and height from a track header (16.16 fixed point).
fn dimensions(b: &[u8], trak: &Atom) -> Result<(u32, u32), String> {
    let tkhd = find(b, trak, &[b"tkhd"])?;
    let body = &b[tkhd.body.clone()];
    let at = match body.first() {
        Some(1) => 88,
        Some(0) => 76,
        _ => return Err("a tkhd box of unknown version".into()),
    };
    match (be32(body, at), be32(body, at + 4)) {
        (Some(w), Some(h)) => Ok((w >> 16, h >> 16)),
        _ => Err("a short tkhd box".into()),
    }
}

/// Where a track's samples lie, chunk by chunk, from its sample table.
fn track_chunks(b: &[u8], trak: &Atom) -> Result<Vec<Range<usize>>, String> {
    let stbl = find(b, trak, &[b"mdia", b"minf", b"stbl"])?;
    let boxes = children(b, &stbl)?;
    let table = |kind: &[u8; 4]| {
        boxes
            .iter()
            .find(|a| &a.kind == kind)
            .map(|a| &b[a.body.clone()])
    };
    let bad = |what: &str| format!("a malformed {what} box");

    let offsets: Vec<u64> = match (table(b"stco"), table(b"co64")) {
        (Some(t), None) => entries(t, 4).ok_or_else(|| bad("stco"))?,
        (None, Some(t)) => entries(t, 8).ok_or_else(|| bad("co64"))?,
        _ => return Err("a track without exactly one chunk offset table".into()),
    };
    let stsz = table(b"stsz").ok_or("a track without sample sizes (stsz)")?;
    let fixed = be32(stsz, 4).ok_or_else(|| bad("stsz"))?;
    let count = be32(stsz, 8).ok_or_else(|| bad("stsz"))? as usize;
    // One size for every sample, or one each (bounded by the box's length).
    let sizes: Vec<u64> = if fixed == 0 {
        let sizes =
            entries(stsz.get(4..).ok_or_else(|| bad("stsz"))?, 4).ok_or_else(|| bad("stsz"))?;
        if sizes.len() != count {
            return Err(bad("stsz"));
        }
        sizes
    } else {
        Vec::new()
    };
    let bytes_of = |from: usize, to: usize| -> u64 {
        if fixed == 0 {
            sizes[from..to].iter().sum()
        } else {
            u64::from(fixed) * (to - from) as u64
        }
    };
    // stsc: runs of (first chunk, samples per chunk, description).
    let stsc = table(b"stsc").ok_or("a track without sample-to-chunk runs (stsc)")?;
    let runs = be32(stsc, 4).ok_or_else(|| bad("stsc"))? as usize;
    if stsc.len() < 8 + runs.saturating_mul(12) {
        return Err(bad("stsc"));
    }
    let run = |i: usize| {
        (
            be32(stsc, 8 + i * 12).unwrap_or(0) as usize,
            be32(stsc, 12 + i * 12).unwrap_or(0) as usize,
        )
    };
    let mut chunks = Vec::with_capacity(offsets.len());
    let mut sample = 0usize;
    // The run that applies is the last one starting at or before the
    // chunk. Chunks only increase, so runs are passed once (linear time,
    // whatever the tables claim).
    let mut next_run = 0;
    for (i, &offset) in offsets.iter().enumerate() {
        let chunk = i + 1;
        while next_run < runs && run(next_run).0 <= chunk {
            next_run += 1;
        }
        let per_chunk = next_run
            .checked_sub(1)
            .map(|r| run(r).1)
            .ok_or_else(|| bad("stsc"))?;
        let end = sample.checked_add(per_chunk).filter(|&e| e <= count);
        let end = end.ok_or("more samples in chunks than sizes")?;
        let len = bytes_of(sample, end);
        sample = end;
        let start = usize::try_from(offset).map_err(|_| bad("chunk offset"))?;
        let stop = offset
            .checked_add(len)
            .and_then(|s| usize::try_from(s).ok())
            .filter(|&s| s <= b.len())
            .ok_or_else(|| format!("samples at byte {offset} run past the end of the file"))?;
        chunks.push(start..stop);
    }
    Ok(chunks)
}

/// A full box's table: version and flags, a count, then `count` numbers of
/// `width` bytes.
fn entries(body: &[u8], width: usize) -> Option<Vec<u64>> {
    let count = be32(body, 4)? as usize;
    let table = body.get(8..8 + count.checked_mul(width)?)?;
    Some(
        table
            .chunks_exact(width)
            .map(|c| match width {
                4 => u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])),
                _ => be64(c, 0).unwrap_or(0),
            })
            .collect(),
    )
}

/// The output, with what is needed to rewrite sample offsets at the end.
#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
    /// Where a chunk offset table's entries start in the output, how many,
    /// and whether they are 64-bit.
    tables: Vec<(usize, usize, bool)>,
    /// Each media data body: where it was in the input, where it is now.
    mdats: Vec<(Range<usize>, usize)>,
}

impl Writer {
    fn open(&mut self, kind: &[u8; 4]) -> usize {
        open_box(&mut self.bytes, kind)
    }

    fn close(&mut self, at: usize) -> Result<(), String> {
        close_box(&mut self.bytes, at)
    }

    fn copy(&mut self, kind: &[u8; 4], body: &[u8]) {
        let at = self.open(kind);
        self.bytes.extend_from_slice(body);
        // Within 4 GiB: the input is bounded far below that.
        let _ = self.close(at);
    }

    fn mdat(&mut self, source: &[u8], body: Range<usize>) {
        let at = self.open(b"mdat");
        self.mdats.push((body.clone(), self.bytes.len()));
        self.bytes.extend_from_slice(&source[body]);
        let _ = self.close(at);
    }

    /// Walks a container, keeping what the allow-list keeps.
    fn container(
        &mut self,
        source: &[u8],
        atom: &Atom,
        dropped_tracks: &[usize],
        removed: &mut Vec<String>,
    ) -> Result<(), String> {
        let at = self.open(&atom.kind);
        for child in children(source, atom)? {
            if !kept(&atom.kind, &child.kind) {
                removed.push(name(&child.kind));
                continue;
            }
            if &child.kind == b"trak" && dropped_tracks.contains(&child.body.start) {
                continue;
            }
            if CONTAINERS.contains(&&child.kind) {
                self.container(source, &child, dropped_tracks, removed)?;
            } else if &child.kind == b"dinf" {
                self.self_contained_dinf();
            } else if &child.kind == b"stbl" {
                self.stbl(source, &child)?;
            } else if TIMED.contains(&&child.kind) {
                let mut body = source[child.body.clone()].to_vec();
                let times = match body.first() {
                    Some(1) => 4..20,
                    _ => 4..12,
                };
                if let Some(t) = body.get_mut(times) {
                    t.fill(0);
                }
                self.copy(&child.kind, &body);
            } else {
                self.copy(&child.kind, &source[child.body.clone()]);
            }
        }
        self.close(at)
    }

    /// One data reference: "the media is in this file".
    fn self_contained_dinf(&mut self) {
        let dinf = self.open(b"dinf");
        let dref = self.open(b"dref");
        self.bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
        let url = self.open(b"url ");
        self.bytes.extend_from_slice(&[0, 0, 0, 1]); // flags: self-contained
        let _ = self.close(url);
        let _ = self.close(dref);
        let _ = self.close(dinf);
    }

    /// The sample table, copied, with its chunk offsets noted for rewriting.
    fn stbl(&mut self, source: &[u8], stbl: &Atom) -> Result<(), String> {
        let at = self.open(b"stbl");
        for child in children(source, stbl)? {
            let body = &source[child.body.clone()];
            let wide = match &child.kind {
                b"stco" => Some(false),
                b"co64" => Some(true),
                _ => None,
            };
            let header = self.open(&child.kind);
            if let Some(wide) = wide {
                let count = be32(body, 4).ok_or("a malformed chunk offset table")? as usize;
                let width = if wide { 8 } else { 4 };
                if body.len() < 8 + count.saturating_mul(width) {
                    return Err("a malformed chunk offset table".into());
                }
                self.tables.push((self.bytes.len() + 8, count, wide));
            }
            self.bytes.extend_from_slice(body);
            self.close(header)?;
        }
        self.close(at)
    }

    /// Rewrites every chunk offset for where its media data now lies.
    fn finish(mut self) -> Result<Vec<u8>, String> {
        for &(start, count, wide) in &self.tables {
            let width = if wide { 8 } else { 4 };
            for i in 0..count {
                let at = start + i * width;
                let old = if wide {
                    be64(&self.bytes, at)
                } else {
                    be32(&self.bytes, at).map(u64::from)
                }
                .ok_or("a chunk offset table ends early")?;
                let new = relocate(&self.mdats, old)
                    .ok_or_else(|| format!("samples at byte {old} are outside the media data"))?;
                put_offset(&mut self.bytes, at, width, new)?;
            }
        }
        Ok(self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_no_range_covers_is_zeroed() {
        let mut bytes = vec![1u8; 40];
        let zeroed = zero_uncovered(
            &mut bytes,
            &[0..20, 25..40],
            vec![5..8, 6..10, 30..50, 12..12],
        );
        let expect: Vec<u8> = (0..40)
            .map(|i| u8::from((5..10).contains(&i) || (20..25).contains(&i) || i >= 30))
            .collect();
        assert_eq!(bytes, expect);
        assert_eq!(zeroed, 5 + 10 + 5);
    }

    #[test]
    fn many_ranges_and_areas_cost_linear_time() {
        // A million chunks at one offset and a hundred thousand areas: the
        // walk once took their product.
        let mut bytes = vec![1u8; 200_000];
        let areas: Vec<Range<usize>> = (0..100_000).map(|i| 2 * i..2 * i + 1).collect();
        let covered = vec![0..1; 1_000_000];
        // 10^11 steps before; a blink now.
        assert_eq!(zero_uncovered(&mut bytes, &areas, covered), 99_999);
    }
}
