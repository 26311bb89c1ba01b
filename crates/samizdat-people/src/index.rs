//! Candidates for a name among many, so that a new report is compared
//! with a few registry entries, not all of them.
//!
//! Each word gives blocking keys: the consonant skeleton of each of its
//! readings (and of its stem), with the consonants people confuse made
//! one (`k g kh`; `s sh z zh ts ch`; `d t`; `b p`; `v f`), cut to its
//! first four and its last four symbols; a stem's keys are apart from
//! whole words'. A typo rarely touches both ends, and vowels, where most
//! spelling variants live, are not in it. An entry is a candidate when it
//! shares keys with at least two words of the name (one, when either name
//! has a single full word, as `A. Abenov` has); [`crate::compare`] then
//! decides.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::name::{Name, Word};

/// Symbols kept from each end of a skeleton.
const END: usize = 4;

/// Blocking keys of one word, deduplicated.
fn blocking_keys(word: &Word) -> Vec<u64> {
    if word.initial {
        return Vec::new();
    }
    let mut out = Vec::new();
    // Stems are keyed apart: `Nurlanova` finds `Nurlanqyzy`, but the
    // given name `Nurlan` does not find every child of a Nurlan.
    let whole = word.keys.iter().map(|k| (k, 0u8));
    let stems = word.stems.iter().map(|(s, _)| (s, 1u8));
    for (key, stem) in whole.chain(stems) {
        let skeleton: Vec<u8> = key
            .iter()
            .filter_map(|&b| match b {
                b'a' | b'e' | b'i' | b'o' | b'u' => None,
                b'g' | b'H' => Some(b'k'),
                b'S' | b'c' | b'C' | b'J' | b'z' => Some(b's'),
                b'd' => Some(b't'),
                b'b' => Some(b'p'),
                b'v' => Some(b'f'),
                other => Some(other),
            })
            .collect();
        let mut skeleton = skeleton;
        skeleton.dedup();
        let parts: Vec<(u8, &[u8])> = if skeleton.len() <= END {
            vec![(b'W', &skeleton[..])]
        } else {
            vec![
                (b'F', &skeleton[..END]),
                (b'L', &skeleton[skeleton.len() - END..]),
            ]
        };
        for (tag, part) in parts {
            let mut hasher = DefaultHasher::new();
            (tag, stem, part).hash(&mut hasher);
            let h = hasher.finish();
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    out
}

/// Names by their blocking keys.
#[derive(Debug, Clone, Default)]
pub struct Index {
    postings: HashMap<u64, Vec<u32>>,
    len: usize,
    /// One more than the largest id added.
    ids: usize,
    /// Full words (not initials) of each id's shortest name: an entry
    /// written `A. Abenov` can share only one word with any name.
    full_words: Vec<u8>,
}

impl Index {
    pub fn new() -> Index {
        Index::default()
    }

    /// Adds entry `id` under `name`. An entry may be added under several
    /// names (its spellings).
    pub fn insert(&mut self, id: u32, name: &Name) {
        self.len += 1;
        self.ids = self.ids.max(id as usize + 1);
        if self.full_words.len() < self.ids {
            self.full_words.resize(self.ids, u8::MAX);
        }
        let full = name.words.iter().filter(|w| !w.initial).count() as u8;
        let slot = &mut self.full_words[id as usize];
        *slot = (*slot).min(full);
        for word in &name.words {
            for key in blocking_keys(word) {
                let list = self.postings.entry(key).or_default();
                if list.last() != Some(&id) {
                    list.push(id);
                }
            }
        }
    }

    /// How many names were added.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entries that share keys with enough words of `name`, in no
    /// particular order.
    pub fn candidates(&self, name: &Name) -> Vec<u32> {
        let full = name.words.iter().filter(|w| !w.initial).count();
        let need = full.min(2) as u32;
        if need == 0 {
            return Vec::new();
        }
        // Which words of the name each entry shares a key with: a bit
        // each (at most MAX_WORDS words), in an array by id, which is
        // cheaper than hashing ids when postings are long.
        let mut hits = vec![0u8; self.ids];
        let mut touched = Vec::new();
        for (i, word) in name.words.iter().enumerate() {
            for key in blocking_keys(word) {
                for &id in self.postings.get(&key).map_or(&[][..], Vec::as_slice) {
                    let bits = &mut hits[id as usize];
                    if *bits == 0 {
                        touched.push(id);
                    }
                    *bits |= 1 << i;
                }
            }
        }
        touched.retain(|&id| {
            let need = need.min(u32::from(self.full_words[id as usize]).max(1));
            hits[id as usize].count_ones() >= need
        });
        touched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_spellings_and_typos_not_strangers() {
        let mut index = Index::new();
        for (id, name) in [
            "Нұрлан Серікұлы Әбенов",
            "Асель Нурланова",
            "Aigerim Nurlanova",
            "Serik Abenov",
        ]
        .iter()
        .enumerate()
        {
            index.insert(id as u32, &Name::parse(name));
        }
        let found = |text: &str| {
            let mut ids = index.candidates(&Name::parse(text));
            ids.sort();
            ids
        };
        assert_eq!(found("Nurlan Abenov"), [0]);
        assert_eq!(found("Äsel Nurlanqyzy"), [1]);
        assert_eq!(found("Asel Nurlanowa"), [1]);
        assert_eq!(found("Aigerim Nrulanova"), [2]);
        assert!(found("Bolat Zhaksylykov").is_empty());
        assert!(found("").is_empty());
        assert_eq!(index.len(), 4);
        // An entry with one full word is found by that word.
        index.insert(9, &Name::parse("A. Nurlanova"));
        let mut ids = index.candidates(&Name::parse("Aigerim Nurlanova"));
        ids.sort();
        assert_eq!(ids, [2, 9]);
    }
}
