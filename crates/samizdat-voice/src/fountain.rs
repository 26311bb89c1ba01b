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
        let mut coder = BlockCoder::new(speed, stream, number, of, data)?;
        let extra = ((f64::from(coder.source) * repair).ceil() as u32).max(1);
        Ok((0..coder.source + extra)
            .map_while(|_| coder.next())
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
    MAX_SOURCE * frame::symbol_size(speed) - TRAILER
}

/// Bytes of the CRC-32 that closes every block's coded object: a block
/// rebuilt from a forged or stray packet does not pass it, and is heard
/// again instead of taken.
const TRAILER: usize = 4;

/// One block, RaptorQ-coded at one speed: its object is its data and the
/// data's CRC-32. Gives its source packets, then repair packets, until
/// the one-byte symbol ids are spent.
pub(crate) struct BlockCoder {
    coder: raptorq::SourceBlockEncoder,
    pub(crate) source: u32,
    next: u32,
    template: Packet,
}

impl BlockCoder {
    pub(crate) fn new(
        speed: Speed,
        stream: u16,
        number: u16,
        of: u16,
        data: &[u8],
    ) -> Result<BlockCoder, VoiceError> {
        let size = frame::symbol_size(speed);
        if data.is_empty() || data.len() > max_block(speed) {
            return Err(VoiceError::BlockTooLarge(data.len()));
        }
        let mut object = data.to_vec();
        object.extend_from_slice(&crc32fast::hash(data).to_be_bytes());
        let length =
            u16::try_from(object.len()).map_err(|_| VoiceError::BlockTooLarge(data.len()))?;
        let source = object.len().div_ceil(size);
        // The coder takes whole symbols: the last is padded.
        object.resize(source * size, 0);
        Ok(BlockCoder {
            coder: raptorq::SourceBlockEncoder::new(0, &oti(length, speed), &object),
            source: source as u32,
            next: 0,
            template: Packet {
                speed,
                stream,
                block: number,
                blocks: of,
                length,
                esi: 0,
                symbol: Vec::new(),
            },
        })
    }

    pub(crate) fn next(&mut self) -> Option<Packet> {
        let esi = u8::try_from(self.next).ok()?;
        self.next += 1;
        let coded = if u32::from(esi) < self.source {
            self.coder
                .source_packets()
                .into_iter()
                .nth(usize::from(esi))?
        } else {
            self.coder
                .repair_packets(u32::from(esi) - self.source, 1)
                .into_iter()
                .next()?
        };
        let mut symbol = coded.data().to_vec();
        symbol.resize(frame::symbol_size(self.template.speed), 0);
        Some(Packet {
            esi,
            symbol,
            ..self.template.clone()
        })
    }
}

pub(crate) fn oti(length: u16, speed: Speed) -> ObjectTransmissionInformation {
    ObjectTransmissionInformation::new(u64::from(length), frame::symbol_size(speed) as u16, 1, 1, 1)
}

/// Rebuilds blocks from what it hears, across any number of pieces of
/// audio, and across streams: a packet is used only with packets of the
/// same stream and block.
#[derive(Default)]
pub struct Receiver {
    /// A block's decoder for each speed and length it was sent with
    /// (packets that disagree are never mixed), with the packets it holds
    /// and when it last took one.
    decoders: HashMap<Key, (usize, u64, raptorq::Decoder)>,
    done: HashSet<(u16, u16)>,
    /// The CRC-32 of each whole block, which an acknowledgement proves
    /// it was heard with.
    whole: HashMap<(u16, u16), u32>,
    /// Packets taken, so that one heard twice (where two pieces of sound
    /// overlap) counts once.
    seen: HashSet<(Key, u8)>,
    /// Each stream's block count, as its first packet said, and the
    /// packets heard of it.
    streams: HashMap<u16, (u16, usize)>,
    /// Packets taken, in all: the clock of `decoders`.
    taken: u64,
    /// Blocks rebuilt that failed their CRC (a forged or stray packet
    /// among theirs); they are heard again.
    pub forged: usize,
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

/// A block as one decoder sees it: stream, block, speed, length.
type Key = (u16, u16, Speed, u16);

/// Decoders open at most: a hostile sound naming a new block in every
/// packet pushes out the longest idle, never grows memory.
const MAX_OPEN: usize = 512;
/// Streams remembered at most.
const MAX_STREAMS: usize = 64;

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

    /// How many packets of a block are held: the most of any one
    /// decoder, or `u8::MAX` once it is whole.
    pub fn held(&self, stream: u16, block: u16) -> u8 {
        if self.done.contains(&(stream, block)) {
            return u8::MAX;
        }
        self.decoders
            .iter()
            .filter(|((s, b, _, _), _)| (*s, *b) == (stream, block))
            .map(|(_, (held, _, _))| (*held).min(254) as u8)
            .max()
            .unwrap_or(0)
    }

    /// The CRC-32 of a whole block.
    pub fn whole(&self, stream: u16, block: u16) -> Option<u32> {
        self.whole.get(&(stream, block)).copied()
    }

    /// The stream most heard whose block count is not `except`, and its
    /// block count.
    pub fn loudest(&self, except: u16) -> Option<(u16, u16)> {
        self.streams
            .iter()
            .filter(|(_, (of, _))| *of != except)
            .max_by_key(|(_, (_, packets))| *packets)
            .map(|(&stream, &(of, _))| (stream, of))
    }

    fn take(&mut self, packet: Packet) -> Option<Block> {
        let block = (packet.stream, packet.block);
        let largest = MAX_SOURCE * frame::symbol_size(packet.speed);
        if usize::from(packet.length) <= TRAILER || usize::from(packet.length) > largest {
            self.conflicting += 1;
            return None;
        }
        let key = (packet.stream, packet.block, packet.speed, packet.length);
        if self.done.contains(&block) || !self.seen.insert((key, packet.esi)) {
            return None;
        }
        self.packets += 1;
        self.taken += 1;
        self.note_stream(&packet);
        if !self.decoders.contains_key(&key) && self.decoders.len() >= MAX_OPEN {
            let idle = self
                .decoders
                .iter()
                .min_by_key(|(_, (_, touched, _))| *touched)
                .map(|(k, _)| *k);
            if let Some(idle) = idle {
                self.forget(idle);
            }
        }
        let taken = self.taken;
        let (held, touched, decoder) = self.decoders.entry(key).or_insert_with(|| {
            (
                0,
                taken,
                raptorq::Decoder::new(oti(packet.length, packet.speed)),
            )
        });
        *held += 1;
        *touched = taken;
        let mut object = decoder.decode(EncodingPacket::new(
            PayloadId::new(0, u32::from(packet.esi)),
            packet.symbol,
        ))?;
        let at = object.len().saturating_sub(TRAILER);
        let trailer = object.split_off(at);
        let crc = crc32fast::hash(&object);
        if trailer != crc.to_be_bytes() {
            // A forged or stray packet was among these: hear it again.
            self.forged += 1;
            self.forget(key);
            return None;
        }
        self.decoders.retain(|&(s, b, _, _), _| (s, b) != block);
        self.seen.retain(|&((s, b, _, _), _)| (s, b) != block);
        self.done.insert(block);
        self.whole.insert(block, crc);
        Some(Block {
            stream: packet.stream,
            number: packet.block,
            of: packet.blocks,
            data: object,
        })
    }

    fn forget(&mut self, key: Key) {
        self.decoders.remove(&key);
        self.seen.retain(|(k, _)| *k != key);
    }

    fn note_stream(&mut self, packet: &Packet) {
        if !self.streams.contains_key(&packet.stream) && self.streams.len() >= MAX_STREAMS {
            let least = self
                .streams
                .iter()
                .min_by_key(|(_, (_, packets))| *packets)
                .map(|(s, _)| *s);
            if let Some(least) = least {
                self.streams.remove(&least);
            }
        }
        self.streams
            .entry(packet.stream)
            .or_insert((packet.blocks, 0))
            .1 += 1;
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
    fn a_forged_packet_spoils_no_block_and_no_memory_grows_without_bound() {
        let sent = blocks(8, &[300]);
        let mut coder = BlockCoder::new(Speed::Robust, 5, 0, 1, &sent[0]).expect("coder");
        let honest: Vec<Packet> = (0..6).map_while(|_| coder.next()).collect();
        assert_eq!(coder.source, 2);
        let mut receiver = Receiver::new();
        // A forged first packet, then an honest one: the block rebuilt
        // fails its CRC and is heard again, from honest packets.
        let mut forged = honest[0].clone();
        forged.symbol.iter_mut().for_each(|b| *b ^= 0x5a);
        assert!(receiver.take(forged).is_none());
        assert!(receiver.take(honest[1].clone()).is_none());
        assert_eq!(receiver.forged, 1);
        assert!(receiver.take(honest[2].clone()).is_none());
        let block = receiver.take(honest[3].clone()).expect("rebuilt");
        assert_eq!(block.data, sent[0]);
        assert_eq!(receiver.held(5, 0), u8::MAX);
        // Packets that claim impossible lengths are refused; a flood of
        // new blocks keeps at most MAX_OPEN decoders.
        let mut liar = honest[0].clone();
        liar.length = u16::MAX;
        assert!(receiver.take(liar).is_none());
        for block in 0..(MAX_OPEN as u16 + 100) {
            let mut p = honest[0].clone();
            p.stream = 6;
            p.block = block;
            let _ = receiver.take(p);
        }
        assert!(receiver.decoders.len() <= MAX_OPEN);
    }

    #[test]
    fn blocks_too_large_or_empty_are_refused() {
        let big = vec![0u8; max_block(Speed::Robust) + 1];
        assert!(Transmission::new(Speed::Robust, 1, &[big], 0.25).is_err());
        assert!(Transmission::new(Speed::Robust, 1, &[Vec::new()], 0.25).is_err());
    }
}
