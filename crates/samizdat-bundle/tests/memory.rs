//! A bundle far larger than the memory its reading may take: a 256 MiB
//! blob is written and read back through the streaming paths while the
//! process's peak resident memory (VmHWM) stays within 64 MiB of where it
//! started. Its own test binary, so no other test shares the process.

use std::io::{self, Read};

use samizdat_bundle::{Limits, Sink, Writer, unpack};
use sha2::{Digest, Sha256};

const BLOB: u64 = 256 * 1024 * 1024;

/// `len` bytes of noise (incompressible), made as they are read.
struct Noise {
    state: u64,
    left: u64,
}

impl Noise {
    fn new(len: u64) -> Noise {
        Noise {
            state: 0x9E37_79B9_7F4A_7C15,
            left: len,
        }
    }
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.left as usize) & !7;
        let n = if n == 0 {
            buf.len().min(self.left as usize)
        } else {
            n
        };
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            let bytes = self.state.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The process's peak resident memory so far, in bytes.
fn peak() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a number");
    kb * 1024
}

struct Discard {
    blob_bytes: u64,
}

impl Sink for Discard {
    fn events(&mut self, _: u32, data: &mut dyn Read) -> io::Result<()> {
        io::copy(data, &mut io::sink()).map(drop)
    }
    fn blob(&mut self, _: [u8; 32], _: u64, data: &mut dyn Read) -> io::Result<()> {
        self.blob_bytes += io::copy(data, &mut io::sink())?;
        Ok(())
    }
}

#[test]
fn a_bundle_much_larger_than_memory_streams_both_ways() {
    let mut hasher = Sha256::new();
    io::copy(&mut Noise::new(BLOB), &mut DigestWriter(&mut hasher)).expect("hash");
    let hash: [u8; 32] = hasher.finalize().into();

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.samizdat");
    let start = peak();

    let file = std::fs::File::create(&path).expect("file");
    let mut writer = Writer::new(io::BufWriter::new(file), "ef".repeat(16), 0).expect("writer");
    for i in 0..10_000 {
        writer
            .event(&format!(r#"{{"n":{i},"text":"a line of testimony"}}"#))
            .expect("event");
    }
    writer.blob(hash, BLOB, Noise::new(BLOB)).expect("blob");
    writer.finish().expect("finish");
    assert!(std::fs::metadata(&path).expect("size").len() > BLOB);

    let mut sink = Discard { blob_bytes: 0 };
    let limits = Limits::default();
    let file = std::fs::File::open(&path).expect("file");
    let unpacked = unpack(io::BufReader::new(file), &mut sink, &limits).expect("reads whole");
    assert_eq!(unpacked.manifest.events, 10_000);
    assert_eq!(sink.blob_bytes, BLOB);

    let grown = peak().saturating_sub(start);
    assert!(
        grown < 64 * 1024 * 1024,
        "writing and reading a {BLOB}-byte blob raised peak memory by {grown} bytes"
    );
}

struct DigestWriter<'a>(&'a mut Sha256);

impl io::Write for DigestWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
