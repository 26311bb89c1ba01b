//! Blocks in and out of a transmission: each block RaptorQ-coded into
//! packets, any enough of which rebuild it; the packets into frames; the
//! frames into sound, and back.

use std::collections::{HashMap, HashSet};

use raptorq::{EncodingPacket, ObjectTransmissionInformation, PayloadId};

use crate::frame::{self, Packet, SYNC};
use crate::tones::{Grid, Modulator, STEPS, SYMBOL, layout};
use crate::{RATE, Speed, VoiceError};

/// Symbols of tones before the first frame: a voice activity detector
/// opens and a gain control settles on them.
const PREAMBLE: usize = 25;

/// Source packets a block may have: the symbol id is one byte, and the
/// repair packets need room too.
const MAX_SOURCE: usize = 160;

/// A block the receiver rebuilt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub stream: u16,
    pub number: u16,
    /// Blocks in the transmission.
    pub of: u16,
    pub data: Vec<u8>,
}

/// A one-way transmission of blocks, as sound.
pub struct Transmission {
    pub speed: Speed,
    pub samples: Vec<f32>,
    pub packets: usize,
}

impl Transmission {
    /// Codes `blocks` with `repair` extra packets for every source packet
    /// (at least one per block), and sounds them. One-way: with nothing
    /// coming back, the redundancy must cover what the channel loses.
    pub fn new(
        speed: Speed,
        stream: u16,
        blocks: &[Vec<u8>],
        repair: f64,
    ) -> Result<Transmission, VoiceError> {
        let of =
            u16::try_from(blocks.len()).map_err(|_| VoiceError::BlockTooLarge(blocks.len()))?;
        let mut packets = Vec::new();
        for (number, data) in (0u16..).zip(blocks) {
            packets.extend(Self::block_packets(
                speed, stream, number, of, data, repair,
            )?);
        }
        let mut modulator = Modulator::new();
        opening(&mut modulator, speed);
        for chunk in packets.chunks(frame::packets_per_frame(speed)) {
            frame::sound(&mut modulator, speed, chunk);
        }
        closing(&mut modulator, speed);
        Ok(Transmission {
            speed,
            samples: modulator.samples,
            packets: packets.len(),
        })
    }

    /// The packets of one block: its source packets, then its repair.
    pub fn block_packets(
        speed: Speed,
        stream: u16,
        number: u16,
        of: u16,
        data: &[u8],
        repair: f64,
    ) -> Result<Vec<Packet>, VoiceError> {
        let size = frame::symbol_size(speed);
        let source = data.len().div_ceil(size).max(1);
        let length =
            u16::try_from(data.len()).map_err(|_| VoiceError::BlockTooLarge(data.len()))?;
        if source > MAX_SOURCE || data.is_empty() {
            return Err(VoiceError::BlockTooLarge(data.len()));
        }
        let extra = ((source as f64 * repair).ceil() as u32).max(1);
        let config = oti(length, speed);
        let encoder = raptorq::Encoder::new(data, config);
        let Some(block) = encoder.get_block_encoders().first() else {
            return Err(VoiceError::BlockTooLarge(data.len()));
        };
        let mut coded = block.source_packets();
        coded.extend(block.repair_packets(0, extra));
        Ok(coded
            .into_iter()
            .filter_map(|p| {
                let esi = u8::try_from(p.payload_id().encoding_symbol_id()).ok()?;
                let mut symbol = p.data().to_vec();
                symbol.resize(size, 0);
                Some(Packet {
                    speed,
                    stream,
                    block: number,
                    blocks: of,
                    length,
                    esi,
                    symbol,
                })
            })
            .collect())
    }

    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(RATE)
    }
}

/// A transmission's start: a little silence, then the sync pattern
/// backwards, which sounds like a frame's start to a codec (its voice
/// detector opens, its gain settles) but never to the receiver.
pub(crate) fn opening(modulator: &mut Modulator, speed: Speed) {
    modulator.silence(RATE as usize / 5);
    let warm = frame::sync_pattern(speed);
    for i in 0..PREAMBLE {
        let tones = warm[SYNC - 1 - i % SYNC];
        modulator.symbol(layout(speed), &tones[..speed.bands()]);
    }
}

/// A transmission's end: a last symbol lets the final one ring out
/// through a codec.
pub(crate) fn closing(modulator: &mut Modulator, speed: Speed) {
    let warm = frame::sync_pattern(speed);
    modulator.symbol(layout(speed), &warm[0][..speed.bands()]);
    modulator.silence(RATE as usize / 5);
}

/// The largest block a transmission at `speed` takes.
pub fn max_block(speed: Speed) -> usize {
    MAX_SOURCE * frame::symbol_size(speed)
}

pub(crate) fn oti(length: u16, speed: Speed) -> ObjectTransmissionInformation {
    ObjectTransmissionInformation::new(u64::from(length), frame::symbol_size(speed) as u16, 1, 1, 1)
}

/// Rebuilds blocks from what it hears, across any number of pieces of
/// audio, and across streams: a packet is used only with packets of the
/// same stream and block.
#[derive(Default)]
pub struct Receiver {
    /// A block's decoder at each speed it was sent at (their symbols
    /// differ), with the block's length and the packets it holds.
    decoders: HashMap<(u16, u16, Speed), (u16, usize, raptorq::Decoder)>,
    done: HashSet<(u16, u16)>,
    /// Packets taken, so that one heard twice (where two pieces of sound
    /// overlap) counts once.
    seen: HashSet<(u16, u16, Speed, u8)>,
    /// Frames heard at each speed (robust, fast).
    pub heard: [usize; 2],
    /// Frames whose sync was heard.
    pub frames: usize,
    /// Syncs heard whose frame could not be read at all (or that were
    /// not a frame's).
    pub unreadable: usize,
    /// Packets that checked out.
    pub packets: usize,
    /// Codewords heard that could not be corrected.
    pub lost: usize,
    /// Packets that disagreed with others of their block (a replay of
    /// another transmission that used the same stream number).
    pub conflicting: usize,
}

/// Samples two pieces of one recording should share: more than the
/// longest frame and its sync.
pub const OVERLAP: usize = 8 * RATE as usize;

/// Steps of a symbol's guard: the sync is as clear anywhere within it.
const GUARD_STEPS: usize = 2;

/// Above this share of their energy in the expected tones, four symbols
/// are taken for a frame's sync; random sound gives about 1/16.
const SYNC_SHARE: f32 = 0.35;

impl Receiver {
    pub fn new() -> Receiver {
        Receiver::default()
    }

    /// Listens to `samples`; returns the blocks they completed. A long
    /// recording is best heard in pieces that overlap by `OVERLAP`
    /// samples, so that every frame is whole in one of them.
    pub fn listen(&mut self, samples: &[f32]) -> Vec<Block> {
        let grid = Grid::new(samples);
        let mut blocks = Vec::new();
        let mut p = 0usize;
        // Bounded: every turn moves on by at least one step.
        while p + SYNC * STEPS < grid.positions {
            let Some((speed, start)) = self.sync_at(&grid, p) else {
                p += 1;
                continue;
            };
            let heard = frame::listen(&grid, speed, start);
            if heard.packets.is_empty() {
                self.unreadable += 1;
                p += 1;
                continue;
            }
            self.frames += 1;
            self.heard[usize::from(speed == Speed::Fast)] += 1;
            self.lost += heard.lost;
            for packet in heard.packets {
                if let Some(block) = self.take(packet) {
                    blocks.push(block);
                }
            }
            p = (heard.next as usize).saturating_sub(STEPS / 2).max(p + 1);
        }
        blocks
    }

    /// The speed whose sync starts at `p`, if one does, here and clearer
    /// than a step before; and where to listen from: the middle of the
    /// steps after `p` that hear it as clearly, so that the symbols' guard
    /// is as much behind as ahead, for the clocks to drift either way.
    fn sync_at(&self, grid: &Grid, p: usize) -> Option<(Speed, usize)> {
        let score = |speed: Speed, at: usize| -> f32 {
            let pattern = frame::sync_pattern(speed);
            (0..SYNC)
                .map(|k| {
                    let position = at + k * STEPS;
                    if position >= grid.positions {
                        return 0.0;
                    }
                    grid.share(position, layout(speed), &pattern[k][..2])
                })
                .sum::<f32>()
                / SYNC as f32
        };
        let speed = Speed::ALL.into_iter().find(|&speed| {
            let here = score(speed, p);
            here >= SYNC_SHARE
                && here >= score(speed, p + 1)
                && (p == 0 || here > score(speed, p - 1))
        })?;
        let here = score(speed, p);
        let same = (1..=GUARD_STEPS)
            .take_while(|&d| score(speed, p + d) >= here * 0.97)
            .count();
        Some((speed, p + same.div_ceil(2)))
    }

    /// How many packets of a block are held: the most at any one speed,
    /// or `u8::MAX` once it is whole.
    pub fn held(&self, stream: u16, block: u16) -> u8 {
        if self.done.contains(&(stream, block)) {
            return u8::MAX;
        }
        Speed::ALL
            .iter()
            .filter_map(|&speed| self.decoders.get(&(stream, block, speed)))
            .map(|(_, held, _)| (*held).min(254) as u8)
            .max()
            .unwrap_or(0)
    }

    fn take(&mut self, packet: Packet) -> Option<Block> {
        let key = (packet.stream, packet.block);
        if self.done.contains(&key) || !self.seen.insert((key.0, key.1, packet.speed, packet.esi)) {
            return None;
        }
        self.packets += 1;
        let (length, held, decoder) = self
            .decoders
            .entry((key.0, key.1, packet.speed))
            .or_insert_with(|| {
                (
                    packet.length,
                    0,
                    raptorq::Decoder::new(oti(packet.length, packet.speed)),
                )
            });
        if *length != packet.length {
            self.conflicting += 1;
            return None;
        }
        *held += 1;
        let data = decoder.decode(EncodingPacket::new(
            PayloadId::new(0, u32::from(packet.esi)),
            packet.symbol,
        ))?;
        self.decoders
            .retain(|&(stream, block, _), _| (stream, block) != key);
        self.seen
            .retain(|&(stream, block, _, _)| (stream, block) != key);
        self.done.insert(key);
        Some(Block {
            stream: packet.stream,
            number: packet.block,
            of: packet.blocks,
            data,
        })
    }
}

/// Seconds of sound per symbol, for reports.
pub const SYMBOL_SECONDS: f64 = SYMBOL as f64 / RATE as f64;

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(seed: u64, sizes: &[usize]) -> Vec<Vec<u8>> {
        let mut state = seed | 1;
        sizes
            .iter()
            .map(|&n| {
                (0..n)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        state as u8
                    })
                    .collect()
            })
            .collect()
    }

    fn heard(speed: Speed, samples: &[f32], sent: &[Vec<u8>]) -> usize {
        let mut receiver = Receiver::new();
        let got = receiver.listen(samples);
        for block in &got {
            assert_eq!(block.data, sent[usize::from(block.number)]);
            assert_eq!(usize::from(block.of), sent.len());
        }
        assert!(receiver.frames > 0 || got.is_empty(), "{speed:?}");
        got.len()
    }

    #[test]
    fn blocks_cross_a_clean_channel_at_each_speed() {
        for speed in Speed::ALL {
            let sent = blocks(3, &[1, 300, 900]);
            let t = Transmission::new(speed, 5, &sent, 0.25).expect("sound");
            assert_eq!(heard(speed, &t.samples, &sent), 3, "{speed:?}");
        }
    }

    #[test]
    fn two_sound_cards_a_tenth_of_a_percent_apart_still_agree() {
        let sent = blocks(4, &[1_200]);
        let t = Transmission::new(Speed::Robust, 1, &sent, 0.25).expect("sound");
        for drift in [1.001, 0.999] {
            let n = (t.samples.len() as f64 / drift) as usize;
            let resampled: Vec<f32> = (0..n)
                .map(|k| {
                    let at = k as f64 * drift;
                    let i = at as usize;
                    let f = (at - i as f64) as f32;
                    let a = t.samples.get(i).copied().unwrap_or(0.0);
                    let b = t.samples.get(i + 1).copied().unwrap_or(0.0);
                    a + (b - a) * f
                })
                .collect();
            assert_eq!(heard(Speed::Robust, &resampled, &sent), 1, "{drift}");
        }
    }

    #[test]
    fn lost_frames_are_made_up_by_the_others() {
        let sent = blocks(5, &[1_500]);
        let t = Transmission::new(Speed::Robust, 2, &sent, 0.5).expect("sound");
        // A second of silence where a frame was: that packet is lost.
        let mut samples = t.samples.clone();
        let at = samples.len() / 3;
        samples[at..at + 8_000].fill(0.0);
        assert_eq!(heard(Speed::Robust, &samples, &sent), 1);
        // Too much lost: nothing, and no wrong block.
        let mut samples = t.samples.clone();
        let half = samples.len() / 2;
        samples[half..].fill(0.0);
        assert_eq!(heard(Speed::Robust, &samples, &sent), 0);
    }

    #[test]
    fn noise_and_nothing_give_no_blocks() {
        let mut state = 9u64;
        let noise: Vec<f32> = (0..80_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 16_000) as f32 - 8_000.0
            })
            .collect();
        let mut receiver = Receiver::new();
        assert!(receiver.listen(&noise).is_empty());
        assert!(receiver.listen(&[]).is_empty());
        assert!(receiver.listen(&[0.0; 100]).is_empty());
        assert_eq!(receiver.frames, 0);
    }

    #[test]
    fn a_recording_heard_in_overlapping_pieces_gives_every_block_once() {
        let sent = blocks(6, &[2_000, 2_000, 700]);
        let t = Transmission::new(Speed::Fast, 3, &sent, 0.25).expect("sound");
        let mut file = std::io::Cursor::new(Vec::new());
        crate::wav::write(&mut file, &t.samples).expect("written");
        file.set_position(0);
        let mut receiver = Receiver::new();
        let mut got = Vec::new();
        let piece = 20 * RATE as usize;
        let count = crate::wav::read_in_pieces(file, piece, OVERLAP, |samples| {
            assert!(samples.len() <= piece);
            got.extend(receiver.listen(samples));
        })
        .expect("read");
        assert_eq!(count, t.samples.len());
        assert!(t.samples.len() > 3 * piece, "several pieces");
        got.sort_by_key(|b| b.number);
        let data: Vec<Vec<u8>> = got.into_iter().map(|b| b.data).collect();
        assert_eq!(data, sent);
    }

    #[test]
    fn blocks_too_large_or_empty_are_refused() {
        let big = vec![0u8; max_block(Speed::Robust) + 1];
        assert!(Transmission::new(Speed::Robust, 1, &[big], 0.25).is_err());
        assert!(Transmission::new(Speed::Robust, 1, &[Vec::new()], 0.25).is_err());
    }
}
