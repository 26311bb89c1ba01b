//! A person's name as written in a report, cut into words and read:
//! canonical keys of each word, initials, and the endings that make a
//! patronymic or a surname from a father's name (`-ovich`, `-ovna`,
//! `-uly`, `-kyzy`, `-ov`, `-ova`…).

use std::hash::{DefaultHasher, Hash, Hasher};

use crate::lexicon;
use crate::translit::{self, Key};

/// Words of a name beyond this many are ignored (a name is rarely more
/// than four: given name, patronymic, surname, a second given name).
pub const MAX_WORDS: usize = 6;

/// What an ending says about a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A patronymic: Russian `-ovich/-ovna`, Kazakh `-uly/-kyzy`.
    Patronymic { female: bool, kazakh: bool },
    /// A Russian-style surname: `-ov/-ev` (male), `-ova/-eva` (female).
    Surname { female: bool },
}

impl Ending {
    pub fn female(self) -> bool {
        match self {
            Ending::Patronymic { female, .. } | Ending::Surname { female } => female,
        }
    }
}

/// Endings, in canonical symbols, longest first.
const ENDINGS: &[(&[u8], Ending)] = &[
    (
        b"oviC",
        Ending::Patronymic {
            female: false,
            kazakh: false,
        },
    ),
    (
        b"eviC",
        Ending::Patronymic {
            female: false,
            kazakh: false,
        },
    ),
    (
        b"ovna",
        Ending::Patronymic {
            female: true,
            kazakh: false,
        },
    ),
    (
        b"evna",
        Ending::Patronymic {
            female: true,
            kazakh: false,
        },
    ),
    (
        b"iCna",
        Ending::Patronymic {
            female: true,
            kazakh: false,
        },
    ),
    (
        b"kizi",
        Ending::Patronymic {
            female: true,
            kazakh: true,
        },
    ),
    (
        b"gizi",
        Ending::Patronymic {
            female: true,
            kazakh: true,
        },
    ),
    // German writes қызы `kysy`.
    (
        b"kisi",
        Ending::Patronymic {
            female: true,
            kazakh: true,
        },
    ),
    (
        b"gisi",
        Ending::Patronymic {
            female: true,
            kazakh: true,
        },
    ),
    (
        b"uli",
        Ending::Patronymic {
            female: false,
            kazakh: true,
        },
    ),
    (
        b"ulu",
        Ending::Patronymic {
            female: false,
            kazakh: true,
        },
    ),
    (b"ova", Ending::Surname { female: true }),
    (b"eva", Ending::Surname { female: true }),
    (b"ov", Ending::Surname { female: false }),
    (b"ev", Ending::Surname { female: false }),
];

/// Shortest stem an ending may leave (`Lev` is not `L` + `-ev`).
const MIN_STEM: usize = 3;

/// One word of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// As written.
    pub written: String,
    /// Canonical keys, the likeliest reading first; never empty.
    pub keys: Vec<Key>,
    /// The keys without their ending, and the ending (none if the word
    /// has no ending samizdat knows).
    pub stems: Vec<(Key, Ending)>,
    /// A single letter (`A.`, `Zh.`): it fits any word that starts so.
    pub initial: bool,
    /// `written` in lowercase.
    pub folded: String,
    /// What the lexicon knows the word as ([`crate::lexicon`]), in any
    /// of its readings.
    pub kinds: lexicon::Kinds,
    /// Whether a reading is a real name, and whether a stem is.
    pub known: bool,
    pub stem_known: bool,
    /// What makes this word what it is (its spelling, readings and
    /// whether it is an initial), hashed: two words with one identity
    /// compare alike with any other, so comparisons can be remembered.
    pub identity: u64,
}

impl Word {
    fn new(written: &str, keys: Vec<Key>, initial: bool) -> Word {
        let mut stems = Vec::new();
        if !initial {
            for key in &keys {
                for stem in endings(key) {
                    if !stems.contains(&stem) {
                        stems.push(stem);
                    }
                }
            }
        }
        let kinds = keys
            .iter()
            .fold(lexicon::Kinds::default(), |all, k| all | lexicon::kinds(k));
        let folded = written.to_lowercase();
        let mut hasher = DefaultHasher::new();
        (&folded, &keys, initial).hash(&mut hasher);
        Word {
            identity: hasher.finish(),
            written: written.to_string(),
            folded,
            kinds,
            known: !kinds.is_empty(),
            stem_known: stems.iter().any(|(k, _)| lexicon::is_name(k)),
            keys,
            stems,
            initial,
        }
    }

    /// Whether the word is a patronymic (by its ending).
    pub fn is_patronymic(&self) -> bool {
        matches!(self.stems.first(), Some((_, Ending::Patronymic { .. })))
    }

    /// Whether the word has an ending samizdat knows.
    pub fn has_ending(&self) -> bool {
        !self.stems.is_empty()
    }
}

/// The stems of a key under its ending. Doubled letters collapse before
/// endings are cut, so `Serikqyzy` reads `serikizi`: a `-kizi` (`-gizi`)
/// ending may have taken the stem's last `k` (`g`), and both stems are
/// given.
fn endings(key: &[u8]) -> Vec<(Key, Ending)> {
    let Some((suffix, ending)) = ENDINGS
        .iter()
        .find(|(suffix, _)| key.len() >= suffix.len() + MIN_STEM && key.ends_with(suffix))
    else {
        return Vec::new();
    };
    let stem = key[..key.len() - suffix.len()].to_vec();
    let mut stems = vec![(stem.clone(), *ending)];
    if let Some(&first) = suffix.first()
        && matches!(first, b'k' | b'g')
        && stem.last() != Some(&first)
    {
        stems.push(([stem.as_slice(), &[first]].concat(), *ending));
    }
    stems
}

/// A name, as written and as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub written: String,
    pub words: Vec<Word>,
}

/// Kazakh patronymic particles written apart (`Nurlan uly`): they join
/// the word before them.
fn is_particle(key: &[u8]) -> bool {
    matches!(key, b"uli" | b"ulu" | b"kizi" | b"gizi" | b"kisi" | b"gisi")
}

impl Name {
    /// Reads a name in any script. Words are what lies between
    /// separators (spaces, hyphens, punctuation); an initial is one or two
    /// letters followed by a full stop, or one letter alone.
    pub fn parse(written: &str) -> Name {
        let mut words: Vec<Word> = Vec::new();
        let chars: Vec<(usize, char)> = written.char_indices().collect();
        let mut i = 0;
        // Bounded: every step moves past at least one character.
        while i < chars.len() && words.len() < MAX_WORDS {
            if translit::is_separator(chars[i].1) {
                i += 1;
                continue;
            }
            let start = chars[i].0;
            let mut j = i;
            while j < chars.len() && !translit::is_separator(chars[j].1) {
                j += 1;
            }
            let end = chars.get(j).map_or(written.len(), |c| c.0);
            let text = &written[start..end];
            let letters = j - i;
            let stopped = chars.get(j).is_some_and(|c| c.1 == '.');
            i = j;
            let keys = translit::keys(text);
            if keys.is_empty() {
                continue;
            }
            let initial = letters == 1 || (letters == 2 && stopped && keys[0].len() == 1);
            if !initial
                && is_particle(&keys[0])
                && let Some(last) = words.last_mut()
                && !last.initial
            {
                // `Nurlan uly` is `Nurlanuly`.
                let joined = format!("{}{}", last.written, text);
                let keys: Vec<Key> = last
                    .keys
                    .iter()
                    .map(|k| [k.as_slice(), keys[0].as_slice()].concat())
                    .collect();
                *last = Word::new(&joined, keys, false);
                continue;
            }
            words.push(Word::new(text, keys, initial));
        }
        Name {
            written: written.trim().to_string(),
            words,
        }
    }

    /// Whether the name has any word at all.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translit::show;

    #[test]
    fn words_initials_and_endings() {
        let name = Name::parse("  Нұрланұлы,  Ерлан  Zh. ");
        let words: Vec<&str> = name.words.iter().map(|w| w.written.as_str()).collect();
        assert_eq!(words, ["Нұрланұлы", "Ерлан", "Zh"]);
        assert!(name.words[2].initial && !name.words[1].initial);
        let (stem, ending) = name.words[0].stems[0].clone();
        assert_eq!(show(&stem), "nurlan");
        assert_eq!(
            ending,
            Ending::Patronymic {
                female: false,
                kazakh: true
            }
        );
        assert!(!name.words[1].has_ending());
        let stems: Vec<String> = Name::parse("Serikqyzy").words[0]
            .stems
            .iter()
            .map(|(s, _)| show(s))
            .collect();
        assert_eq!(stems, ["seri", "serik"]);
    }

    #[test]
    fn particles_join_and_short_stems_stay_whole() {
        let name = Name::parse("Асель Нурлан қызы");
        assert_eq!(name.words.len(), 2);
        assert_eq!(name.words[1].written, "Нурланқызы");
        assert!(name.words[1].is_patronymic());
        assert!(!Name::parse("Lev").words[0].has_ending());
        assert_eq!(
            Name::parse("Ivanova").words[0].stems[0].1,
            Ending::Surname { female: true }
        );
        assert!(Name::parse(" - , 42").is_empty());
    }
}
