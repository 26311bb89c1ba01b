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
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lowercases `text`, removes diacritics and folds letter variants.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        for lower in c.to_lowercase() {
            out.push(fold_letter(lower));
        }
    }
    out
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
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// The folded text the full-text index holds for `event`, or `None` for
/// events that are not searchable (reactions, deletions, encrypted kinds).
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
    let mut text = String::with_capacity(event.content.len() + 64);
    text.push_str(&event.content);
    for tag in event.tags.iter() {
        if let [name, value, ..] = tag.as_slice()
            && fields.contains(&name.as_str())
        {
            text.push('\n');
            text.push_str(value);
        }
    }
    Some(fold(&text))
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

    #[test]
    fn terms_split_on_punctuation() {
        assert_eq!(
            terms("Алматы, площадь — 5 января!"),
            ["алматы", "площадь", "5", "января"]
        );
        assert!(terms("  ,.!  ").is_empty());
    }
}
