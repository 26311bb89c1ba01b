//! `people`: the registry of persons built from the person reports in
//! the store (`list`, `search`, `show`), documenters' verdicts on pairs
//! of reports (`confirm`, `reject`), exchange with other registries
//! (`export` as CSV or PFIF 1.4, `import` of PFIF), and the matcher on
//! two names (`match`).

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use samizdat_core::nostr::prelude::{EventId, Keys, PublicKey, Timestamp};
use samizdat_core::person::{PersonReport, Source, Status};
use samizdat_core::sign::Draft;
use samizdat_core::tags::{Observed, Place};
use samizdat_core::{Limits, RecordKind, VerifiedEvent, kind, validate};
use samizdat_people::pfif;
use samizdat_people::registry::{Entry, Registry, Report};
use samizdat_people::{Name, compare};
use samizdat_store::InsertOutcome;
use serde_json::{Value, json};

use crate::cli::{self, AttestArgs, PeopleCommand, PeopleFormat};
use crate::cmd::record::{self, find};
use crate::context::Context;
use crate::exit::Code;
use crate::{output, time};

pub fn run(ctx: &Context, command: PeopleCommand) -> Result<Code> {
    match command {
        PeopleCommand::Match { a, b } => matching(ctx, &a, &b),
        PeopleCommand::List => {
            let registry = samizdat_node::people::registry(&ctx.store()?)?;
            for entry in &registry.entries {
                line(ctx, entry, None);
            }
            if !ctx.json {
                eprintln!(
                    "{} people from {} reports; {} possible matches for a documenter",
                    registry.entries.len(),
                    registry.reports(),
                    registry.suggestions.len()
                );
            }
            Ok(Code::Success)
        }
        PeopleCommand::Search { name } => {
            let registry = samizdat_node::people::registry(&ctx.store()?)?;
            for (entry, score) in registry.search(&name) {
                line(ctx, &registry.entries[entry], Some(score));
            }
            Ok(Code::Success)
        }
        PeopleCommand::Show { query } => {
            let store = ctx.store()?;
            let registry = samizdat_node::people::registry(&store)?;
            let entry = match find(&store, &query) {
                Ok(event) => registry
                    .entries
                    .iter()
                    .position(|e| e.history.iter().any(|r| r.id == event.id.to_bytes())),
                Err(_) => registry.search(&query).first().map(|(e, _)| *e),
            };
            let Some(entry) = entry else {
                bail!("nobody in the registry matches {query:?}");
            };
            show(ctx, &registry, entry);
            Ok(Code::Success)
        }
        PeopleCommand::Confirm { a, b } => verdict(ctx, &a, &b, cli::Label::SamePerson),
        PeopleCommand::Reject { a, b } => verdict(ctx, &a, &b, cli::Label::DifferentPerson),
        PeopleCommand::Export { format, output } => {
            let registry = samizdat_node::people::registry(&ctx.store()?)?;
            let bytes = match format {
                PeopleFormat::Csv => csv(&registry)?,
                PeopleFormat::Pfif => pfif::write(&to_pfif(&registry)).into_bytes(),
            };
            match output {
                Some(path) => {
                    samizdat_store::write_atomic(&path, &bytes)
                        .with_context(|| format!("writing {}", path.display()))?;
                    if !ctx.json {
                        eprintln!(
                            "wrote {} people ({} reports) to {}",
                            registry.entries.len(),
                            registry.reports(),
                            path.display()
                        );
                    }
                }
                None => std::io::stdout()
                    .write_all(&bytes)
                    .context("writing to standard output")?,
            }
            Ok(Code::Success)
        }
        PeopleCommand::Import { file } => import(ctx, &file),
    }
}

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
fn to_pfif(registry: &Registry) -> Vec<pfif::Person> {
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
                description: entry
                    .history
                    .iter()
                    .find_map(|r| r.role.clone())
                    .unwrap_or_default(),
                age: entry
                    .history
                    .iter()
                    .find_map(|r| r.age)
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
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
fn csv(registry: &Registry) -> Result<Vec<u8>> {
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
fn import(ctx: &Context, file: &Path) -> Result<Code> {
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

fn matching(ctx: &Context, a: &str, b: &str) -> Result<Code> {
    let verdict = compare(&Name::parse(a), &Name::parse(b));
    if ctx.json {
        println!(
            "{}",
            json!({
                "a": a,
                "b": b,
                "score": (verdict.score * 1000.0).round() / 1000.0,
                "decision": verdict.decision.as_str(),
                "reasons": verdict.reasons,
                "words": verdict.words.iter().map(|(word, known)| json!({
                    "word": word,
                    "lexicon": known,
                })).collect::<Vec<_>>(),
            })
        );
    } else {
        println!("{} (score {:.2})", verdict.decision.as_str(), verdict.score);
        for reason in &verdict.reasons {
            println!("  {reason}");
        }
        let known: Vec<String> = verdict
            .words
            .iter()
            .map(|(word, known)| format!("«{word}» {known}"))
            .collect();
        println!("  lexicon: {}", known.join("; "));
    }
    Ok(Code::Success)
}

fn short(id: &[u8; 32]) -> String {
    output::short(&EventId::from_byte_array(*id).to_hex()).to_string()
}

fn report_json(r: &Report) -> Value {
    json!({
        "report": EventId::from_byte_array(r.id).to_hex(),
        "author": PublicKey::from_slice(&r.author).map(|k| output::npub(&k)).ok(),
        "name": r.name,
        "status": r.status,
        "when": r.when(),
        "observed": r.observed.is_some(),
        "place": r.place,
        "source": r.source,
        "age": r.age,
        "role": r.role,
    })
}

/// The JSON of a person, begun with their names.
fn named(names: &[String]) -> Value {
    json!({ "name": names[0], "names": names })
}

/// One line per person: latest status, name, reports, conflicts.
fn line(ctx: &Context, entry: &Entry, score: Option<f32>) {
    let latest = entry.latest();
    let names = entry.names();
    if ctx.json {
        let mut value = named(&names);
        value["latest"] = report_json(latest);
        value["reports"] = json!(entry.history.len());
        value["conflicts"] = json!(entry.conflicts.len());
        value["score"] = json!(score);
        println!("{value}");
        return;
    }
    let score = score.map(|s| format!(" ({s:.2})")).unwrap_or_default();
    let conflicts = if entry.conflicts.is_empty() {
        String::new()
    } else {
        format!(", {} CONFLICTING", entry.conflicts.len())
    };
    println!(
        "{:<9} {}  {}{score}  [{} report(s){conflicts}; latest {}]",
        latest.status,
        time::show(latest.when()),
        names[0],
        entry.history.len(),
        short(&latest.id)
    );
}

fn show(ctx: &Context, registry: &Registry, index: usize) {
    let entry = &registry.entries[index];
    let names = entry.names();
    let suggestions: Vec<_> = registry
        .suggestions
        .iter()
        .filter(|s| s.entries.0 == index || s.entries.1 == index)
        .collect();
    if ctx.json {
        let hex = |id: &[u8; 32]| EventId::from_byte_array(*id).to_hex();
        let mut value = named(&names);
        value["history"] = entry.history.iter().map(report_json).collect();
        value["conflicts"] = entry
            .conflicts
            .iter()
            .map(|c| {
                json!({
                    "earlier": hex(&entry.history[c.earlier].id),
                    "later": hex(&entry.history[c.later].id),
                    "why": c.why,
                })
            })
            .collect();
        value["possible"] = suggestions
            .iter()
            .map(|s| {
                json!({
                    "reports": [hex(&s.reports.0), hex(&s.reports.1)],
                    "score": s.score,
                    "why": s.why,
                })
            })
            .collect();
        println!("{value}");
        return;
    }
    println!("{}", names[0]);
    if names.len() > 1 {
        println!("  also written: {}", names[1..].join("; "));
    }
    if let Some(age) = entry.history.iter().find_map(|r| r.age) {
        println!("  age: {age}");
    }
    if let Some(role) = entry.history.iter().find_map(|r| r.role.as_deref()) {
        println!("  role: {role}");
    }
    println!("history, newest first:");
    for r in &entry.history {
        println!(
            "  {}  {:<9} {:<24} {:<10} report {} ({})",
            time::show(r.when()),
            r.status,
            r.place.as_deref().unwrap_or("-"),
            r.source,
            short(&r.id),
            r.name
        );
    }
    if !entry.conflicts.is_empty() {
        println!("conflicts (shown, not resolved):");
        for c in &entry.conflicts {
            println!(
                "  {}: report {} then report {}",
                c.why,
                short(&entry.history[c.earlier].id),
                short(&entry.history[c.later].id)
            );
        }
    }
    if !suggestions.is_empty() {
        println!("possible matches, for a documenter to confirm or reject:");
        for s in suggestions {
            let other = if s.entries.0 == index {
                s.entries.1
            } else {
                s.entries.0
            };
            let (a, b) = (short(&s.reports.0), short(&s.reports.1));
            println!(
                "  {} ({:.2}): {}; samizdat people confirm {a} {b} (or reject)",
                registry.entries[other].names()[0],
                s.score,
                s.why
            );
        }
    }
}

/// Signs a documenter's verdict on two person reports.
fn verdict(ctx: &Context, a: &str, b: &str, label: cli::Label) -> Result<Code> {
    let store = ctx.store()?;
    for text in [a, b] {
        let event = find(&store, text)?;
        if RecordKind::of(&event) != RecordKind::PersonReport {
            bail!("{} is not a person report", event.id);
        }
    }
    record::attest(
        ctx,
        AttestArgs {
            label,
            id: a.to_string(),
            of: Some(b.to_string()),
            note: String::new(),
        },
    )
}
