//! A live call, both ways at once: the caller sends frames of its blocks
//! and hears acknowledgements; the listener hears the frames, rebuilds
//! blocks and answers, on its own half of the call, with what it holds.
//!
//! An acknowledgement is one robust frame whose block is
//! `ACK1 | stream 2 | robust frames heard 4 | fast frames heard 4 |
//! proof 4 | blocks 2 | per block: packets held (255: whole)`, where the
//! proof is the CRC-32 of the CRC-32s (big-endian) of the whole blocks,
//! in order: only who rebuilt them can say they are whole.
//!
//! From it the caller learns which blocks are whole (it sends no more of
//! them), which need more (it sends repair packets for them, fewest held
//! first), and whether the fast speed crosses this call (its second frame
//! is a fast one, a probe). With no acknowledgement at all (a radio, one
//! way), the caller sends what a one-way transmission would, and a few
//! frames more, and stops.

use std::collections::HashMap;

use crate::fountain::{BlockCoder, closing, opening};
use crate::frame::{self, Packet};
use crate::tones::Modulator;
use crate::{Block, Receiver, Speed, VoiceError};

const MAGIC: &[u8; 4] = b"ACK1";
/// The block count an acknowledgement says it is: no transmission has
/// that many.
const ACK_BLOCKS: u16 = u16::MAX;
/// Blocks a live call carries at most: one acknowledgement must hold a
/// byte for each, in one packet. Records beyond go in the next call.
pub const MAX_LIVE_BLOCKS: usize = 128;

/// What a listener holds of one transmission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    pub stream: u16,
    /// Frames heard at each speed (robust, fast), in all.
    pub heard: [u32; 2],
    /// The CRC-32 of the whole blocks' CRC-32s.
    pub proof: u32,
    /// Packets held of each block; `u8::MAX`: whole.
    pub held: Vec<u8>,
}

/// The proof that the blocks `held` marks whole were rebuilt, from each
/// block's CRC-32.
fn proof(held: &[u8], crc: impl Fn(usize) -> Option<u32>) -> Option<u32> {
    let mut hasher = crc32fast::Hasher::new();
    for (block, _) in held.iter().enumerate().filter(|(_, h)| **h == u8::MAX) {
        hasher.update(&crc(block)?.to_be_bytes());
    }
    Some(hasher.finalize())
}

impl Ack {
    fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&self.stream.to_be_bytes());
        out.extend_from_slice(&self.heard[0].to_be_bytes());
        out.extend_from_slice(&self.heard[1].to_be_bytes());
        out.extend_from_slice(&self.proof.to_be_bytes());
        out.extend_from_slice(&(self.held.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.held);
        out
    }

    fn decode(data: &[u8]) -> Option<Ack> {
        let rest = data.strip_prefix(MAGIC)?;
        let stream = u16::from_be_bytes(rest.get(0..2)?.try_into().ok()?);
        let robust = u32::from_be_bytes(rest.get(2..6)?.try_into().ok()?);
        let fast = u32::from_be_bytes(rest.get(6..10)?.try_into().ok()?);
        let proof = u32::from_be_bytes(rest.get(10..14)?.try_into().ok()?);
        let count = usize::from(u16::from_be_bytes(rest.get(14..16)?.try_into().ok()?));
        let held = rest.get(16..16 + count)?.to_vec();
        Some(Ack {
            stream,
            heard: [robust, fast],
            proof,
            held,
        })
    }

    /// Whether every block is whole.
    pub fn complete(&self) -> bool {
        !self.held.is_empty() && self.held.iter().all(|&h| h == u8::MAX)
    }
}

/// The listening side of a live call.
pub struct Listener {
    pub receiver: Receiver,
    /// The transmission being heard: the first one heard.
    pub stream: Option<u16>,
    /// Blocks in it.
    pub blocks: u16,
    ack_stream: u16,
    acks: u16,
    /// The last `OVERLAP` samples heard, so that a frame cut between two
    /// pieces is whole in the next.
    tail: Vec<f32>,
    /// Samples heard since the last acknowledgement was made.
    since_ack: usize,
    /// Samples in `tail` not listened to yet.
    pending: usize,
}

/// Listens again once this much new sound has come: two seconds.
const LISTEN_EVERY: usize = 2 * crate::RATE as usize;

/// Adds `samples` to `tail` and, once enough has come, listens to it and
/// keeps only its last `OVERLAP` samples, so that a frame cut between two
/// listenings is whole in the next.
fn listen_on(
    receiver: &mut Receiver,
    tail: &mut Vec<f32>,
    pending: &mut usize,
    samples: &[f32],
) -> Vec<Block> {
    tail.extend_from_slice(samples);
    *pending += samples.len();
    if *pending < LISTEN_EVERY {
        return Vec::new();
    }
    *pending = 0;
    let blocks = receiver.listen(tail);
    let keep = tail.len().saturating_sub(crate::OVERLAP);
    tail.drain(..keep);
    blocks
}

impl Listener {
    pub fn new(ack_stream: u16) -> Listener {
        Listener {
            receiver: Receiver::new(),
            stream: None,
            blocks: 0,
            ack_stream,
            acks: 0,
            tail: Vec::new(),
            since_ack: 0,
            pending: 0,
        }
    }

    /// Hears `samples`; returns the blocks they completed and, once a
    /// frame's worth of sound has been heard since the last, the sound of
    /// an acknowledgement to play back.
    pub fn hear(&mut self, samples: &[f32]) -> (Vec<Block>, Option<Vec<f32>>) {
        let blocks: Vec<Block> = listen_on(
            &mut self.receiver,
            &mut self.tail,
            &mut self.pending,
            samples,
        )
        .into_iter()
        .filter(|b| b.of != ACK_BLOCKS)
        .collect();
        // The transmission answered is the one most heard: a frame slipped
        // in by someone else cannot take the listener away from it.
        if let Some((stream, of)) = self.receiver.loudest(ACK_BLOCKS) {
            self.stream = Some(stream);
            self.blocks = of.min(MAX_LIVE_BLOCKS as u16);
        }
        self.since_ack += samples.len();
        let ack = (self.since_ack >= ack_every() && self.stream.is_some())
            .then(|| {
                self.since_ack = 0;
                self.ack_sound()
            })
            .flatten();
        (blocks, ack)
    }

    /// Listens to what is left of the sound once it has ended.
    pub fn flush(&mut self) -> Vec<Block> {
        if self.pending == 0 {
            return Vec::new();
        }
        self.pending = 0;
        self.receiver
            .listen(&self.tail)
            .into_iter()
            .filter(|b| b.of != ACK_BLOCKS)
            .collect()
    }

    /// What is held, as an acknowledgement says it.
    pub fn ack(&self) -> Option<Ack> {
        let stream = self.stream?;
        let held: Vec<u8> = (0..self.blocks)
            .map(|b| self.receiver.held(stream, b))
            .collect();
        let proof = proof(&held, |b| self.receiver.whole(stream, b as u16))?;
        Some(Ack {
            stream,
            heard: self.receiver.heard.map(|n| n as u32),
            proof,
            held,
        })
    }

    fn ack_sound(&mut self) -> Option<Vec<f32>> {
        let ack = self.ack()?;
        self.acks = self.acks.wrapping_add(1);
        let packets = crate::Transmission::block_packets(
            Speed::Robust,
            self.ack_stream,
            self.acks,
            ACK_BLOCKS,
            &ack.encode(),
            0.0,
        )
        .ok()?;
        let mut modulator = Modulator::new();
        opening(&mut modulator, Speed::Robust);
        frame::sound(&mut modulator, Speed::Robust, &packets[..1]);
        closing(&mut modulator, Speed::Robust);
        Some(modulator.samples)
    }

    /// Whether every block of the transmission is whole.
    pub fn complete(&self) -> bool {
        self.ack().is_some_and(|a| a.complete())
    }
}

/// Samples between acknowledgements: one robust frame's length, so that
/// the listener's half of the call is one acknowledgement after another.
fn ack_every() -> usize {
    frame::frame_symbols(Speed::Robust) * crate::tones::SYMBOL
}

/// What the caller knows of the fast speed on this call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fast {
    Untried,
    /// A fast frame went out after this many robust ones.
    Probing {
        after: u32,
    },
    Crosses,
    /// Not now; tried again once this many robust frames have gone.
    DoesNot {
        until: u32,
    },
}

/// Fast frames sent with no more of them heard before the call is taken
/// to have got worse (a network lowers AMR's rate when the radio link
/// does): more than the frames an acknowledgement takes to come back.
const FAST_UNHEARD: u32 = 8;
/// Robust frames before the fast speed is tried again.
const RETRY_FAST: u32 = 20;

/// The calling side of a live call.
pub struct Caller {
    stream: u16,
    blocks: Vec<Vec<u8>>,
    /// Each block's coder at each speed it was sent at.
    coders: HashMap<(u16, Speed), BlockCoder>,
    /// Acknowledgements refused: another stream's, or a proof that does
    /// not match (forged, or garbled).
    pub refused_acks: usize,
    hearing: Receiver,
    tail: Vec<f32>,
    pending: usize,
    pub last_ack: Option<Ack>,
    fast: Fast,
    /// Fast frames the listener last said it heard, and fast frames sent
    /// when it said so.
    fast_heard: (u32, u32),
    /// Frames sent at each speed.
    pub sent: [u32; 2],
    /// The one-way schedule: packets still to send of each block.
    planned: Vec<u32>,
    /// Repair packets sent, once the schedule is done, while waiting for
    /// a first acknowledgement.
    spare: u32,
    started: bool,
}

/// Frames of repair a caller sends after its schedule while no
/// acknowledgement has come: about the time one takes to arrive.
const PATIENCE: u32 = 4;

impl Caller {
    pub fn new(stream: u16, blocks: Vec<Vec<u8>>, redundancy: f64) -> Result<Caller, VoiceError> {
        if blocks.len() > MAX_LIVE_BLOCKS {
            return Err(VoiceError::TooManyBlocks(blocks.len()));
        }
        for block in &blocks {
            if block.is_empty() || block.len() > crate::max_block(Speed::Robust) {
                return Err(VoiceError::BlockTooLarge(block.len()));
            }
        }
        let size = frame::symbol_size(Speed::Robust);
        let planned = blocks
            .iter()
            .map(|b| {
                let source = (b.len() + 4).div_ceil(size) as f64;
                (source + (source * redundancy).ceil().max(1.0)) as u32
            })
            .collect();
        Ok(Caller {
            stream,
            blocks,
            coders: HashMap::new(),
            refused_acks: 0,
            hearing: Receiver::new(),
            tail: Vec::new(),
            pending: 0,
            last_ack: None,
            fast: Fast::Untried,
            fast_heard: (0, 0),
            sent: [0, 0],
            planned,
            spare: PATIENCE * frame::packets_per_frame(Speed::Fast) as u32,
            started: false,
        })
    }

    /// Hears the other half of the call: acknowledgements of this
    /// transmission.
    pub fn hear(&mut self, samples: &[f32]) {
        for block in listen_on(
            &mut self.hearing,
            &mut self.tail,
            &mut self.pending,
            samples,
        ) {
            if block.of != ACK_BLOCKS {
                continue;
            }
            let Some(ack) = Ack::decode(&block.data) else {
                continue;
            };
            let proven = ack.stream == self.stream
                && ack.held.len() == self.blocks.len()
                && proof(&ack.held, |b| Some(crc32fast::hash(&self.blocks[b]))) == Some(ack.proof);
            if !proven {
                self.refused_acks += 1;
                continue;
            }
            self.learn(&ack);
            self.last_ack = Some(ack);
        }
    }

    fn learn(&mut self, ack: &Ack) {
        if ack.heard[1] > self.fast_heard.0 {
            self.fast_heard = (ack.heard[1], self.sent[1]);
            self.fast = Fast::Crosses;
            return;
        }
        self.fast = match self.fast {
            // Robust frames sent after the probe were heard, the probe
            // was not.
            Fast::Probing { after } if ack.heard[0] > after + 1 => Fast::DoesNot {
                until: self.sent[0] + RETRY_FAST,
            },
            other => other,
        };
    }

    /// Falls back to the robust speed when fast frames stop being heard,
    /// and tries the fast one again after a while.
    fn reconsider(&mut self) {
        self.fast = match self.fast {
            Fast::Crosses if self.sent[1] > self.fast_heard.1 + FAST_UNHEARD => Fast::DoesNot {
                until: self.sent[0] + RETRY_FAST,
            },
            Fast::DoesNot { until } if self.sent[0] >= until => Fast::Untried,
            other => other,
        };
    }

    /// Whether the listener holds every block.
    pub fn complete(&self) -> bool {
        self.last_ack.as_ref().is_some_and(Ack::complete)
    }

    /// The speed of the next frame.
    pub fn speed(&self) -> Speed {
        match self.fast {
            Fast::Crosses => Speed::Fast,
            _ => Speed::Robust,
        }
    }

    /// The sound of the next frame, or `None` when there is nothing more
    /// to send: every block is acknowledged whole, or, with no
    /// acknowledgement ever heard, the one-way schedule is done.
    pub fn next_frame(&mut self) -> Option<Vec<f32>> {
        if self.complete() {
            return None;
        }
        self.reconsider();
        let mut speed = self.speed();
        // The probe goes second, so that the first acknowledgement already
        // says whether the fast speed crosses; later probes, once an
        // acknowledgement has come since the fall back.
        if self.fast == Fast::Untried && (self.sent == [1, 0] || self.last_ack.is_some()) {
            speed = Speed::Fast;
            self.fast = Fast::Probing {
                after: self.sent[0],
            };
        }
        let mut packets = Vec::new();
        for _ in 0..frame::packets_per_frame(speed) {
            match self.next_packet(speed) {
                Some(p) => packets.push(p),
                None => break,
            }
        }
        if packets.is_empty() {
            return None;
        }
        let mut modulator = Modulator::new();
        if !self.started {
            opening(&mut modulator, speed);
            self.started = true;
        }
        frame::sound(&mut modulator, speed, &packets);
        self.sent[usize::from(speed == Speed::Fast)] += 1;
        Some(modulator.samples)
    }

    /// The last sound of a call.
    pub fn closing(&self) -> Vec<f32> {
        let mut modulator = Modulator::new();
        closing(&mut modulator, self.speed());
        modulator.samples
    }

    fn held(&self, block: usize) -> u8 {
        self.last_ack
            .as_ref()
            .and_then(|a| a.held.get(block).copied())
            .unwrap_or(0)
    }

    /// The next packet: the one-way schedule first, block by block,
    /// skipping what is acknowledged whole; then, while acknowledgements
    /// come, repair for the block that holds least.
    fn next_packet(&mut self, speed: Speed) -> Option<Packet> {
        let unfinished: Vec<usize> = (0..self.blocks.len())
            .filter(|&b| self.held(b) != u8::MAX)
            .collect();
        if let Some(&b) = unfinished.iter().find(|&&b| self.planned[b] > 0) {
            self.planned[b] -= 1;
            return self.packet(b, speed);
        }
        // Repair where an acknowledgement says what is missing; before the
        // first, a few frames' worth while it may be on its way.
        if self.last_ack.is_none() {
            if self.spare == 0 {
                return None;
            }
            self.spare -= 1;
        }
        // Bounded: each try either makes a packet or skips a block whose
        // symbol ids are spent.
        let mut order = unfinished;
        order.sort_by_key(|&b| self.held(b));
        order.into_iter().find_map(|b| self.packet(b, speed))
    }

    fn packet(&mut self, block: usize, speed: Speed) -> Option<Packet> {
        let number = block as u16;
        let of = self.blocks.len() as u16;
        let coder = match self.coders.entry((number, speed)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(BlockCoder::new(speed, self.stream, number, of, &self.blocks[block]).ok()?)
            }
        };
        coder.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks() -> Vec<Vec<u8>> {
        let mut state = 77u64;
        [900usize, 1_800, 400]
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

    /// A call in memory: every `drop`th frame of the caller is lost
    /// (silence instead). Returns what the listener rebuilt and the
    /// caller's frames at each speed.
    fn call(drop: usize) -> (Vec<Block>, [u32; 2], Option<Ack>) {
        let sent = blocks();
        let mut caller = Caller::new(9, sent.clone(), 0.25).expect("caller");
        let mut listener = Listener::new(4);
        let mut got = Vec::new();
        let mut frames = 0;
        // Bounded: a call of at most 200 frames.
        while let Some(sound) = caller.next_frame() {
            frames += 1;
            assert!(frames < 200, "the call never ends");
            let heard = if drop > 0 && frames % drop == 0 {
                vec![0.0; sound.len()]
            } else {
                sound
            };
            // The listener hears in pieces, as from a sound card.
            for piece in heard.chunks(4_000) {
                let (blocks, ack) = listener.hear(piece);
                got.extend(blocks);
                if let Some(ack) = ack {
                    caller.hear(&ack);
                }
            }
        }
        for block in &got {
            assert_eq!(block.data, sent[usize::from(block.number)]);
        }
        (got, caller.sent, caller.last_ack.clone())
    }

    #[test]
    fn a_clean_call_ends_when_everything_is_acknowledged_and_goes_fast() {
        let (got, sent, ack) = call(0);
        assert_eq!(got.len(), 3);
        assert!(ack.is_some_and(|a| a.complete()));
        assert!(sent[1] > 0, "the fast speed was tried and kept: {sent:?}");
    }

    #[test]
    fn frames_lost_are_made_up_while_the_listener_says_what_it_lacks() {
        let (got, _, ack) = call(3);
        assert_eq!(got.len(), 3);
        assert!(ack.is_some_and(|a| a.complete()));
    }

    #[test]
    fn a_call_that_stops_carrying_the_fast_speed_falls_back_to_robust() {
        let sent = blocks();
        let mut caller = Caller::new(9, sent.clone(), 0.25).expect("caller");
        let mut listener = Listener::new(4);
        let mut got = Vec::new();
        let mut frames = 0;
        let mut fast_then_lost = 0;
        // Bounded: a call of at most 200 frames.
        while let Some(sound) = caller.next_frame() {
            frames += 1;
            assert!(frames < 200, "the call never ends");
            // Once the call has gone fast, the network lowers its rate:
            // no fast frame crosses any more.
            let fast = caller.sent[1] > 0 && caller.speed() == Speed::Fast;
            let heard = if fast && caller.sent[1] > 3 {
                fast_then_lost += 1;
                vec![0.0; sound.len()]
            } else {
                sound
            };
            for piece in heard.chunks(4_000) {
                let (blocks, ack) = listener.hear(piece);
                got.extend(blocks);
                if let Some(ack) = ack {
                    caller.hear(&ack);
                }
            }
        }
        assert!(fast_then_lost > 0, "the fast speed was lost mid-call");
        assert!(caller.complete(), "everything arrived all the same");
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn a_forged_acknowledgement_does_not_end_the_call() {
        let sent = blocks();
        let mut caller = Caller::new(9, sent.clone(), 0.25).expect("caller");
        let first = caller.next_frame().expect("a frame");
        assert!(!first.is_empty());
        // Someone on the line says every block is whole, for the right
        // stream, without having heard them.
        let forged = Ack {
            stream: 9,
            heard: [1, 0],
            proof: 0,
            held: vec![u8::MAX; sent.len()],
        };
        let packets = crate::Transmission::block_packets(
            Speed::Robust,
            77,
            1,
            ACK_BLOCKS,
            &forged.encode(),
            0.0,
        )
        .expect("packets");
        let mut modulator = Modulator::new();
        opening(&mut modulator, Speed::Robust);
        frame::sound(&mut modulator, Speed::Robust, &packets[..1]);
        closing(&mut modulator, Speed::Robust);
        modulator.silence(crate::OVERLAP);
        caller.hear(&modulator.samples);
        assert_eq!(caller.refused_acks, 1);
        assert!(!caller.complete());
        assert!(caller.next_frame().is_some(), "the call goes on");
    }

    #[test]
    fn acknowledgements_read_back_and_refuse_what_they_are_not() {
        let ack = Ack {
            stream: 3,
            heard: [7, 0],
            proof: 99,
            held: vec![u8::MAX, 4, 0],
        };
        assert_eq!(Ack::decode(&ack.encode()), Some(ack.clone()));
        assert!(!ack.complete());
        assert_eq!(Ack::decode(b"ACK1\x00"), None);
        assert_eq!(Ack::decode(b"NOPE and more bytes than that"), None);
    }
}
