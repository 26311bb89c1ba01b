//! Sends random blocks as sound, or hears them: the modem alone, for
//! trying a channel by hand.
//!
//!   cargo run --example trial -- send robust 6000 out.wav
//!   cargo run --example trial -- receive in.wav

use samizdat_voice::{Receiver, Speed, Transmission, wav};

fn blocks(bytes: usize) -> Vec<Vec<u8>> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut data = Vec::with_capacity(bytes);
    for _ in 0..bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.push(state as u8);
    }
    data.chunks(1_500).map(<[u8]>::to_vec).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [send, speed, bytes, out] if send == "send" => {
            let speed: Speed = speed.parse()?;
            let t = Transmission::new(speed, 7, &blocks(bytes.parse()?), 0.25)?;
            wav::write(
                std::io::BufWriter::new(std::fs::File::create(out)?),
                &t.samples,
            )?;
            println!("{} packets in {:.1} s", t.packets, t.seconds());
        }
        [receive, input] if receive == "receive" => {
            let samples = wav::read(std::io::BufReader::new(std::fs::File::open(input)?))?;
            let started = std::time::Instant::now();
            let mut receiver = Receiver::new();
            let got = receiver.listen(&samples);
            let expected = got.first().map_or(0, |b| b.of);
            let right = got
                .iter()
                .filter(|b| {
                    let all = blocks(usize::from(b.of) * 1_500);
                    all.get(usize::from(b.number)) == Some(&b.data)
                })
                .count();
            println!(
                "blocks {}/{} right {} frames {} unreadable {} packets {} lost {} in {:.2} s for {:.1} s",
                got.len(),
                expected,
                right,
                receiver.frames,
                receiver.unreadable,
                receiver.packets,
                receiver.lost,
                started.elapsed().as_secs_f64(),
                samples.len() as f64 / 8000.0
            );
        }
        _ => return Err("trial send SPEED BYTES OUT.wav | trial receive IN.wav".into()),
    }
    Ok(())
}
