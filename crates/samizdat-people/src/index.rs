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
//! decides. So names are listed under pairs of their words' keys, and
//! a name of one full word under that word's.

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

/// Hashes what is already a hash, or a small integer, by one
/// multiplication each: ids and keys of maps local to samizdat's own
/// data, where the cost of SipHash buys nothing.
#[derive(Default)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(29) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

pub(crate) type Fast<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// What a posting list is kept under: a key of one word of any name;
/// a key of the one full word of a name that has one (`A. Abenov`); a
/// key of two words of one name, in either order.
#[derive(Hash)]
enum List {
    Word(u64),
    Lone(u64),
    Pair(u64, u64),
}

impl List {
    fn key(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        self.hash(&mut hasher);
        hasher.finish()
    }
}

/// No node: the end of a list.
const END_OF_LIST: u32 = u32::MAX;

/// Names by their blocking keys.
///
/// A name with two or more full words is listed under every pair of
/// its words' keys, so a name shared by thousands of people (`Айбек` and
/// `Назаров` each common) has a list of its own, holding those who have
/// both, and not two lists of everyone with either. Each list is a
/// chain through one arena, newest first, so that reading the latest
/// few of a list costs the few, however long it is.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// The newest node of each list.
    heads: Fast<u64, u32>,
    /// `(id, the node added to the same list before it)`.
    nodes: Vec<(u32, u32)>,
    len: usize,
}

/// The full words of a name (not initials), by their place in it, with
/// their blocking keys.
fn full_words(name: &Name) -> Vec<(usize, Vec<u64>)> {
    name.words
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.initial)
        .map(|(i, w)| (i, blocking_keys(w)))
        .collect()
}

/// The pair lists of a name's full words, each with the two words it
/// stands for (a bit each), deduplicated.
fn pairs(words: &[(usize, Vec<u64>)]) -> Vec<(u64, u8)> {
    let mut out: Vec<(u64, u8)> = Vec::new();
    for (n, (i, first)) in words.iter().enumerate() {
        for (j, second) in &words[n + 1..] {
            for &a in first {
                for &b in second {
                    let key = List::Pair(a.min(b), a.max(b)).key();
                    if !out.iter().any(|(k, _)| *k == key) {
                        out.push((key, 1 << i | 1 << j));
                    }
                }
            }
        }
    }
    out
}

impl Index {
    pub fn new() -> Index {
        Index::default()
    }

    /// Adds entry `id` under `name`. An entry may be added under several
    /// names (its spellings).
    pub fn insert(&mut self, id: u32, name: &Name) {
        self.len += 1;
        let words = full_words(name);
        let mut lists: Vec<u64> = Vec::new();
        for (_, keys) in &words {
            for &k in keys {
                lists.push(List::Word(k).key());
                if words.len() == 1 {
                    lists.push(List::Lone(k).key());
                }
            }
        }
        lists.extend(pairs(&words).into_iter().map(|(key, _)| key));
        for key in lists {
            let head = self.heads.entry(key).or_insert(END_OF_LIST);
            if *head != END_OF_LIST && self.nodes[*head as usize].0 == id {
                continue;
            }
            self.nodes.push((id, *head));
            *head = (self.nodes.len() - 1) as u32;
        }
    }

    /// How many names were added.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entries that share keys with two words of `name` (one, when
    /// either name has a single full word, as `A. Abenov` has), in no
    /// particular order.
    pub fn candidates(&self, name: &Name) -> Vec<u32> {
        self.found(name, usize::MAX, usize::MAX)
    }

    /// At most `limit` of [`Index::candidates`], found among the latest
    /// `limit` of each list: those sharing keys with the most words of
    /// `name`, then the latest added. The work of one name is bounded,
    /// however many people share it and however large the index grows.
    pub fn candidates_at_most(&self, name: &Name, limit: usize) -> Vec<u32> {
        self.found(name, limit, limit)
    }

    fn found(&self, name: &Name, read: usize, limit: usize) -> Vec<u32> {
        let words = full_words(name);
        if limit == 0 || words.is_empty() {
            return Vec::new();
        }
        // Which words of the name each entry shares keys with, a bit each.
        let mut hits: Fast<u32, u8> = Fast::default();
        let mut touched = Vec::new();
        let mut take = |key: u64, bits: u8| {
            self.read(key, read, |id| {
                *hits.entry(id).or_insert_with(|| {
                    touched.push(id);
                    0
                }) |= bits;
            })
        };
        if let [(i, keys)] = &words[..] {
            // One full word: every name with a word under its keys.
            for &k in keys {
                take(List::Word(k).key(), 1 << i);
            }
        } else {
            // Several: the names sharing two of them, and the names of
            // one full word sharing one.
            for (key, bits) in pairs(&words) {
                take(key, bits);
            }
            for (i, keys) in &words {
                for &k in keys {
                    take(List::Lone(k).key(), 1 << i);
                }
            }
        }
        if touched.len() > limit {
            // Those sharing keys with the most words first, then the
            // latest added.
            let rank = |id: &u32| {
                (
                    std::cmp::Reverse(hits.get(id).map_or(0, |b| b.count_ones())),
                    std::cmp::Reverse(*id),
                )
            };
            touched.select_nth_unstable_by_key(limit - 1, rank);
            touched.truncate(limit);
        }
        touched
    }

    /// Calls `found` with the latest `at_most` ids of a list, newest
    /// first.
    fn read(&self, key: u64, at_most: usize, mut found: impl FnMut(u32)) {
        let mut node = self.heads.get(&key).copied().unwrap_or(END_OF_LIST);
        let mut left = at_most;
        while node != END_OF_LIST && left > 0 {
            let (id, before) = self.nodes[node as usize];
            found(id);
            node = before;
            left -= 1;
        }
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
