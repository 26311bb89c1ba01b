//! `people`: the registry of persons built from the person reports in
//! the store (`list`, `search`, `show`), documenters' verdicts on pairs
//! of reports (`confirm`, `reject`), exchange with other registries
//! (`export` as CSV or PFIF 1.4, `import` of PFIF), and the matcher on
//! two names (`match`).

use std::io::Write;

use anyhow::{Context as _, Result, bail};
use samizdat_core::RecordKind;
use samizdat_core::nostr::prelude::{EventId, PublicKey};
use samizdat_people::pfif;
use samizdat_people::registry::{Entry, Registry, Report};
use samizdat_people::{Name, compare};
use serde_json::{Value, json};

use crate::cli::{self, AttestArgs, PeopleCommand, PeopleFormat};
use crate::cmd::record::{self, find};
use crate::context::Context;
use crate::exit::Code;
use crate::{output, time};

mod exchange;

use exchange::{csv, import, to_pfif};

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
        time::show_at(latest.when(), offset(latest.when_offset())),
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
    if let Some(age) = entry.age() {
        println!("  age: {age}");
    }
    if let Some(role) = entry.role() {
        println!("  role: {role}");
    }
    println!("history, newest first:");
    for r in &entry.history {
        println!(
            "  {}  {:<9} {:<24} {:<10} report {} ({})",
            time::show_at(r.when(), offset(r.when_offset())),
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

fn offset(written: Option<&str>) -> Option<samizdat_core::tags::Offset> {
    written.and_then(samizdat_core::tags::Offset::parse)
}
