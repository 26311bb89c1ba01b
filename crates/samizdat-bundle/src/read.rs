//! Reading a bundle in one pass, checking everything, handing each
//! member's bytes to a [`Sink`] as they stream past: nothing is trusted
//! until [`unpack`] returns `Ok`, and the sink must keep what it is given
//! aside until then.

use std::cell::Cell;
use std::collections::HashSet;
use std::io::{self, Read};
use std::rc::Rc;

use sha2::{Digest, Sha256};

use crate::BundleError;
use crate::format::{FORMAT, Header, Manifest, Member, MemberKind, VERSION, classify};

/// Bounds on what a bundle may make the reader do.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest `events/` member (the writer makes them about 4 MiB).
    pub max_events_member: u64,
    /// Largest blob.
    pub max_blob: u64,
    /// Largest header or manifest.
    pub max_document: u64,
    /// Unpacked bytes may exceed the compressed bytes read by this factor,
    /// past the first `bomb_allowance` bytes.
    pub max_ratio: u64,
    pub bomb_allowance: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events_member: 16 * 1024 * 1024,
            max_blob: 1024 * 1024 * 1024,
            max_document: 64 * 1024 * 1024,
            max_ratio: 100,
            bomb_allowance: 64 * 1024 * 1024,
        }
    }
}

/// Where the members go while the bundle is read.
pub trait Sink {
    /// The `n`th events member (JSON lines).
    fn events(&mut self, n: u32, data: &mut dyn Read) -> io::Result<()>;
    /// The blob named `hash`, `size` bytes.
    fn blob(&mut self, hash: [u8; 32], size: u64, data: &mut dyn Read) -> io::Result<()>;
}

/// A bundle read whole and found sound.
#[derive(Debug, Clone)]
pub struct Unpacked {
    pub header: Header,
    pub manifest: Manifest,
}

/// Reads the bundle from `input`, handing members to `sink`, and checks
/// it: names, order, sizes, every member's hash against the manifest, the
/// manifest's digest and counts. The first problem ends the reading.
pub fn unpack(
    input: impl Read,
    sink: &mut dyn Sink,
    limits: &Limits,
) -> Result<Unpacked, BundleError> {
    let compressed = Rc::new(Cell::new(0u64));
    let bombed = Rc::new(Cell::new(None));
    let counted = Counter {
        inner: input,
        count: compressed.clone(),
    };
    let mut decoder = zstd::stream::read::Decoder::new(counted).map_err(BundleError::reading)?;
    // Bounds the decoder's memory: no window over 16 MiB.
    decoder
        .window_log_max(24)
        .map_err(|e| BundleError::Damaged(e.to_string()))?;
    let guarded = Guard {
        inner: decoder,
        unpacked: 0,
        compressed: compressed.clone(),
        limits: *limits,
        bombed: bombed.clone(),
    };
    let result = read_members(guarded, sink, limits);
    match (result, bombed.get()) {
        (Err(_), Some((unpacked, read))) => Err(BundleError::Bomb {
            unpacked,
            read,
            ratio: limits.max_ratio,
        }),
        (result, _) => result,
    }
}

fn read_members(
    input: impl Read,
    sink: &mut dyn Sink,
    limits: &Limits,
) -> Result<Unpacked, BundleError> {
    let mut archive = tar::Archive::new(input);
    let entries = archive.entries().map_err(BundleError::reading)?;
    let mut header: Option<Header> = None;
    let mut manifest: Option<Manifest> = None;
    let mut observed: Vec<Member> = Vec::new();
    let mut lines = 0u64;
    let mut chunks = 0u32;
    let mut blobs: HashSet<[u8; 32]> = HashSet::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| match BundleError::reading(e) {
            BundleError::Truncated(_) => {
                BundleError::Truncated(format!(" after {} members", observed.len()))
            }
            other => other,
        })?;
        let path = String::from_utf8(entry.path_bytes().into_owned()).map_err(|_| {
            BundleError::BadMember {
                path: String::from_utf8_lossy(&entry.path_bytes()).into_owned(),
                why: "its name is not UTF-8",
            }
        })?;
        let bad = |why: &'static str| BundleError::BadMember {
            path: path.clone(),
            why,
        };
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(bad(
                "not a regular file (links and directories are refused)",
            ));
        }
        let kind = classify(&path)?;
        if manifest.is_some() {
            return Err(bad("a member after the manifest"));
        }
        let size = entry.size();
        let limit = match kind {
            MemberKind::Header | MemberKind::Manifest => limits.max_document,
            MemberKind::Events(_) => limits.max_events_member,
            MemberKind::Blob(_) => limits.max_blob,
        };
        if size > limit {
            return Err(BundleError::TooLarge { path, limit });
        }
        match (kind, header.is_some()) {
            (MemberKind::Header, false) => {}
            (MemberKind::Header, true) => return Err(bad("a second header")),
            (_, false) => return Err(bad("the header must come first")),
            _ => {}
        }
        let mut tap = Tap {
            inner: &mut entry,
            hasher: Sha256::new(),
            read: 0,
            newlines: 0,
            failed: None,
        };
        match kind {
            MemberKind::Header => {
                let bytes = tap.all()?;
                let parsed: Header = serde_json::from_slice(&bytes)
                    .map_err(|e| BundleError::NotABundle(format!("its header: {e}")))?;
                if parsed.format != FORMAT {
                    return Err(BundleError::NotABundle(format!(
                        "its header says format {:?}",
                        parsed.format
                    )));
                }
                if parsed.version > VERSION {
                    return Err(BundleError::Version(parsed.version));
                }
                let hex_id = parsed.id.len() == 32
                    && parsed
                        .id
                        .bytes()
                        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                if !hex_id {
                    return Err(BundleError::NotABundle(
                        "its id is not 32 lower-case hex digits".into(),
                    ));
                }
                if parsed.part == Some(0) {
                    return Err(BundleError::NotABundle("parts are numbered from 1".into()));
                }
                header = Some(parsed);
            }
            MemberKind::Events(n) => {
                if !blobs.is_empty() {
                    return Err(bad("events after blobs"));
                }
                if n != chunks + 1 {
                    return Err(bad("events members out of sequence"));
                }
                chunks = n;
                let sunk = sink.events(n, &mut tap);
                tap.settle(sunk)?;
                lines += tap.newlines;
            }
            MemberKind::Blob(hash) => {
                if !blobs.insert(hash) {
                    return Err(bad("a blob twice"));
                }
                let sunk = sink.blob(hash, size, &mut tap);
                tap.settle(sunk)?;
                let actual = hex::encode(tap.hasher.clone().finalize());
                if actual != hex::encode(hash) {
                    return Err(BundleError::Mismatch {
                        path,
                        why: format!("its bytes hash to {actual}"),
                    });
                }
            }
            MemberKind::Manifest => {
                let bytes = tap.all()?;
                let parsed: Manifest = serde_json::from_slice(&bytes)
                    .map_err(|e| BundleError::Manifest(format!("unreadable: {e}")))?;
                manifest = Some(parsed);
                continue;
            }
        }
        if tap.read != size {
            return Err(BundleError::Truncated(format!(" inside {path}")));
        }
        observed.push(Member {
            path,
            size,
            sha256: hex::encode(tap.hasher.finalize()),
        });
    }
    // The rest of the stream (tar's end blocks, zstd's checksum): read to
    // the end, so that a damaged frame is not taken for a sound one.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(BundleError::reading)?;
    let header = header.ok_or_else(|| BundleError::NotABundle("it holds no header".into()))?;
    let manifest = manifest.ok_or_else(|| {
        BundleError::Truncated(format!(
            " before its manifest ({} members read)",
            observed.len()
        ))
    })?;
    check(&header, &manifest, &observed, lines, blobs.len() as u64)?;
    Ok(Unpacked { header, manifest })
}

/// The manifest against what was read.
fn check(
    header: &Header,
    manifest: &Manifest,
    observed: &[Member],
    lines: u64,
    blobs: u64,
) -> Result<(), BundleError> {
    if manifest.format != FORMAT || manifest.version != header.version {
        return Err(BundleError::Manifest(
            "its format or version differs from the header's".into(),
        ));
    }
    if manifest.id != header.id {
        return Err(BundleError::Manifest(format!(
            "it names bundle {}, the header {}",
            manifest.id, header.id
        )));
    }
    if manifest.part != header.part {
        return Err(BundleError::Manifest(format!(
            "it is for part {:?}, the header says {:?}",
            manifest.part, header.part
        )));
    }
    if manifest.parts.is_some_and(|n| Some(n) != manifest.part) {
        return Err(BundleError::Manifest(
            "only the last part says how many parts there are".into(),
        ));
    }
    for (i, seen) in observed.iter().enumerate() {
        let Some(listed) = manifest.members.get(i) else {
            return Err(BundleError::Mismatch {
                path: seen.path.clone(),
                why: "the manifest does not list it".into(),
            });
        };
        if listed.path != seen.path {
            return Err(BundleError::Mismatch {
                path: seen.path.clone(),
                why: format!("the manifest lists {} in its place", listed.path),
            });
        }
        if listed.size != seen.size {
            return Err(BundleError::Mismatch {
                path: seen.path.clone(),
                why: format!("{} bytes, the manifest says {}", seen.size, listed.size),
            });
        }
        if listed.sha256 != seen.sha256 {
            return Err(BundleError::Mismatch {
                path: seen.path.clone(),
                why: format!(
                    "its bytes hash to {}, the manifest says {}",
                    seen.sha256, listed.sha256
                ),
            });
        }
    }
    if let Some(missing) = manifest.members.get(observed.len()) {
        return Err(BundleError::Manifest(format!(
            "it lists {} members, the bundle holds {} (first missing: {})",
            manifest.members.len(),
            observed.len(),
            missing.path
        )));
    }
    if Manifest::digest_of(observed) != manifest.digest {
        return Err(BundleError::Manifest("its digest is wrong".into()));
    }
    if manifest.events != lines || manifest.blobs != blobs {
        return Err(BundleError::Manifest(format!(
            "it counts {} events and {} blobs, the bundle holds {lines} and {blobs}",
            manifest.events, manifest.blobs
        )));
    }
    Ok(())
}

/// Counts the compressed bytes read.
struct Counter<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Stops a stream that unpacks far beyond what it read.
struct Guard<R> {
    inner: R,
    unpacked: u64,
    compressed: Rc<Cell<u64>>,
    limits: Limits,
    bombed: Rc<Cell<Option<(u64, u64)>>>,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.unpacked += n as u64;
        let read = self.compressed.get();
        let allowed = self
            .limits
            .bomb_allowance
            .saturating_add(read.saturating_mul(self.limits.max_ratio));
        if self.unpacked > allowed {
            self.bombed.set(Some((self.unpacked, read)));
            return Err(io::Error::other("decompression bomb"));
        }
        Ok(n)
    }
}

/// One member's bytes on their way to the sink: hashed, counted, and
/// any read error kept, so that a cut is told apart from the sink's own
/// failure.
struct Tap<'a, R> {
    inner: &'a mut R,
    hasher: Sha256,
    read: u64,
    newlines: u64,
    failed: Option<(io::ErrorKind, String)>,
}

impl<R: Read> Tap<'_, R> {
    /// The whole member in memory (documents only: their size is bounded).
    fn all(&mut self) -> Result<Vec<u8>, BundleError> {
        let mut bytes = Vec::new();
        let read = self.read_to_end(&mut bytes);
        self.settle(read.map(drop))?;
        Ok(bytes)
    }

    /// Reads what the sink left, and turns the outcome into the bundle's
    /// error: a read error as such, otherwise the sink's.
    fn settle(&mut self, sunk: io::Result<()>) -> Result<(), BundleError> {
        let drained = sunk.and_then(|()| io::copy(self, &mut io::sink()).map(drop));
        match (drained, self.failed.take()) {
            (Ok(()), None) => Ok(()),
            (_, Some((kind, text))) => Err(BundleError::reading(io::Error::new(kind, text))),
            (Err(e), None) => Err(BundleError::Sink(e)),
        }
    }
}

impl<R: Read> Read for Tap<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                self.failed = Some((e.kind(), e.to_string()));
                return Err(e);
            }
        };
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        self.newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Writer;

    #[derive(Debug, Default)]
    struct Collect {
        events: Vec<u8>,
        blobs: Vec<([u8; 32], Vec<u8>)>,
    }

    impl Sink for Collect {
        fn events(&mut self, _: u32, data: &mut dyn Read) -> io::Result<()> {
            data.read_to_end(&mut self.events).map(drop)
        }
        fn blob(&mut self, hash: [u8; 32], _: u64, data: &mut dyn Read) -> io::Result<()> {
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes)?;
            self.blobs.push((hash, bytes));
            Ok(())
        }
    }

    /// A sound header, as a hand-built bundle's first member.
    fn header_json() -> Vec<u8> {
        serde_json::to_vec(&Header {
            format: FORMAT.into(),
            version: 1,
            id: "00".repeat(16),
            created_at: 0,
            part: None,
        })
        .expect("json")
    }

    fn sha(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    fn sample() -> Vec<u8> {
        let mut writer = Writer::new(Vec::new(), "ab".repeat(16), 1_700_000_000).expect("writer");
        writer.event(r#"{"id":"1"}"#).expect("event");
        writer.event(r#"{"id":"2"}"#).expect("event");
        let blob = b"a photo, already stripped";
        writer
            .blob(sha(blob), blob.len() as u64, &blob[..])
            .expect("blob");
        let (single, _) = writer.finish().expect("finish");
        single.into_inner().expect("the output")
    }

    fn read(bytes: &[u8]) -> Result<(Unpacked, Collect), BundleError> {
        let mut sink = Collect::default();
        let unpacked = unpack(bytes, &mut sink, &Limits::default())?;
        Ok((unpacked, sink))
    }

    /// A bundle built member by member, as a hostile writer would.
    fn raw(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (path, bytes) in members {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            // Written into the header as is: append_data would refuse `..`.
            header.as_gnu_mut().expect("gnu").name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            tar.append(&header, *bytes).expect("member");
        }
        zstd::encode_all(tar.into_inner().expect("tar").as_slice(), 3).expect("zstd")
    }

    #[test]
    fn a_bundle_reads_back_as_written() {
        let (unpacked, sink) = read(&sample()).expect("a sound bundle");
        assert_eq!(unpacked.manifest.events, 2);
        assert_eq!(unpacked.manifest.blobs, 1);
        assert_eq!(sink.events, b"{\"id\":\"1\"}\n{\"id\":\"2\"}\n");
        assert_eq!(sink.blobs[0].1, b"a photo, already stripped");
        assert_eq!(unpacked.manifest.members.len(), 3);
    }

    /// Parts kept in memory.
    #[derive(Default)]
    struct Files(Vec<Vec<u8>>);

    impl crate::Parts for Files {
        type Out = Vec<u8>;
        fn open(&mut self, _: u32) -> io::Result<Vec<u8>> {
            Ok(Vec::new())
        }
        fn close(&mut self, _: u32, out: Vec<u8>, _: &Manifest) -> io::Result<()> {
            self.0.push(out);
            Ok(())
        }
    }

    #[test]
    fn a_split_bundle_is_parts_that_each_read_whole() {
        let max = crate::MIN_PART_BYTES;
        let mut writer = Writer::split(Files::default(), max, "cd".repeat(16), 0).expect("writer");
        for i in 0..2_000 {
            // Random-looking lines, as ids and signatures are: they do not
            // compress away.
            let noise = hex::encode(sha(format!("{i}").as_bytes()));
            writer
                .event(&format!(r#"{{"id":"{noise}","n":{i}}}"#))
                .expect("event");
        }
        let blobs: Vec<Vec<u8>> = (0..6u8)
            .map(|b| {
                (0..30_000u32)
                    .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ b)
                    .collect()
            })
            .collect();
        for blob in &blobs {
            writer
                .blob(sha(blob), blob.len() as u64, blob.as_slice())
                .expect("blob");
        }
        let too_big = vec![1u8; max as usize];
        assert!(matches!(
            writer.blob(sha(&too_big), too_big.len() as u64, too_big.as_slice()),
            Err(BundleError::TooLarge { .. })
        ));
        let (Files(parts), written) = writer.finish().expect("finish");
        assert!(parts.len() >= 3, "{} parts", parts.len());
        assert_eq!(written.parts as usize, parts.len());
        let (mut events, mut blob_count) = (0, 0);
        for (i, bytes) in parts.iter().enumerate() {
            assert!(
                bytes.len() as u64 <= max,
                "part {} is {} bytes",
                i + 1,
                bytes.len()
            );
            let (unpacked, sink) = read(bytes).expect("each part reads whole");
            assert_eq!(unpacked.header.part, Some(i as u32 + 1));
            let last = i + 1 == parts.len();
            assert_eq!(unpacked.manifest.parts, last.then_some(parts.len() as u32));
            events += sink.events.iter().filter(|&&b| b == b'\n').count();
            blob_count += sink.blobs.len();
        }
        assert_eq!((events, blob_count), (2_000, 6));
    }

    #[test]
    fn a_cut_or_a_flipped_byte_is_named() {
        let bytes = sample();
        for cut in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 10] {
            let e = read(&bytes[..cut]).expect_err("a cut bundle");
            assert!(
                matches!(e, BundleError::Truncated(_) | BundleError::Damaged(_)),
                "cut at {cut}: {e}"
            );
        }
        for at in [20, bytes.len() / 2, bytes.len() - 6] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x01;
            let e = read(&flipped).expect_err("a flipped byte");
            assert!(!matches!(e, BundleError::Sink(_)), "flipped at {at}: {e}");
        }
    }

    #[test]
    fn hostile_members_are_refused_by_name() {
        let header = header_json();
        for path in ["../../.bashrc", "/etc/passwd", "blobs/../../x"] {
            let bytes = raw(&[(crate::HEADER, &header), (path, b"x")]);
            let e = read(&bytes).expect_err("a hostile path");
            assert!(
                matches!(&e, BundleError::BadMember { path: p, .. } if p == path),
                "{path}: {e}"
            );
        }
        // No header first.
        let e = read(&raw(&[("events/000001.jsonl", b"{}\n")])).expect_err("headless");
        assert!(e.to_string().contains("header must come first"), "{e}");
        // Not a bundle at all.
        let e = read(b"just some text").expect_err("text");
        assert!(matches!(e, BundleError::Damaged(_)), "{e}");
    }

    #[test]
    fn a_manifest_that_lies_is_caught() {
        let header = header_json();
        let events = b"{\"id\":\"1\"}\n".as_slice();
        let honest = vec![
            Member {
                path: crate::HEADER.into(),
                size: header.len() as u64,
                sha256: hex::encode(sha(&header)),
            },
            Member {
                path: "events/000001.jsonl".into(),
                size: events.len() as u64,
                sha256: hex::encode(sha(events)),
            },
        ];
        let manifest = |members: Vec<Member>, events_count: u64, digest: Option<String>| {
            serde_json::to_vec(&Manifest {
                format: FORMAT.into(),
                version: 1,
                id: "00".repeat(16),
                events: events_count,
                blobs: 0,
                digest: digest.unwrap_or_else(|| Manifest::digest_of(&members)),
                members,
                part: None,
                parts: None,
            })
            .expect("json")
        };
        let bundle = |m: Vec<u8>| {
            raw(&[
                (crate::HEADER, &header),
                ("events/000001.jsonl", events),
                (crate::MANIFEST, &m),
            ])
        };
        read(&bundle(manifest(honest.clone(), 1, None))).expect("the honest one reads");

        let mut wrong_hash = honest.clone();
        wrong_hash[1].sha256 = "11".repeat(32);
        let e = read(&bundle(manifest(wrong_hash, 1, None))).expect_err("hash");
        assert!(
            matches!(&e, BundleError::Mismatch { path, .. } if path == "events/000001.jsonl"),
            "{e}"
        );
        let e = read(&bundle(manifest(honest.clone(), 5, None))).expect_err("count");
        assert!(e.to_string().contains("counts 5 events"), "{e}");
        let e =
            read(&bundle(manifest(honest.clone(), 1, Some("22".repeat(32))))).expect_err("digest");
        assert!(e.to_string().contains("digest"), "{e}");
        let mut extra = honest.clone();
        extra.push(Member {
            path: "blobs/".to_string() + &"33".repeat(32),
            size: 1,
            sha256: "44".repeat(32),
        });
        let e = read(&bundle(manifest(extra, 1, None))).expect_err("a missing member");
        assert!(e.to_string().contains("first missing"), "{e}");
    }

    #[test]
    fn a_decompression_bomb_is_stopped() {
        let header = header_json();
        let zeros = vec![0u8; 200 * 1024 * 1024];
        let bytes = raw(&[
            (crate::HEADER, &header),
            (&format!("blobs/{}", hex::encode(sha(&zeros))), &zeros),
        ]);
        assert!(
            bytes.len() < 1024 * 1024,
            "the bomb is small: {}",
            bytes.len()
        );
        let e = read(&bytes).expect_err("a bomb");
        assert!(matches!(e, BundleError::Bomb { .. }), "{e}");
    }
}
