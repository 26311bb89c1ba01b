//! Frames: a sync pattern, then Reed-Solomon codewords of four-bit tones,
//! each codeword one packet with its own CRC.
//!
//! ```text
//! sync   4 symbols of a pattern that names the speed
//! body   codewords of 255 bytes, interleaved byte by byte, as bits
//!        (most significant first) that fill the bands of each symbol in
//!        order: four bits a band, but three in the robust speed's second
//!        band, which sounds only every other tone
//! packet version+speed 1 | stream 2 | block 2 | blocks 2 | length 2 |
//!        symbol id 1 | CRC-32 of all else 4 | symbol
//! ```

use crate::Speed;
use crate::tones::{BANDS, Grid, Modulator, STEPS, layout};

/// Symbols of the sync pattern that opens each frame.
pub(crate) const SYNC: usize = 4;
const CODEWORD: usize = 255;
const HEADER: usize = 14;
const VERSION: u8 = 1;

/// The sync pattern of `speed`: the tone of each band in each of the
/// `SYNC` symbols. The two patterns differ in every symbol of the first
/// two bands, so one is never taken for the other.
pub(crate) fn sync_pattern(speed: Speed) -> [[u8; BANDS]; SYNC] {
    match speed {
        Speed::Robust => [[3, 10, 0, 0], [12, 0, 0, 0], [7, 14, 0, 0], [0, 4, 0, 0]],
        Speed::Fast => [[14, 4, 6, 11], [5, 11, 15, 2], [1, 8, 2, 13], [10, 2, 9, 6]],
    }
}

/// Error-correcting bytes per codeword: the robust speed corrects up to
/// a sixth of its bytes, the fast one a thirteenth (twice as many when
/// the receiver knows which are doubtful).
const fn ecc(speed: Speed) -> usize {
    match speed {
        Speed::Robust => 80,
        Speed::Fast => 40,
    }
}

/// Bits each band of a symbol carries. A band of three bits sounds every
/// other of its 16 tones, 100 Hz apart: through Opus at 8 kbit/s, GSM and
/// AMR-NB at 4.75 kbit/s, tones 50 Hz apart above 1.3 kHz are taken for
/// their neighbours three times as often (docs/VOICE.md).
pub(crate) const fn band_bits(speed: Speed) -> &'static [u32] {
    match speed {
        Speed::Robust => &[4, 3],
        Speed::Fast => &[4, 4, 4, 4],
    }
}

const fn symbol_bits(speed: Speed) -> usize {
    let bits = band_bits(speed);
    let mut sum = 0;
    let mut i = 0;
    while i < bits.len() {
        sum += bits[i] as usize;
        i += 1;
    }
    sum
}

/// Codewords per frame: the fast speed's three bands fill two in the time
/// the robust speed's two bands fill one and a third; both frames last
/// a few seconds, so that a lost sync costs little.
const fn codewords(speed: Speed) -> usize {
    match speed {
        Speed::Robust => 1,
        Speed::Fast => 2,
    }
}

/// Bytes of data each packet carries.
pub(crate) const fn symbol_size(speed: Speed) -> usize {
    CODEWORD - ecc(speed) - HEADER
}

/// Symbols in a frame, sync included.
pub(crate) const fn frame_symbols(speed: Speed) -> usize {
    SYNC + (CODEWORD * codewords(speed) * 8).div_ceil(symbol_bits(speed))
}

/// Packets in a frame.
pub(crate) const fn packets_per_frame(speed: Speed) -> usize {
    codewords(speed)
}

/// One packet: a piece of a fountain-coded block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub speed: Speed,
    /// Chosen at random for each transmission.
    pub stream: u16,
    pub block: u16,
    pub blocks: u16,
    /// The block's length in bytes.
    pub length: u16,
    /// The fountain code's symbol id.
    pub esi: u8,
    pub symbol: Vec<u8>,
}

impl Packet {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CODEWORD);
        out.push(VERSION << 4 | self.speed.code());
        out.extend_from_slice(&self.stream.to_be_bytes());
        out.extend_from_slice(&self.block.to_be_bytes());
        out.extend_from_slice(&self.blocks.to_be_bytes());
        out.extend_from_slice(&self.length.to_be_bytes());
        out.push(self.esi);
        let crc = checksum(&out, &self.symbol);
        out.extend_from_slice(&crc.to_be_bytes());
        out.extend_from_slice(&self.symbol);
        out.resize(CODEWORD - ecc(self.speed), 0);
        out
    }

    fn decode(speed: Speed, data: &[u8]) -> Option<Packet> {
        let symbol = data.get(HEADER..)?.to_vec();
        let crc = u32::from_be_bytes(data.get(10..14)?.try_into().ok()?);
        if checksum(&data[..10], &symbol) != crc || data[0] != (VERSION << 4 | speed.code()) {
            return None;
        }
        let word = |at: usize| u16::from_be_bytes([data[at], data[at + 1]]);
        Some(Packet {
            speed,
            stream: word(1),
            block: word(3),
            blocks: word(5),
            length: word(7),
            esi: data[9],
            symbol,
        })
    }
}

fn checksum(head: &[u8], symbol: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(head);
    hasher.update(symbol);
    hasher.finalize()
}

/// Sounds one frame of `packets` (at most `packets_per_frame`; a frame
/// short of packets is padded with empty codewords, which no receiver
/// takes for a packet).
pub(crate) fn sound(modulator: &mut Modulator, speed: Speed, packets: &[Packet]) {
    let bands = speed.bands();
    for tones in sync_pattern(speed) {
        modulator.symbol(layout(speed), &tones[..bands]);
    }
    let encoder = reed_solomon::Encoder::new(ecc(speed));
    let words: Vec<Vec<u8>> = (0..codewords(speed))
        .map(|i| match packets.get(i) {
            Some(p) => encoder.encode(&p.encode()).to_vec(),
            None => vec![0; CODEWORD],
        })
        .collect();
    let n = words.len();
    let whitening = whitening(CODEWORD * n);
    let bits: Vec<bool> = (0..CODEWORD * n)
        .map(|i| words[i % n][i / n] ^ whitening[i])
        .flat_map(|byte| (0..8).rev().map(move |b| byte >> b & 1 == 1))
        .collect();
    let mut at = bits.iter();
    for _ in SYNC..frame_symbols(speed) {
        let mut tones = [0u8; BANDS];
        for (tone, &width) in tones.iter_mut().zip(band_bits(speed)) {
            let mut value = 0u8;
            for _ in 0..width {
                value = value << 1 | u8::from(at.next().copied().unwrap_or(false));
            }
            // Three bits: every other tone.
            *tone = value << (4 - width);
        }
        modulator.symbol(layout(speed), &tones[..bands]);
    }
}

/// The bytes a frame's body is XORed with, the same in every frame: the
/// padding of a short packet would otherwise be one tone held for
/// seconds, which a voice activity detector takes for noise and along
/// which the receiver's timing has nothing to hold on to.
fn whitening(len: usize) -> Vec<u8> {
    let mut state = 0x9e37_79b9_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// What listening to one frame gave.
pub(crate) struct Heard {
    pub(crate) packets: Vec<Packet>,
    /// Codewords that could not be corrected.
    pub(crate) lost: usize,
    /// Where the next frame would start, in grid steps.
    pub(crate) next: f64,
}

/// Below this ratio of the strongest tone to the next, a nibble is
/// doubtful and its byte is given to the decoder as an erasure.
const DOUBT: f32 = 2.5;

/// Listens to the frame whose sync starts at grid step `start`, following
/// the symbol timing as it drifts.
pub(crate) fn listen(grid: &Grid, speed: Speed, start: usize) -> Heard {
    let total = frame_symbols(speed);
    let mut at = start as f64;
    let widths = band_bits(speed);
    // Every bit heard, and whether its tone was doubtful.
    let mut bits: Vec<(bool, bool)> = Vec::with_capacity((total - SYNC) * symbol_bits(speed));
    for k in 0..total {
        let here = at.round() as usize;
        if here + 1 >= grid.positions {
            break;
        }
        // Timing: where is the symbol clearest, a step either side?
        if here >= 1 {
            let (e, c, l) = (
                grid.clarity(here - 1, layout(speed)),
                grid.clarity(here, layout(speed)),
                grid.clarity(here + 1, layout(speed)),
            );
            let curve = e - 2.0 * c + l;
            if curve < 0.0 {
                let shift = (0.5 * (e - l) / curve).clamp(-1.0, 1.0);
                at += 0.3 * f64::from(shift);
            }
        }
        let here = at.round() as usize;
        if k >= SYNC {
            for (b, &width) in widths.iter().enumerate() {
                let (tone, ratio) = grid.decide(here, layout(speed), b, 1 << (4 - width));
                let value = tone >> (4 - width);
                for bit in (0..width).rev() {
                    bits.push((value >> bit & 1 == 1, ratio < DOUBT));
                }
            }
        }
        at += STEPS as f64;
    }
    let n = codewords(speed);
    let whitening = whitening(CODEWORD * n);
    let mut words = vec![Vec::with_capacity(CODEWORD); n];
    let mut erasures = vec![Vec::new(); n];
    for (i, byte) in bits.chunks_exact(8).enumerate().take(CODEWORD * n) {
        let word = i % n;
        if byte.iter().any(|&(_, doubt)| doubt) {
            erasures[word].push(words[word].len() as u8);
        }
        let value = byte.iter().fold(0u8, |v, &(bit, _)| v << 1 | u8::from(bit));
        words[word].push(value ^ whitening[i]);
    }
    let decoder = reed_solomon::Decoder::new(ecc(speed));
    let mut packets = Vec::new();
    let mut lost = 0;
    for (word, erased) in words.iter_mut().zip(&mut erasures) {
        word.resize(CODEWORD, 0);
        // With the doubtful bytes as erasures first (they count half as
        // much as errors), then without them.
        erased.truncate(ecc(speed) * 3 / 4);
        let corrected = decoder
            .correct(word, Some(erased))
            .or_else(|_| decoder.correct(word, None));
        match corrected
            .ok()
            .and_then(|data| Packet::decode(speed, data.data()))
        {
            Some(packet) => packets.push(packet),
            None => lost += 1,
        }
    }
    Heard {
        packets,
        lost,
        next: at,
    }
}
