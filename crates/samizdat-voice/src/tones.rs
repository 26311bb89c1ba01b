//! Multi-tone frequency-shift keying: the sound of a transmission, and
//! the energy of every tone at every moment of what was heard.
//!
//! Each 20 ms symbol sounds, in each band, one of 16 tones 50 Hz apart,
//! with the phase carried over from the symbol before so that nothing
//! clicks. 50 Hz is one over the symbol's length: tones of one band are
//! orthogonal over a whole symbol, and nearly so over the part of it the
//! receiver listens to.

use std::f64::consts::TAU;

use crate::RATE;

/// Samples in a symbol.
pub(crate) const SYMBOL: usize = 160;
/// Tones in a band: one symbol carries four bits in each band.
pub(crate) const TONES: usize = 16;
/// Bands at most.
pub(crate) const BANDS: usize = 3;
/// The energy grid's step, in samples: an eighth of a millisecond's
/// precision is plenty for 20 ms symbols.
pub(crate) const STEP: usize = 8;
/// Grid steps in a symbol.
pub(crate) const STEPS: usize = SYMBOL / STEP;
/// Samples at the start of each symbol the receiver does not listen to:
/// a codec smears each change of tone over a few milliseconds.
const GUARD: usize = 16;
const LISTENED: usize = SYMBOL - GUARD;

/// The frequency of `tone` in `band`: bands at 450-1200, 1300-2050 and
/// 2150-2900 Hz, inside the 300-3400 Hz of any telephone call and the
/// 300-3000 Hz of a radio.
pub(crate) fn frequency(band: usize, tone: usize) -> f64 {
    450.0 + 850.0 * band as f64 + 50.0 * tone as f64
}

/// Makes the sound of symbols.
pub(crate) struct Modulator {
    phase: [f64; BANDS],
    pub(crate) samples: Vec<f32>,
}

impl Modulator {
    pub(crate) fn new() -> Modulator {
        Modulator {
            phase: [0.0; BANDS],
            samples: Vec::new(),
        }
    }

    /// One symbol: `tones[b]` in band `b`.
    pub(crate) fn symbol(&mut self, tones: &[u8]) {
        // The sum peaks at about a third of full scale: room for a gain
        // control that adds, no clipping in a codec's filters.
        let amplitude = 10_000.0 / tones.len() as f64;
        let steps: Vec<f64> = tones
            .iter()
            .enumerate()
            .map(|(b, &t)| TAU * frequency(b, usize::from(t)) / f64::from(RATE))
            .collect();
        for _ in 0..SYMBOL {
            let mut v = 0.0;
            for (phase, step) in self.phase.iter_mut().zip(&steps) {
                *phase = (*phase + step) % TAU;
                v += amplitude * phase.sin();
            }
            self.samples.push(v as f32);
        }
    }

    pub(crate) fn silence(&mut self, samples: usize) {
        self.samples.extend(std::iter::repeat_n(0.0, samples));
    }
}

/// The energy of every tone of every band over the symbol that would
/// start at each grid step of a signal.
pub(crate) struct Grid {
    energy: Vec<f32>,
    pub(crate) positions: usize,
}

const PER_POSITION: usize = BANDS * TONES;

impl Grid {
    pub(crate) fn new(samples: &[f32]) -> Grid {
        let positions = samples.len().saturating_sub(SYMBOL) / STEP + 1;
        let positions = if samples.len() < SYMBOL { 0 } else { positions };
        // Each tone's reference over the listened part, from its start.
        let mut table = Vec::with_capacity(PER_POSITION * LISTENED * 2);
        for band in 0..BANDS {
            for tone in 0..TONES {
                let w = TAU * frequency(band, tone) / f64::from(RATE);
                for i in 0..LISTENED {
                    let a = w * i as f64;
                    table.push(a.cos() as f32);
                    table.push(a.sin() as f32);
                }
            }
        }
        let mut energy = Vec::with_capacity(positions * PER_POSITION);
        for p in 0..positions {
            let start = p * STEP + GUARD;
            let window = &samples[start..start + LISTENED];
            for reference in table.chunks_exact(LISTENED * 2) {
                let (mut re, mut im) = (0.0f32, 0.0f32);
                for (x, cs) in window.iter().zip(reference.chunks_exact(2)) {
                    re += x * cs[0];
                    im += x * cs[1];
                }
                energy.push(re * re + im * im);
            }
        }
        Grid { energy, positions }
    }

    /// The energies of `band`'s tones at `position`.
    pub(crate) fn band(&self, position: usize, band: usize) -> &[f32] {
        let at = position * PER_POSITION + band * TONES;
        &self.energy[at..at + TONES]
    }

    /// How much of each band's energy is in its strongest tone, averaged
    /// over `bands`: near 1 where a symbol starts, lower across two.
    pub(crate) fn clarity(&self, position: usize, bands: usize) -> f32 {
        let mut sum = 0.0;
        for b in 0..bands {
            let e = self.band(position, b);
            let total: f32 = e.iter().sum();
            let max = e.iter().copied().fold(0.0, f32::max);
            sum += max / total.max(1e-3);
        }
        sum / bands as f32
    }

    /// How much of each band's energy is in `tones[b]`, averaged over the
    /// bands given.
    pub(crate) fn share(&self, position: usize, tones: &[u8]) -> f32 {
        let mut sum = 0.0;
        for (b, &t) in tones.iter().enumerate() {
            let e = self.band(position, b);
            let total: f32 = e.iter().sum();
            sum += e[usize::from(t)] / total.max(1e-3);
        }
        sum / tones.len() as f32
    }

    /// The strongest of every `step`th tone of `band` at `position`, and
    /// how much stronger it is than the next of them.
    pub(crate) fn decide(&self, position: usize, band: usize, step: usize) -> (u8, f32) {
        let e = self.band(position, band);
        let (mut best, mut first, mut second) = (0, 0.0f32, 0.0f32);
        for (t, &v) in e.iter().enumerate().step_by(step) {
            if v > first {
                second = first;
                first = v;
                best = t;
            } else if v > second {
                second = v;
            }
        }
        (best as u8, first / second.max(1e-3))
    }
}
