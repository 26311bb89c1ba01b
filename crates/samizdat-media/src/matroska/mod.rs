//! WebM and Matroska video and sound (browser and messenger recordings,
//! Android screen recorders): EBML, a tree of elements, each an ID, a
//! size and a body.
//!
//! Rebuilt, by allow-list, from what plays the recording: the EBML header
//! (versions and document type), the timestamp scale and duration, each
//! video or sound track's codec, its private data and its picture or
//! sound parameters, and each cluster's timestamp and the blocks of those
//! tracks, byte for byte. Dropped: the title, the muxing and writing
//! applications (written again as "samizdat", since players expect
//! them), the date, segment identifiers, track names, tags, chapters,
//! attachments (cover art, fonts), block additions, subtitle and other
//! non-media tracks with their blocks, void and checksum elements, seek
//! heads and cues (written anew for the clusters as they now lie), and
//! anything after the segment. Elements of unknown size (a live
//! recording) end where an element that cannot be their child begins.

use crate::{MediaError, MediaType};

mod ebml;

use ebml::{Element, children, element_at, one, put, put_id, put_size, put_uint, uint, vint};

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const CLUSTER: u32 = 0x1F43_B675;
const CUES: u32 = 0x1C53_BB6B;
const CHAPTERS: u32 = 0x1043_A770;
const TAGS: u32 = 0x1254_C367;
const ATTACHMENTS: u32 = 0x1941_A469;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const TRACK_TYPE: u32 = 0x83;
const VIDEO: u32 = 0xE0;
const AUDIO: u32 = 0xE1;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;
const CONTENT_ENCODINGS: u32 = 0x6D80;
const TIMESTAMP: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const DOC_TYPE: u32 = 0x4282;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const MUXING_APP: u32 = 0x4D80;
const WRITING_APP: u32 = 0x5741;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const CUE_POINT: u32 = 0xBB;
const CUE_TIME: u32 = 0xB3;
const CUE_TRACK_POSITIONS: u32 = 0xB7;
const CUE_TRACK: u32 = 0xF7;
const CUE_CLUSTER_POSITION: u32 = 0xF1;

/// Most elements read under one parent: a long recording's cluster holds
/// a few thousand blocks; a file of tiny elements is refused before it
/// costs memory many times its size.
const MAX_CHILDREN: usize = 1 << 18;

/// What the application fields say after cleaning.
const APP: &[u8] = b"samizdat";

/// The level-1 elements: an element of unknown size inside the segment
/// ends where one of these begins.
const LEVEL_ONE: &[u32] = &[
    SEEK_HEAD,
    INFO,
    TRACKS,
    CLUSTER,
    CUES,
    CHAPTERS,
    TAGS,
    ATTACHMENTS,
];

/// Children kept as they are, by parent.
fn kept(parent: u32, id: u32) -> bool {
    let allowed: &[u32] = match parent {
        EBML => &[0x4286, 0x42F7, 0x42F2, 0x42F3, DOC_TYPE, 0x4287, 0x4285],
        INFO => &[TIMESTAMP_SCALE, DURATION],
        TRACK_ENTRY => &[
            TRACK_NUMBER,
            0x73C5, // TrackUID
            TRACK_TYPE,
            0xB9,      // FlagEnabled
            0x88,      // FlagDefault
            0x55AA,    // FlagForced
            0x9C,      // FlagLacing
            0x23_E383, // DefaultDuration
            0x23_314F, // TrackTimestampScale
            0x86,      // CodecID
            0x63A2,    // CodecPrivate
            0x56AA,    // CodecDelay
            0x56BB,    // SeekPreRoll
            0x22_B59C, // Language
            0x22_B59D, // LanguageBCP47
            VIDEO,
            AUDIO,
            CONTENT_ENCODINGS,
        ],
        VIDEO => &[
            0x9A,
            0x9D,
            0x53B8,
            0x53C0,
            PIXEL_WIDTH,
            PIXEL_HEIGHT,
            0x54AA,
            0x54BB,
            0x54CC,
            0x54DD,
            0x54B0,
            0x54BA,
            0x54B2,
            0x54B3,
            0x55B0,
            0x7670,
        ],
        AUDIO => &[0xB5, 0x78B5, 0x9F, 0x6264],
        BLOCK_GROUP => &[BLOCK, 0x9B, 0xFA, 0xFB, 0xA4, 0x75A2],
        _ => &[],
    };
    allowed.contains(&id)
}

fn name(id: u32) -> String {
    match id {
        0x7BA9 => "title".into(),
        MUXING_APP | WRITING_APP => "muxing and writing applications".into(),
        0x4461 => "date".into(),
        0x73A4 | 0x3CB923 | 0x3EB923 | 0x7384 | 0x3C83AB | 0x3E83BB => {
            "segment identifiers and file names".into()
        }
        0x536E => "track names".into(),
        TAGS => "tags".into(),
        CHAPTERS => "chapters".into(),
        ATTACHMENTS => "attachments (cover art, fonts, files)".into(),
        0x75A1 => "block additions".into(),
        0xEC => "void (padding)".into(),
        0xBF => "checksums".into(),
        SEEK_HEAD | CUES => "seek index (written anew)".into(),
        other => format!("element {other:#x}"),
    }
}

/// A track kept: its number and type (1 video, 2 sound).
struct Track {
    number: u64,
    kind: u64,
}

/// The track number a block's data starts with.
fn block_track(data: &[u8]) -> Option<u64> {
    vint(data, 0, true).map(|(n, _, _)| n)
}

struct Cleaner<'a> {
    b: &'a [u8],
    removed: Vec<String>,
}

impl Cleaner<'_> {
    /// Copies `element`'s kept children (by [`kept`]), recursing into
    /// the masters that need it.
    fn filtered(&mut self, element: &Element) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for child in children(self.b, element.id, element.body.clone())? {
            if !kept(element.id, child.id) {
                crate::note(&mut self.removed, name(child.id));
                continue;
            }
            match child.id {
                VIDEO | AUDIO | BLOCK_GROUP => {
                    let body = self.filtered(&child)?;
                    put(&mut out, child.id, &body);
                }
                // The document type alone, nothing after a terminator.
                DOC_TYPE => {
                    let text = &self.b[child.body.clone()];
                    put(
                        &mut out,
                        DOC_TYPE,
                        text.split(|&c| c == 0).next().unwrap_or(text),
                    );
                }
                // Compressed or encrypted tracks: no phone or messenger
                // writes them, and their settings are a tree of their own.
                CONTENT_ENCODINGS => return Err("encrypted or compressed tracks".into()),
                _ => put(&mut out, child.id, &self.b[child.body.clone()]),
            }
        }
        Ok(out)
    }
}

/// The document type, and whether it is WebM.
fn doc_type(b: &[u8], header: &Element) -> Result<bool, String> {
    let list = children(b, EBML, header.body.clone())?;
    let doc = one(&list, DOC_TYPE).map_err(|_| "no document type".to_string())?;
    let text = &b[doc.body.clone()];
    let text = text.split(|&c| c == 0).next().unwrap_or(text);
    match text {
        b"webm" => Ok(true),
        b"matroska" => Ok(false),
        other => Err(format!(
            "document type {:?}",
            String::from_utf8_lossy(other)
        )),
    }
}

/// WebM or Matroska, by the EBML header's document type.
pub fn kind(bytes: &[u8]) -> Option<MediaType> {
    let header = element_at(bytes, 0, 0, bytes.len()).ok()?;
    if header.id != EBML {
        return None;
    }
    match doc_type(bytes, &header) {
        Ok(true) => Some(MediaType::WebM),
        Ok(false) => Some(MediaType::Matroska),
        Err(_) => None,
    }
}

pub fn strip(bytes: &[u8], media_type: MediaType) -> Result<(Vec<u8>, Vec<String>), MediaError> {
    clean(bytes).map_err(|reason| {
        if reason.starts_with("encrypted") || reason.starts_with("document type") {
            MediaError::Unsupported(format!("{} with {reason}", media_type.name()))
        } else {
            MediaError::corrupt(media_type, reason)
        }
    })
}

fn clean(b: &[u8]) -> Result<(Vec<u8>, Vec<String>), String> {
    let top = children(b, 0, 0..b.len())?;
    let header = top
        .first()
        .filter(|e| e.id == EBML)
        .ok_or("no EBML header")?;
    doc_type(b, header)?;
    let segment = top.get(1).filter(|e| e.id == SEGMENT).ok_or("no segment")?;
    let mut c = Cleaner {
        b,
        removed: Vec::new(),
    };
    if top.len() > 2 || segment.body.end < b.len() {
        let after = top.get(2).map_or(segment.body.end, |e| e.start);
        c.removed
            .push(format!("{} bytes after the segment", b.len() - after));
    }
    let level1 = children(b, SEGMENT, segment.body.clone())?;

    // Info: the timestamp scale and duration, and the applications.
    let info = one(&level1, INFO)?;
    let mut info_body = c.filtered(info)?;
    let apps: Vec<&[u8]> = children(b, INFO, info.body.clone())?
        .iter()
        .filter(|e| matches!(e.id, MUXING_APP | WRITING_APP))
        .map(|e| &b[e.body.clone()])
        .collect();
    if apps.iter().all(|a| *a == APP) {
        c.removed.retain(|r| r != &name(MUXING_APP));
    }
    put(&mut info_body, MUXING_APP, APP);
    put(&mut info_body, WRITING_APP, APP);

    // Tracks: video and sound only.
    let tracks = one(&level1, TRACKS)?;
    let mut kept_tracks = Vec::new();
    let mut tracks_body = Vec::new();
    for entry in children(b, TRACKS, tracks.body.clone())? {
        if entry.id != TRACK_ENTRY {
            crate::note(&mut c.removed, name(entry.id));
            continue;
        }
        let fields = children(b, TRACK_ENTRY, entry.body.clone())?;
        let field = |id| {
            fields
                .iter()
                .find(|e| e.id == id)
                .map(|e| uint(&b[e.body.clone()]))
        };
        let number = field(TRACK_NUMBER).ok_or("a track without a number")?;
        let kind = field(TRACK_TYPE).ok_or("a track without a type")?;
        if !matches!(kind, 1 | 2) {
            crate::note(
                &mut c.removed,
                format!("a track of type {kind} (subtitles, metadata or other non-media)"),
            );
            continue;
        }
        let body = c.filtered(&entry)?;
        put(&mut tracks_body, TRACK_ENTRY, &body);
        kept_tracks.push(Track { number, kind });
    }
    if kept_tracks.is_empty() {
        return Err("no video or sound track".into());
    }
    let cue_track = kept_tracks
        .iter()
        .find(|t| t.kind == 1)
        .or(kept_tracks.first())
        .map_or(1, |t| t.number);

    // Clusters: their timestamp and the blocks of kept tracks.
    let mut clusters = Vec::new();
    for element in &level1 {
        match element.id {
            INFO | TRACKS => {}
            CLUSTER => {
                let mut body = Vec::new();
                let mut time = None;
                for child in children(b, CLUSTER, element.body.clone())? {
                    let data = &b[child.body.clone()];
                    match child.id {
                        TIMESTAMP if time.is_none() => {
                            time = Some(uint(data));
                            put(&mut body, TIMESTAMP, data);
                        }
                        SIMPLE_BLOCK => {
                            let track = block_track(data).ok_or("a block without a track")?;
                            if kept_tracks.iter().any(|t| t.number == track) {
                                put(&mut body, SIMPLE_BLOCK, data);
                            }
                        }
                        BLOCK_GROUP => {
                            let group = children(b, BLOCK_GROUP, child.body.clone())?;
                            let block = one_block(b, &group)?;
                            if kept_tracks.iter().any(|t| t.number == block) {
                                let filtered = c.filtered(&child)?;
                                put(&mut body, BLOCK_GROUP, &filtered);
                            }
                        }
                        other => crate::note(&mut c.removed, name(other)),
                    }
                }
                let time = time.ok_or("a cluster without a timestamp")?;
                clusters.push((time, body));
            }
            other => crate::note(&mut c.removed, name(other)),
        }
    }
    if clusters.is_empty() {
        return Err("no cluster".into());
    }

    // The segment: a seek head of fixed size (so positions known only at
    // the end can be written into it), info, tracks, clusters, cues.
    let mut seg = Vec::new();
    let seek_at = seg.len();
    seek_head(&mut seg, [0; 3]);
    let info_pos = seg.len() as u64;
    put(&mut seg, INFO, &info_body);
    let tracks_pos = seg.len() as u64;
    put(&mut seg, TRACKS, &tracks_body);
    let mut cues = Vec::new();
    for (time, body) in &clusters {
        let mut point = Vec::new();
        put_uint(&mut point, CUE_TIME, *time);
        let mut positions = Vec::new();
        put_uint(&mut positions, CUE_TRACK, cue_track);
        put_uint(&mut positions, CUE_CLUSTER_POSITION, seg.len() as u64);
        put(&mut point, CUE_TRACK_POSITIONS, &positions);
        put(&mut cues, CUE_POINT, &point);
        put(&mut seg, CLUSTER, body);
    }
    let cues_pos = seg.len() as u64;
    put(&mut seg, CUES, &cues);
    let mut head = Vec::new();
    seek_head(&mut head, [info_pos, tracks_pos, cues_pos]);
    seg[seek_at..seek_at + head.len()].copy_from_slice(&head);

    let mut out = Vec::with_capacity(seg.len() + 64);
    let header_body = c.filtered(header)?;
    put(&mut out, EBML, &header_body);
    put_id(&mut out, SEGMENT);
    put_size(&mut out, seg.len() as u64, 8);
    out.extend_from_slice(&seg);
    let mut removed = c.removed;
    removed.sort();
    removed.dedup();
    // The seek index is rebuilt every time: not worth a word.
    removed.retain(|r| r != &name(SEEK_HEAD));
    Ok((out, removed))
}

/// A seek head naming Info, Tracks and Cues, each position in 8 bytes so
/// that its size does not depend on them.
fn seek_head(out: &mut Vec<u8>, positions: [u64; 3]) {
    let mut body = Vec::new();
    for (id, pos) in [INFO, TRACKS, CUES].into_iter().zip(positions) {
        let mut seek = Vec::new();
        let mut id_bytes = Vec::new();
        put_id(&mut id_bytes, id);
        put(&mut seek, SEEK_ID, &id_bytes);
        put(&mut seek, SEEK_POSITION, &pos.to_be_bytes());
        put(&mut body, SEEK, &seek);
    }
    put(out, SEEK_HEAD, &body);
}

fn one_block(b: &[u8], group: &[Element]) -> Result<u64, String> {
    let block = group
        .iter()
        .find(|e| e.id == BLOCK)
        .ok_or("a block group without a block")?;
    block_track(&b[block.body.clone()]).ok_or_else(|| "a block without a track".to_string())
}

/// Reads a cleaned file back: the same walk must find nothing to drop,
/// and every block must belong to a video or sound track. The size is the
/// first video track's.
pub fn check(bytes: &[u8], media_type: MediaType) -> Result<Option<(u32, u32)>, MediaError> {
    let corrupt = |reason: String| MediaError::corrupt(media_type, reason);
    let (again, removed) = clean(bytes).map_err(corrupt)?;
    if !removed.is_empty() || again != bytes {
        return Err(corrupt(format!(
            "not as cleaning leaves it ({})",
            removed.join(", ")
        )));
    }
    let top = children(bytes, 0, 0..bytes.len()).map_err(corrupt)?;
    let webm = doc_type(bytes, &top[0]).map_err(corrupt)?;
    if webm != (media_type == MediaType::WebM) {
        return Err(corrupt("the document type changed".into()));
    }
    let level1 = children(bytes, SEGMENT, top[1].body.clone()).map_err(corrupt)?;
    let tracks = one(&level1, TRACKS).map_err(corrupt)?;
    let mut dim = None;
    for entry in children(bytes, TRACKS, tracks.body.clone()).map_err(corrupt)? {
        let fields = children(bytes, TRACK_ENTRY, entry.body.clone()).map_err(corrupt)?;
        if let Some(video) = fields.iter().find(|e| e.id == VIDEO)
            && dim.is_none()
        {
            let video = children(bytes, VIDEO, video.body.clone()).map_err(corrupt)?;
            let get = |id| {
                video
                    .iter()
                    .find(|e| e.id == id)
                    .map_or(0, |e| uint(&bytes[e.body.clone()]) as u32)
            };
            dim = Some((get(PIXEL_WIDTH), get(PIXEL_HEIGHT)));
        }
    }
    Ok(dim.filter(|&(w, h)| w > 0 && h > 0))
}
