//! `call send --live` and `call receive --live`: a call both ways, through
//! the sound card (ALSA's `arecord` and `aplay`) or any pipe, with the
//! session of `samizdat-voice` (frames one way, acknowledgements back).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use samizdat_node::call;
use samizdat_store::Store;
use samizdat_voice::{Caller, Listener, MAX_LIVE_BLOCKS, RATE, Speed};
use serde_json::json;

use super::{Keeper, clock};
use crate::cli::AudioArgs;
use crate::context::Context;
use crate::exit::Code;

/// Samples read at a time: a fifth of a second.
const CHUNK: usize = RATE as usize / 5;

/// Where a call's sound goes, and the player to wait for.
struct Out {
    sink: Box<dyn Write + Send>,
    child: Option<Child>,
}

impl Out {
    fn open(audio: &AudioArgs) -> Result<Out> {
        match &audio.audio_out {
            Some(path) if path == Path::new("-") => Ok(Out {
                sink: Box::new(std::io::stdout()),
                child: None,
            }),
            Some(path) => Ok(Out {
                sink: Box::new(
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .open(path)
                        .with_context(|| format!("opening {}", path.display()))?,
                ),
                child: None,
            }),
            None => {
                let mut child = alsa("aplay", audio)
                    .stdin(Stdio::piped())
                    .spawn()
                    .context("starting aplay (Debian: apt install alsa-utils) to play the call")?;
                let sink = child
                    .stdin
                    .take()
                    .ok_or_else(|| anyhow!("aplay took no input"))?;
                Ok(Out {
                    sink: Box::new(sink),
                    child: Some(child),
                })
            }
        }
    }

    fn play(&mut self, samples: &[f32]) -> std::io::Result<()> {
        let bytes: Vec<u8> = samples
            .iter()
            .flat_map(|s| (s.clamp(-32_768.0, 32_767.0).round() as i16).to_le_bytes())
            .collect();
        self.sink.write_all(&bytes)?;
        self.sink.flush()
    }

    /// Closes the sound's way out and waits for the player to finish.
    fn finish(self) {
        drop(self.sink);
        if let Some(mut child) = self.child {
            let _ = child.wait();
        }
    }
}

/// `arecord` or `aplay` for 8 kHz mono 16-bit raw sound.
fn alsa(program: &str, audio: &AudioArgs) -> Command {
    let mut command = Command::new(program);
    command.args(["-q", "-t", "raw", "-f", "S16_LE", "-r", "8000", "-c", "1"]);
    if let Some(device) = &audio.device {
        command.args(["-D", device]);
    }
    command
}

/// Starts hearing: a thread reads the sound in chunks and hands them on
/// until it ends.
fn hear(audio: &AudioArgs) -> Result<(mpsc::Receiver<Vec<f32>>, Option<Child>)> {
    let (source, child): (Box<dyn Read + Send>, Option<Child>) = match &audio.audio_in {
        Some(path) if path == Path::new("-") => (Box::new(std::io::stdin()), None),
        Some(path) => (
            Box::new(
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
            ),
            None,
        ),
        None => {
            let mut child = alsa("arecord", audio)
                .stdout(Stdio::piped())
                .spawn()
                .context("starting arecord (Debian: apt install alsa-utils) to hear the call")?;
            let out = child
                .stdout
                .take()
                .ok_or_else(|| anyhow!("arecord gave no output"))?;
            (Box::new(out), Some(child))
        }
    };
    let (tx, rx) = mpsc::sync_channel(64);
    std::thread::spawn(move || {
        let mut source = source;
        let mut bytes = vec![0u8; CHUNK * 2];
        // Bounded by the sound: ends when it does, or when nobody listens.
        loop {
            let mut filled = 0;
            while filled < bytes.len() {
                match source.read(&mut bytes[filled..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => filled += n,
                }
            }
            let samples: Vec<f32> = bytes[..filled]
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])))
                .collect();
            let ended = filled < bytes.len();
            if !samples.is_empty() && tx.send(samples).is_err() {
                return;
            }
            if ended {
                return;
            }
        }
    });
    Ok((rx, child))
}

/// Human words go to standard error when standard output carries sound.
fn say(audio: &AudioArgs, line: &str) {
    if audio.audio_out.as_deref() == Some(Path::new("-")) {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

pub(super) fn send(
    ctx: &Context,
    records: &[String],
    redundancy: f64,
    audio: &AudioArgs,
) -> Result<Code> {
    let mut blocks = call::pack(
        records.iter().map(String::as_str),
        samizdat_voice::max_block(Speed::Robust),
    )?;
    // One acknowledgement speaks for every block of a call: what is beyond
    // goes in the next call.
    let mut records = records;
    if blocks.len() > MAX_LIVE_BLOCKS {
        blocks.truncate(MAX_LIVE_BLOCKS);
        let carried: usize = blocks
            .iter()
            .map(|b| call::unpack(b).map_or(0, |events| events.len()))
            .sum();
        eprintln!(
            "this call carries the first {carried} of {} records; call again for the rest \
             (`--for` the other side's want file)",
            records.len()
        );
        records = &records[..carried];
    }
    let json_bytes: usize = records.iter().map(String::len).sum();
    let count = blocks.len();
    let mut caller = Caller::new(rand::random(), blocks, redundancy)?;
    // The caller opens its way out first and the listener its way in, so
    // that two named pipes between them open in the same order.
    let mut out = Out::open(audio)?;
    let (heard, recorder) = hear(audio)?;
    let limit = audio.max_minutes * 60 * u64::from(RATE);
    let (mut played, mut frames) = (0u64, 0u64);
    let mut acknowledged = 0;
    // Bounded: each turn plays a frame, and the call stops at its limit.
    while played < limit {
        while let Ok(chunk) = heard.try_recv() {
            caller.hear(&chunk);
        }
        let Some(sound) = caller.next_frame() else {
            break;
        };
        if out.play(&sound).is_err() {
            break;
        }
        played += sound.len() as u64;
        frames += 1;
        let whole = caller
            .last_ack
            .as_ref()
            .map_or(0, |a| a.held.iter().filter(|&&h| h == u8::MAX).count());
        if whole != acknowledged || frames == 1 {
            acknowledged = whole;
            if !ctx.json {
                eprintln!(
                    "sending at the {} speed: {frames} frames, {} of sound; the other side \
                     holds {whole} of {count} blocks",
                    caller.speed().name(),
                    clock(played as f64 / f64::from(RATE)),
                );
            }
        }
    }
    let _ = out.play(&caller.closing());
    out.finish();
    if let Some(mut child) = recorder {
        let _ = child.kill();
        let _ = child.wait();
    }
    let complete = caller.complete();
    let seconds = played as f64 / f64::from(RATE);
    let summary = json!({
        "records": records.len(), "json_bytes": json_bytes, "blocks": count,
        "frames": frames, "robust_frames": caller.sent[0], "fast_frames": caller.sent[1],
        "seconds": seconds, "acknowledged": caller.last_ack.is_some(), "complete": complete,
    });
    if ctx.json {
        say(audio, &summary.to_string());
    } else {
        say(
            audio,
            &format!(
                "sent {} records ({json_bytes} bytes as JSON) in {} of sound, {} frames robust and \
                 {} fast: {}",
                records.len(),
                clock(seconds),
                caller.sent[0],
                caller.sent[1],
                if complete {
                    "the other side holds them all"
                } else if caller.last_ack.is_some() {
                    "the other side does not hold them all yet; call again"
                } else {
                    "no acknowledgement came back (one way, as a radio)"
                }
            ),
        );
    }
    Ok(if complete || caller.last_ack.is_none() {
        Code::Success
    } else {
        Code::Problems
    })
}

pub(super) fn receive(ctx: &Context, store: &Store, audio: &AudioArgs) -> Result<Code> {
    let mut listener = Listener::new(rand::random());
    let mut keeper = Keeper::new(store)?;
    let (heard, recorder) = hear(audio)?;
    // Acknowledgements are played by a thread of their own, so that
    // hearing never waits on playing.
    let (acks, to_play) = mpsc::sync_channel::<Vec<f32>>(4);
    let mut out = Out::open(audio)?;
    let player = std::thread::spawn(move || {
        for sound in to_play {
            if out.play(&sound).is_err() {
                break;
            }
        }
        out.finish();
    });
    let limit = audio.max_minutes * 60 * u64::from(RATE);
    let (mut listened, mut after_complete) = (0u64, 0u64);
    // After the last block, acknowledgements go on this long, so that the
    // caller hears that everything arrived.
    let linger = 3 * samizdat_voice::OVERLAP as u64;
    // Bounded: the sound ends, or the limit is reached.
    while listened < limit && after_complete < linger {
        let Ok(chunk) = heard.recv_timeout(Duration::from_secs(30)) else {
            break;
        };
        listened += chunk.len() as u64;
        let (blocks, ack) = listener.hear(&chunk);
        for block in &blocks {
            for line in keeper.keep(block)? {
                if !ctx.json {
                    say(audio, &line);
                }
            }
            if !ctx.json {
                eprintln!(
                    "heard {} of {} blocks: {} records, {} bytes, {} of sound",
                    keeper.blocks,
                    keeper.of,
                    keeper.stored + keeper.already,
                    keeper.json_bytes,
                    clock(listened as f64 / f64::from(RATE))
                );
            }
        }
        if let Some(ack) = ack {
            let _ = acks.try_send(ack);
        }
        if listener.complete() {
            after_complete += chunk.len() as u64;
        }
    }
    for block in listener.flush() {
        for line in keeper.keep(&block)? {
            if !ctx.json {
                say(audio, &line);
            }
        }
    }
    drop(acks);
    if let Some(mut child) = recorder {
        let _ = child.kill();
        let _ = child.wait();
    }
    let _ = player.join();
    let seconds = listened as f64 / f64::from(RATE);
    let summary = json!({
        "seconds": seconds, "frames": listener.receiver.frames, "blocks": keeper.blocks,
        "of": keeper.of, "stored": keeper.stored, "already": keeper.already,
        "refused": keeper.refused(), "json_bytes": keeper.json_bytes,
        "complete": listener.complete(),
    });
    if ctx.json {
        say(audio, &summary.to_string());
    } else if listener.receiver.frames == 0 {
        say(
            audio,
            &format!(
                "heard no transmission in {} of sound: nothing stored",
                clock(seconds)
            ),
        );
    } else {
        say(
            audio,
            &format!(
                "heard {} of {} blocks in {} of sound; stored {} records ({} bytes as JSON), {} \
                 already here, {} refused",
                keeper.blocks,
                keeper.of,
                clock(seconds),
                keeper.stored,
                keeper.json_bytes,
                keeper.already,
                keeper.refused()
            ),
        );
    }
    if listener.receiver.frames == 0 {
        return Ok(Code::Failure);
    }
    Ok(keeper.code())
}
