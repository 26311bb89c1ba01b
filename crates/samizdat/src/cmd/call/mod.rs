//! `call send` and `call receive`: records as sound, through a phone call
//! or a radio, with the modem of `samizdat-voice`.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use samizdat_bundle::Want;
use samizdat_core::nostr::prelude::EventId;
use samizdat_node::call;
use samizdat_node::import;
use samizdat_node::progress::Observer;
use samizdat_store::{Query, Store};
use samizdat_voice::{Block, Receiver, Speed, Transmission, wav};
use serde_json::json;

use super::bundle::exporting::{FIRST, in_priority_order};
use crate::cli::{CallCommand, KindName};
use crate::context::Context;
use crate::exit::Code;

mod live;

pub fn run(ctx: &Context, command: CallCommand) -> Result<Code> {
    match command {
        CallCommand::Send {
            wav,
            live,
            mut filter,
            for_want,
            speed,
            redundancy,
            sealed,
            audio,
        } => {
            if filter.kinds.is_empty() {
                filter.kinds.push(KindName::All);
            }
            if !(0.0..=4.0).contains(&redundancy) {
                bail!("--redundancy is between 0 and 4 extra packets per packet");
            }
            let speed: Speed = speed.parse().map_err(|e: String| anyhow!(e))?;
            let queries = super::read::queries(ctx, &filter, None)?;
            let want = match &for_want {
                Some(path) => {
                    let file =
                        File::open(path).with_context(|| format!("opening {}", path.display()))?;
                    Some(
                        Want::read(BufReader::new(file))
                            .map_err(|e| anyhow!("{}: {e}", path.display()))?,
                    )
                }
                None => None,
            };
            let store = ctx.store()?;
            let records = records(&store, &queries, want.as_ref(), sealed)?;
            match wav {
                Some(wav) if !live => send(ctx, &records, &wav, speed, redundancy),
                _ => live::send(ctx, &records, redundancy, &audio),
            }
        }
        CallCommand::Receive { wav, live, audio } => match wav {
            Some(wav) if !live => receive(ctx, &ctx.store()?, &wav),
            _ => live::receive(ctx, &ctx.store()?, &audio),
        },
    }
}

/// The records `queries` select, in priority order, less what `want`
/// says the other side has. A call is heard by whoever listens on the
/// line: only public records go (as `publish` sends them), and sealed
/// ones (gift wraps, unreadable but for their readers, though whom they
/// are for can be seen) only if `sealed`. Records their authors marked
/// private, and other applications' events, never.
fn records(
    store: &Store,
    queries: &[Query],
    want: Option<&Want>,
    sealed: bool,
) -> Result<Vec<String>> {
    use samizdat_core::nostr::prelude::Event;
    let mut records = Vec::new();
    let mut seen = HashSet::new();
    let mut held_back = 0u64;
    for (query, skip_first) in in_priority_order(queries) {
        store.query_each(&query, |stored| {
            let id = *stored.id.as_bytes();
            let lacks = want.is_none_or(|w| !w.has_event(&id));
            let first = super::bundle::kind_of(&stored.json).is_some_and(|k| FIRST.contains(&k));
            if !lacks || (skip_first && first) || !seen.insert(id) {
                return true;
            }
            let may_go = Event::from_json(&stored.json).is_ok_and(|event| {
                samizdat_core::record::is_public(&event)
                    || (sealed && event.kind == samizdat_core::nostr::prelude::Kind::GiftWrap)
            });
            if may_go {
                records.push(stored.json.clone());
            } else {
                held_back += 1;
            }
            true
        })?;
    }
    if held_back > 0 {
        eprintln!(
            "held back {held_back} records that are not public (sealed{}, private, or not \
             samizdat's): anyone on the line can hear a call",
            if sealed { "" } else { ": --sealed sends them" }
        );
    }
    if records.is_empty() {
        bail!(
            "no records to send: none match, none is public, or the want file says the other \
             side has them all"
        );
    }
    Ok(records)
}

fn send(
    ctx: &Context,
    records: &[String],
    output: &Path,
    speed: Speed,
    redundancy: f64,
) -> Result<Code> {
    let json_bytes: usize = records.iter().map(String::len).sum();
    let blocks = call::pack(
        records.iter().map(String::as_str),
        samizdat_voice::max_block(speed),
    )?;
    let stream = rand::random::<u16>();
    let transmission = Transmission::new(speed, stream, &blocks, redundancy)?;
    let temp = super::bundle::exporting::beside(output)?;
    wav::write(BufWriter::new(temp.as_file()), &transmission.samples)?;
    temp.as_file().sync_all().context("syncing the WAV file")?;
    temp.persist(output)
        .with_context(|| format!("naming {}", output.display()))?;
    let seconds = transmission.seconds();
    let packed: usize = blocks.iter().map(Vec::len).sum();
    if ctx.json {
        println!(
            "{}",
            json!({
                "records": records.len(), "json_bytes": json_bytes, "packed_bytes": packed,
                "blocks": blocks.len(), "seconds": seconds, "speed": speed.name(),
                "bytes_per_second": json_bytes as f64 / seconds,
            })
        );
    } else {
        println!(
            "wrote {}: {} records ({json_bytes} bytes as JSON, {packed} packed) in {} blocks, \
             {} of sound at the {} speed: {:.0} bytes of records a second",
            output.display(),
            records.len(),
            blocks.len(),
            clock(seconds),
            speed.name(),
            json_bytes as f64 / seconds
        );
    }
    Ok(Code::Success)
}

pub(super) fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    format!("{}:{:02}", s / 60, s % 60)
}

/// Seconds of sound heard at a time.
const PIECE_SECONDS: usize = 60;

/// Refusals, as they come.
struct Refusals(u64);

impl Observer for Refusals {
    fn refused(&mut self, _at: u64, reason: &str) {
        self.0 += 1;
        eprintln!("refused a record: {reason}");
    }
}

/// Stores the records of the blocks a call rebuilt, and counts them.
pub(super) struct Keeper<'a> {
    store: &'a Store,
    pool: rayon::ThreadPool,
    refusals: Refusals,
    pub(super) stored: u64,
    pub(super) already: u64,
    pub(super) json_bytes: u64,
    pub(super) damaged: u64,
    pub(super) blocks: u64,
    pub(super) of: u16,
}

impl<'a> Keeper<'a> {
    pub(super) fn new(store: &'a Store) -> Result<Keeper<'a>> {
        Ok(Keeper {
            store,
            pool: rayon::ThreadPoolBuilder::new()
                .build()
                .context("starting validation threads")?,
            refusals: Refusals(0),
            stored: 0,
            already: 0,
            json_bytes: 0,
            damaged: 0,
            blocks: 0,
            of: 0,
        })
    }

    /// Checks and stores the records of `block` (id, signature, record
    /// rules, as any import); returns a line for each record stored.
    pub(super) fn keep(&mut self, block: &Block) -> Result<Vec<String>> {
        self.blocks += 1;
        self.of = self.of.max(block.of);
        let events = match call::unpack(&block.data) {
            Ok(events) => events,
            Err(e) => {
                self.damaged += 1;
                eprintln!("block {} of {}: {e}", u32::from(block.number) + 1, block.of);
                return Ok(Vec::new());
            }
        };
        // A record packed many times over is checked once.
        let mut unique = HashSet::new();
        let events: Vec<String> = events
            .into_iter()
            .filter(|e| id_of(e).is_none_or(|id| unique.insert(id)))
            .collect();
        let ids: Vec<Option<EventId>> = events.iter().map(|e| id_of(e)).collect();
        let here_before = present(self.store, &ids)?;
        let lines = events.join("\n");
        import::import(self.store, lines.as_bytes(), &self.pool, &mut self.refusals)?;
        let here_now = present(self.store, &ids)?;
        let mut said = Vec::new();
        for (event, id) in events.iter().zip(&ids) {
            let Some(id) = id else { continue };
            if here_before.contains(id) {
                self.already += 1;
            } else if here_now.contains(id) {
                self.stored += 1;
                self.json_bytes += event.len() as u64;
                said.push(format!("stored {}", describe(event)));
            }
        }
        Ok(said)
    }

    pub(super) fn refused(&self) -> u64 {
        self.refusals.0
    }

    /// The exit code: problems if anything was refused or damaged.
    pub(super) fn code(&self) -> Code {
        if self.refusals.0 > 0 || self.damaged > 0 {
            Code::Problems
        } else {
            Code::Success
        }
    }
}

fn receive(ctx: &Context, store: &Store, input: &Path) -> Result<Code> {
    let file = File::open(input).with_context(|| format!("opening {}", input.display()))?;
    let mut receiver = Receiver::new();
    let mut blocks = Vec::new();
    // A minute at a time: an hour's recording, or a hostile file that
    // claims four gigabytes, is heard in bounded memory.
    let count = wav::read_in_pieces(
        BufReader::new(file),
        PIECE_SECONDS * samizdat_voice::RATE as usize,
        samizdat_voice::OVERLAP,
        |piece| blocks.extend(receiver.listen(piece)),
    )
    .map_err(|e| anyhow!("{}: {e}", input.display()))?;
    let seconds = count as f64 / f64::from(samizdat_voice::RATE);
    let mut keeper = Keeper::new(store)?;
    // How many blocks the transmission has, as its packets say, even if
    // none was heard whole.
    if let Some((_, of)) = receiver.loudest(u16::MAX) {
        keeper.of = of;
    }
    for block in &blocks {
        for line in keeper.keep(block)? {
            if !ctx.json {
                println!("{line}");
            }
        }
    }
    let Keeper {
        stored,
        already,
        json_bytes,
        damaged,
        of,
        ..
    } = keeper;
    let refused = keeper.refused();
    let summary = json!({
        "seconds": seconds, "frames": receiver.frames, "packets": receiver.packets,
        "damaged_codewords": receiver.lost, "blocks": blocks.len(), "of": of,
        "stored": stored, "already": already, "refused": refused,
        "damaged_blocks": damaged, "json_bytes": json_bytes,
        "bytes_per_second": json_bytes as f64 / seconds.max(1e-3),
    });
    if ctx.json {
        println!("{summary}");
    } else if receiver.frames == 0 {
        println!(
            "heard no transmission in {} ({} of sound): silence, speech, music or tones, \
             nothing stored",
            input.display(),
            clock(seconds)
        );
    } else {
        println!(
            "heard {} frames in {} of sound: {} of {of} blocks whole; stored {stored} records \
             ({json_bytes} bytes as JSON, {:.0} a second), {already} already here, {refused} refused",
            receiver.frames,
            clock(seconds),
            blocks.len(),
            json_bytes as f64 / seconds.max(1e-3),
        );
        if (blocks.len() as u64) < u64::from(of) {
            println!(
                "the transmission was cut or too damaged for {} blocks: ask the sender for \
                 what is missing (`samizdat bundle want` here, `call send --for` there)",
                u64::from(of) - blocks.len() as u64
            );
        }
    }
    if receiver.frames == 0 {
        return Ok(Code::Failure);
    }
    Ok(keeper.code())
}

fn id_of(json: &str) -> Option<EventId> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    EventId::from_hex(value["id"].as_str()?).ok()
}

fn present(store: &Store, ids: &[Option<EventId>]) -> Result<HashSet<EventId>> {
    let ids: Vec<EventId> = ids.iter().flatten().copied().collect();
    let found = store.query(&Query {
        ids: Some(ids),
        ..Default::default()
    })?;
    Ok(found.into_iter().map(|s| s.id).collect())
}

/// One line for a stored record: its kind, its id, and what it is about
/// (its `alt` text, as a person report's name and status, or the start
/// of what it says).
fn describe(json: &str) -> String {
    use samizdat_core::nostr::prelude::Event;
    let Ok(event) = Event::from_json(json) else {
        return String::from("a record");
    };
    let id = event.id.to_hex();
    let name = samizdat_core::kind::RecordKind::of(&event).name();
    let alt = event
        .tags
        .iter()
        .map(|t| t.as_slice())
        .find(|t| t.first().is_some_and(|n| n == "alt"))
        .and_then(|t| t.get(1))
        .map_or(event.content.as_str(), String::as_str);
    let text: String = alt.chars().filter(|c| !c.is_control()).take(70).collect();
    format!("{name} {} {text}", &id[..id.len().min(12)])
}
