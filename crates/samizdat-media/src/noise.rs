//! Telling encrypted data from everything else.
//!
//! A sealed file is AES-256-GCM ciphertext: bytes that no test can tell
//! from uniform random ones. Every other file, whatever its format, has
//! structure somewhere: a header, tables of offsets full of zeros, text,
//! padding, or the uneven byte frequencies of compressed data. Bytes are
//! taken as encrypted only when every part of them looks random, by tests
//! whose chance of refusing real ciphertext is below one in 10^12 per
//! part, so that a genuine sealed file is refused about never, while a
//! TIFF, a PDF or a photo with one junk byte in front is refused always.
//!
//! The tests, on each block of [`BLOCK`] bytes (the last block, shorter,
//! on its own):
//! - blocks of at least [`CHI_MIN`] bytes: Pearson's chi-square of the
//!   256 byte counts against a uniform spread, refused beyond 8 standard
//!   deviations (Wilson–Hilferty's normal approximation, 255 degrees of
//!   freedom);
//! - shorter blocks: the count of the most frequent byte and the count
//!   of text bytes (printable ASCII, tab, newline), each refused when
//!   random bytes would reach it with probability under 10^-13 (exact
//!   binomial tails, with a union bound over the 256 values);
//! - the whole input: the longest run of one byte value, refused when
//!   random bytes of that length would hold such a run with probability
//!   under 10^-13; and whether it is all valid UTF-8 (text in any
//!   script), which random bytes of [`MIN_BYTES`] or more are with
//!   probability under 10^-12.
//!
//! What passes is not proven encrypted: compressed or encrypted data made
//! to look like noise passes too. The rule is there so that no file of a
//! format samizdat cannot clean is stored by mistake; it is no barrier to
//! someone who wants to store noise.

/// Bytes per tested block.
pub const BLOCK: usize = 4096;
/// Below this many bytes a block gets the counting tests instead of
/// chi-square (whose approximation needs a few bytes per value).
const CHI_MIN: usize = 1024;
/// The fewest bytes tested: below this, nothing tells noise from a short
/// text. A sealed file is its plain file and a 16-byte tag: a picture or a
/// sound is far longer.
pub const MIN_BYTES: u64 = 48;
/// Standard deviations of chi-square, in its normal approximation, beyond
/// which a block is not random (about 6·10^-16 one-sided).
const CHI_Z: f64 = 8.0;
/// The chance, for random bytes, below which a counting test refuses.
const LN_TINY: f64 = -29.9; // ln(10^-13)

/// Why bytes do not look encrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotNoise {
    #[error("{0} bytes are too few to tell encrypted data from anything else")]
    TooShort(u64),
    #[error("it is all valid UTF-8: text")]
    Text,
    #[error("bytes {start} to {end} are not random ({why})")]
    Block {
        start: u64,
        end: u64,
        why: &'static str,
    },
    #[error("it holds {run} equal bytes in a row from byte {at}")]
    Run { at: u64, run: u64 },
}

/// The tests, fed in pieces of any size: for a file read in chunks.
#[derive(Debug, Clone)]
pub struct Noise {
    counts: [u32; 256],
    in_block: usize,
    seen: u64,
    last: Option<u8>,
    run: u64,
    run_start: u64,
    longest: (u64, u64),
    /// Continuation bytes still expected, or `None` once the bytes are
    /// not valid UTF-8.
    utf8: Option<u8>,
    failed: Option<NotNoise>,
}

impl Default for Noise {
    fn default() -> Self {
        Noise::new()
    }
}

impl Noise {
    pub fn new() -> Noise {
        Noise {
            counts: [0; 256],
            in_block: 0,
            seen: 0,
            last: None,
            run: 0,
            run_start: 0,
            longest: (0, 0),
            utf8: Some(0),
            failed: None,
        }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && self.failed.is_none() {
            let take = (BLOCK - self.in_block).min(bytes.len());
            let (now, rest) = bytes.split_at(take);
            for &b in now {
                self.counts[usize::from(b)] += 1;
                if self.last == Some(b) {
                    self.run += 1;
                } else {
                    self.last = Some(b);
                    self.run = 1;
                    self.run_start = self.seen;
                }
                if self.run > self.longest.1 {
                    self.longest = (self.run_start, self.run);
                }
                self.utf8 = self.utf8.and_then(|expected| utf8_step(expected, b));
                self.seen += 1;
            }
            self.in_block += take;
            bytes = rest;
            if self.in_block == BLOCK {
                self.close_block();
            }
        }
    }

    fn close_block(&mut self) {
        let n = self.in_block;
        if n > 0 && self.failed.is_none() {
            let start = self.seen - n as u64;
            if let Err(why) = block_is_random(&self.counts, n) {
                self.failed = Some(NotNoise::Block {
                    start,
                    end: self.seen,
                    why,
                });
            }
        }
        self.counts = [0; 256];
        self.in_block = 0;
    }

    /// The verdict on everything fed.
    pub fn finish(mut self) -> Result<(), NotNoise> {
        if self.seen < MIN_BYTES {
            return Err(NotNoise::TooShort(self.seen));
        }
        self.close_block();
        if let Some(failed) = self.failed {
            return Err(failed);
        }
        let (at, run) = self.longest;
        if run >= longest_plausible_run(self.seen) {
            return Err(NotNoise::Run { at, run });
        }
        if self.utf8 == Some(0) {
            return Err(NotNoise::Text);
        }
        Ok(())
    }
}

/// One byte of a UTF-8 check (lead bytes as RFC 3629 allows them):
/// continuation bytes still expected, or `None` if the byte breaks it.
fn utf8_step(expected: u8, b: u8) -> Option<u8> {
    match (expected, b) {
        (0, 0x00..=0x7f) => Some(0),
        (0, 0xc2..=0xdf) => Some(1),
        (0, 0xe0..=0xef) => Some(2),
        (0, 0xf0..=0xf4) => Some(3),
        (0, _) => None,
        (n, 0x80..=0xbf) => Some(n - 1),
        _ => None,
    }
}

/// Whether `bytes` look like encrypted data, by every test above.
pub fn check(bytes: &[u8]) -> Result<(), NotNoise> {
    let mut noise = Noise::new();
    noise.update(bytes);
    noise.finish()
}

/// The tests of one block of `n` bytes with these byte counts.
fn block_is_random(counts: &[u32; 256], n: usize) -> Result<(), &'static str> {
    if n >= CHI_MIN {
        let expected = n as f64 / 256.0;
        let chi: f64 = counts
            .iter()
            .map(|&c| {
                let d = f64::from(c) - expected;
                d * d / expected
            })
            .sum();
        if chi_square_z(chi, 255.0) > CHI_Z {
            return Err("their byte values are unevenly spread");
        }
        return Ok(());
    }
    let max = counts.iter().copied().max().unwrap_or(0);
    // Any of the 256 values reaching `max`: a union bound.
    if 256f64.ln() + ln_binomial_tail(n as u64, u64::from(max), 1.0 / 256.0) < LN_TINY {
        return Err("one byte value comes up too often");
    }
    let text: u32 = counts
        .iter()
        .enumerate()
        .filter(|&(b, _)| is_text(b as u8))
        .map(|(_, &c)| c)
        .sum();
    let p_text = f64::from(TEXT_VALUES) / 256.0;
    if ln_binomial_tail(n as u64, u64::from(text), p_text) < LN_TINY {
        return Err("they read as text");
    }
    Ok(())
}

/// Printable ASCII, tab, line feed and carriage return.
const TEXT_VALUES: u32 = 95 + 3;

fn is_text(b: u8) -> bool {
    matches!(b, 0x20..=0x7e | b'\t' | b'\n' | b'\r')
}

/// How many standard deviations `chi` lies above the mean of a chi-square
/// with `k` degrees of freedom (Wilson and Hilferty, 1931).
fn chi_square_z(chi: f64, k: f64) -> f64 {
    let v = 2.0 / (9.0 * k);
    ((chi / k).cbrt() - (1.0 - v)) / v.sqrt()
}

/// `ln P(X >= k)` for `X` binomial with `n` trials of chance `p`.
fn ln_binomial_tail(n: u64, k: u64, p: f64) -> f64 {
    if k == 0 {
        return 0.0;
    }
    if k > n {
        return f64::NEG_INFINITY;
    }
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    // ln C(n, k), then each later term from the one before.
    let mut ln_c = 0.0;
    for i in 0..k {
        ln_c += ((n - i) as f64).ln() - ((i + 1) as f64).ln();
    }
    let mut term = ln_c + k as f64 * lp + (n - k) as f64 * lq;
    let mut total = term;
    for j in k..n {
        term += ((n - j) as f64).ln() - ((j + 1) as f64).ln() + lp - lq;
        // log-sum-exp, one term at a time
        let (hi, lo) = if term > total {
            (term, total)
        } else {
            (total, term)
        };
        total = hi + (lo - hi).exp().ln_1p();
        if term < total - 40.0 {
            break; // the rest add nothing a double can hold
        }
    }
    total
}

/// The shortest run of one byte value that `n` random bytes hold with
/// probability under 10^-13: `n · 256^-(r-1)` below that bound.
fn longest_plausible_run(n: u64) -> u64 {
    let ln_n = (n.max(1) as f64).ln();
    // r - 1 > (ln n - ln tiny) / ln 256
    ((ln_n - LN_TINY) / 256f64.ln()).floor() as u64 + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SplitMix64: uniform bytes, fast and seeded.
    fn random(seed: u64, n: usize) -> Vec<u8> {
        let mut state = seed;
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        out.truncate(n);
        out
    }

    #[test]
    fn random_bytes_of_every_length_pass() {
        // 4,000 inputs from 16 bytes to 40 KiB; real ciphertext would be
        // refused about once in 10^12 blocks.
        for i in 0..4_000u64 {
            let n = MIN_BYTES as usize + ((i * 7_919) % 40_000) as usize;
            let bytes = random(i, n);
            assert_eq!(check(&bytes), Ok(()), "seed {i}, {n} bytes");
        }
    }

    #[test]
    fn pieces_of_any_size_give_the_same_verdict() {
        let mut bytes = random(7, 50_000);
        let mut noise = Noise::new();
        for piece in bytes.chunks(777) {
            noise.update(piece);
        }
        assert_eq!(noise.finish(), Ok(()));
        bytes[30_000..30_200].fill(0);
        let mut noise = Noise::new();
        for piece in bytes.chunks(1_000) {
            noise.update(piece);
        }
        assert!(noise.finish().is_err());
    }

    #[test]
    fn structure_anywhere_is_refused() {
        // Text, short and long, in any script.
        assert!(check(b"lat 43.238949 lon 76.889709 Canon EOS 5D Mark IV, SN 4417").is_err());
        assert_eq!(
            check("Алматы, 5 января, 43.2389 76.8897, ACME".as_bytes()),
            Err(NotNoise::Text)
        );
        assert!(check("Алматы, площадь Республики, 5 января".repeat(40).as_bytes()).is_err());
        // A table of small numbers, as in a TIFF directory.
        let table: Vec<u8> = (0u32..300).flat_map(|i| (i % 40).to_le_bytes()).collect();
        assert!(check(&table).is_err());
        // Random bytes with a few structured ones planted in the middle:
        // 64 zeros, a run of 12, a dozen text bytes in a short file.
        let mut planted = random(1, 20_000);
        planted[9_000..9_064].fill(0);
        assert!(check(&planted).is_err());
        let mut run = random(2, 20_000);
        run[100..112].fill(0xAB);
        assert!(matches!(check(&run), Err(NotNoise::Run { .. })));
        // Too short to tell.
        assert_eq!(check(&random(4, 47)), Err(NotNoise::TooShort(47)));
    }

    #[test]
    fn tails_are_right() {
        // P(X >= 1) for 1 trial of 1/2.
        assert!((ln_binomial_tail(1, 1, 0.5) - 0.5f64.ln()).abs() < 1e-12);
        // P(X >= 0) = 1; beyond n, 0.
        assert_eq!(ln_binomial_tail(10, 0, 0.3), 0.0);
        assert_eq!(ln_binomial_tail(10, 11, 0.3), f64::NEG_INFINITY);
        // P(X >= 2) for 3 trials of 1/2: 4/8.
        assert!((ln_binomial_tail(3, 2, 0.5) - 0.5f64.ln()).abs() < 1e-12);
        // A chi-square at its mean is about 0 deviations away.
        assert!(chi_square_z(255.0, 255.0).abs() < 0.1);
        assert_eq!(longest_plausible_run(1 << 26), 10);
    }
}
