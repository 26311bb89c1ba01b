//! A modem for voice channels: blocks of bytes carried through a phone
//! call's speech codec (AMR-NB, GSM full rate, Opus), or an analog radio,
//! as sound.
//!
//! Layers, from the sound up (docs/VOICE.md says why each is so):
//! - `tones`: multi-tone frequency-shift keying. Every 20 ms symbol sounds
//!   one of 16 tones in each of two or four bands; a speech codec keeps a
//!   few steady tones, and the receiver needs only their energy, not their
//!   phase or level.
//! - `frame`: a frame is a known sync pattern, then Reed-Solomon codewords
//!   that each carry one packet with its own CRC.
//! - `fountain`: each block of data is RaptorQ-coded into packets; any
//!   enough of them rebuild it, whichever were lost.
//! - `session`: a live call both ways: the caller's frames, the listener's
//!   acknowledgements, the speed chosen from what crosses.
//! - `wav`: 8 kHz mono 16-bit WAV files, in and out.

mod fountain;
mod frame;
mod session;
mod tones;
pub mod wav;

pub use fountain::{Block, OVERLAP, Receiver, SYMBOL_SECONDS, Transmission, max_block};
pub use frame::Packet;
pub use session::{Ack, Caller, Listener, MAX_LIVE_BLOCKS};

/// Samples per second of every signal.
pub const RATE: u32 = 8_000;

/// How fast a transmission goes: how many tone bands sound at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Speed {
    /// Two bands, 400 bit/s before coding: through AMR-NB at any rate,
    /// GSM full rate, Opus at 8 kbit/s and analog radios.
    Robust,
    /// Four bands, 800 bit/s before coding: through AMR-NB 12.2 kbit/s
    /// and analog radios.
    Fast,
}

impl Speed {
    pub const ALL: [Speed; 2] = [Speed::Robust, Speed::Fast];

    /// Tone bands sounding at once.
    pub(crate) const fn bands(self) -> usize {
        match self {
            Speed::Robust => 2,
            Speed::Fast => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Speed::Robust => "robust",
            Speed::Fast => "fast",
        }
    }

    pub(crate) const fn code(self) -> u8 {
        match self {
            Speed::Robust => 1,
            Speed::Fast => 2,
        }
    }
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "robust" => Ok(Speed::Robust),
            "fast" => Ok(Speed::Fast),
            _ => Err(format!("no speed {s:?}: robust or fast")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error("not a WAV file this can read: {0}")]
    Wav(#[from] hound::Error),
    #[error(
        "the audio is {found}; a call is recorded as 8000 Hz mono 16-bit PCM \
         (convert it, for example: sox IN -r 8000 -c 1 -b 16 OUT.wav)"
    )]
    Format { found: String },
    #[error("a block of {0} bytes is larger than a transmission can carry")]
    BlockTooLarge(usize),
    #[error("{0} blocks are more than one live call carries")]
    TooManyBlocks(usize),
    #[error("writing the audio: {0}")]
    Io(#[from] std::io::Error),
}
