//! Fuzzing on the stable toolchain, for every parser that reads outside
//! input: each media format, bundles and want files, relay messages (a
//! client's to the relay and a relay's answers to sync and publishing),
//! NIP-77 messages, Blossom authorizations, the drop box's multipart
//! forms, PFIF.
//!
//! `cargo fuzz` needs a nightly compiler; this is the same idea without
//! coverage feedback: each target starts from seed inputs (built in
//! `seeds`, from the project's own writers and the committed tour files,
//! plus any regression inputs under `crates/samizdat-fuzz/regressions/<target>/`),
//! mutates them as libFuzzer's default mutators do (bit flips, interesting
//! values, inserted, deleted, repeated and spliced ranges, cuts), and runs
//! the parser on each under `catch_unwind`. A panic is a failure: its input
//! is written out, named by its SHA-256, to be committed as a regression.
//! Errors are what parsers are for and count as passes; so does any
//! answer from the node.
//!
//! `samizdat-fuzz --seconds N` is the long run (`scripts/fuzz`); the test
//! in `tests/fuzz.rs` is the short one CI runs.

pub mod seeds;
pub mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// SplitMix64: fast, seeded, good enough to choose mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Values that make parsers take their edge cases.
const INTERESTING: &[u64] = &[
    0,
    1,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFFF,
    u64::MAX,
];

/// Tokens of the text formats (JSON, XML, HTTP forms), spliced in whole.
const TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b"\"",
    b",",
    b":",
    b"null",
    b"-1",
    b"1e999",
    b"\\u0000",
    b"\\ud800",
    b"<",
    b">",
    b"&amp;",
    b"<![CDATA[",
    b"\r\n",
    b"--",
    b"\r\n\r\n",
    b"Content-Disposition: form-data; name=\"files\"; filename=\"a\"",
];

/// Changes `input` in place by one to four stacked mutations; `other` is
/// another seed to splice from.
pub fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        match rng.below(10) {
            0 if len > 0 => {
                let at = rng.below(len);
                input[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                input[at] = INTERESTING[rng.below(INTERESTING.len())] as u8;
            }
            2 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                input.splice(at..at, bytes);
            }
            3 if len > 1 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(len / 4 + 1));
                input.drain(at..at + n);
            }
            4 if len > 1 => {
                let from = rng.below(len);
                let n = 1 + rng.below((len - from).min(256));
                let chunk = input[from..from + n].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, chunk);
            }
            5 if len >= 8 => {
                let width = [2, 4, 8][rng.below(3)];
                let at = rng.below(len - width + 1);
                let value = INTERESTING[rng.below(INTERESTING.len())];
                let bytes = if rng.below(2) == 0 {
                    value.to_be_bytes()
                } else {
                    value.to_le_bytes()
                };
                let slice = if rng.below(2) == 0 {
                    &bytes[8 - width..]
                } else {
                    &bytes[..width]
                };
                input[at..at + width].copy_from_slice(slice);
            }
            6 if len > 0 => {
                input.truncate(rng.below(len));
            }
            7 if !other.is_empty() => {
                let keep = rng.below(len + 1);
                let from = rng.below(other.len());
                input.truncate(keep);
                input.extend_from_slice(&other[from..]);
            }
            8 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                let at = rng.below(len + 1);
                input.splice(at..at, token.iter().copied());
            }
            _ if len > 0 => {
                // A length field grown: the byte before a run of text or
                // data, set large.
                let at = rng.below(len);
                input[at] = input[at].wrapping_add(0x40);
            }
            _ => input.push(rng.next_u64() as u8),
        }
    }
}

/// Runs a parser on one input.
pub type Parse = Box<dyn FnMut(&[u8])>;

/// One parser under test.
pub struct Target {
    pub name: &'static str,
    /// Inputs to start from.
    pub seeds: Vec<Vec<u8>>,
    /// Runs the parser on one input; an `Err` or any answer is a pass, a
    /// panic a failure.
    pub run: Parse,
}

/// What a run of one target did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub target: &'static str,
    pub iterations: u64,
    pub panics: u64,
    /// The slowest single input, and how long it took.
    pub slowest: Duration,
    /// Where failing inputs were written.
    pub crashes: Vec<PathBuf>,
}

/// How long, or how many times, to run a target.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub iterations: u64,
    pub time: Duration,
}

/// Runs `target` on its seeds, then on mutations of them, until the
/// budget is spent. Failing inputs go to `crashes/<target>/<sha256>`.
pub fn run(target: &mut Target, budget: Budget, seed: u64, crashes: &Path) -> Report {
    let mut rng = Rng::new(seed ^ fnv(target.name));
    let mut report = Report {
        target: target.name,
        ..Report::default()
    };
    let started = Instant::now();
    let mut regressions = regressions(target.name);
    let mut corpus: Vec<Vec<u8>> = target.seeds.clone();
    corpus.append(&mut regressions);
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    // Every seed as it is, then mutations; bounded by the budget.
    let mut i = 0u64;
    while i < budget.iterations && started.elapsed() < budget.time {
        let input = if (i as usize) < corpus.len() {
            corpus[i as usize].clone()
        } else {
            let mut input = corpus[rng.below(corpus.len())].clone();
            let other = corpus[rng.below(corpus.len())].clone();
            mutate(&mut rng, &mut input, &other);
            input
        };
        let one = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
        report.slowest = report.slowest.max(one.elapsed());
        if outcome.is_err() {
            report.panics += 1;
            if let Some(path) = keep(crashes, target.name, &input) {
                report.crashes.push(path);
            }
        }
        i += 1;
    }
    report.iterations = i;
    report
}

/// Inputs committed after a failure, run first every time.
fn regressions(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect()
}

fn keep(crashes: &Path, target: &str, input: &[u8]) -> Option<PathBuf> {
    use sha2::{Digest, Sha256};
    let dir = crashes.join(target);
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(hex::encode(Sha256::digest(input)));
    std::fs::write(&path, input).ok()?;
    Some(path)
}

/// FNV-1a, so each target mutates with a seed of its own.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutation_changes_inputs_and_is_deterministic() {
        let seed = b"{\"kind\":1,\"content\":\"hello\"}".to_vec();
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut changed = 0;
        for _ in 0..200 {
            let (mut x, mut y) = (seed.clone(), seed.clone());
            mutate(&mut a, &mut x, b"other");
            mutate(&mut b, &mut y, b"other");
            assert_eq!(x, y);
            changed += usize::from(x != seed);
        }
        assert!(
            changed > 150,
            "{changed} of 200 mutations changed the input"
        );
    }

    #[test]
    fn a_panic_is_caught_counted_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut target = Target {
            name: "always-panics-on-x",
            seeds: vec![b"x".to_vec(), b"y".to_vec()],
            run: Box::new(|input| {
                if input == b"x" {
                    panic!("found x");
                }
            }),
        };
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let report = run(
            &mut target,
            Budget {
                iterations: 2,
                time: Duration::from_secs(10),
            },
            1,
            dir.path(),
        );
        std::panic::set_hook(hook);
        assert_eq!((report.iterations, report.panics), (2, 1));
        assert_eq!(std::fs::read(&report.crashes[0]).expect("kept"), b"x");
    }
}
