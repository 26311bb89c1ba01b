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

/// CPU seconds used so far, from `/proc` (Linux): by the whole machine
/// (busy time of every core), by the given processes, and by every
/// PostgreSQL process (the server and its backends, with the children it
/// has reaped).
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    machine: f64,
    nodes: f64,
    database: f64,
}

/// Clock ticks per second of `/proc`'s counters (USER_HZ: 100 on Linux).
const TICKS: f64 = 100.0;

impl Cpu {
    fn now(nodes: &[u32]) -> Cpu {
        let machine = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                let cpu = s
                    .lines()
                    .next()?
                    .split_whitespace()
                    .skip(1)
                    .collect::<Vec<_>>();
                let n = |i: usize| {
                    cpu.get(i)
                        .and_then(|v| v.parse::<f64>().ok())
                        .unwrap_or(0.0)
                };
                // user, nice, system, irq, softirq, steal: busy, not idle or iowait.
                Some(n(0) + n(1) + n(2) + n(5) + n(6) + n(7))
            })
            .unwrap_or(0.0);
        let nodes: f64 = nodes.iter().map(|pid| process_ticks(*pid, false)).sum();
        let database: f64 = std::fs::read_dir("/proc")
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                    .filter(|pid| {
                        std::fs::read_to_string(format!("/proc/{pid}/comm"))
                            .is_ok_and(|c| c.trim() == "postgres")
                    })
                    .map(|pid| process_ticks(pid, true))
                    .sum()
            })
            .unwrap_or(0.0);
        Cpu {
            machine: machine / TICKS,
            nodes: nodes / TICKS,
            database: database / TICKS,
        }
    }

    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            machine: self.machine - before.machine,
            nodes: self.nodes - before.nodes,
            database: self.database - before.database,
        }
    }
}

/// utime + stime of a process (and of its reaped children, if asked).
fn process_ticks(pid: u32, with_children: bool) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The fields after the command, which is in parentheses.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|v| v.parse::<f64>().unwrap_or(0.0))
        .collect();
    // utime, stime, cutime, cstime are fields 14–17, here 11–14 (0-based).
    let own = f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0);
    if with_children {
        own + f.get(13).unwrap_or(&0.0) + f.get(14).unwrap_or(&0.0)
    } else {
        own
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
    let (sqlite, pg, two) = runtime.block_on(async {
        let before = Cpu::now(&[sqlite.pid()]);
        let started = Instant::now();
        let sqlite_per_s = ingest_parallel(&sqlite, &lines, connections, window).await?;
        let sqlite_cpu = (Cpu::now(&[sqlite.pid()]).since(before), started.elapsed());
        eprintln!("SQLite node: {sqlite_per_s:.0} events/s");
        let before = Cpu::now(&[on_pg.pid()]);
        let started = Instant::now();
        let pg_per_s = ingest_parallel(&on_pg, &lines, connections, window).await?;
        let pg_cpu = (Cpu::now(&[on_pg.pid()]).since(before), started.elapsed());
        eprintln!("PostgreSQL, one front node: {pg_per_s:.0} events/s");
        let (first, second) = lines.split_at(lines.len() / 2);
        let fronts = [front_a.pid(), front_b.pid()];
        let before = Cpu::now(&fronts);
        let started = Instant::now();
        let (a, b) = tokio::join!(
            ingest_parallel(&front_a, first, connections, window),
            ingest_parallel(&front_b, second, connections, window)
        );
        a?;
        b?;
        let two_per_s = lines.len() as f64 / started.elapsed().as_secs_f64();
        let two_cpu = (Cpu::now(&fronts).since(before), started.elapsed());
        eprintln!("PostgreSQL, two front nodes at once: {two_per_s:.0} events/s");
        anyhow::Ok((
            (sqlite_per_s, sqlite_cpu),
            (pg_per_s, pg_cpu),
            (two_per_s, two_cpu),
        ))
    })?;
    let ((sqlite_per_s, _), (pg_per_s, _), (two_per_s, _)) = (sqlite, pg, two);
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
    // Where the time went: the machine's cores busy, and the CPU time
    // per thousand events of the front nodes, the database and the rest
    // (the client, the kernel's loopback, anything else running).
    println!("\n| run | cores busy | node ms CPU / 1000 events | database | the rest |");
    println!("|---|---|---|---|---|");
    let per_k = |secs: f64| secs * 1000.0 / events as f64 * 1000.0;
    for (name, (cpu, wall)) in [
        ("SQLite", sqlite.1),
        ("PostgreSQL, one front node", pg.1),
        ("PostgreSQL, two front nodes", two.1),
    ] {
        let rest = cpu.machine - cpu.nodes - cpu.database;
        println!(
            "| {name} | {:.2} of {cores} | {:.0} | {:.0} | {:.0} |",
            cpu.machine / wall.as_secs_f64(),
            per_k(cpu.nodes),
            per_k(cpu.database),
            per_k(rest)
        );
    }
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
