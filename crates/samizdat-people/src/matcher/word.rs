//! How well two words agree: the same name in another spelling, one
//! father's name under two endings, two different real names, or a typo
//! measured by a weighted edit distance in which the letters people
//! confuse cost less.

use super::{Agreement, PAIR_MIN};
use crate::name::Word;

const fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u')
}

/// What replacing one symbol by another costs.
const fn substitution(a: u8, b: u8) -> f32 {
    if a == b {
        return 0.0;
    }
    if is_vowel(a) && is_vowel(b) {
        return 0.5;
    }
    let (x, y) = if a < b { (a, b) } else { (b, a) };
    match (x, y) {
        (b'C', b'S') | (b'S', b's') => 0.5,
        (b'H', b'g') | (b'H', b'k') | (b'g', b'k') => 0.6,
        (b'C', b'c') | (b'c', b's') | (b'J', b'z') | (b'J', b'S') => 0.6,
        (b'd', b't') | (b'b', b'p') | (b'f', b'v') | (b'b', b'v') => 0.7,
        (b'm', b'n') | (b'l', b'r') => 0.9,
        _ => 1.0,
    }
}

/// [`substitution`] for every pair of ASCII symbols, computed once by
/// the compiler.
static SUBSTITUTION: [[f32; 128]; 128] = {
    let mut table = [[1.0f32; 128]; 128];
    let mut a = 0;
    while a < 128 {
        let mut b = 0;
        while b < 128 {
            table[a][b] = substitution(a as u8, b as u8);
            b += 1;
        }
        a += 1;
    }
    table
};

fn indel(a: u8) -> f32 {
    if is_vowel(a) { 0.7 } else { 1.0 }
}

/// Weighted edit distance (Levenshtein with the costs above, and an
/// adjacent swap at 0.8).
fn distance(a: &[u8], b: &[u8]) -> f32 {
    // Words are short: rows live on the stack; longer keys are cut.
    const MAX: usize = 40;
    let (a, b) = (&a[..a.len().min(MAX)], &b[..b.len().min(MAX)]);
    let n = b.len();
    let mut before = [0.0f32; MAX + 1];
    let mut previous = [0.0f32; MAX + 1];
    let mut current = [0.0f32; MAX + 1];
    for j in 1..=n {
        previous[j] = previous[j - 1] + indel(b[j - 1]);
    }
    for i in 1..=a.len() {
        current[0] = previous[0] + indel(a[i - 1]);
        for j in 1..=n {
            let cost = SUBSTITUTION[usize::from(a[i - 1] & 0x7f)][usize::from(b[j - 1] & 0x7f)];
            let mut best = (previous[j - 1] + cost)
                .min(previous[j] + indel(a[i - 1]))
                .min(current[j - 1] + indel(b[j - 1]));
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 0.8);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[n]
}

/// 1 for equal keys, falling towards 0 as edits add up. Below
/// `PAIR_MIN / 2` the value is only an upper bound.
pub fn similarity(a: &[u8], b: &[u8]) -> f32 {
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 0.0;
    }
    // The length difference alone costs at least this much: skip the
    // table when it already sinks the pair.
    let floor = 0.7 * a.len().abs_diff(b.len()) as f32 / longest as f32;
    if 1.0 - floor < PAIR_MIN / 2.0 {
        return (1.0 - floor).max(0.0);
    }
    (1.0 - distance(a, b) / longest as f32).max(0.0)
}

/// The best similarity between any key of `a` and any key of `b`.
fn best(a: &[Vec<u8>], b: &[Vec<u8>]) -> f32 {
    let mut best = 0.0f32;
    for ka in a {
        for kb in b {
            best = best.max(similarity(ka, kb));
        }
    }
    best
}

/// How well two words agree, and how.
pub fn words(a: &Word, b: &Word) -> (f32, Agreement) {
    if a.initial || b.initial {
        let (initial, full) = if a.initial { (a, b) } else { (b, a) };
        let fits = initial
            .keys
            .iter()
            .any(|i| full.keys.iter().any(|k| k.starts_with(i)));
        return if fits {
            (0.6, Agreement::Initial)
        } else {
            (0.0, Agreement::Differs)
        };
    }
    if a.keys.iter().any(|k| b.keys.contains(k)) {
        return if a.folded == b.folded {
            (1.0, Agreement::Same)
        } else {
            (1.0, Agreement::Spelling)
        };
    }
    // `Serik` and `Serikovich`: a name, and a patronymic made from it.
    for (plain, derived) in [(a, b), (b, a)] {
        if !plain.has_ending()
            && derived.is_patronymic()
            && derived
                .stems
                .iter()
                .any(|(stem, _)| plain.keys.iter().any(|k| similarity(k, stem) >= 0.85))
        {
            return (0.0, Agreement::Father);
        }
    }
    let whole = best(&a.keys, &b.keys);
    if a.known && b.known {
        // Two different names people really have are not a typo of each
        // other, unless they are one father's name under two endings
        // (`Nurlanova`, `Nurlanqyzy`; `Abenov`, `Abenova`).
        return same_stem(a, b).unwrap_or((whole.min(PAIR_MIN / 2.0), Agreement::Names));
    }
    if !a.has_ending() && !b.has_ending() {
        return close(whole);
    }
    if !(a.has_ending() && b.has_ending()) {
        return close(whole);
    }
    let mut stem = 0.0f32;
    let mut ending_pair = None;
    for (sa, ea) in &a.stems {
        for (sb, eb) in &b.stems {
            let s = similarity(sa, sb);
            if s > stem {
                stem = s;
                ending_pair = Some((*ea, *eb));
            }
        }
    }
    let Some((ea, eb)) = ending_pair else {
        return close(whole);
    };
    if stem < 1.0 && a.is_patronymic() && b.is_patronymic() && a.stem_known && b.stem_known {
        // `Talgatqyzy` and `Qairatqyzy`: two fathers.
        return (whole.min(PAIR_MIN / 2.0), Agreement::Names);
    }
    if stem < 0.85 {
        return close(whole);
    }
    let gender_differs = ea.female() != eb.female();
    if gender_differs {
        // A male and a female form are one family's name, not a typo:
        // never more than that, however alike they are written.
        return (stem * 0.75, Agreement::Stem { gender_differs });
    }
    let by_stem = if ea == eb { stem } else { stem * 0.9 };
    if by_stem > whole {
        (by_stem, Agreement::Stem { gender_differs })
    } else {
        close(whole)
    }
}

/// Two words made from one stem under different endings.
fn same_stem(a: &Word, b: &Word) -> Option<(f32, Agreement)> {
    let (ea, eb) = a.stems.iter().find_map(|(sa, ea)| {
        b.stems
            .iter()
            .find(|(sb, _)| sa == sb)
            .map(|(_, eb)| (*ea, *eb))
    })?;
    let gender_differs = ea.female() != eb.female();
    let score = if gender_differs { 0.75 } else { 0.9 };
    Some((score, Agreement::Stem { gender_differs }))
}

fn close(similarity: f32) -> (f32, Agreement) {
    if similarity >= PAIR_MIN {
        (similarity, Agreement::Close)
    } else {
        (similarity, Agreement::Differs)
    }
}
