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
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

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

/// Hashes an id by one multiplication: ids are small integers, and the
/// map is local to one lookup.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Posting lists longer than this are searched, not read whole.
const LONG_POSTINGS: usize = 256;

/// Names by their blocking keys.
#[derive(Debug, Clone, Default)]
pub struct Index {
    postings: HashMap<u64, Vec<u32>>,
    len: usize,
    /// One more than the largest id added.
    ids: usize,
    /// Whether ids were added in ascending order, so that every posting
    /// list is sorted and can be searched.
    ascending: bool,
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
        if self.len == 0 {
            self.ascending = true;
        }
        self.ascending &= id as usize + 1 >= self.ids;
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
        self.candidates_at_most(name, usize::MAX)
    }

    /// At most `limit` of [`Index::candidates`]: those sharing keys with
    /// the most words of `name`, then the latest added. Bounds the work
    /// of a name shared by a great many people.
    pub fn candidates_at_most(&self, name: &Name, limit: usize) -> Vec<u32> {
        if limit == 0 {
            return Vec::new();
        }
        let full = name.words.iter().filter(|w| !w.initial).count();
        let need = full.min(2) as u32;
        if need == 0 {
            return Vec::new();
        }
        // Which words of the name each entry shares a key with: a bit
        // each (at most MAX_WORDS words).
        let mut hits: HashMap<u32, u8, BuildHasherDefault<IdHasher>> = HashMap::default();
        let mut touched = Vec::new();
        // A key that a great many names share (a common name's) is not
        // read whole: the entries found through other keys are looked up
        // in it, and only its latest `LONG_POSTINGS` entries are read, so
        // the work of one name does not grow with the index.
        let mut long: Vec<(usize, &[u32])> = Vec::new();
        let mut read =
            |i: usize, ids: &[u32], hits: &mut HashMap<u32, u8, BuildHasherDefault<IdHasher>>| {
                for &id in ids {
                    let bits = hits.entry(id).or_insert_with(|| {
                        touched.push(id);
                        0
                    });
                    *bits |= 1 << i;
                }
            };
        for (i, word) in name.words.iter().enumerate() {
            for key in blocking_keys(word) {
                let list = self.postings.get(&key).map_or(&[][..], Vec::as_slice);
                if list.len() > LONG_POSTINGS && self.ascending {
                    long.push((i, list));
                } else {
                    read(i, list, &mut hits);
                }
            }
        }
        for &(i, list) in &long {
            read(i, &list[list.len() - LONG_POSTINGS..], &mut hits);
        }
        for (id, bits) in hits.iter_mut() {
            for &(i, list) in &long {
                if *bits & (1 << i) == 0 && list.binary_search(id).is_ok() {
                    *bits |= 1 << i;
                }
            }
        }
        let hits = |id: &u32| hits.get(id).copied().unwrap_or(0);
        touched.retain(|&id| {
            let need = need.min(u32::from(self.full_words[id as usize]).max(1));
            hits(&id).count_ones() >= need
        });
        if touched.len() > limit {
            // Those sharing keys with the most words first, then the
            // latest added.
            let rank = |id: &u32| {
                (
                    std::cmp::Reverse(hits(id).count_ones()),
                    std::cmp::Reverse(*id),
                )
            };
            touched.select_nth_unstable_by_key(limit - 1, rank);
            touched.truncate(limit);
        }
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
