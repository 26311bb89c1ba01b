//! One word of a name, in any script or spelling, to canonical keys:
//! strings over a reduced alphabet in which the spellings of one sound
//! meet.
//!
//! Three passes, the same for every script, so that a rule can only merge
//! spellings, never tell one script from another:
//! 1. **letters**: Kazakh and Russian Cyrillic to a loose Latin (я `ya`,
//!    ц `ts`…; the letters that are one sound, ж ш щ ч х and Latin `š ž č
//!    ş ç`, straight to their symbols), and Latin letters with diacritics
//!    (Kazakh Latin 2021 `ä ğ ı ñ ö ū ü`, 2018 `á ǵ ń ó ú ý`, French `ï é`)
//!    to plain ones; apostrophes and soft signs vanish, except that the
//!    2017 Kazakh Latin `s' c'` are ш and ч, and in a word with Turkish
//!    letters (`ı ş ğ`) `c` is дж.
//! 2. **clusters**, longest first: `shch tsch shh sch sh sz` → `S` (`tsch`
//!    → `C`), `tch` → `C`, `dzh dj zh` → `J`, `kh h` → `H`, `ts tz` → `c`,
//!    `gh` → `g`, `ph` → `f`, French `ou` → `u` and `gu` before `e i` →
//!    `g`, `q` → `k`, `w` → `v`, and `c` → `k` (or Turkish дж) unless
//!    before `e i y`. Some
//!    spellings have several readings, each giving a key: `ch` (ч in
//!    English, ш in French, х in German and Polish), `cz` (ц in GOST, ч in
//!    Polish), `x` (`ks` in Alexander, `kh` in Muxtar), `j` (ж in Jandos
//!    and French, й in Sergej and German), `z` (з, or German ц); in a word
//!    spelled the German way (`w`, `sch`), `sch` is also ж and one `s`
//!    between vowels з (Nasarbajew, Schukow).
//! 3. **glides and doubles**: `yo` and `io` after a consonant → `e`
//!    (Fyodor, Fiodor, Fedor), `ye` → `e` (Yerlan, Erlan; Sergeyev,
//!    Sergeev), `y` → `i` (so `ya ia ja` and `yu iu ju` meet), then doubled
//!    symbols collapse (Assel, Asel; Dmitrii, Dmitri).
//!
//! Korean surnames have two traditions no letter rule joins (Choi and
//! Цой, Park and Пак): a short table gives the Koryo-saram form beside
//! the South Korean one.
//!
//! Symbols: lowercase Latin letters, plus `S` (ш щ), `C` (ч), `J` (ж),
//! `H` (х һ).

/// Most keys one word yields: an ambiguous spelling that would pass it
/// takes its first reading only.
const MAX_VARIANTS: usize = 8;

/// A canonical key: ASCII symbols.
pub type Key = Vec<u8>;

/// Pass 1: one character to loose Latin, `None` for a character that
/// separates words (space, punctuation, digits), `Some("")` for one that
/// vanishes.
fn letter(c: char) -> Option<&'static str> {
    Some(match c {
        'a'..='z' => return ascii(c),
        'а' | 'ә' => "a",
        'б' => "b",
        'в' => "v",
        'г' | 'ғ' => "g",
        'д' => "d",
        'е' | 'э' => "e",
        'ё' => "yo",
        'ж' => "J",
        'з' => "z",
        'и' | 'і' => "i",
        'й' => "y",
        'к' | 'қ' => "k",
        'л' => "l",
        'м' => "m",
        'н' | 'ң' => "n",
        'о' | 'ө' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' | 'ұ' | 'ү' | 'ў' => "u",
        'ф' => "f",
        'х' => "H",
        'һ' => "h",
        'ц' => "ts",
        'ч' => "C",
        'ш' => "S",
        'щ' => "S",
        'ъ' | 'ь' => "",
        'ы' => "y",
        'ю' => "yu",
        'я' => "ya",
        'ä' | 'á' | 'à' | 'â' | 'ã' | 'å' | 'ə' | 'ǝ' | 'ā' => "a",
        'ğ' | 'ǵ' | 'ĝ' => "g",
        'ı' | 'í' | 'ì' | 'ï' | 'î' | 'ī' | 'ĭ' => "i",
        'ö' | 'ó' | 'ò' | 'ô' | 'õ' | 'ø' | 'ō' => "o",
        'ş' | 'ș' | 'š' => "S",
        'ś' => "s",
        'ü' | 'ú' | 'ù' | 'û' | 'ū' | 'ŭ' => "u",
        'ñ' | 'ń' | 'ň' | 'ŋ' => "n",
        'ç' | 'č' | 'ć' => "C",
        'ž' | 'ź' | 'ż' => "J",
        'é' | 'è' | 'ê' | 'ë' | 'ē' | 'ě' => "e",
        // Kazakh Latin 2018 writes у `ý`.
        'ý' => "u",
        'ÿ' => "y",
        'đ' | 'ď' => "d",
        'ł' => "l",
        'ř' => "r",
        'ť' => "t",
        c if is_apostrophe(c) => "",
        _ => return None,
    })
}

fn ascii(c: char) -> Option<&'static str> {
    const LETTERS: [&str; 26] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
        "s", "t", "u", "v", "w", "x", "y", "z",
    ];
    LETTERS
        .get((c as u32).wrapping_sub('a' as u32) as usize)
        .copied()
}

/// Whether `c` separates words (anything that is not a letter samizdat
/// reads). A hyphen separates too: `Nurlan-uly` is two words, joined
/// again by the name parser.
pub fn is_separator(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | 'а'..='я' | 'А'..='Я' => false,
        c if c.is_ascii() => !is_apostrophe(c),
        c => c.to_lowercase().all(|l| letter(l).is_none()),
    }
}

/// `word` in lowercase; ASCII and the basic Cyrillic letters, nearly all
/// of what is read, without Unicode's tables.
fn lowercase(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        match c {
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            'А'..='Я' => out.push(char::from_u32(c as u32 + 0x20).unwrap_or(c)),
            c if c.is_ascii() || ('а'..='я').contains(&c) => out.push(c),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Pass 1 over a word. Two spellings depend on the word around them: the
/// 2017 Kazakh Latin writes ш and ч `s'` and `c'`, and in a word with
/// Turkish letters (`ı ş ğ`) `c` is дж.
fn loose(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let turkish = word
        .chars()
        .any(|c| matches!(c, 'ı' | 'ş' | 'ğ' | 'Ş' | 'Ğ'));
    let mut previous = None;
    let lower = lowercase(word);
    let mut chars = lower.chars().peekable();
    while let Some(c) = chars.next() {
        if is_apostrophe(c) && !turkish && matches!(previous, Some('s' | 'c')) {
            out.pop();
            out.push(if previous == Some('s') { 'S' } else { 'C' });
        } else if c == 'c' && turkish && chars.peek() != Some(&'h') {
            out.push_str("dzh");
        } else if let Some(s) = letter(c) {
            out.push_str(s);
        }
        previous = Some(c);
    }
    out
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | 'ʼ' | 'ʹ' | '`' | '´' | 'ʻ' | 'ʽ')
}

fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// Pass 2: clusters to symbols. Returns the keys for each reading of the
/// ambiguous clusters.
fn clusters(loose: &[u8]) -> Vec<Key> {
    let mut keys: Vec<Key> = vec![Vec::with_capacity(loose.len())];
    let mut i = 0;
    // Bounded: every step consumes at least one byte.
    let german = is_german(loose);
    while i < loose.len() {
        let (readings, used) = if german {
            german_cluster(loose, i).unwrap_or_else(|| cluster(&loose[i..]))
        } else {
            cluster(&loose[i..])
        };
        let first = readings[0];
        if readings.len() > 1 && keys.len() * readings.len() <= MAX_VARIANTS {
            let mut all = Vec::with_capacity(keys.len() * readings.len());
            for reading in readings {
                for key in &keys {
                    all.push([key.as_slice(), reading].concat());
                }
            }
            keys = all;
        } else {
            for key in keys.iter_mut() {
                key.extend_from_slice(first);
            }
        }
        i += used;
    }
    keys
}

/// Whether a word is spelled the German way: `w` for в, `sch` for ш
/// and ж (Gorbatschow, Nasarbajew, Schukow).
fn is_german(loose: &[u8]) -> bool {
    loose.contains(&b'w') || loose.windows(3).any(|w| w == b"sch")
}

/// The readings German spelling adds at `i`: `sch` is ш or ж, `z` is ц,
/// and a single `s` is з or с (с between vowels is written `ss`).
fn german_cluster(loose: &[u8], i: usize) -> Option<(&'static [&'static [u8]], usize)> {
    const SCH: &[&[u8]] = &[b"S", b"J"];
    const Z: &[&[u8]] = &[b"c", b"z"];
    const S: &[&[u8]] = &[b"z", b"s"];
    let rest = &loose[i..];
    if rest.starts_with(b"tsch") || rest.starts_with(b"shch") {
        return None;
    }
    if rest.starts_with(b"sch") {
        return Some((SCH, 3));
    }
    match rest[0] {
        b'z' if rest.get(1) != Some(&b'h') => Some((Z, 1)),
        b's' if rest.get(1) != Some(&b's') && (i == 0 || loose[i - 1] != b's') => Some((S, 1)),
        _ => None,
    }
}

/// The symbols the head of `rest` can be read as (the likeliest first),
/// and how many bytes they take.
fn cluster(rest: &[u8]) -> (&'static [&'static [u8]], usize) {
    const SH: &[&[u8]] = &[b"S"];
    const CH: &[&[u8]] = &[b"C"];
    const ZH: &[&[u8]] = &[b"J"];
    const KH: &[&[u8]] = &[b"H"];
    const TS: &[&[u8]] = &[b"c"];
    // English `ch` is ч, French ш, German and Polish х.
    const CH_ANY: &[&[u8]] = &[b"C", b"S", b"H"];
    // GOST 7.79 B writes ц `cz`, Polish writes ч so.
    const CZ: &[&[u8]] = &[b"c", b"C"];
    // `x` is `ks` in Alexander, `kh` in Muxtar; `j` is ж in Jandos and
    // French, й in Sergej and German; German `z` is ц.
    const X: &[&[u8]] = &[b"ks", b"H"];
    const J: &[&[u8]] = &[b"J", b"y"];
    const U: &[&[u8]] = &[b"u"];
    const G: &[&[u8]] = &[b"g"];
    const F: &[&[u8]] = &[b"f"];
    const K: &[&[u8]] = &[b"k"];
    const V: &[&[u8]] = &[b"v"];
    const C: &[&[u8]] = &[b"c"];
    const C_HARD: &[&[u8]] = &[b"k", b"J"];
    const SINGLE: [&[&[u8]]; 26] = [
        &[b"a"],
        &[b"b"],
        &[b"c"],
        &[b"d"],
        &[b"e"],
        &[b"f"],
        &[b"g"],
        &[b"H"],
        &[b"i"],
        J,
        &[b"k"],
        &[b"l"],
        &[b"m"],
        &[b"n"],
        &[b"o"],
        &[b"p"],
        &[b"k"],
        &[b"r"],
        &[b"s"],
        &[b"t"],
        &[b"u"],
        &[b"v"],
        &[b"v"],
        X,
        &[b"y"],
        &[b"z"],
    ];
    const GU: &[&[u8]] = &[b"g", b"gu"];
    const PATTERNS: &[(&[u8], &[&[u8]])] = &[
        (b"shch", SH),
        // Czech and Croatian `šč` is щ; Cyrillic дж comes as `dJ`.
        (b"SC", SH),
        (b"dJ", ZH),
        // German `tsch` is ч.
        (b"tsch", CH),
        // GOST 7.79 B writes щ `shh`.
        (b"shh", SH),
        (b"sch", SH),
        (b"tch", CH),
        (b"dzh", ZH),
        (b"sh", SH),
        // Polish `sz` is ш.
        (b"sz", SH),
        (b"ch", CH_ANY),
        (b"zh", ZH),
        (b"dj", ZH),
        (b"kh", KH),
        (b"ts", TS),
        (b"tz", TS),
        (b"cz", CZ),
        (b"gh", G),
        (b"ph", F),
        // French `ou` is у.
        (b"ou", U),
    ];
    // Every pattern begins with one of these.
    if matches!(
        rest[0],
        b's' | b'S' | b'd' | b't' | b'c' | b'k' | b'z' | b'g' | b'p' | b'o'
    ) {
        for (pattern, readings) in PATTERNS {
            if rest.starts_with(pattern) {
                return (readings, pattern.len());
            }
        }
    }
    // French `gu` before `e i` is г (Guennadi), or it is гу.
    if rest.starts_with(b"gu") && matches!(rest.get(2), Some(b'e' | b'i')) {
        return (GU, 2);
    }
    match rest[0] {
        b'c' if matches!(rest.get(1), Some(b'e' | b'i' | b'y')) => (C, 1),
        // Hard `c` is к in English spelling, дж in Turkish style (Ercan).
        b'c' => (C_HARD, 1),
        b'q' => (K, 1),
        b'w' => (V, 1),
        b @ b'a'..=b'z' => (SINGLE[usize::from(b - b'a')], 1),
        // Letters that are one sound whatever the spelling (Cyrillic ш,
        // Czech š…) come from pass 1 as their symbols.
        b'S' => (SH, 1),
        b'C' => (CH, 1),
        b'J' => (ZH, 1),
        b'H' => (KH, 1),
        // `loose` makes only the letters above.
        _ => (&[b""], 1),
    }
}

/// Pass 3 on one key, in place (the key only shrinks: what is written
/// never passes what is read).
fn glides(key: &mut Key) {
    let (mut i, mut n) = (0usize, 0usize);
    while i < key.len() {
        let b = key[i];
        let next = key.get(i + 1).copied();
        let last = n.checked_sub(1).map(|p| key[p]);
        if b == b'y' && next == Some(b'o') && last.is_some_and(|p| !is_vowel(p)) {
            key[n] = b'e';
            n += 1;
            i += 2;
            continue;
        }
        // `ye` → `e`; French writes е `ie` at the start and after a vowel.
        if (b == b'y' || (b == b'i' && last.is_none_or(is_vowel))) && next == Some(b'e') {
            i += 1;
            continue;
        }
        // ё written `io` after a consonant (Kazakh Latin, Fiodor).
        if b == b'i' && next == Some(b'o') && last.is_some_and(|p| !is_vowel(p)) {
            key[n] = b'e';
            n += 1;
            i += 2;
            continue;
        }
        key[n] = if b == b'y' { b'i' } else { b };
        n += 1;
        i += 1;
    }
    key.truncate(n);
    key.dedup();
}

/// Korean surnames as South Korean romanisation writes them, and as the
/// Koryo-saram of Kazakhstan write them in Russian (Choi is Цой, Park is
/// Пак): one family name in two traditions no letter rule joins.
fn korean(word: &str) -> Option<&'static str> {
    const SURNAMES: &[(&str, &str)] = &[
        ("choi", "цой"),
        ("choe", "цой"),
        ("park", "пак"),
        ("bak", "пак"),
        ("lee", "ли"),
        ("rhee", "ли"),
        ("yi", "ли"),
        ("kang", "кан"),
        ("hwang", "хван"),
        ("yoon", "юн"),
        ("jeong", "тен"),
        ("chung", "тен"),
        ("jang", "тян"),
    ];
    // Every surname of the table is of two to five ASCII letters.
    if !(2..=5).contains(&word.len()) || !word.is_ascii() {
        return None;
    }
    let lower = word.to_ascii_lowercase();
    SURNAMES
        .iter()
        .find(|(latin, _)| *latin == lower)
        .map(|(_, russian)| *russian)
}

/// The canonical keys of one word (one to four, the first being the most
/// likely reading); empty when the word has no letters.
pub fn keys(word: &str) -> Vec<Key> {
    let loose = loose(word);
    if loose.is_empty() {
        return Vec::new();
    }
    let mut keys: Vec<Key> = clusters(loose.as_bytes());
    for key in &mut keys {
        glides(key);
    }
    keys.retain(|k| !k.is_empty());
    if let Some(russian) = korean(word) {
        keys.extend(self::keys(russian));
    }
    // Two readings can meet after pass 3; keep the first of each (at
    // most eight keys: a quadratic pass costs less than a set).
    let mut i = 1;
    while i < keys.len() {
        if keys[..i].contains(&keys[i]) {
            keys.remove(i);
        } else {
            i += 1;
        }
    }
    keys
}

/// A key as text, for explanations and tests: `S` is shown as `sh`, `C`
/// as `ch`, `J` as `zh`, `H` as `kh`.
pub fn show(key: &[u8]) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    show_into(key, &mut out);
    out
}

/// [`show`], appended to `out`.
pub fn show_into(key: &[u8], out: &mut String) {
    for &b in key {
        match b {
            b'S' => out.push_str("sh"),
            b'C' => out.push_str("ch"),
            b'J' => out.push_str("zh"),
            b'H' => out.push_str("kh"),
            b'c' => out.push_str("ts"),
            _ => out.push(b as char),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(word: &str) -> String {
        show(&keys(word)[0])
    }

    fn meet(a: &str, b: &str) -> bool {
        let (ka, kb) = (keys(a), keys(b));
        ka.iter().any(|k| kb.contains(k))
    }

    #[test]
    fn spellings_of_one_name_meet() {
        for group in [
            &["Әсел", "Асель", "Asel", "Äsel", "Assel"][..],
            &["Жандос", "Zhandos", "Jandos", "Žandos"],
            &["Мұхтар", "Мухтар", "Mukhtar", "Muhtar", "Muxtar"],
            &["Қасым", "Касым", "Qasym", "Kasym", "Kassym", "Qasım"],
            &["Шыңғыс", "Shyngys", "Şyñğys", "Shynggys"],
            &["Дмитрий", "Dmitriy", "Dmitrii", "Dmitry", "Dmitrij"],
            &["Евгений", "Yevgeniy", "Evgenii", "Evgeny", "Jevgenij"],
            &["Фёдор", "Федор", "Fyodor", "Fedor", "Fiodor"],
            &["Чернышёв", "Chernyshev", "Chernyshyov", "Chernyşiov"],
            &["Ерлан", "Yerlan", "Erlan"],
            &["Сергеев", "Sergeyev", "Sergeev"],
            &["Юлия", "Yuliya", "Iuliia", "Julija", "Yulia"],
            &["Тоқаев", "Токаев", "Tokayev", "Tokaev", "Toqaev"],
            &["Айгерім", "Айгерим", "Aigerim", "Aygerim", "Ajgerim"],
            &["Нұрсұлтан", "Nursultan", "Nūrsūltan"],
            &["Щукин", "Shchukin", "Schukin", "Ščukin"],
            &["Цой", "Tsoy", "Tsoi"],
            &["Цветкова", "Tsvetkova", "Czvetkova"],
            &["Щербаков", "Shcherbakov", "Shherbakov"],
            &["Aleksandr", "Alexandr", "Александр"],
            &["Бауыржан", "Bauyrzhan", "Bauyrjan"],
        ] {
            for a in group {
                for b in group {
                    assert!(
                        meet(a, b),
                        "{a} {:?} and {b} {:?} should meet",
                        keys(a).iter().map(|k| show(k)).collect::<Vec<_>>(),
                        keys(b).iter().map(|k| show(k)).collect::<Vec<_>>()
                    );
                }
            }
        }
    }

    #[test]
    fn different_names_stay_apart() {
        for (a, b) in [
            ("Asel", "Aisel"),
            ("Aigerim", "Aizhan"),
            ("Nurlan", "Nurbol"),
            ("Serik", "Sergei"),
            ("Zhanna", "Yana"),
        ] {
            assert!(!meet(a, b), "{a} and {b}");
        }
    }

    #[test]
    fn readings_and_symbols() {
        assert_eq!(first("Щукин"), "shukin");
        assert_eq!(first("Цой"), "tsoi");
        assert_eq!(first("Victor"), "viktor");
        assert_eq!(keys("Jana").len(), 2);
        assert!(keys("12-34").is_empty());
        assert!(is_separator('-') && is_separator(' ') && !is_separator('Ә'));
    }
}
