//! The interface's four languages: Russian, Kazakh, English, French.
//!
//! Each language is a flat TOML catalogue in `web/i18n/`, compiled into
//! the binary. English is the reference: a key missing elsewhere (which
//! the tests forbid) falls back to it, and a key missing from English
//! shows as itself, so a page never fails to render over a word.

use std::collections::HashMap;
use std::sync::LazyLock;

/// A language of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Ru,
    Kk,
    En,
    Fr,
}

impl Lang {
    /// Every language, in the order the switcher shows them.
    pub const ALL: [Lang; 4] = [Lang::Ru, Lang::Kk, Lang::En, Lang::Fr];

    /// The ISO 639-1 code, as in `lang` attributes and `?lang=`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::Kk => "kk",
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The language's name in itself.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Ru => "Русский",
            Lang::Kk => "Қазақша",
            Lang::En => "English",
            Lang::Fr => "Français",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_']).next().unwrap_or("");
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// The first of the browser's preferences (`Accept-Language`, by
    /// weight, then order) that the interface speaks.
    pub fn negotiate(accept_language: &str) -> Option<Lang> {
        let mut choices: Vec<(u16, usize, Lang)> = Vec::new();
        for (order, part) in accept_language.split(',').take(32).enumerate() {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim();
            let weight = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            if weight <= 0.0 {
                continue;
            }
            if let Some(lang) = Lang::from_code(tag) {
                // Weights have at most three decimals (RFC 9110).
                choices.push(((weight.min(1.0) * 1000.0) as u16, order, lang));
            }
        }
        choices.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        choices.first().map(|c| c.2)
    }

    fn source(self) -> &'static str {
        match self {
            Lang::Ru => include_str!("../../web/i18n/ru.toml"),
            Lang::Kk => include_str!("../../web/i18n/kk.toml"),
            Lang::En => include_str!("../../web/i18n/en.toml"),
            Lang::Fr => include_str!("../../web/i18n/fr.toml"),
        }
    }

    /// The message `key` in this language.
    pub fn t(self, key: &'static str) -> &'static str {
        self.lookup(key).unwrap_or_else(|| {
            tracing::warn!(key, "message missing from the catalogues");
            key
        })
    }

    /// A message for a key made at run time, or the key itself.
    pub fn word(self, key: &str) -> String {
        self.lookup(key)
            .map_or_else(|| key.to_string(), str::to_string)
    }

    /// The message `key` with `{n}` replaced.
    pub fn tf(self, key: &'static str, n: impl std::fmt::Display) -> String {
        self.t(key).replace("{n}", &n.to_string())
    }

    /// The message `key`, for keys made at run time (a status, a kind),
    /// which may have no message.
    pub fn lookup(self, key: &str) -> Option<&'static str> {
        let find = |lang: Lang| CATALOGUES.get(&lang).and_then(|c| c.get(key)).copied();
        find(self).or_else(|| find(Lang::En))
    }

    /// Every message of this language's own catalogue, by key, sorted:
    /// for checks that a page speaks only its language.
    pub fn messages(self) -> Vec<(&'static str, &'static str)> {
        let mut all: Vec<(&'static str, &'static str)> = CATALOGUES
            .get(&self)
            .map(|c| c.iter().map(|(k, v)| (k.as_str(), *v)).collect())
            .unwrap_or_default();
        all.sort_unstable();
        all
    }
}

type Catalogue = HashMap<String, &'static str>;

static CATALOGUES: LazyLock<HashMap<Lang, Catalogue>> = LazyLock::new(|| {
    Lang::ALL
        .into_iter()
        .map(|lang| (lang, parse(lang.source()).unwrap_or_default()))
        .collect()
});

/// A catalogue: one table of strings. Its text lives as long as the
/// program, so messages are `&'static str`.
fn parse(source: &'static str) -> Result<Catalogue, String> {
    let table: toml::Table = toml::from_str(source).map_err(|e| e.to_string())?;
    let mut messages = HashMap::new();
    for (key, value) in table {
        let toml::Value::String(text) = value else {
            return Err(format!("{key}: not a string"));
        };
        messages.insert(key, &*Box::leak(text.into_boxed_str()));
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn placeholders(text: &str) -> BTreeSet<String> {
        text.split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
            .collect()
    }

    #[test]
    fn every_message_exists_in_every_language() {
        let english = parse(Lang::En.source()).expect("en.toml parses");
        for lang in Lang::ALL {
            let catalogue = parse(lang.source())
                .unwrap_or_else(|e| panic!("{}.toml does not parse: {e}", lang.code()));
            let keys: BTreeSet<&String> = catalogue.keys().collect();
            let reference: BTreeSet<&String> = english.keys().collect();
            let missing: Vec<_> = reference.difference(&keys).collect();
            let extra: Vec<_> = keys.difference(&reference).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", lang.code());
            assert!(extra.is_empty(), "{} has unknown {extra:?}", lang.code());
            for (key, text) in &catalogue {
                assert!(!text.trim().is_empty(), "{}: {key} is empty", lang.code());
                assert_eq!(
                    placeholders(text),
                    placeholders(english[key]),
                    "{}: {key} has other placeholders than in English",
                    lang.code()
                );
            }
        }
    }

    /// Every key the templates and the code ask for is in the catalogue.
    #[test]
    fn every_key_used_is_defined() {
        let english = parse(Lang::En.source()).expect("en.toml parses");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        // Every file under the folders that print words, however deep:
        // a module split into a folder stays checked. Bounded by the
        // tree's size.
        let mut sources = Vec::new();
        let mut folders: Vec<std::path::PathBuf> =
            ["templates", "src/server/web", "src/mirror", "src/views"]
                .iter()
                .map(|dir| root.join(dir))
                .collect();
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("reads the directory") {
                let path = entry.expect("lists the directory").path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    sources.push(std::fs::read_to_string(&path).expect("reads a source file"));
                }
            }
        }
        assert!(sources.len() > 30, "found only {} files", sources.len());
        let mut used = BTreeSet::new();
        for source in &sources {
            for marker in [".t(\"", ".tf(\""] {
                for rest in source.split(marker).skip(1) {
                    if let Some((key, _)) = rest.split_once('"') {
                        used.insert(key.to_string());
                    }
                }
            }
        }
        // Keys handed around as literals: titles of error pages, labels
        // of a record's facts.
        for source in &sources {
            for literal in source.split('"').skip(1).step_by(2) {
                let keyish = literal.split_once('.').is_some_and(|(group, rest)| {
                    ["error", "field", "kind", "stored"].contains(&group)
                        && !rest.is_empty()
                        && rest != "html"
                        && rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                });
                if keyish {
                    used.insert(literal.to_string());
                }
            }
        }
        assert!(used.len() > 40, "found only {} keys in use", used.len());
        let undefined: Vec<_> = used.iter().filter(|k| !english.contains_key(*k)).collect();
        assert!(undefined.is_empty(), "used but not defined: {undefined:?}");
    }

    #[test]
    fn browser_preferences_pick_a_language() {
        assert_eq!(Lang::negotiate("kk-KZ,kk;q=0.9,ru;q=0.8"), Some(Lang::Kk));
        assert_eq!(Lang::negotiate("de-DE, fr;q=0.5, ru;q=0.7"), Some(Lang::Ru));
        assert_eq!(Lang::negotiate("fr-CA"), Some(Lang::Fr));
        assert_eq!(Lang::negotiate("de, ja"), None);
        assert_eq!(Lang::negotiate("ru;q=0, en"), Some(Lang::En));
        assert_eq!(Lang::negotiate(""), None);
    }
}
