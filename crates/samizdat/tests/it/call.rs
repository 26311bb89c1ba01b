//! Records over a phone call: `call send --wav`, a real speech codec
//! (Debian's libopencore-amrnb, libgsm, libopus, through
//! scripts/tools/voice-channel), `call receive --wav`.

use std::path::{Path, PathBuf};
use std::process::Command;

use samizdat_core::nostr::prelude::Keys;

use crate::Node;

/// The channel tool, from `SAMIZDAT_TEST_VOICE_CHANNEL` (scripts/test sets
/// it); a bare `cargo test` skips the tests that need a codec.
fn channel_tool() -> Option<PathBuf> {
    let tool = std::env::var_os("SAMIZDAT_TEST_VOICE_CHANNEL").map(PathBuf::from);
    if tool.is_none() {
        eprintln!("skipped: SAMIZDAT_TEST_VOICE_CHANNEL is not set (scripts/test sets it)");
    }
    tool
}

/// `input` through `channel` (such as "amr475 --dtx"), into `output`.
fn through(tool: &Path, channel: &str, input: &Path, output: &Path) {
    let out = Command::new(tool)
        .args(channel.split_whitespace())
        .args(["--seed", "7"])
        .stdin(std::fs::File::open(input).expect("input"))
        .stdout(std::fs::File::create(output).expect("output"))
        .output()
        .expect("voice-channel runs");
    assert!(out.status.success(), "{channel}: {out:?}");
}

/// A node with two person reports and two testimonies in Russian and
/// Kazakh: what a call is for.
fn witness() -> Node {
    let node = Node::start();
    for (name, status) in [
        ("Асель Нурланова", "detained"),
        ("Ерлан Ахметов", "missing"),
    ] {
        node.ok(&[
            "person",
            "report",
            "--name",
            name,
            "--status",
            status,
            "--source",
            "witnessed",
            "--when",
            "2022-01-06",
            "--lang",
            "kk",
        ]);
    }
    for text in [
        "Утром у акимата задержали около двадцати человек, их увезли в автозаках.",
        "Кеше түнде алаңда атыс болды, көп адам жараланды.",
    ] {
        node.ok(&["testimony", "add", "--lang", "ru", text]);
    }
    node
}

fn exported(node: &Node) -> Vec<String> {
    let path = node.dir.path().join("exported.jsonl");
    node.ok(&["events", "export", "-o", path.to_str().expect("path")]);
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .expect("export")
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

fn send(node: &Node, name: &str, extra: &[&str]) -> PathBuf {
    let wav = node.dir.path().join(name);
    let mut args = vec!["call", "send", "--wav", wav.to_str().expect("path")];
    args.extend_from_slice(extra);
    node.ok(&args);
    wav
}

fn receive(node: &Node, wav: &Path) -> std::process::Output {
    node.run(&["call", "receive", "--wav", wav.to_str().expect("path")])
}

#[test]
fn a_call_carries_records_through_real_speech_codecs() {
    let Some(tool) = channel_tool() else { return };
    let sender = witness();
    let wav = send(&sender, "call.wav", &[]);
    let records = exported(&sender);
    for channel in [
        "amr122 --dtx --loss 1",
        "gsm --dtx --loss 1",
        "amr475 --dtx --loss 1",
        "opus8 --dtx --loss 1",
        // Walkie-talkies: 300-3000 Hz, hiss, squelch tails, a limiter.
        "fm",
        // Two sound cards 0.1 % apart, a quiet line, a gain control, noise.
        "amr122 --drift 1000 --gain -12 --agc --snr 20",
        "amr795 --drift -1000 --clip 0.4",
    ] {
        let heard = sender.dir.path().join("heard.wav");
        through(&tool, channel, &wav, &heard);
        let receiver = Node::start();
        let out = receive(&receiver, &heard);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{channel}: {stdout}");
        assert!(stdout.contains("stored person "), "{channel}: {stdout}");
        assert_eq!(exported(&receiver), records, "{channel}: {stdout}");
    }
}

#[test]
fn the_fast_speed_crosses_amr_at_its_highest_rate() {
    let Some(tool) = channel_tool() else { return };
    let sender = witness();
    let fast = send(&sender, "fast.wav", &["--speed", "fast"]);
    let robust = send(&sender, "robust.wav", &[]);
    let length = |p: &Path| std::fs::metadata(p).expect("wav").len();
    assert!(length(&fast) < length(&robust), "the fast speed is shorter");
    let heard = sender.dir.path().join("heard.wav");
    through(&tool, "amr122 --dtx --loss 1", &fast, &heard);
    let receiver = Node::start();
    assert_eq!(receive(&receiver, &heard).status.code(), Some(0));
    assert_eq!(exported(&receiver), exported(&sender));
}

#[test]
fn a_cut_call_goes_on_where_it_stopped() {
    let sender = witness();
    // Enough records for several blocks.
    let keys = Keys::generate();
    let notes: Vec<_> = (0..120)
        .map(|i| {
            // Each with a code of its own, so that they do not all pack
            // into one block.
            let code = Keys::generate().public_key().to_hex();
            crate::publish::testimony(
                &keys,
                1_641_400_000 + i,
                &format!("Запись {i} ({code}): у площади Республики стреляли"),
                &[],
            )
        })
        .collect();
    crate::sync::import(&sender, "notes.jsonl", &notes.iter().collect::<Vec<_>>());
    let wav = send(&sender, "call.wav", &[]);
    // The call drops a little past half way.
    let whole = std::fs::read(&wav).expect("wav");
    let cut = sender.dir.path().join("cut.wav");
    write_cut(&whole, (whole.len() - 44) / 2, &cut);
    let receiver = Node::start();
    let out = receive(&receiver, &cut);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("was cut"), "{stdout}");
    let first = exported(&receiver).len();
    assert!(first > 0 && first < exported(&sender).len(), "{stdout}");
    // Person reports went first.
    assert!(stdout.contains("stored person "), "{stdout}");
    // The receiver says what it has; the next call carries the rest only.
    let want = receiver.dir.path().join("have.want");
    receiver.ok(&["bundle", "want", "-o", want.to_str().expect("path")]);
    let rest = send(
        &sender,
        "rest.wav",
        &["--for", want.to_str().expect("path")],
    );
    assert!(std::fs::metadata(&rest).expect("wav").len() < whole.len() as u64 * 3 / 4);
    assert_eq!(receive(&receiver, &rest).status.code(), Some(0));
    assert_eq!(exported(&receiver), exported(&sender));
}

/// Writes the first `bytes` of a WAV file's samples as a whole WAV file.
fn write_cut(whole: &[u8], bytes: usize, out: &Path) {
    let samples: Vec<f32> = whole[44..44 + bytes]
        .chunks_exact(2)
        .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])))
        .collect();
    write_samples(&samples, out);
}

fn write_samples(samples: &[f32], out: &Path) {
    let file = std::io::BufWriter::new(std::fs::File::create(out).expect("wav"));
    samizdat_voice::wav::write(file, samples).expect("written");
}

/// Sound that is not a transmission, at 8 kHz.
fn sounds() -> Vec<(&'static str, Vec<f32>)> {
    let seconds = |s: f64| (s * 8000.0) as usize;
    let tone = |hz: &[f64], on: f64, off: f64, total: f64| -> Vec<f32> {
        (0..seconds(total))
            .map(|i| {
                let t = i as f64 / 8000.0;
                if t % (on + off) >= on {
                    return 0.0;
                }
                hz.iter()
                    .map(|f| (std::f64::consts::TAU * f * t).sin() * 8000.0 / hz.len() as f64)
                    .sum::<f64>() as f32
            })
            .collect()
    };
    let mut state = 1u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 20_000) as f32 - 10_000.0
    };
    // A voice: a 120 Hz buzz through two moving resonances, in syllables.
    let speech: Vec<f32> = (0..seconds(8.0))
        .map(|i| {
            let t = i as f64 / 8000.0;
            let syllable = ((t * 4.0).fract() * std::f64::consts::PI).sin();
            let f1 = 500.0 + 300.0 * (t * 3.0).sin();
            let f2 = 1500.0 + 600.0 * (t * 2.3).cos();
            let buzz = |f: f64| {
                (1..20)
                    .map(|h| {
                        (std::f64::consts::TAU * 120.0 * h as f64 * t).sin()
                            / (1.0 + ((120.0 * h as f64 - f) / 150.0).powi(2))
                    })
                    .sum::<f64>()
            };
            (syllable * 3000.0 * (buzz(f1) + 0.5 * buzz(f2))) as f32
        })
        .collect();
    // Music: chords that change every half second.
    let music: Vec<f32> = (0..seconds(8.0))
        .map(|i| {
            let t = i as f64 / 8000.0;
            let root = [261.6, 329.6, 392.0, 349.2][(t * 2.0) as usize % 4];
            [1.0, 1.26, 1.5, 2.0]
                .iter()
                .map(|r| (std::f64::consts::TAU * root * r * t).sin() * 2500.0)
                .sum::<f64>() as f32
        })
        .collect();
    vec![
        ("silence", vec![0.0; seconds(5.0)]),
        ("noise", (0..seconds(5.0)).map(|_| noise()).collect()),
        ("a ringback tone", tone(&[425.0], 1.0, 4.0, 10.0)),
        (
            "a North American ringback",
            tone(&[440.0, 480.0], 2.0, 4.0, 10.0),
        ),
        ("a fax calling tone", tone(&[1100.0], 0.5, 3.0, 8.0)),
        ("a fax answer tone", tone(&[2100.0], 3.0, 0.0, 3.0)),
        ("speech", speech),
        ("music", music),
    ]
}

#[test]
fn sound_that_is_not_a_transmission_stores_nothing() {
    let node = Node::start();
    let before = exported(&node);
    for (what, samples) in sounds() {
        let path = node.dir.path().join("sound.wav");
        write_samples(&samples, &path);
        let out = receive(&node, &path);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{what}: {stdout}");
        assert!(stdout.contains("heard no transmission"), "{what}: {stdout}");
    }
    assert_eq!(exported(&node), before);
}

#[test]
fn files_that_are_not_a_call_get_clear_errors() {
    let node = Node::start();
    let dir = node.dir.path();
    let garbage = dir.join("garbage.wav");
    std::fs::write(&garbage, b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk").expect("written");
    let err = node.fails(
        &["call", "receive", "--wav", garbage.to_str().expect("path")],
        1,
    );
    assert!(err.contains("not a WAV file"), "{err}");
    let text = dir.join("text.wav");
    std::fs::write(&text, "just some text").expect("written");
    let err = node.fails(
        &["call", "receive", "--wav", text.to_str().expect("path")],
        1,
    );
    assert!(err.contains("not a WAV file"), "{err}");
    // A CD-quality recording must be converted first, and is told how.
    let cd = dir.join("cd.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&cd, spec).expect("wav");
    for _ in 0..44_100 {
        writer.write_sample(0i16).expect("sample");
    }
    writer.finalize().expect("wav");
    let err = node.fails(&["call", "receive", "--wav", cd.to_str().expect("path")], 1);
    assert!(
        err.contains("44100 Hz") && err.contains("8000 Hz mono"),
        "{err}"
    );
    let missing = dir.join("missing.wav");
    let err = node.fails(
        &["call", "receive", "--wav", missing.to_str().expect("path")],
        1,
    );
    assert!(err.contains("missing.wav"), "{err}");
    // A WAV file cut mid-header.
    let sender = witness();
    let wav = send(&sender, "call.wav", &[]);
    let truncated = dir.join("truncated.wav");
    std::fs::write(&truncated, &std::fs::read(&wav).expect("wav")[..30]).expect("written");
    let err = node.fails(
        &[
            "call",
            "receive",
            "--wav",
            truncated.to_str().expect("path"),
        ],
        1,
    );
    assert!(err.contains("not a WAV file"), "{err}");
    assert!(exported(&node).is_empty());
}

#[test]
fn forged_and_replayed_transmissions_store_nothing_invalid() {
    use samizdat_voice::{Speed, Transmission};
    let sender = witness();
    let records = exported(&sender);
    // A record whose text was changed after it was signed, and one whose
    // signature is someone else's.
    let mut forged: serde_json::Value = serde_json::from_str(&records[0]).expect("json");
    forged["content"] = "changed after signing".into();
    let blocks = samizdat_node::call::pack(
        [forged.to_string().as_str()],
        samizdat_voice::max_block(Speed::Robust),
    )
    .expect("packed");
    let forgery = Transmission::new(Speed::Robust, 99, &blocks, 0.25).expect("sound");
    // Another call, earlier: its sound replayed in the middle of this one.
    let earlier = witness();
    let replayed = std::fs::read(send(&earlier, "earlier.wav", &[])).expect("wav");
    let replayed: Vec<f32> = replayed[44..]
        .chunks_exact(2)
        .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])))
        .collect();
    let honest = std::fs::read(send(&sender, "call.wav", &[])).expect("wav");
    let honest: Vec<f32> = honest[44..]
        .chunks_exact(2)
        .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])))
        .collect();
    let mut spliced = forgery.samples.clone();
    spliced.extend_from_slice(&honest[..honest.len() / 2]);
    // One frame's worth of the earlier call, then the honest rest.
    spliced.extend_from_slice(&replayed[replayed.len() / 3..replayed.len() / 3 + 40_000]);
    spliced.extend_from_slice(&honest[honest.len() / 2..]);
    let path = sender.dir.path().join("spliced.wav");
    write_samples(&spliced, &path);
    let receiver = Node::start();
    let out = receive(&receiver, &path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stdout}{stderr}");
    assert!(stderr.contains("refused a record"), "{stderr}");
    // Everything honest arrived; the forgery did not.
    assert_eq!(exported(&receiver), records);
    receiver.ok(&["verify"]);
}

/// Copies `from` into `to`, losing `lose` bytes (two seconds of sound)
/// once `after` bytes have passed: a call that breaks up for a moment.
fn relay(
    mut from: impl std::io::Read + Send + 'static,
    mut to: impl std::io::Write + Send + 'static,
    lose: Option<(usize, usize)>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 3_200];
        let mut passed = 0usize;
        // Bounded by the stream: ends when either side closes.
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let mut chunk = buf[..n].to_vec();
            if let Some((after, lose)) = lose
                && passed + n > after
                && passed < after + lose
            {
                chunk.fill(0);
            }
            passed += n;
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
    })
}

/// Waits for `child` at most `within`, killing it then.
fn wait(child: &mut std::process::Child, within: std::time::Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + within;
    // Bounded by the deadline.
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the call did not end within {within:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_live_call_acknowledges_resends_what_was_lost_and_goes_fast() {
    use std::process::Stdio;
    let sender = witness();
    let receiver = Node::start();
    let live = ["--live", "--audio-in", "-", "--audio-out", "-"];
    let mut send = sender.command(&[&["call", "send"][..], &live].concat());
    let mut hear = receiver.command(&[&["call", "receive"][..], &live].concat());
    for command in [&mut send, &mut hear] {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    }
    let mut send = send.spawn().expect("sender starts");
    let mut hear = hear.spawn().expect("receiver starts");
    // Two seconds of the caller's sound are lost three seconds in: the
    // first frame does not arrive whole.
    let there = relay(
        send.stdout.take().expect("out"),
        hear.stdin.take().expect("in"),
        Some((3 * 16_000, 2 * 16_000)),
    );
    let back = relay(
        hear.stdout.take().expect("out"),
        send.stdin.take().expect("in"),
        None,
    );
    let read_all = |mut r: std::process::ChildStderr| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut r, &mut s);
            s
        })
    };
    let send_err = read_all(send.stderr.take().expect("err"));
    let hear_err = read_all(hear.stderr.take().expect("err"));
    let sent = wait(&mut send, std::time::Duration::from_secs(240));
    let heard = wait(&mut hear, std::time::Duration::from_secs(60));
    let _ = (there.join(), back.join());
    let (send_err, hear_err) = (
        send_err.join().expect("stderr"),
        hear_err.join().expect("stderr"),
    );
    assert_eq!(sent.code(), Some(0), "{send_err}");
    assert_eq!(heard.code(), Some(0), "{hear_err}");
    assert!(
        send_err.contains("the other side holds them all"),
        "{send_err}"
    );
    assert!(send_err.contains("fast"), "{send_err}");
    assert!(hear_err.contains("stored person "), "{hear_err}");
    assert!(hear_err.contains("heard 1 of 1 blocks"), "{hear_err}");
    assert_eq!(exported(&receiver), exported(&sender));
}

#[test]
fn a_live_call_through_real_codecs_both_ways() {
    use std::process::{Command, Stdio};
    let Some(tool) = channel_tool() else { return };
    let sender = witness();
    let receiver = Node::start();
    let live = ["--live", "--audio-in", "-", "--audio-out", "-"];
    let mut send = sender
        .command(&[&["call", "send"][..], &live].concat())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sender starts");
    // The caller's half through AMR-NB 12.2 with DTX and lost frames, the
    // answer through AMR-NB 4.75: as a call between two mobile networks.
    let mut there = Command::new(&tool)
        .args(["amr122", "--dtx", "--loss", "1", "--stream"])
        .stdin(Stdio::from(send.stdout.take().expect("out")))
        .stdout(Stdio::piped())
        .spawn()
        .expect("channel");
    let mut hear = receiver
        .command(&[&["call", "receive"][..], &live].concat())
        .stdin(Stdio::from(there.stdout.take().expect("out")))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("receiver starts");
    let mut back = Command::new(&tool)
        .args(["amr475", "--dtx", "--stream"])
        .stdin(Stdio::from(hear.stdout.take().expect("out")))
        .stdout(Stdio::piped())
        .spawn()
        .expect("channel");
    let relayed = relay(
        back.stdout.take().expect("out"),
        send.stdin.take().expect("in"),
        None,
    );
    let read_all = |mut r: std::process::ChildStderr| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut r, &mut s);
            s
        })
    };
    let send_err = read_all(send.stderr.take().expect("err"));
    let hear_err = read_all(hear.stderr.take().expect("err"));
    let sent = wait(&mut send, std::time::Duration::from_secs(240));
    let heard = wait(&mut hear, std::time::Duration::from_secs(60));
    let _ = (there.wait(), back.wait(), relayed.join());
    let (send_err, hear_err) = (
        send_err.join().expect("stderr"),
        hear_err.join().expect("stderr"),
    );
    assert_eq!(sent.code(), Some(0), "{send_err}");
    assert_eq!(heard.code(), Some(0), "{hear_err}");
    assert!(
        send_err.contains("the other side holds them all"),
        "{send_err}"
    );
    assert_eq!(exported(&receiver), exported(&sender));
}

#[test]
fn a_call_carries_public_records_only_unless_told_to_carry_sealed_ones() {
    let sender = witness();
    let public = exported(&sender);
    let reader = Keys::generate();
    sender.ok(&[
        "testimony",
        "add",
        "--lang",
        "ru",
        "только для документалиста",
        "--seal-to",
        &reader.public_key().to_hex(),
    ]);
    let keys = Keys::generate();
    let private = crate::publish::testimony(&keys, 1_780_000_000, "личное", &[&["-"]]);
    crate::sync::import(&sender, "private.jsonl", &[&private]);
    let wav = sender.dir.path().join("call.wav");
    let out = sender.run(&["call", "send", "--wav", wav.to_str().expect("path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("held back 2 records"), "{stderr}");
    let receiver = Node::start();
    assert_eq!(receive(&receiver, &wav).status.code(), Some(0));
    assert_eq!(exported(&receiver), public, "the public records alone");
    // With --sealed the gift wrap goes too; the private record never.
    let out = sender.run(&[
        "call",
        "send",
        "--sealed",
        "--wav",
        wav.to_str().expect("path"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("held back 1 records"), "{stderr}");
    assert_eq!(receive(&receiver, &wav).status.code(), Some(0));
    let now = exported(&receiver);
    assert_eq!(now.len(), public.len() + 1);
    assert!(now.iter().any(|e| e.contains("\"kind\":1059")));
    assert!(!now.iter().any(|e| e.contains("личное")));
}
