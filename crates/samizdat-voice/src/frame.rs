//! Frames: a sync pattern, then Reed-Solomon codewords of four-bit tones,
//! each codeword one packet with its own CRC.
//!
//! ```text
//! sync   4 symbols of a pattern that names the speed
//! body   codewords of 255 bytes, interleaved byte by byte, each byte two
//!        tones (high nibble first), the bands of a symbol in order
//! packet version+speed 1 | stream 2 | block 2 | blocks 2 | length 2 |
//!        symbol id 1 | CRC-32 of all else 4 | symbol
//! ```

use crate::Speed;
use crate::tones::{BANDS, Grid, Modulator, STEPS};

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
        Speed::Robust => [[3, 10, 0], [12, 1, 0], [7, 14, 0], [0, 5, 0]],
        Speed::Fast => [[14, 4, 6], [5, 11, 15], [1, 8, 2], [10, 2, 9]],
    }
}

/// Error-correcting bytes per codeword: the robust speed corrects up to
/// a fifth of its bytes, the fast one a tenth.
const fn ecc(speed: Speed) -> usize {
    match speed {
        Speed::Robust => 100,
        Speed::Fast => 40,
    }
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
    SYNC + (CODEWORD * codewords(speed) * 2).div_ceil(speed.bands())
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
        modulator.symbol(&tones[..bands]);
    }
    let encoder = reed_solomon::Encoder::new(ecc(speed));
    let words: Vec<Vec<u8>> = (0..codewords(speed))
        .map(|i| match packets.get(i) {
            Some(p) => encoder.encode(&p.encode()).to_vec(),
            None => vec![0; CODEWORD],
        })
        .collect();
    let n = words.len();
    let nibbles: Vec<u8> = (0..CODEWORD * n)
        .map(|i| words[i % n][i / n])
        .flat_map(|byte| [byte >> 4, byte & 15])
        .collect();
    for symbol in nibbles.chunks(bands) {
        let mut tones = [0u8; BANDS];
        tones[..symbol.len()].copy_from_slice(symbol);
        modulator.symbol(&tones[..bands]);
    }
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
    let bands = speed.bands();
    let total = frame_symbols(speed);
    let mut at = start as f64;
    let mut nibbles = Vec::with_capacity((total - SYNC) * bands);
    let mut doubts = Vec::with_capacity(nibbles.capacity());
    for k in 0..total {
        let here = at.round() as usize;
        if here + 1 >= grid.positions {
            break;
        }
        // Timing: where is the symbol clearest, a step either side?
        if here >= 1 {
            let (e, c, l) = (
                grid.clarity(here - 1, bands),
                grid.clarity(here, bands),
                grid.clarity(here + 1, bands),
            );
            let curve = e - 2.0 * c + l;
            if curve < 0.0 {
                let shift = (0.5 * (e - l) / curve).clamp(-1.0, 1.0);
                at += 0.3 * f64::from(shift);
            }
        }
        let here = at.round() as usize;
        if k >= SYNC {
            for b in 0..bands {
                let (tone, ratio) = grid.decide(here, b);
                nibbles.push(tone);
                doubts.push(ratio < DOUBT);
            }
        }
        at += STEPS as f64;
    }
    let n = codewords(speed);
    let mut words = vec![Vec::with_capacity(CODEWORD); n];
    let mut erasures = vec![Vec::new(); n];
    for (i, pair) in nibbles.chunks_exact(2).enumerate().take(CODEWORD * n) {
        let word = i % n;
        if doubts[2 * i] || doubts[2 * i + 1] {
            erasures[word].push(words[word].len() as u8);
        }
        words[word].push(pair[0] << 4 | pair[1]);
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
