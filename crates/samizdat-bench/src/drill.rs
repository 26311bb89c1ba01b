//! `samizdat-bench drill-data`: the records and media of one side of the
//! shutdown drill at scale, written straight into a data directory.
//!
//! What a city's witnesses leave in a few days, in the proportions the
//! drill assumes: three in ten person reports (names in Kazakh and
//! Russian, in Cyrillic or Latin letters), four in ten testimonies in
//! Russian or Kazakh (from a line to a page), two in ten attestations of
//! those, one in ten sealed for a documenter abroad. Photos (noise PNGs,
//! 50 KB to 2 MB, spread evenly on a log scale, so most are small) and
//! short MP4 videos go with the first testimonies; every file is admitted
//! as an upload is (metadata stripped), so its bytes are what crosses.
//!
//! A seed makes each side's records its own and the same on every run,
//! apart from signatures and time.

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use samizdat_core::Attachment;
use samizdat_core::attestation::{Attestation, Label};
use samizdat_core::kind;
use samizdat_core::nostr::prelude::{Event, Keys, PublicKey, Timestamp};
use samizdat_core::person::{PersonReport, Source, Status};
use samizdat_core::sealed::{self, Inner};
use samizdat_core::sign::Draft;
use samizdat_core::tags::{Observed, Place};
use samizdat_core::testimony::Testimony;
use samizdat_store::Store;
use serde_json::json;

use crate::BenchDrillDataArgs;
use crate::people::{Dice, person};

/// A file made for the drill: its bytes, type and picture size.
type File = (Vec<u8>, &'static str, Option<(u32, u32)>);

/// Authors on one side: witnesses, relatives, documenters.
const AUTHORS: usize = 40;
/// Smallest and largest photo, in bytes.
const PHOTO_BYTES: (f64, f64) = (50e3, 2e6);

pub fn run(args: BenchDrillDataArgs) -> Result<()> {
    if args.photos + args.videos > args.records * 4 / 10 {
        bail!("more files than testimonies to carry them");
    }
    let sealed_to = match &args.sealed_to {
        Some(text) => Some(PublicKey::parse(text).context("--sealed-to is not a public key")?),
        None => None,
    };
    let store =
        Store::open(&args.data).with_context(|| format!("opening {}", args.data.display()))?;
    if args.notes {
        return notes(&store, args.records);
    }

    let mut files: Vec<Attachment> = Vec::new();
    let made: Vec<File> = (0..args.photos + args.videos)
        .into_par_iter()
        .map(|i| {
            let seed = args.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
            if i < args.photos {
                // Log-uniform in size: many small photos, a few large.
                let share = (i as f64 + 0.5) / args.photos as f64;
                let bytes = PHOTO_BYTES.0 * (PHOTO_BYTES.1 / PHOTO_BYTES.0).powf(share);
                let side = (bytes / 3.0).sqrt() as u32;
                Ok((noise_png(seed, side)?, "image/png", Some((side, side))))
            } else {
                let bytes = 2_000_000 + (seed % 6) as usize * 1_000_000;
                Ok((video(seed, bytes)?, "video/mp4", None))
            }
        })
        .collect::<Result<_>>()?;
    let mut blob_bytes = 0u64;
    for (bytes, mime, dim) in made {
        // Cleaned as an upload is: what crosses is what a node keeps.
        let clean = samizdat_media::strip(&bytes)?.into_bytes();
        let kept = store.blobs().put(&clean).context("storing a file")?;
        blob_bytes += kept.size;
        files.push(Attachment {
            hash: kept.hash,
            mime: mime.into(),
            size: kept.size,
            dim,
        });
    }
    // Smallest files on the first testimonies: nothing depends on it.
    files.sort_by_key(|a| a.size);

    let events = records(&args, sealed_to.as_ref(), &files)?;
    let json_bytes: u64 = events.iter().map(|e| e.as_json().len() as u64).sum();
    crate::sync::fill(&store, &events)?;
    println!(
        "{}",
        json!({
            "records": events.len(),
            "json_bytes": json_bytes,
            "files": files.len(),
            "file_bytes": blob_bytes,
            "sealed_to": sealed_to.map(|k| k.to_hex()),
        })
    );
    Ok(())
}

/// `n` short notes, made and stored a batch at a time.
fn notes(store: &Store, n: usize) -> Result<()> {
    const BATCH: usize = 100_000;
    let mut json_bytes = 0u64;
    for start in (0..n).step_by(BATCH) {
        let events = crate::ingest::generate(BATCH.min(n - start), crate::Shape::Note)?;
        json_bytes += events.iter().map(|e| e.as_json().len() as u64).sum::<u64>();
        crate::sync::fill(store, &events)?;
    }
    println!(
        "{}",
        json!({ "records": n, "json_bytes": json_bytes, "files": 0, "file_bytes": 0 })
    );
    Ok(())
}

/// The signed records, in the mix the module describes.
fn records(
    args: &BenchDrillDataArgs,
    sealed_to: Option<&PublicKey>,
    files: &[Attachment],
) -> Result<Vec<Event>> {
    let n = args.records;
    let authors: Vec<Keys> = (0..AUTHORS).map(|_| Keys::generate()).collect();
    let base = Timestamp::now().as_secs() - 7 * 86_400;
    let reports = n * 3 / 10;
    let testimonies = n * 4 / 10;
    let sealed = if sealed_to.is_some() { n / 10 } else { 0 };
    let attestations = n - reports - testimonies - sealed;
    let at = |i: usize| Timestamp::from_secs(base + (i as u64 * 37) % (7 * 86_400));
    let author = |i: usize| &authors[i % AUTHORS];

    let mut events: Vec<Event> = (0..reports + testimonies)
        .into_par_iter()
        .map(|i| {
            let mut dice = Dice(args.seed.wrapping_mul(7_919).wrapping_add(i as u64) | 1);
            let draft = if i < reports {
                report(&mut dice, at(i))
            } else {
                let j = i - reports;
                testimony(&mut dice, at(i), files.get(j).cloned())
            };
            Ok(draft.sign(author(i))?)
        })
        .collect::<Result<_>>()?;
    let targets: Vec<(samizdat_core::nostr::prelude::EventId, PublicKey)> =
        events.iter().map(|e| (e.id, e.pubkey)).collect();
    let more: Vec<Event> = (0..attestations + sealed)
        .into_par_iter()
        .map(|k| {
            let i = reports + testimonies + k;
            let mut dice = Dice(args.seed.wrapping_mul(7_919).wrapping_add(i as u64) | 1);
            if k < attestations {
                let (target, target_author) = targets[(dice.next() as usize) % targets.len()];
                let label = match dice.next() % 4 {
                    0 => Label::Verified,
                    1 => Label::Disputes,
                    _ => Label::Corroborates,
                };
                let note_words = 6 + dice_u(&mut dice) % 30;
                let attestation = Attestation {
                    label,
                    target,
                    target_author: Some(target_author),
                    original: None,
                    note: words(&mut dice, note_words),
                };
                return Ok(attestation.draft(at(i)).sign(author(i))?);
            }
            let reader = sealed_to.context("sealed records need a reader")?;
            let inner = testimony(&mut dice, at(i), None).sign(author(i))?;
            Ok(sealed::wrap(
                author(i),
                &Inner::Signed(inner),
                reader,
                &[],
                Timestamp::now(),
            )?)
        })
        .collect::<Result<_>>()?;
    events.extend(more);
    Ok(events)
}

fn dice_u(dice: &mut Dice) -> usize {
    dice.next() as usize
}

/// Words of witness text, most frequent first: the drill's own words,
/// then made-up Cyrillic words, drawn by Zipf's law as words of a
/// language are, so that the text compresses about as real text does
/// (a few hundred words repeated would compress far better).
struct Vocabulary {
    words: Vec<String>,
    /// Running sums of the words' weights, 1/rank.
    cumulative: Vec<f64>,
}

const VOCABULARY: usize = 6_000;
const SYLLABLES: &[&str] = &[
    "ка", "ла", "на", "ра", "та", "ма", "да", "са", "ба", "жа", "қа", "ға", "ко", "ло", "но", "ро",
    "то", "мо", "до", "со", "ки", "ли", "ни", "ри", "ти", "ми", "ді", "сі", "бе", "же", "ке", "ле",
    "не", "ре", "те", "ме", "ве", "пе", "ов", "ан", "ен", "ын", "ар", "ер", "ыр", "ал", "ел", "ұл",
    "ст", "пр", "вы", "за", "по", "ще", "чи", "ше", "ху", "зу", "бұ", "өз", "үй", "ія",
];

impl Vocabulary {
    fn new() -> Vocabulary {
        let mut dice = Dice(0x5eed);
        let mut words: Vec<String> = crate::ingest::WORDS.iter().map(|w| w.to_string()).collect();
        while words.len() < VOCABULARY {
            let syllables = 1 + (dice.next() % 4) as usize;
            let word: String = (0..syllables).map(|_| dice.pick(SYLLABLES)).collect();
            words.push(word);
        }
        let mut sum = 0.0;
        let cumulative = (1..=words.len())
            .map(|rank| {
                sum += 1.0 / rank as f64;
                sum
            })
            .collect();
        Vocabulary { words, cumulative }
    }

    fn word(&self, dice: &mut Dice) -> &str {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = (dice.next() >> 11) as f64 / (1u64 << 53) as f64 * total;
        let at = self.cumulative.partition_point(|&c| c < x);
        &self.words[at.min(self.words.len() - 1)]
    }
}

fn vocabulary() -> &'static Vocabulary {
    static WORDS: std::sync::OnceLock<Vocabulary> = std::sync::OnceLock::new();
    WORDS.get_or_init(Vocabulary::new)
}

/// `n` words of witness text, in sentences.
fn words(dice: &mut Dice, n: usize) -> String {
    let vocabulary = vocabulary();
    let mut text = String::new();
    for w in 0..n {
        if w > 0 {
            text.push_str(if dice.next().is_multiple_of(12) {
                ". "
            } else {
                " "
            });
        }
        text.push_str(vocabulary.word(dice));
    }
    text.push('.');
    text
}

fn report(dice: &mut Dice, at: Timestamp) -> Draft {
    let who = person(dice);
    let status = match dice.next() % 10 {
        0..=4 => Status::Detained,
        5..=6 => Status::Missing,
        7 => Status::Injured,
        8 => Status::Released,
        _ => Status::Killed,
    };
    let detail_words = 8 + dice_u(dice) % 40;
    let report = PersonReport {
        name: who.reported(dice),
        aliases: Vec::new(),
        age: Some(18 + (dice.next() % 50) as u8),
        role: None,
        status,
        observed: Some(Observed {
            offset: None,
            start: at.as_secs().saturating_sub(3_600),
            end: None,
        }),
        place: Place {
            text: Some(dice.pick(crate::ingest::PLACES).into()),
            geohash: None,
        },
        source: match dice.next() % 3 {
            0 => Source::Witnessed,
            1 => Source::Relative,
            _ => Source::Media,
        },
        lang: Some(
            if dice.next().is_multiple_of(3) {
                "kk"
            } else {
                "ru"
            }
            .into(),
        ),
        details: words(dice, detail_words),
        attachments: Vec::new(),
    };
    Draft {
        kind: kind::PERSON_REPORT,
        created_at: at,
        tags: report.tags(),
        content: report.content(),
    }
}

/// A testimony from a line to about a page (10 to 400 words, half of
/// them under 35).
fn testimony(dice: &mut Dice, at: Timestamp, file: Option<Attachment>) -> Draft {
    let u = (dice.next() % 1_000) as f64 / 1_000.0;
    let n = 10 + (390.0 * u.powi(4)) as usize;
    let t = Testimony {
        text: words(dice, n),
        lang: if dice.next().is_multiple_of(3) {
            "kk"
        } else {
            "ru"
        }
        .into(),
        place: Place {
            text: Some(dice.pick(crate::ingest::PLACES).into()),
            geohash: None,
        },
        observed: Some(Observed {
            offset: None,
            start: at.as_secs().saturating_sub(3_600),
            end: None,
        }),
        attachments: file.into_iter().collect(),
        topics: vec!["qantar".into()],
    };
    Draft {
        kind: kind::TESTIMONY,
        created_at: at,
        tags: t.tags(),
        content: t.content(),
    }
}

/// A PNG of noise, `side` pixels square, without metadata.
fn noise_png(seed: u64, side: u32) -> Result<Vec<u8>> {
    let mut dice = Dice(seed | 1);
    let image = image::RgbImage::from_fn(side, side, |_, _| {
        let [r, g, b, ..] = dice.next().to_le_bytes();
        image::Rgb([r, g, b])
    });
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .context("encoding a photo")?;
    Ok(png)
}

/// An MP4 of about `bytes`: one H.264 track of noise samples, a frame a
/// tenth of a second. Not a picture anyone can watch, but a file the
/// media rule reads and keeps as a video, with a video's size.
fn video(seed: u64, bytes: usize) -> Result<Vec<u8>> {
    use mp4::{AvcConfig, MediaConfig, Mp4Config, Mp4Sample, Mp4Writer, TrackConfig, TrackType};
    let config = Mp4Config {
        major_brand: "isom".parse().context("brand")?,
        minor_version: 512,
        compatible_brands: ["isom", "iso2", "avc1", "mp41"]
            .iter()
            .map(|b| b.parse())
            .collect::<Result<_, _>>()
            .context("brand")?,
        timescale: 1000,
    };
    let mut writer = Mp4Writer::write_start(std::io::Cursor::new(Vec::new()), &config)?;
    writer.add_track(&TrackConfig {
        track_type: TrackType::Video,
        timescale: 1000,
        language: "und".into(),
        media_conf: MediaConfig::AvcConfig(AvcConfig {
            width: 640,
            height: 360,
            seq_param_set: vec![0x67, 0x42, 0x00, 0x1e, 0xf8, 0x41, 0xa2],
            pic_param_set: vec![0x68, 0xce, 0x38, 0x80],
        }),
    })?;
    let mut dice = Dice(seed | 1);
    let frame = 40_000;
    for i in 0..bytes / frame {
        let sample: Vec<u8> = (0..frame / 8)
            .flat_map(|_| dice.next().to_le_bytes())
            .collect();
        writer.write_sample(
            1,
            &Mp4Sample {
                start_time: i as u64 * 100,
                duration: 100,
                rendering_offset: 0,
                is_sync: i % 30 == 0,
                bytes: bytes::Bytes::from(sample),
            },
        )?;
    }
    writer.write_end()?;
    Ok(writer.into_writer().into_inner())
}
