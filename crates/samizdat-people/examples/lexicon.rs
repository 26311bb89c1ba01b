//! Turns the word lists of `scripts/names/lexicon.py` (sections of
//! words as their sources spell them) into the lexicon the matcher
//! embeds: each section's canonical keys, sorted, each written as the
//! length of the prefix it shares with the key before it and the rest
//! (`12nurlan`, `5bek`). Keys hold no digits, so the two never mix.
//!
//! Usage: lexicon < words.txt > crates/samizdat-people/data/names.txt

use std::collections::BTreeSet;
use std::io::{BufRead, Write};

use samizdat_people::translit;

fn main() -> std::io::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut section: Option<String> = None;
    let mut keys = BTreeSet::new();
    let flush = |out: &mut dyn Write, section: &Option<String>, keys: &mut BTreeSet<Vec<u8>>| {
        if let Some(name) = section {
            writeln!(out, "[{name}]")?;
            let mut previous: &[u8] = &[];
            for key in keys.iter() {
                let shared = previous
                    .iter()
                    .zip(key.iter())
                    .take_while(|(a, b)| a == b)
                    .count();
                writeln!(out, "{shared}{}", String::from_utf8_lossy(&key[shared..]))?;
                previous = key;
            }
            eprintln!("{name}: {} keys", keys.len());
        }
        keys.clear();
        Ok::<(), std::io::Error>(())
    };
    for line in stdin.lines() {
        let line = line?;
        if line.starts_with('#') {
            writeln!(out, "{line}")?;
        } else if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if section.is_none() {
                writeln!(
                    out,
                    "# Each section holds canonical keys (samizdat_people::translit), sorted;\n\
                     # a line is the length of the prefix shared with the key before, then the rest."
                )?;
            }
            flush(&mut out, &section, &mut keys)?;
            section = Some(name.to_string());
        } else {
            keys.extend(translit::keys(line.trim()));
        }
    }
    flush(&mut out, &section, &mut keys)?;
    out.flush()
}
