//! `samizdat bench ingest`: how fast events go from JSON lines to durable
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

use crate::cli::BenchCommand;
use crate::exit::Code;
use crate::ingest::{self, Observer, Stats};

const AUTHORS: usize = 100;
const PLACES: &[&str] = &[
    "Алматы, Республика алаңы",
    "Жаңаөзен",
    "Ақтөбе",
    "Шымкент",
    "Талдықорған",
];
const WORDS: &[&str] = &[
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

pub fn run(command: BenchCommand) -> Result<Code> {
    let BenchCommand::Ingest { events, cores } = command;
    if events == 0 || cores == 0 {
        bail!("--events and --cores must be at least 1");
    }
    eprintln!("generating {events} signed testimonies from {AUTHORS} authors…");
    let generated = generate(events)?;
    let lines: Vec<String> = generated.iter().map(Event::as_json).collect();
    let json_bytes: usize = lines.iter().map(|l| l.len() + 1).sum();

    pin_to_cores(cores)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cores)
        .build()
        .context("starting benchmark threads")?;

    let verify_before = verify_only(&pool, &generated);
    let validate_time = validate_only(&pool, &lines);
    let store_time = store_only(&lines)?;
    let dir = tempfile::tempdir().context("creating a temporary store")?;
    let (ingest_time, stats, db_bytes) = ingest_all(dir.path(), &pool, &lines)?;
    let verify_after = verify_only(&pool, &generated);
    if stats.stored != events as u64 {
        bail!("only {} of {events} events were stored", stats.stored);
    }

    let verify_time = (verify_before + verify_after) / 2;
    let rate = |d: Duration| events as f64 / d.as_secs_f64();
    let (verify_rate, ingest_rate) = (rate(verify_time), rate(ingest_time));
    let ratio = ingest_rate / verify_rate;
    println!(
        "{}",
        json!({
            "events": events,
            "cores": cores,
            "verify_only_events_per_s": verify_rate.round(),
            "verify_only_runs_s": [verify_before.as_secs_f64(), verify_after.as_secs_f64()],
            "validate_only_events_per_s": rate(validate_time).round(),
            "store_only_events_per_s": rate(store_time).round(),
            "ingest_events_per_s": ingest_rate.round(),
            "ingest_s": ingest_time.as_secs_f64(),
            "ratio_ingest_to_verify": (ratio * 1000.0).round() / 1000.0,
            "json_bytes_per_event": json_bytes / events,
            "db_bytes_per_event": db_bytes / events as u64,
        })
    );
    eprintln!(
        "on {cores} core(s): verify only {verify_rate:.0} events/s, ingest {ingest_rate:.0} events/s, \
         ratio {ratio:.2} (target ≥ 0.70); {} bytes on disk per event",
        db_bytes / events as u64
    );
    Ok(Code::Success)
}

/// Signature checks alone, as the baseline.
fn verify_only(pool: &rayon::ThreadPool, events: &[Event]) -> Duration {
    let started = Instant::now();
    let ok = pool.install(|| events.par_iter().filter(|e| e.verify_signature()).count());
    let took = started.elapsed();
    assert_eq!(ok, events.len(), "generated events verify");
    took
}

/// Parsing and every check of `validate`, without storing.
fn validate_only(pool: &rayon::ThreadPool, lines: &[String]) -> Duration {
    let limits = samizdat_core::Limits::default();
    let now = Timestamp::now();
    let started = Instant::now();
    let ok = pool.install(|| {
        lines
            .par_iter()
            .filter(|l| samizdat_core::validate::validate_json(l, &limits, now).is_ok())
            .count()
    });
    let took = started.elapsed();
    assert_eq!(ok, lines.len(), "generated events validate");
    took
}

/// Committing already validated events in batches, without validation.
fn store_only(lines: &[String]) -> Result<Duration> {
    let limits = samizdat_core::Limits::default();
    let now = Timestamp::now();
    let verified: Vec<_> = lines
        .iter()
        .map(|l| samizdat_core::validate::validate_json(l, &limits, now))
        .collect::<Result<_, _>>()?;
    let dir = tempfile::tempdir().context("creating a temporary store")?;
    let store = Store::open(dir.path())?;
    let mut chunks = Vec::new();
    let mut rest = verified;
    while !rest.is_empty() {
        let tail = rest.split_off(rest.len().min(2_048));
        chunks.push(rest);
        rest = tail;
    }
    let started = Instant::now();
    let cpu_before = cpu_time();
    for chunk in chunks {
        store.insert(chunk)?;
    }
    eprintln!(
        "store: {:.2} s wall, {:.2} s CPU",
        started.elapsed().as_secs_f64(),
        (cpu_time() - cpu_before).as_secs_f64()
    );
    Ok(started.elapsed())
}

/// The real import path: parse, validate (rules, id, signature), commit in
/// batches, until the last commit is durable.
fn ingest_all(
    dir: &std::path::Path,
    pool: &rayon::ThreadPool,
    lines: &[String],
) -> Result<(Duration, Stats, u64)> {
    struct Quiet;
    impl Observer for Quiet {
        fn rejected(&mut self, line: u64, reason: &str) {
            eprintln!("line {line}: {reason}");
        }
        fn committed(&mut self, _: &Stats) {}
    }
    let input = lines.join("\n").into_bytes();
    let store = Store::open(dir)?;
    let started = Instant::now();
    let cpu_before = cpu_time();
    let stats = ingest::ingest(&store, Cursor::new(input), pool, &mut Quiet)?;
    let took = started.elapsed();
    eprintln!(
        "ingest: {:.2} s wall, {:.2} s CPU",
        took.as_secs_f64(),
        (cpu_time() - cpu_before).as_secs_f64()
    );
    drop(store);
    let db_bytes = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(samizdat_store::DB_FILE)
        })
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    Ok((took, stats, db_bytes))
}

/// Realistic testimonies: Cyrillic text, place, time observed, topics.
fn generate(n: usize) -> Result<Vec<Event>> {
    let authors: Vec<Keys> = (0..AUTHORS).map(|_| Keys::generate()).collect();
    let base = Timestamp::now().as_secs() - n as u64;
    (0..n)
        .into_par_iter()
        .map(|i| {
            let words: Vec<&str> = (0..40)
                .map(|w| WORDS[(i * 7 + w * 13) % WORDS.len()])
                .collect();
            let at = base + i as u64;
            let t = Testimony {
                text: format!("{} №{i}.", words.join(" ")),
                lang: if i % 3 == 0 { "kk" } else { "ru" }.into(),
                place: Place {
                    text: Some(PLACES[i % PLACES.len()].into()),
                    geohash: None,
                },
                observed: Some(Observed {
                    start: at - 3_600,
                    end: None,
                }),
                attachments: vec![],
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
fn pin_to_cores(cores: usize) -> Result<()> {
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
