//! `samizdat-fuzz`: runs the fuzz targets for a time or a number of
//! inputs each, and prints what each did. Exit code 1 if any input made a
//! parser panic (the inputs are written to `--crashes`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use samizdat_fuzz::{Budget, run, targets};

#[derive(Parser)]
#[command(about = "Fuzz every parser of outside input, from seeds, on the stable toolchain")]
struct Args {
    /// Seconds per target.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// At most this many inputs per target.
    #[arg(long, default_value_t = u64::MAX)]
    iterations: u64,
    /// Only these targets (by name); all when none is given.
    #[arg(long = "target")]
    targets: Vec<String>,
    /// Where inputs that made a parser panic are written.
    #[arg(long, default_value = "target/fuzz-crashes")]
    crashes: PathBuf,
    /// Seed of the mutations (a run is repeatable with the same seed).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Lists the targets and exits.
    #[arg(long)]
    list: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Panics are counted and their inputs kept; their messages would
    // drown the report.
    std::panic::set_hook(Box::new(|_| {}));
    let mut all = targets::all();
    if args.list {
        for t in &all {
            println!("{}", t.name);
        }
        return ExitCode::SUCCESS;
    }
    if !args.targets.is_empty() {
        all.retain(|t| args.targets.iter().any(|n| n == t.name));
    }
    let budget = Budget {
        iterations: args.iterations,
        time: Duration::from_secs(args.seconds),
    };
    let mut panics = 0;
    println!(
        "{:<16} {:>12} {:>8} {:>12}",
        "target", "inputs", "panics", "slowest ms"
    );
    for target in &mut all {
        let report = run(target, budget, args.seed, &args.crashes);
        println!(
            "{:<16} {:>12} {:>8} {:>12.1}",
            report.target,
            report.iterations,
            report.panics,
            report.slowest.as_secs_f64() * 1000.0
        );
        for path in &report.crashes {
            println!("  panicked on {}", path.display());
        }
        panics += report.panics;
    }
    if panics > 0 {
        println!("{panics} input(s) made a parser panic");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
