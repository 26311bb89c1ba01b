//! Multi-tone frequency-shift keying: the sound of a transmission, and
//! the energy of every tone at every moment of what was heard.
//!
//! Each 20 ms symbol sounds, in each band, one of 16 tones, with the
//! phase carried over from the symbol before so that nothing clicks. The
//! robust speed's tones are 50 Hz apart, one over the symbol's length:
//! orthogonal over a whole symbol, and nearly so over the part of it the
//! receiver listens to. The fast speed packs four bands 40 Hz apart, for
//! codecs that keep frequencies well.

use std::f64::consts::TAU;

use crate::{RATE, Speed};

/// Samples in a symbol.
pub(crate) const SYMBOL: usize = 160;
/// Tones in a band: one symbol carries four bits in each band.
pub(crate) const TONES: usize = 16;
/// Bands at most.
pub(crate) const BANDS: usize = 4;
/// The energy grid's step, in samples: an eighth of a millisecond's
/// precision is plenty for 20 ms symbols.
pub(crate) const STEP: usize = 8;
/// Grid steps in a symbol.
pub(crate) const STEPS: usize = SYMBOL / STEP;
/// Samples at the start of each symbol the receiver does not listen to:
/// a codec smears each change of tone over a few milliseconds.
const GUARD: usize = 16;
const LISTENED: usize = SYMBOL - GUARD;

/// Where a speed's tones are, inside the 300-3400 Hz of any telephone
/// call and the 300-3000 Hz of a radio.
pub(crate) struct Layout {
    first: f64,
    band_width: f64,
    spacing: f64,
    pub(crate) bands: usize,
    /// Where its tones start in the grid.
    offset: usize,
}

/// Robust: 450-1200 and 1300-2050 Hz, 50 Hz apart. Fast: 350-950,
/// 1030-1630, 1710-2310 and 2390-2990 Hz, 40 Hz apart.
pub(crate) const fn layout(speed: Speed) -> &'static Layout {
    const ROBUST: Layout = Layout {
        first: 450.0,
        band_width: 850.0,
        spacing: 50.0,
        bands: 2,
        offset: 0,
    };
    const FAST: Layout = Layout {
        first: 350.0,
        band_width: 680.0,
        spacing: 40.0,
        bands: 4,
        offset: 2 * TONES,
    };
    match speed {
        Speed::Robust => &ROBUST,
        Speed::Fast => &FAST,
    }
}

impl Layout {
    fn frequency(&self, band: usize, tone: usize) -> f64 {
        self.first + self.band_width * band as f64 + self.spacing * tone as f64
    }
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

    /// One symbol: `tones[b]` in band `b` of `layout`.
    pub(crate) fn symbol(&mut self, layout: &Layout, tones: &[u8]) {
        // The sum peaks at about a third of full scale: room for a gain
        // control that adds, no clipping in a codec's filters.
        let amplitude = 10_000.0 / tones.len() as f64;
        let steps: Vec<f64> = tones
            .iter()
            .enumerate()
            .map(|(b, &t)| TAU * layout.frequency(b, usize::from(t)) / f64::from(RATE))
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

/// Tones of every speed: the robust speed's two bands, the fast one's four.
const PER_POSITION: usize = 6 * TONES;

impl Grid {
    pub(crate) fn new(samples: &[f32]) -> Grid {
        let positions = samples.len().saturating_sub(SYMBOL) / STEP + 1;
        let positions = if samples.len() < SYMBOL { 0 } else { positions };
        // Each tone's reference over the listened part, from its start.
        let mut table = Vec::with_capacity(PER_POSITION * LISTENED * 2);
        for layout in Speed::ALL.map(layout) {
            for (band, tone) in (0..layout.bands).flat_map(|b| (0..TONES).map(move |t| (b, t))) {
                let w = TAU * layout.frequency(band, tone) / f64::from(RATE);
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
    pub(crate) fn band(&self, position: usize, layout: &Layout, band: usize) -> &[f32] {
        let at = position * PER_POSITION + layout.offset + band * TONES;
        &self.energy[at..at + TONES]
    }

    /// How much of each band's energy is in its strongest tone, averaged
    /// over `bands`: near 1 where a symbol starts, lower across two.
    pub(crate) fn clarity(&self, position: usize, layout: &Layout) -> f32 {
        let mut sum = 0.0;
        for b in 0..layout.bands {
            let e = self.band(position, layout, b);
            let total: f32 = e.iter().sum();
            let max = e.iter().copied().fold(0.0, f32::max);
            sum += max / total.max(1e-3);
        }
        sum / layout.bands as f32
    }

    /// How much of each band's energy is in `tones[b]`, averaged over the
    /// bands given.
    pub(crate) fn share(&self, position: usize, layout: &Layout, tones: &[u8]) -> f32 {
        let mut sum = 0.0;
        for (b, &t) in tones.iter().enumerate() {
            let e = self.band(position, layout, b);
            let total: f32 = e.iter().sum();
            sum += e[usize::from(t)] / total.max(1e-3);
        }
        sum / tones.len() as f32
    }

    /// The strongest of every `step`th tone of `band` at `position`, and
    /// how much stronger it is than the next of them.
    pub(crate) fn decide(
        &self,
        position: usize,
        layout: &Layout,
        band: usize,
        step: usize,
    ) -> (u8, f32) {
        let e = self.band(position, layout, band);
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
