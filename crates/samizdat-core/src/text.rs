//! Folding of text for search: what makes "ҚАСЫМ", "Қасым", "Касым" and
//! "қасым" the same word to the full-text index, and "Émile" the same as
//! "emile".
//!
//! The store folds every indexed text and every query with [`fold`], so
//! search is insensitive to case and to diacritics in any script. Kazakh
//! letters are folded onto their Russian base letters (ә→а, ғ→г, қ→к, ң→н,
//! ө→о, ұ→у, ү→у, һ→х, і→и) because people who type on a Russian keyboard
//! write them so; ё→е and й→и follow from removing diacritics.

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

/// The folded terms, separated by single spaces, that the full-text index
/// holds for `event`, or `None` for events that are not searchable
/// (reactions, deletions, encrypted kinds). Because the terms are already
/// folded and split, the index's tokenizer only has to split on spaces.
///
/// Notes, testimonies and long-form articles are searched by their content,
/// place and topics; person reports by name, other spellings, role, place
/// and details.
pub fn searchable_text(event: &Event) -> Option<String> {
    let fields: &[&str] = match event.kind.as_u16() {
        1 | 30023 => &["location", "t", "title", "summary"],
        1948 => &["name", "alias", "role", "location"],
        _ => return None,
    };
    let mut out = String::with_capacity(event.content.len() + 64);
    push_terms(&event.content, &mut out);
    for tag in event.tags.iter() {
        if let [name, value, ..] = tag.as_slice()
            && fields.contains(&name.as_str())
        {
            push_terms(value, &mut out);
        }
    }
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

    #[test]
    fn terms_split_on_punctuation() {
        assert_eq!(
            terms("Алматы, площадь — 5 января!"),
            ["алматы", "площадь", "5", "января"]
        );
        assert!(terms("  ,.!  ").is_empty());
    }
}
