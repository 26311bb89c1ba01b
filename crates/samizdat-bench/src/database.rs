//! `samizdat-bench database`: ingest over the relay on a node whose events
//! are in SQLite (the baseline), on one whose events are in PostgreSQL,
//! and on two front nodes over one PostgreSQL database fed at once, all
//! in one run, beside signature verification alone (the ceiling of any
//! ingest on this machine).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use rayon::prelude::*;

use crate::BenchDatabaseArgs;
use crate::relay::process::Relay;
use crate::relay::{generate, ingest_parallel};

/// One client is the whole load here, so its budgets are lifted (as
/// `Relay::samizdat_with` does for the relay's).
const SETTINGS: &str = "";

/// A new database on the server, dropped when this goes.
struct Database {
    server: String,
    name: String,
    url: String,
}

impl Database {
    fn create(server: &str, tag: &str) -> Result<Database> {
        let name = format!("samizdat_bench_{tag}_{}", std::process::id());
        let mut admin = postgres::Client::connect(server, postgres::NoTls)
            .context("connecting to the server")?;
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        let (base, _) = server
            .rsplit_once('/')
            .context("the server's URL names a database")?;
        Ok(Database {
            url: format!("{base}/{name}"),
            server: server.to_string(),
            name,
        })
    }

    fn settings(&self) -> String {
        format!("{SETTINGS}[store]\nevents = \"{}\"\n", self.url)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut admin) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = admin.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name));
        }
    }
}

pub fn run(args: BenchDatabaseArgs) -> Result<()> {
    let BenchDatabaseArgs {
        postgres,
        events,
        connections,
        window,
    } = args;
    if events < 2 || connections == 0 || window == 0 {
        bail!("need --events ≥ 2 and --connections, --window ≥ 1");
    }
    eprintln!("generating {events} signed notes…");
    let (_, generated) = generate(events)?;
    let started = Instant::now();
    let ok = generated
        .par_iter()
        .filter(|e| e.verify_signature())
        .count();
    let verify_per_s = events as f64 / started.elapsed().as_secs_f64();
    if ok != events {
        bail!("{} generated events do not verify", events - ok);
    }
    let lines: Vec<Arc<str>> = generated
        .iter()
        .map(|e| Arc::from(format!(r#"["EVENT",{}]"#, e.as_json())))
        .collect();
    drop(generated);

    let one_db = Database::create(&postgres, "one")?;
    let two_db = Database::create(&postgres, "two")?;
    let sqlite = Relay::samizdat_with(SETTINGS)?;
    let on_pg = Relay::samizdat_with(&one_db.settings())?;
    let front_a = Relay::samizdat_with(&two_db.settings())?;
    let front_b = Relay::samizdat_with(&two_db.settings())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the benchmark runtime")?;
    let (sqlite_per_s, pg_per_s, two_per_s) = runtime.block_on(async {
        let sqlite_per_s = ingest_parallel(&sqlite, &lines, connections, window).await?;
        eprintln!("SQLite node: {sqlite_per_s:.0} events/s");
        let pg_per_s = ingest_parallel(&on_pg, &lines, connections, window).await?;
        eprintln!("PostgreSQL, one front node: {pg_per_s:.0} events/s");
        let (first, second) = lines.split_at(lines.len() / 2);
        let started = Instant::now();
        let (a, b) = tokio::join!(
            ingest_parallel(&front_a, first, connections, window),
            ingest_parallel(&front_b, second, connections, window)
        );
        a?;
        b?;
        let two_per_s = lines.len() as f64 / started.elapsed().as_secs_f64();
        eprintln!("PostgreSQL, two front nodes at once: {two_per_s:.0} events/s");
        anyhow::Ok((sqlite_per_s, pg_per_s, two_per_s))
    })?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "{events} notes over the relay, {connections} connections × {window} in flight each, \
         everything on this machine's {cores} cores"
    );
    println!("| events kept in | events/s | ratio |");
    println!("|---|---|---|");
    println!(
        "| signature verification alone, every core (the ceiling) | {verify_per_s:.0} | {:.2}× SQLite |",
        verify_per_s / sqlite_per_s
    );
    println!("| SQLite, one node (baseline) | {sqlite_per_s:.0} | 1.00 |");
    println!(
        "| PostgreSQL, one front node | {pg_per_s:.0} | {:.2}× SQLite |",
        pg_per_s / sqlite_per_s
    );
    println!(
        "| PostgreSQL, two front nodes at once | {two_per_s:.0} | {:.2}× one front node |",
        two_per_s / pg_per_s
    );
    println!(
        "{}",
        serde_json::json!({
            "events": events,
            "verify_per_s": verify_per_s,
            "sqlite_per_s": sqlite_per_s,
            "postgres_one_front_per_s": pg_per_s,
            "postgres_two_fronts_per_s": two_per_s,
            "postgres_vs_sqlite": pg_per_s / sqlite_per_s,
            "two_fronts_vs_one": two_per_s / pg_per_s,
        })
    );
    Ok(())
}
