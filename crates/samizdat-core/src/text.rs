//! Folding of text for search: what makes "ҚАСЫМ", "Қасым", "Касым" and
//! "қасым" the same word to the full-text index, and "Émile" the same as
//! "emile".
//!
//! The store folds every indexed text and every query with [`fold`], so
//! search is insensitive to case and to diacritics in any script. Kazakh
//! letters are folded onto their Russian base letters (ә→а, ғ→г, қ→к, ң→н,
//! ө→о, ұ→у, ү→у, һ→х, і→и) because people who type on a Russian keyboard
//! write them so; ё→е and й→и follow from removing diacritics.
//!
//! Folding keeps a word in its script. To find «Қасым» for `Kasym`,
//! `Qasym` or `Kassym`, and a Latin word inside Cyrillic text or the
//! reverse, the index also holds each word's canonical keys
//! ([`samizdat_script`], the keys the people registry matches names by),
//! each marked with [`KEY_MARK`] so that a key never meets a word; a
//! query ([`match_expression`]) finds a word as typed or by any of its
//! keys.

use nostr::prelude::Event;
use unicode_normalization::char::is_combining_mark;

/// Lowercases `text`, removes diacritics and folds letter variants.
///
/// Works one character at a time: ASCII and the basic Cyrillic letters take
/// a fast path; any other character is decomposed (NFKD) and its combining
/// marks dropped, which for our purpose equals normalising the whole text.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        fold_char(c, &mut out);
    }
    out
}

fn fold_char(c: char, out: &mut String) {
    match c {
        'A'..='Z' => out.push(c.to_ascii_lowercase()),
        c if c.is_ascii() => out.push(c),
        // А-Я and а-я, except Й/й which carry a breve.
        'А'..='И' | 'К'..='Я' => out.push(char::from_u32(c as u32 + 0x20).unwrap_or(c)),
        'а'..='и' | 'к'..='я' => out.push(c),
        _ => {
            unicode_normalization::char::decompose_compatible(c, |d| {
                if !is_combining_mark(d) {
                    for lower in d.to_lowercase() {
                        out.push(fold_letter(lower));
                    }
                }
            });
        }
    }
}

fn fold_letter(c: char) -> char {
    match c {
        'ә' => 'а',
        'ғ' => 'г',
        'қ' => 'к',
        'ң' => 'н',
        'ө' => 'о',
        'ұ' | 'ү' => 'у',
        'һ' => 'х',
        'і' => 'и',
        'ı' => 'i',
        'ß' => 's',
        other => other,
    }
}

/// Splits folded text into search terms: runs of letters and digits.
pub fn terms(text: &str) -> Vec<String> {
    let mut joined = String::with_capacity(text.len());
    push_terms(text, &mut joined);
    joined
        .split(' ')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Appends the folded terms of `text` to `out`, each preceded by a space
/// when `out` is not empty: one pass, no allocation per term. ASCII and
/// basic Cyrillic letters, nearly all of the text we index, take a fast
/// path that needs no Unicode table.
fn push_terms(text: &str, out: &mut String) {
    let mut in_term = false;
    let push = |f: char, out: &mut String, in_term: &mut bool| {
        if !*in_term && !out.is_empty() {
            out.push(' ');
        }
        *in_term = true;
        out.push(f);
    };
    let mut folded = String::with_capacity(8);
    for c in text.chars() {
        match c {
            'a'..='z' | '0'..='9' | 'а'..='и' | 'к'..='я' => push(c, out, &mut in_term),
            'A'..='Z' => push(c.to_ascii_lowercase(), out, &mut in_term),
            'А'..='И' | 'К'..='Я' => push(
                char::from_u32(c as u32 + 0x20).unwrap_or(c),
                out,
                &mut in_term,
            ),
            c if c.is_ascii() => in_term = false,
            _ => {
                folded.clear();
                fold_char(c, &mut folded);
                for f in folded.chars() {
                    if f.is_alphanumeric() {
                        push(f, out, &mut in_term);
                    } else {
                        in_term = false;
                    }
                }
            }
        }
    }
}

/// The kinds whose events are searched: notes and testimonies, person
/// reports, long-form articles.
pub const SEARCHABLE_KINDS: [u16; 3] = [1, 1948, 30023];

/// Marks a canonical key among the index's terms (`ǂkasim` beside
/// `касым`): no folded word begins with it, so keys and words never meet.
pub const KEY_MARK: char = 'ǂ';

/// A canonical key as an index term: the mark, then the key in lowercase
/// letters (`S` as `sh`, `C` as `ch`…, see [`samizdat_script::show`]),
/// since the index's tokenizer folds ASCII case.
fn key_term(key: &[u8], out: &mut String) {
    out.push(KEY_MARK);
    samizdat_script::show_into(key, out);
}

/// The words of `text` as the transliteration reads them: runs of
/// letters (digits and punctuation separate), of two letters or more.
fn script_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(samizdat_script::is_separator)
        .filter(|w| w.chars().nth(1).is_some())
}

/// The canonical keys of the words of `text`, added to `keys`.
fn add_keys(text: &str, keys: &mut Vec<samizdat_script::Key>) {
    for word in script_words(text) {
        keys.extend(samizdat_script::keys(word));
    }
}

/// Appends `keys`, each once, as index terms to `out`.
fn push_keys(mut keys: Vec<samizdat_script::Key>, out: &mut String) {
    keys.sort_unstable();
    keys.dedup();
    for key in &keys {
        if !out.is_empty() {
            out.push(' ');
        }
        key_term(key, out);
    }
}

/// What a user typed into a search, read both ways: every part
/// separated by spaces must match, either as typed (its folded terms, each
/// as a prefix) or, for words of letters, by one of each word's canonical
/// keys (as a prefix), so `Kasym` finds «Қасым» and «Касымов», and
/// `Асель` finds `Assel`. The store gives it to the full-text index
/// ([`Search::expression`]); the relay matches live events with
/// [`Search::matches`], the same rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    /// Folded terms, all of which must be found.
    typed: Vec<String>,
    /// Per word of letters, its keys as index terms; each word needs one.
    keys: Vec<Vec<String>>,
}

impl Search {
    pub fn parse(query: &str) -> Search {
        let parts = query
            .split_whitespace()
            .filter_map(|chunk| {
                let typed = terms(chunk);
                if typed.is_empty() {
                    return None;
                }
                let keys = script_words(chunk)
                    .map(|word| {
                        samizdat_script::keys(word)
                            .iter()
                            .map(|k| {
                                let mut term = String::new();
                                key_term(k, &mut term);
                                term
                            })
                            .collect::<Vec<_>>()
                    })
                    .filter(|keys| !keys.is_empty())
                    .collect();
                Some(Part { typed, keys })
            })
            .collect();
        Search { parts }
    }

    /// Whether nothing searchable was typed: such a search finds nothing.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The query in FTS5 syntax, or `None` when it is empty.
    pub fn expression(&self) -> Option<String> {
        self.render(|t| format!("\"{t}\"*"), " AND ", " OR ")
    }

    /// The same expression for PostgreSQL's full-text index, as a
    /// `tsquery` literal over lexemes kept exactly as indexed (each term
    /// a prefix), or `None` when nothing searchable was typed.
    pub fn tsquery(&self) -> Option<String> {
        self.render(
            |t| format!("'{}':*", t.replace('\\', "\\\\").replace('\'', "''")),
            " & ",
            " | ",
        )
    }

    /// The query with each term written by `prefix`, joined by `and` and
    /// `or`: every part needs its typed terms, or one key of each word.
    fn render(&self, prefix: impl Fn(&String) -> String, and: &str, or: &str) -> Option<String> {
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|part| {
                let typed: Vec<String> = part.typed.iter().map(&prefix).collect();
                let typed = format!("({})", typed.join(and));
                if part.keys.is_empty() {
                    return typed;
                }
                let words: Vec<String> = part
                    .keys
                    .iter()
                    .map(|keys| {
                        let keys: Vec<String> = keys.iter().map(&prefix).collect();
                        format!("({})", keys.join(or))
                    })
                    .collect();
                format!("({typed}{or}({}))", words.join(and))
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join(and))
    }

    /// Whether an index entry (the terms [`searchable_text`] gives,
    /// separated by spaces) matches, as the full-text index would decide.
    pub fn matches(&self, indexed: &str) -> bool {
        if self.parts.is_empty() {
            return false;
        }
        let found = |wanted: &String| indexed.split(' ').any(|t| t.starts_with(wanted.as_str()));
        self.parts.iter().all(|part| {
            part.typed.iter().all(found)
                || (!part.keys.is_empty() && part.keys.iter().all(|keys| keys.iter().any(found)))
        })
    }
}

/// The folded terms, separated by single spaces, that the full-text index
/// holds for `event`, or `None` for events that are not searchable
/// (reactions, deletions, encrypted kinds). Because the terms are already
/// folded and split, the index's tokenizer only has to split on spaces.
///
/// Notes, testimonies and long-form articles are searched by their content,
/// place and topics; person reports by name, other spellings, role, place
/// and details. The canonical keys of the words follow the folded terms.
pub fn searchable_text(event: &Event) -> Option<String> {
    let fields: &[&str] = match event.kind.as_u16() {
        1 | 30023 => &["location", "t", "title", "summary"],
        1948 => &["name", "alias", "role", "location"],
        _ => return None,
    };
    let texts = || {
        std::iter::once(event.content.as_str()).chain(event.tags.iter().filter_map(|tag| {
            match tag.as_slice() {
                [name, value, ..] if fields.contains(&name.as_str()) => Some(value.as_str()),
                _ => None,
            }
        }))
    };
    let mut out = String::with_capacity(event.content.len() * 2 + 64);
    for text in texts() {
        push_terms(text, &mut out);
    }
    let mut keys = Vec::new();
    for text in texts() {
        add_keys(text, &mut keys);
    }
    push_keys(keys, &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_kazakh_letters() {
        assert_eq!(fold("ҚАСЫМ"), "касым");
        assert_eq!(fold("Қасым"), fold("Касым"));
        assert_eq!(fold("Әлия Өмірзақова"), "алия омирзакова");
        assert_eq!(fold("ҮҰҒҢҺІ"), "уугнхи");
    }

    #[test]
    fn diacritics_in_every_script() {
        assert_eq!(fold("Ёлка Йошкар"), "елка иошкар");
        assert_eq!(fold("Émile Zoë"), "emile zoe");
        assert_eq!(fold("Şımkent Qazaqstan"), "simkent qazaqstan");
        assert_eq!(fold("Ａｌｍａｔｙ"), "almaty");
    }

    /// The fast paths agree with normalising the whole text (NFKD, marks
    /// dropped, lowercased, letters folded) over every Latin, Greek and
    /// Cyrillic character.
    #[test]
    fn fast_paths_match_full_normalisation() {
        use unicode_normalization::UnicodeNormalization;
        let slow = |text: &str| -> String {
            text.nfkd()
                .filter(|c| !is_combining_mark(*c))
                .flat_map(char::to_lowercase)
                .map(fold_letter)
                .collect()
        };
        let sample: String = (0x20u32..0x250)
            .chain(0x370..0x530)
            .filter_map(char::from_u32)
            .collect();
        assert_eq!(fold(&sample), slow(&sample));
    }

    /// Whether `query` finds `text`, by the rule the relay and the index
    /// share.
    fn finds(text: &str, query: &str) -> bool {
        let mut indexed = String::new();
        push_terms(text, &mut indexed);
        let mut keys = Vec::new();
        add_keys(text, &mut keys);
        push_keys(keys, &mut indexed);
        Search::parse(query).matches(&indexed)
    }

    #[test]
    fn search_crosses_scripts() {
        for query in ["Kasym", "Qasym", "Kassym", "қасым", "Касым"] {
            assert!(finds("Задержан Қасым Тоқаев", query), "{query}");
        }
        for query in ["asel", "assel", "Äsel", "Асель"] {
            assert!(finds("Асель Нурланова, журналист", query), "{query}");
            assert!(finds("NURLANOVA Assel", query), "{query}");
        }
        // A Latin word inside Cyrillic text, and the reverse.
        assert!(finds("Видели, как Kasym Abenov вели к автобусу", "Абенов"));
        assert!(finds("We saw Нурлан at the square", "Nurlan"));
        // A prefix: the surname made from the name.
        assert!(finds("Қасымов Ерлан", "Kasym"));
        // Every part must match, and strangers do not.
        assert!(finds("Қасым Тоқаев", "Kasym Tokayev"));
        assert!(!finds("Қасым Тоқаев", "Kasym Nazarbayev"));
        assert!(!finds("Асель Нурланова", "Bolat"));
        // Digits are searched as typed.
        assert!(finds("СИЗО-1, 5 января", "сизо 1"));
        assert!(Search::parse(" ,.! ").is_empty());
        assert_eq!(Search::parse(" ,.! ").expression(), None);
    }

    #[test]
    fn terms_split_on_punctuation() {
        assert_eq!(
            terms("Алматы, площадь — 5 января!"),
            ["алматы", "площадь", "5", "января"]
        );
        assert!(terms("  ,.!  ").is_empty());
    }
}
