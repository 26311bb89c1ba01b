//! Exchange with other registries: the registry exported as CSV or
//! PFIF 1.4, and PFIF documents imported as person reports.

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use samizdat_core::nostr::prelude::{EventId, Keys, PublicKey, Timestamp};
use samizdat_core::person::{PersonReport, Source, Status};
use samizdat_core::sign::Draft;
use samizdat_core::tags::{Observed, Place};
use samizdat_core::{Limits, VerifiedEvent, kind, validate};
use samizdat_people::pfif;
use samizdat_people::registry::Registry;
use samizdat_store::InsertOutcome;
use serde_json::json;

use crate::context::Context;
use crate::exit::Code;
use crate::output;

/// A Unix time as PFIF writes it.
fn pfif_time(seconds: u64) -> String {
    jiff::Timestamp::from_second(seconds.min(i64::MAX as u64) as i64)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn hex(id: &[u8; 32]) -> String {
    EventId::from_byte_array(*id).to_hex()
}

fn npub_of(key: &[u8; 32]) -> String {
    PublicKey::from_slice(key)
        .map(|k| output::npub(&k))
        .unwrap_or_default()
}

/// What a samizdat status says in PFIF's words.
fn pfif_status(status: &str) -> &'static str {
    match status {
        "missing" => "believed_missing",
        "detained" | "injured" | "released" | "found" => "believed_alive",
        "killed" => "believed_dead",
        _ => "information_sought",
    }
}

/// The registry as PFIF: a person record per person (its id from the
/// person's oldest report), a note per report.
pub(super) fn to_pfif(registry: &Registry) -> Vec<pfif::Person> {
    registry
        .entries
        .iter()
        .map(|entry| {
            let names = entry.names();
            let oldest = entry.history.iter().min_by_key(|r| (r.created_at, r.id));
            let id = format!(
                "samizdat/{}",
                oldest.map(|r| hex(&r.id)).unwrap_or_default()
            );
            let latest = entry.latest();
            pfif::Person {
                person_record_id: id.clone(),
                entry_date: pfif_time(latest.created_at),
                source_name: "samizdat".into(),
                source_date: pfif_time(latest.created_at),
                full_name: names[0].clone(),
                alternate_names: names[1..].join("\n"),
                description: entry.role().unwrap_or_default().to_string(),
                age: entry.age().map(|a| a.to_string()).unwrap_or_default(),
                notes: entry
                    .history
                    .iter()
                    .map(|r| pfif::Note {
                        note_record_id: format!("samizdat/{}", hex(&r.id)),
                        person_record_id: id.clone(),
                        author_name: npub_of(&r.author),
                        // PFIF has no field for when a status held:
                        // `source_date` carries it, `entry_date` the time
                        // the report was signed.
                        source_date: pfif_time(r.when()),
                        entry_date: pfif_time(r.created_at),
                        status: pfif_status(&r.status).into(),
                        last_known_location: r.place.clone().unwrap_or_default(),
                        text: format!(
                            "{} ({}), {} {}: reported as «{}»",
                            r.status,
                            r.source,
                            if r.observed.is_some() {
                                "observed"
                            } else {
                                "reported"
                            },
                            pfif_time(r.when()),
                            r.name
                        ),
                    })
                    .collect(),
                ..pfif::Person::default()
            }
        })
        .collect()
}

/// The registry as CSV: a row per report, its person first.
pub(super) fn csv(registry: &Registry) -> Result<Vec<u8>> {
    let mut out = ::csv::Writer::from_writer(Vec::new());
    out.write_record([
        "person",
        "person_name",
        "report",
        "name_as_written",
        "status",
        "when",
        "observed",
        "place",
        "source",
        "age",
        "role",
        "author",
        "created_at",
    ])?;
    for (i, entry) in registry.entries.iter().enumerate() {
        let person = (i + 1).to_string();
        let names = entry.names();
        for r in &entry.history {
            out.write_record([
                person.as_str(),
                names[0].as_str(),
                &hex(&r.id),
                r.name.as_str(),
                r.status.as_str(),
                &pfif_time(r.when()),
                if r.observed.is_some() { "yes" } else { "no" },
                r.place.as_deref().unwrap_or(""),
                r.source.as_str(),
                &r.age.map(|a| a.to_string()).unwrap_or_default(),
                r.role.as_deref().unwrap_or(""),
                &npub_of(&r.author),
                &pfif_time(r.created_at),
            ])?;
        }
    }
    out.into_inner().context("writing CSV")
}

/// Largest PFIF document read.
const MAX_PFIF_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a PFIF document into person reports signed by the default
/// identity, each saying where it came from. Signatures are made with
/// randomness derived from the PFIF record ids, so the same document
/// imported again gives the same events, which the store already has.
pub(super) fn import(ctx: &Context, file: &Path) -> Result<Code> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .len();
    if size > MAX_PFIF_BYTES {
        bail!(
            "{}: {size} bytes, more than {MAX_PFIF_BYTES}",
            file.display()
        );
    }
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading {} (PFIF is UTF-8 XML)", file.display()))?;
    let persons = pfif::parse(&text).with_context(|| format!("reading {}", file.display()))?;
    let store = ctx.store()?;
    let keys = ctx.signer()?;
    let now = Timestamp::now();
    let mut events = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let mut notes = 0usize;
    for person in &persons {
        let name = person.name();
        let placeholder = [pfif::Note::default()];
        let person_notes: &[pfif::Note] = if person.notes.is_empty() {
            &placeholder
        } else {
            &person.notes
        };
        for note in person_notes {
            notes += 1;
            match pfif_report(person, note, &name, &keys, now) {
                Ok(event) => events.push(event),
                Err(why) => refused.push(format!(
                    "person {} note {}: {why}",
                    person.person_record_id, note.note_record_id
                )),
            }
        }
    }
    let outcomes = store.insert(events)?;
    let stored = outcomes
        .iter()
        .filter(|o| **o == InsertOutcome::Stored)
        .count();
    let present = outcomes.len() - stored;
    if ctx.json {
        println!(
            "{}",
            json!({"persons": persons.len(), "notes": notes, "stored": stored,
                   "already_present": present, "refused": refused})
        );
    } else {
        for why in &refused {
            eprintln!("refused: {why}");
        }
        println!(
            "read {} people and {notes} notes: {stored} person reports stored, {present} already \
             present, {} refused",
            persons.len(),
            refused.len()
        );
    }
    Ok(if refused.is_empty() {
        Code::Success
    } else {
        Code::Problems
    })
}

/// One PFIF note (or a person without notes) as a signed person report.
fn pfif_report(
    person: &pfif::Person,
    note: &pfif::Note,
    name: &str,
    keys: &Keys,
    now: Timestamp,
) -> Result<VerifiedEvent, String> {
    if name.is_empty() {
        return Err("the person has no name".into());
    }
    let date = [
        &note.source_date,
        &note.entry_date,
        &person.source_date,
        &person.entry_date,
    ]
    .into_iter()
    .find(|d| !d.trim().is_empty())
    .ok_or("no date (source_date or entry_date)")?;
    let at = date
        .trim()
        .parse::<jiff::Timestamp>()
        .map_err(|e| format!("date {date:?}: {e}"))?
        .as_second();
    let at = u64::try_from(at).map_err(|_| format!("date {date:?} is before 1970"))?;
    let status = match note.status.as_str() {
        "believed_missing" => Status::Missing,
        "believed_alive" => Status::Found,
        "believed_dead" => Status::Killed,
        _ => Status::Unknown,
    };
    let place = [&note.last_known_location, &person.home_city]
        .into_iter()
        .find(|p| !p.trim().is_empty())
        .map(|p| truncate(p.trim(), 256));
    let mut details = format!(
        "From PFIF{}: person {}{}{}.",
        if person.source_name.is_empty() {
            String::new()
        } else {
            format!(" ({})", person.source_name)
        },
        person.person_record_id,
        if note.note_record_id.is_empty() {
            String::new()
        } else {
            format!(", note {}", note.note_record_id)
        },
        if note.author_name.is_empty() {
            String::new()
        } else {
            format!(" by {}", note.author_name)
        }
    );
    if !note.text.trim().is_empty() {
        details.push(' ');
        details.push_str(note.text.trim());
    }
    let aliases: Vec<String> = person
        .alternate_names
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != name)
        .take(samizdat_core::person::MAX_ALIASES)
        .map(|a| truncate(a, samizdat_core::person::MAX_NAME_BYTES))
        .collect();
    let report = PersonReport {
        name: truncate(name, samizdat_core::person::MAX_NAME_BYTES),
        aliases,
        age: person.age.trim().parse().ok(),
        role: None,
        status,
        observed: Some(Observed {
            start: at,
            end: None,
            offset: None,
        }),
        place: Place {
            text: place,
            geohash: None,
        },
        source: Source::Official,
        lang: None,
        details: truncate(&details, samizdat_core::person::MAX_DETAILS_BYTES),
        attachments: Vec::new(),
    };
    let draft = Draft {
        kind: kind::PERSON_REPORT,
        created_at: Timestamp::from_secs(at),
        tags: report.tags(),
        content: report.content(),
    };
    // The same record, imported again by the same identity, is the same
    // event.
    let aux: [u8; 32] = *samizdat_core::BlobHash::of(
        format!("pfif\n{}\n{}", person.person_record_id, note.note_record_id).as_bytes(),
    )
    .as_bytes();
    let event = draft.sign_with_aux(keys, &aux).map_err(|e| e.to_string())?;
    validate(event, &Limits::default(), now).map_err(|e| e.to_string())
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}
