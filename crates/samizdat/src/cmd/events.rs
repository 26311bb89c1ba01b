//! `events export` and `events import`: NIP-01 events as JSON lines, the
//! simplest way in and out of any Nostr tool.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};

use anyhow::{Context as _, Result};
use indicatif::ProgressBar;
use serde_json::json;

use crate::cli::{EventsCommand, KindName};
use crate::context::Context;
use crate::exit::Code;
use crate::progress;
use samizdat_node::import::{self, Stats};
use samizdat_node::progress::{Observer, Tally};

pub fn run(ctx: &Context, command: EventsCommand) -> Result<Code> {
    match command {
        EventsCommand::Export { output, mut filter } => {
            let store = ctx.store()?;
            // Every event unless kinds are named: export is the way out for
            // everything the store holds.
            if filter.kinds.is_empty() {
                filter.kinds.push(KindName::All);
            }
            let queries = super::read::queries(ctx, &filter, None)?;
            let total: u64 = queries
                .iter()
                .map(|q| store.count(q))
                .sum::<Result<u64, _>>()?;
            let bar = progress::bar(Some(total), "exporting");
            let mut out: Box<dyn Write> = match &output {
                Some(path) => Box::new(BufWriter::new(
                    File::create(path).with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(BufWriter::new(io::stdout().lock())),
            };
            let mut written = 0u64;
            let mut failure = None;
            for q in &queries {
                store.query_each(q, |stored| {
                    if let Err(e) = writeln!(out, "{}", stored.json) {
                        failure = Some(e);
                        return false;
                    }
                    written += 1;
                    bar.inc(1);
                    true
                })?;
                if let Some(e) = failure.take() {
                    return Err(e).context("writing events");
                }
            }
            out.flush().context("writing events")?;
            if let Some(path) = &output {
                File::open(path)
                    .and_then(|f| f.sync_all())
                    .with_context(|| format!("syncing {}", path.display()))?;
            }
            bar.finish_and_clear();
            eprintln!("exported {written} events");
            Ok(Code::Success)
        }
        EventsCommand::Import { input } => {
            let store = ctx.store()?;
            let (reader, size): (Box<dyn io::BufRead>, Option<u64>) = if input.as_os_str() == "-" {
                (
                    Box::new(BufReader::with_capacity(1 << 20, io::stdin().lock())),
                    None,
                )
            } else {
                let file =
                    File::open(&input).with_context(|| format!("opening {}", input.display()))?;
                let size = file.metadata().ok().map(|m| m.len());
                (Box::new(BufReader::with_capacity(1 << 20, file)), size)
            };
            let pool = rayon::ThreadPoolBuilder::new()
                .build()
                .context("starting validation threads")?;
            let mut report = Report {
                json: ctx.json,
                bar: progress::bar(size, "importing"),
            };
            if size.is_some() {
                report.bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} importing {bar:30} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta} left)",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
            }
            let stats = import::import(&store, reader, &pool, &mut report)?;
            report.bar.finish_and_clear();
            summary(ctx, &stats);
            Ok(if stats.tally.rejected > 0 {
                Code::Problems
            } else {
                Code::Success
            })
        }
    }
}

struct Report {
    json: bool,
    bar: ProgressBar,
}

impl Observer for Report {
    fn refused(&mut self, line: u64, reason: &str) {
        self.bar.suspend(|| eprintln!("line {line}: {reason}"));
    }

    fn committed(&mut self, through: u64, tally: &Tally) {
        if self.json {
            let mut committed = json!(tally);
            committed["committed_through_line"] = json!(through);
            println!("{}", json!({ "committed": committed }));
        }
    }

    fn advance(&mut self, bytes: u64) {
        self.bar.inc(bytes);
    }
}

fn summary(ctx: &Context, s: &Stats) {
    if ctx.json {
        println!("{}", json!({ "summary": s }));
    } else {
        eprintln!(
            "read {} lines: {} stored, {} already present, {} deleted by their authors, {} superseded, {} rejected",
            s.lines,
            s.tally.stored,
            s.tally.duplicate,
            s.tally.deleted,
            s.tally.superseded,
            s.tally.rejected
        );
    }
}
