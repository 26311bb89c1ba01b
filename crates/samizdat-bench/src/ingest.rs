//! `samizdat-bench ingest`: how fast events go from JSON lines to durable
//! storage, beside how fast this machine verifies their signatures, both
//! measured in the same run on the same pinned cores. The ratio is what
//! matters on a shared, noisy machine: storage should add little to the
//! signature check, which is the ceiling of ingest.

use std::io::Cursor;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use rayon::prelude::*;
use samizdat_core::kind;
use samizdat_core::nostr::prelude::{Event, Keys, Timestamp};
use samizdat_core::sign::Draft;
use samizdat_core::tags::{Observed, Place};
use samizdat_core::testimony::Testimony;
use samizdat_store::Store;
use serde_json::json;

use crate::Shape;
use samizdat_node::import::{self, Stats};
use samizdat_node::progress::Observer;

const AUTHORS: usize = 100;
pub(crate) const PLACES: &[&str] = &[
    "Алматы, Республика алаңы",
    "Жаңаөзен",
    "Ақтөбе",
    "Шымкент",
    "Талдықорған",
];
pub(crate) const WORDS: &[&str] = &[
    "задержали",
    "полиция",
    "площадь",
    "колонна",
    "автозак",
    "стреляли",
    "раненые",
    "әскер",
    "адамдар",
    "көшеде",
    "интернет",
    "отключили",
    "журналист",
    "акимат",
    "толпа",
    "вечером",
    "утром",
    "связи",
];

/// Rounds of (verify, ingest); medians are reported, so a burst of noise
/// from other tenants in one round does not decide the result.
const ROUNDS: usize = 3;

/// Wall-clock and CPU time (user + system, all threads) of one phase.
#[derive(Debug, Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

fn timed<T>(f: impl FnOnce() -> Result<T>) -> Result<(Timing, T)> {
    let (started, cpu) = (Instant::now(), cpu_time());
    let value = f()?;
    Ok((
        Timing {
            wall: started.elapsed(),
            cpu: cpu_time() - cpu,
        },
        value,
    ))
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

pub fn run(events: usize, cores: usize, shape: Shape) -> Result<()> {
    if events == 0 || cores == 0 {
        bail!("--events and --cores must be at least 1");
    }
    eprintln!("generating {events} signed events ({shape:?}) from {AUTHORS} authors…");
    let generated = generate(events, shape)?;
    let lines: Vec<String> = generated.iter().map(Event::as_json).collect();
    let json_bytes: usize = lines.iter().map(|l| l.len() + 1).sum();

    pin_to_cores(cores)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cores)
        .build()
        .context("starting benchmark threads")?;

    let (validate, ()) = timed(|| validate_only(&pool, &lines))?;
    let store = store_only(&lines)?;
    let bare = sqlite_floor(&lines, Floor::Bare)?;
    let indexed = sqlite_floor(&lines, Floor::Indexed)?;
    let mut verify = Vec::new();
    let mut remembered = Vec::new();
    let mut ingest = Vec::new();
    let mut db_bytes = 0;
    for round in 1..=ROUNDS {
        eprintln!("round {round} of {ROUNDS}: verify only, then ingest into a fresh store");
        verify.push(timed(|| verify_only(&pool, &generated, Event::verify_signature))?.0);
        remembered.push(
            timed(|| {
                verify_only(
                    &pool,
                    &generated,
                    samizdat_core::validate::signature_verifies,
                )
            })?
            .0,
        );
        let dir = tempfile::tempdir().context("creating a temporary store")?;
        let (timing, stats) = timed(|| ingest_all(dir.path(), &pool, &lines))?;
        if stats.tally.stored != events as u64 {
            bail!("only {} of {events} events were stored", stats.tally.stored);
        }
        db_bytes = db_size(dir.path())?;
        ingest.push(timing);
    }

    let per_s = |d: Duration| (events as f64 / d.as_secs_f64()).round();
    let us = |d: Duration| (d.as_secs_f64() * 1e7 / events as f64).round() / 10.0;
    let verify_wall = median(verify.iter().map(|t| t.wall).collect());
    let verify_cpu = median(verify.iter().map(|t| t.cpu).collect());
    let ingest_wall = median(ingest.iter().map(|t| t.wall).collect());
    let ingest_cpu = median(ingest.iter().map(|t| t.cpu).collect());
    let remembered_wall = median(remembered.iter().map(|t| t.wall).collect());
    let ratio = verify_wall.as_secs_f64() / ingest_wall.as_secs_f64();
    let remembered_ratio = remembered_wall.as_secs_f64() / ingest_wall.as_secs_f64();
    let cpu_ratio = verify_cpu.as_secs_f64() / ingest_cpu.as_secs_f64();
    // The best ratios a store could reach with this validation, if it cost
    // no more than SQLite's floors.
    let ceiling =
        |floor: Timing| verify_cpu.as_secs_f64() / (validate.cpu + floor.cpu).as_secs_f64();
    let round3 = |x: f64| (x * 1000.0).round() / 1000.0;
    println!(
        "{}",
        json!({
            "events": events,
            "shape": format!("{shape:?}").to_lowercase(),
            "cores": cores,
            "verify_only_events_per_s": per_s(verify_wall),
            "ingest_events_per_s": per_s(ingest_wall),
            "ratio_ingest_to_verify": round3(ratio),
            "verify_remembered_keys_events_per_s": per_s(remembered_wall),
            "ratio_ingest_to_verify_remembered_keys": round3(remembered_ratio),
            "cpu_us_per_event": {
                "verify_only": us(verify_cpu),
                "validate_only": us(validate.cpu),
                "store_only": us(store.cpu),
                "sqlite_floor_bare": us(bare.cpu),
                "sqlite_floor_indexed": us(indexed.cpu),
                "ingest": us(ingest_cpu),
            },
            "cpu_ratio_ingest_to_verify": round3(cpu_ratio),
            "cpu_ratio_ceiling_on_sqlite_floor": {
                "bare": round3(ceiling(bare)),
                "indexed": round3(ceiling(indexed)),
            },
            "verify_only_wall_s": verify.iter().map(|t| t.wall.as_secs_f64()).collect::<Vec<_>>(),
            "ingest_wall_s": ingest.iter().map(|t| t.wall.as_secs_f64()).collect::<Vec<_>>(),
            "json_bytes_per_event": json_bytes / events,
            "db_bytes_per_event": db_bytes / events as u64,
        })
    );
    eprintln!(
        "on {cores} core(s), median of {ROUNDS} rounds: verify only {:.0} events/s, ingest {:.0} events/s, \
         ratio {ratio:.2} by wall clock, {cpu_ratio:.2} by CPU time (target ≥ 0.70); {} bytes on disk per event",
        per_s(verify_wall),
        per_s(ingest_wall),
        db_bytes / events as u64
    );
    eprintln!(
        "verification that remembers decoded author keys, as ingest does: {:.0} events/s, \
         ratio {remembered_ratio:.2}",
        per_s(remembered_wall)
    );
    eprintln!(
        "CPU per event: validation {} µs, the store {} µs; SQLite writing the store's rows with \
         plain statements {} µs (ratio at best {:.2}), an id and JSON alone {} µs (at best {:.2})",
        us(validate.cpu),
        us(store.cpu),
        us(indexed.cpu),
        ceiling(indexed),
        us(bare.cpu),
        ceiling(bare)
    );
    Ok(())
}

/// SQLite's floors under the store, on this thread, in the store's
/// batches and with its pragmas (WAL, `synchronous=FULL`, 8 KiB pages,
/// 32 MiB cache): `Bare` writes each event's id and JSON into a table
/// keyed by id and nothing else; `Indexed` writes the rows the store
/// writes (the event row with its author, kind and time indexes, a row per
/// single-letter tag, the full-text entry) into the store's own schema
/// with plain statements, and none of the store's checks. What the store
/// spends beyond `Indexed` is its own code; what `Indexed` spends beyond
/// `Bare` is the indexes that NIP-01 filters and search need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Floor {
    Bare,
    Indexed,
}

fn sqlite_floor(lines: &[String], floor: Floor) -> Result<Timing> {
    let verified = validated(lines)?;
    let dir = tempfile::tempdir().context("creating a temporary database")?;
    let path = match floor {
        Floor::Bare => dir.path().join("floor.db"),
        Floor::Indexed => {
            // The store's schema, made by the store and left to us.
            drop(Store::open(dir.path())?);
            dir.path().join(samizdat_store::DB_FILE)
        }
    };
    let conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "page_size", 8192)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -32_768)?;
    if floor == Floor::Bare {
        conn.execute_batch(
            "CREATE TABLE events (seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, json TEXT NOT NULL)",
        )?;
    }
    let (timing, ()) = timed(|| {
        for chunk in verified.chunks(2_048) {
            let tx = conn.unchecked_transaction()?;
            match floor {
                Floor::Bare => {
                    let mut insert =
                        tx.prepare_cached("INSERT INTO events (id, json) VALUES (?1, ?2)")?;
                    for v in chunk {
                        insert.execute(rusqlite::params![
                            v.event().id.as_bytes().as_slice(),
                            v.json()
                        ])?;
                    }
                }
                Floor::Indexed => {
                    let mut event = tx.prepare_cached(
                        "INSERT INTO events (id, pubkey, kind, created_at, first_seen, json)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    )?;
                    let mut tag = tx.prepare_cached(
                        "INSERT OR IGNORE INTO tags (name, value, created_at, seq) VALUES (?1, ?2, ?3, ?4)",
                    )?;
                    let mut search =
                        tx.prepare_cached("INSERT INTO search (rowid, text) VALUES (?1, ?2)")?;
                    for v in chunk {
                        let e = v.event();
                        let created_at = e.created_at.as_secs() as i64;
                        event.execute(rusqlite::params![
                            e.id.as_bytes().as_slice(),
                            e.pubkey.as_bytes().as_slice(),
                            e.kind.as_u16(),
                            created_at,
                            created_at,
                            v.json()
                        ])?;
                        let seq = tx.last_insert_rowid();
                        for t in e.tags.iter() {
                            if let [name, value, ..] = t.as_slice()
                                && name.len() == 1
                            {
                                tag.execute(rusqlite::params![name, value, created_at, seq])?;
                            }
                        }
                        if let Some(text) = v.search_text() {
                            search.execute(rusqlite::params![seq, text])?;
                        }
                    }
                }
            }
            tx.commit()?;
        }
        Ok(())
    })?;
    Ok(timing)
}

/// Signature checks alone, as the baseline: `Event::verify_signature`
/// (every author key decoded), or with decoded keys remembered as
/// validation does.
fn verify_only(
    pool: &rayon::ThreadPool,
    events: &[Event],
    verify: fn(&Event) -> bool,
) -> Result<()> {
    let ok = pool.install(|| events.par_iter().filter(|e| verify(e)).count());
    if ok != events.len() {
        bail!("{} generated events do not verify", events.len() - ok);
    }
    Ok(())
}

/// Parsing and every check of `validate`, without storing.
fn validate_only(pool: &rayon::ThreadPool, lines: &[String]) -> Result<()> {
    let limits = samizdat_core::Limits::default();
    let now = Timestamp::now();
    let ok = pool.install(|| {
        lines
            .par_iter()
            .filter(|l| samizdat_core::validate::validate_json(l, &limits, now).is_ok())
            .count()
    });
    if ok != lines.len() {
        bail!("{} generated events do not validate", lines.len() - ok);
    }
    Ok(())
}

/// Every line validated, on this thread, before a measured phase.
fn validated(lines: &[String]) -> Result<Vec<samizdat_core::VerifiedEvent>> {
    let limits = samizdat_core::Limits::default();
    let now = Timestamp::now();
    Ok(lines
        .iter()
        .map(|l| samizdat_core::validate::validate_json(l, &limits, now))
        .collect::<Result<_, _>>()?)
}

/// Committing already validated events in batches, without validation.
/// Validation happens first, outside the measured phase, on this thread.
fn store_only(lines: &[String]) -> Result<Timing> {
    let verified = validated(lines)?;
    let dir = tempfile::tempdir().context("creating a temporary store")?;
    let store = Store::open(dir.path())?;
    let mut chunks = Vec::new();
    let mut rest = verified;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(2_048));
        chunks.push(rest);
        rest = tail;
    }
    let (timing, ()) = timed(|| {
        for chunk in chunks {
            store.insert(chunk)?;
        }
        Ok(())
    })?;
    Ok(timing)
}

/// The real import path: parse, validate (rules, id, signature), commit in
/// batches, until the last commit is durable.
fn ingest_all(dir: &std::path::Path, pool: &rayon::ThreadPool, lines: &[String]) -> Result<Stats> {
    struct Quiet;
    impl Observer for Quiet {
        fn refused(&mut self, line: u64, reason: &str) {
            eprintln!("line {line}: {reason}");
        }
    }
    let input = lines.join("\n").into_bytes();
    let store = Store::open(dir)?;
    Ok(import::import(
        &store,
        Cursor::new(input),
        pool,
        &mut Quiet,
    )?)
}

fn db_size(dir: &std::path::Path) -> Result<u64> {
    Ok(std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(samizdat_store::DB_FILE)
        })
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum())
}

/// Events per second that BIP-340 verification alone gets through on
/// every core: the baseline of the benches that check what they take.
pub(crate) fn verify_rate(events: &[Event]) -> Result<f64> {
    let started = Instant::now();
    let ok = events.par_iter().filter(|e| e.verify_signature()).count();
    if ok != events.len() {
        bail!("{} generated events do not verify", events.len() - ok);
    }
    Ok(events.len() as f64 / started.elapsed().as_secs_f64())
}

/// Realistic testimonies (Cyrillic text, place, time observed, topics), or
/// short ordinary notes.
pub(crate) fn generate(n: usize, shape: Shape) -> Result<Vec<Event>> {
    generate_with(n, shape, &[])
}

/// As [`generate`]; with `Shape::Testimony` the first events carry one of
/// `attachments` each.
pub(crate) fn generate_with(
    n: usize,
    shape: Shape,
    attachments: &[samizdat_core::Attachment],
) -> Result<Vec<Event>> {
    let authors: Vec<Keys> = (0..AUTHORS).map(|_| Keys::generate()).collect();
    let base = Timestamp::now().as_secs() - n as u64;
    (0..n)
        .into_par_iter()
        .map(|i| {
            let at = base + i as u64;
            if shape == Shape::Note {
                let words: Vec<&str> = (0..20)
                    .map(|w| WORDS[(i * 7 + w * 13) % WORDS.len()])
                    .collect();
                let draft = Draft {
                    kind: samizdat_core::nostr::prelude::Kind::TextNote,
                    created_at: Timestamp::from_secs(at),
                    tags: vec![vec!["t".into(), "qantar".into()]],
                    content: format!("{} {i}", words.join(" ")),
                };
                return Ok(draft.sign(&authors[i % AUTHORS])?);
            }
            let words: Vec<&str> = (0..40)
                .map(|w| WORDS[(i * 7 + w * 13) % WORDS.len()])
                .collect();
            let t = Testimony {
                text: format!("{} №{i}.", words.join(" ")),
                lang: if i % 3 == 0 { "kk" } else { "ru" }.into(),
                place: Place {
                    text: Some(PLACES[i % PLACES.len()].into()),
                    geohash: None,
                },
                observed: Some(Observed {
                    offset: None,
                    start: at - 3_600,
                    end: None,
                }),
                attachments: attachments.get(i).cloned().into_iter().collect(),
                topics: vec!["qantar".into()],
            };
            let draft = Draft {
                kind: kind::TESTIMONY,
                created_at: Timestamp::from_secs(at),
                tags: t.tags(),
                content: t.content(),
            };
            Ok(draft.sign(&authors[i % AUTHORS])?)
        })
        .collect()
}

/// Pins this thread, and so every thread it starts later, to the first
/// `cores` CPUs it may run on.
pub(crate) fn pin_to_cores(cores: usize) -> Result<()> {
    // SAFETY: cpu_set_t is plain data; zeroed is a valid empty set, and the
    // libc calls only read and write the set we pass.
    unsafe {
        let mut allowed: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut allowed) != 0 {
            bail!("cannot read this process's CPU affinity");
        }
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let mut chosen = 0;
        for cpu in 0..libc::CPU_SETSIZE as usize {
            if chosen == cores {
                break;
            }
            if libc::CPU_ISSET(cpu, &allowed) {
                libc::CPU_SET(cpu, &mut set);
                chosen += 1;
            }
        }
        if chosen < cores {
            bail!("asked for {cores} cores, but only {chosen} are available");
        }
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            bail!("cannot pin to {cores} cores");
        }
    }
    Ok(())
}

/// User and system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
