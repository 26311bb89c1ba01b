//! WAV files: 8 kHz mono 16-bit PCM, the one format a call is kept in.

use std::io::{Read, Seek, Write};

use crate::{RATE, VoiceError};

/// Reads every sample of a WAV file, refusing any other format with a
/// message that says what it found.
pub fn read(input: impl Read) -> Result<Vec<f32>, VoiceError> {
    let mut all = Vec::new();
    read_in_pieces(input, usize::MAX, 0, |piece| all.extend_from_slice(piece))?;
    Ok(all)
}

/// Reads a WAV file in pieces of `piece` samples, each starting with the
/// last `overlap` samples of the one before, so that however long the
/// file, memory stays bounded; returns how many samples it had.
pub fn read_in_pieces(
    input: impl Read,
    piece: usize,
    overlap: usize,
    mut each: impl FnMut(&[f32]),
) -> Result<usize, VoiceError> {
    let reader = hound::WavReader::new(input)?;
    let spec = reader.spec();
    if spec.sample_rate != RATE
        || spec.channels != 1
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
    {
        return Err(VoiceError::Format {
            found: format!(
                "{} Hz, {} channel{}, {}-bit {}",
                spec.sample_rate,
                spec.channels,
                if spec.channels == 1 { "" } else { "s" },
                spec.bits_per_sample,
                match spec.sample_format {
                    hound::SampleFormat::Int => "PCM",
                    hound::SampleFormat::Float => "float",
                }
            ),
        });
    }
    // A truncated file ends where its samples end; what was read is kept.
    let mut samples = Vec::new();
    let (mut total, mut fresh) = (0, 0);
    for sample in reader.into_samples::<i16>() {
        match sample {
            Ok(s) => samples.push(f32::from(s)),
            Err(hound::Error::IoError(_)) => break,
            Err(e) => return Err(e.into()),
        }
        total += 1;
        fresh += 1;
        if samples.len() >= piece {
            each(&samples);
            samples.drain(..samples.len() - overlap.min(samples.len()));
            fresh = 0;
        }
    }
    if fresh > 0 || total == 0 {
        each(&samples);
    }
    Ok(total)
}

/// Writes `samples` as a WAV file.
pub fn write(output: impl Write + Seek, samples: &[f32]) -> Result<(), VoiceError> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::new(output, spec)?;
    for s in samples {
        writer.write_sample(s.clamp(-32_768.0, 32_767.0).round() as i16)?;
    }
    writer.finalize()?;
    Ok(())
}
