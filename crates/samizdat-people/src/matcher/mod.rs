//! Whether two names are one person's: a score, a decision and the
//! reasons, in words a documenter can check.
//!
//! Words are compared by their canonical keys (see [`crate::translit`]):
//! equal keys are the same name in another script or spelling; equal
//! stems under different endings are one father's name made into a
//! patronymic or a surname (`Nurlanqyzy`, `Nurlanova`); otherwise a
//! weighted edit distance, in which the letters people confuse (vowels,
//! `k g kh`, `s sh`, `ch ts`, `zh z`) cost less, measures a typo. The
//! words of the two names are then paired, in any order, so as to agree
//! best. A word left over on both sides is a conflict; a word in one name
//! only (a patronymic, a second given name) is missing information.

use crate::index::Fast;
use crate::name::{Name, Word};
use crate::translit::show;

mod word;

pub use word::{similarity, words};

/// At or above this score, with two or more words agreeing: `same`.
pub const SAME: f32 = 0.9;
/// At or above this score: `possible` (a documenter decides).
pub const POSSIBLE: f32 = 0.7;
/// Two words below this similarity are not paired.
const PAIR_MIN: f32 = 0.6;
/// What a word missing from one name costs, beside a conflict's 1.
const MISSING_PATRONYMIC: f32 = 0.05;
const MISSING_WORD: f32 = 0.3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Same,
    Possible,
    Different,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Same => "same",
            Decision::Possible => "possible",
            Decision::Different => "different",
        }
    }
}

/// How two words agree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Agreement {
    /// Written alike (ignoring case).
    Same,
    /// The same name in another script or spelling.
    Spelling,
    /// One father's name under different endings.
    Stem { gender_differs: bool },
    /// Close spellings: perhaps a typo.
    Close,
    /// An initial that fits.
    Initial,
    /// A name and a patronymic made from it: a father and a child.
    Father,
    /// Two different names in common use (or patronymics made from them).
    Names,
    /// Nothing in common.
    Differs,
}

/// The verdict on two names.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// 0 to 1.
    pub score: f32,
    pub decision: Decision,
    /// One line per word pairing, conflict or missing word.
    pub reasons: Vec<String>,
    /// Each word of both names, and what the lexicon knows it as.
    pub words: Vec<(String, &'static str)>,
}

const W: usize = crate::name::MAX_WORDS;

/// The pairing of words that agrees best: for each word of `a`, the
/// index of its partner in `b`, or none. Brute force over at most
/// [`crate::name::MAX_WORDS`] words a side, on the stack.
fn pairing(scores: &[[f32; W]; W], n: usize, m: usize) -> (f32, [Option<u8>; W]) {
    struct Search<'s> {
        scores: &'s [[f32; W]; W],
        n: usize,
        m: usize,
        used: [bool; W],
        current: [Option<u8>; W],
        best: (f32, [Option<u8>; W]),
    }
    fn go(s: &mut Search<'_>, i: usize, total: f32) {
        if i == s.n {
            if total > s.best.0 {
                s.best = (total, s.current);
            }
            return;
        }
        s.current[i] = None;
        go(s, i + 1, total);
        for j in 0..s.m {
            if !s.used[j] && s.scores[i][j] >= PAIR_MIN {
                s.used[j] = true;
                s.current[i] = Some(j as u8);
                go(s, i + 1, total + s.scores[i][j]);
                s.used[j] = false;
            }
        }
        s.current[i] = None;
    }
    let mut search = Search {
        scores,
        n,
        m,
        used: [false; W],
        current: [None; W],
        best: (0.0, [None; W]),
    };
    go(&mut search, 0, 0.0);
    search.best
}

/// Everything [`compare`] decides, before it is put into words.
struct Assessment {
    score: f32,
    decision: Decision,
    agreements: [[(f32, Agreement); W]; W],
    pairs: [Option<u8>; W],
    /// Words of each name left unpaired.
    left_a: Vec<usize>,
    left_b: Vec<usize>,
    /// How many of the longer side's leftovers are in conflict.
    conflicts: usize,
    /// Two words left over, one in each name, that cannot be one
    /// person's: two different known names, two patronymics, or an
    /// initial and a word it does not start.
    certain: Option<(usize, usize)>,
}

/// Whether two words left unpaired, one in each name, tell two people
/// apart for certain.
fn certainly_apart(a: &Word, b: &Word, agreement: Agreement) -> bool {
    match agreement {
        Agreement::Names => true,
        Agreement::Differs | Agreement::Close => {
            a.initial || b.initial || (a.is_patronymic() && b.is_patronymic())
        }
        _ => false,
    }
}

/// What a word present in one name only costs, and what it is called.
fn missing(word: &Word) -> (f32, &'static str) {
    if word.is_patronymic() {
        (MISSING_PATRONYMIC, "a patronymic")
    } else if word.initial {
        (MISSING_PATRONYMIC, "an initial")
    } else {
        (MISSING_WORD, "a word")
    }
}

type Matrix = [[(f32, Agreement); W]; W];

fn matrix(a: &Name, b: &Name) -> Matrix {
    let mut agreements = [[(0.0, Agreement::Differs); W]; W];
    for (i, wa) in a.words.iter().enumerate().take(W) {
        for (j, wb) in b.words.iter().enumerate().take(W) {
            agreements[i][j] = words(wa, wb);
        }
    }
    agreements
}

fn assess(a: &Name, b: &Name, agreements: Matrix) -> Assessment {
    let (n, m) = (a.words.len().min(W), b.words.len().min(W));
    let mut scores = [[0.0f32; W]; W];
    for i in 0..n {
        for j in 0..m {
            scores[i][j] = agreements[i][j].0;
        }
    }
    let (total, pairs) = pairing(&scores, n, m);
    let mut paired_b = [false; W];
    let (mut matched, mut full_pairs, mut typos) = (0usize, 0usize, 0usize);
    for (i, pair) in pairs.iter().enumerate().take(n) {
        if let Some(j) = *pair {
            paired_b[j as usize] = true;
            matched += 1;
            match agreements[i][j as usize].1 {
                Agreement::Initial => {}
                Agreement::Close => {
                    full_pairs += 1;
                    typos += 1;
                }
                _ => full_pairs += 1,
            }
        }
    }
    let left_a: Vec<usize> = (0..n).filter(|i| pairs[*i].is_none()).collect();
    let left_b: Vec<usize> = (0..m).filter(|j| !paired_b[*j]).collect();
    let certain = left_a.iter().find_map(|&i| {
        left_b
            .iter()
            .find(|&&j| certainly_apart(&a.words[i], &b.words[j], agreements[i][j].1))
            .map(|&j| (i, j))
    });
    let conflicts = left_a.len().min(left_b.len());
    let mut penalty = conflicts as f32;
    let (longer, words_of) = if left_a.len() >= left_b.len() {
        (&left_a, a)
    } else {
        (&left_b, b)
    };
    // The words only one name has (beyond those in conflict): the least
    // telling ones, patronymics first, count as missing.
    let mut costs: Vec<f32> = longer
        .iter()
        .map(|&k| missing(&words_of.words[k]).0)
        .collect();
    costs.sort_by(f32::total_cmp);
    penalty += costs.iter().take(longer.len() - conflicts).sum::<f32>();
    let score = if matched == 0 {
        0.0
    } else {
        (total / (matched as f32 + penalty)).clamp(0.0, 1.0)
    };
    // A typo in one word is a typo; in two, the names are too far apart
    // to join without a documenter.
    let decision = if certain.is_some() {
        Decision::Different
    } else if score >= SAME && full_pairs >= 2 && typos <= 1 {
        Decision::Same
    } else if score >= POSSIBLE {
        Decision::Possible
    } else {
        Decision::Different
    };
    Assessment {
        score,
        decision,
        agreements,
        pairs,
        left_a,
        left_b,
        conflicts,
        certain,
    }
}

/// How words agree, remembered by their identities: the words of many
/// names repeat (common given names, surnames and patronymics), so each
/// pair of distinct words is compared once. Bounded: forgets everything
/// when it holds [`Agreements::HELD`] pairs.
#[derive(Default)]
pub struct Agreements {
    known: Fast<(u64, u64), (f32, Agreement)>,
}

impl Agreements {
    /// Pairs held before all are forgotten (about 30 MB).
    pub const HELD: usize = 1 << 20;

    pub fn new() -> Agreements {
        Agreements::default()
    }

    fn words(&mut self, a: &Word, b: &Word) -> (f32, Agreement) {
        let key = (a.identity, b.identity);
        if let Some(known) = self.known.get(&key) {
            return *known;
        }
        if self.known.len() >= Self::HELD {
            self.known.clear();
        }
        let found = words(a, b);
        self.known.insert(key, found);
        found
    }

    fn matrix(&mut self, a: &Name, b: &Name) -> Matrix {
        let mut agreements = [[(0.0, Agreement::Differs); W]; W];
        for (i, wa) in a.words.iter().enumerate().take(W) {
            for (j, wb) in b.words.iter().enumerate().take(W) {
                agreements[i][j] = self.words(wa, wb);
            }
        }
        agreements
    }

    /// [`compare`]'s score and decision, without the reasons, and
    /// whether `b` names someone else than `a` for certain: two words,
    /// one in each name, that cannot be one person's (two different real
    /// names, two patronymics, an initial that does not fit).
    pub fn judge(&mut self, a: &Name, b: &Name) -> (f32, Decision, bool) {
        if a.is_empty() || b.is_empty() {
            return (0.0, Decision::Different, false);
        }
        let assessment = assess(a, b, self.matrix(a, b));
        (
            assessment.score,
            assessment.decision,
            assessment.certain.is_some(),
        )
    }

    /// [`Agreements::judge`]'s score and decision.
    pub fn score(&mut self, a: &Name, b: &Name) -> (f32, Decision) {
        let (score, decision, _) = self.judge(a, b);
        (score, decision)
    }

    /// [`Agreements::judge`]'s certainty.
    pub fn certainly_other(&mut self, a: &Name, b: &Name) -> bool {
        self.judge(a, b).2
    }
}

/// One name compared with many, for its score and decision alone.
pub struct Matcher<'q> {
    name: &'q Name,
    agreements: Agreements,
}

impl<'q> Matcher<'q> {
    pub fn new(name: &'q Name) -> Matcher<'q> {
        Matcher {
            name,
            agreements: Agreements::new(),
        }
    }

    pub fn score(&mut self, other: &Name) -> (f32, Decision) {
        self.agreements.score(self.name, other)
    }

    /// See [`Agreements::certainly_other`].
    pub fn certainly_other(&mut self, other: &Name) -> bool {
        self.agreements.certainly_other(self.name, other)
    }
}

/// Compares two names, with the reasons.
pub fn compare(a: &Name, b: &Name) -> Comparison {
    if a.is_empty() || b.is_empty() {
        return Comparison {
            score: 0.0,
            decision: Decision::Different,
            reasons: vec!["one of the names has no letters".into()],
            words: Vec::new(),
        };
    }
    let x = assess(a, b, matrix(a, b));
    let mut reasons = Vec::new();
    for (i, pair) in x.pairs.iter().enumerate().take(a.words.len()) {
        if let Some(j) = *pair {
            let (score, agreement) = x.agreements[i][j as usize];
            reasons.push(explain(&a.words[i], &b.words[j as usize], score, agreement));
        }
    }
    // The one conflict that is certain is said once, below, with why.
    let only_certain = x
        .certain
        .is_some_and(|(i, j)| x.left_a == [i] && x.left_b == [j]);
    if x.conflicts > 0 && !only_certain {
        let text = |name: &Name, left: &[usize]| {
            left.iter()
                .map(|&k| name.words[k].written.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        reasons.push(format!(
            "«{}» and «{}» do not match: both names have them, and they differ",
            text(a, &x.left_a),
            text(b, &x.left_b)
        ));
    }
    let (longer, words_of, other) = if x.left_a.len() >= x.left_b.len() {
        (&x.left_a, a, &b.written)
    } else {
        (&x.left_b, b, &a.written)
    };
    let mut extra: Vec<&Word> = longer.iter().map(|&k| &words_of.words[k]).collect();
    extra.sort_by(|p, q| missing(p).0.total_cmp(&missing(q).0));
    for word in extra.iter().take(longer.len() - x.conflicts) {
        reasons.push(format!(
            "«{}» is {} that «{other}» does not give",
            word.written,
            missing(word).1
        ));
    }
    if let Some((i, j)) = x.certain {
        reasons.push(format!(
            "«{}» and «{}» cannot be one person's: {}",
            a.words[i].written,
            b.words[j].written,
            match x.agreements[i][j].1 {
                Agreement::Names => "two different names people have",
                _ if a.words[i].initial || b.words[j].initial => "the initial does not fit",
                _ => "the patronymics differ (two fathers)",
            }
        ));
    } else if x.decision == Decision::Possible && x.score >= SAME {
        reasons.push(
            "only one word agrees, or more than one is mistyped: too little to be sure".into(),
        );
    }
    let words = a
        .words
        .iter()
        .chain(&b.words)
        .map(|w| (w.written.clone(), w.kinds.describe()))
        .collect();
    Comparison {
        score: x.score,
        decision: x.decision,
        reasons,
        words,
    }
}

fn explain(a: &Word, b: &Word, score: f32, agreement: Agreement) -> String {
    let (x, y) = (&a.written, &b.written);
    match agreement {
        Agreement::Same => format!("«{x}» = «{y}»"),
        Agreement::Spelling => format!(
            "«{x}» = «{y}»: the same name in another script or spelling ({})",
            show(&a.keys[0])
        ),
        Agreement::Stem { gender_differs } => {
            let stem = a.stems.first().map(|(s, _)| show(s)).unwrap_or_default();
            let mut text = format!(
                "«{x}» ~ «{y}»: both made from the name {stem}, with different endings \
                 (patronymic or surname, Kazakh or Russian form)"
            );
            if gender_differs {
                text.push_str("; one ending is male, the other female");
            }
            text
        }
        Agreement::Close => format!(
            "«{x}» ≈ «{y}»: close spellings ({:.0}% alike), perhaps a typo",
            score * 100.0
        ),
        Agreement::Initial => format!("«{x}» ~ «{y}»: an initial that fits"),
        Agreement::Father => format!("«{x}» and «{y}»: a name, and a patronymic made from it"),
        Agreement::Names => format!("«{x}» and «{y}» are two different names"),
        Agreement::Differs => format!("«{x}» ≠ «{y}»"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(a: &str, b: &str) -> Comparison {
        compare(&Name::parse(a), &Name::parse(b))
    }

    #[test]
    fn decisions_with_reasons() {
        let c = verdict("Әсел Нұрланқызы Ахметова", "Assel Akhmetova");
        assert_eq!(c.decision, Decision::Same, "{c:?}");
        assert!(c.reasons.iter().any(|r| r.contains("patronymic")), "{c:?}");

        let c = verdict("Асель Нурланова", "Äsel Nūrlanqyzy");
        assert_eq!(c.decision, Decision::Same, "{c:?}");
        assert!(
            c.reasons.iter().any(|r| r.contains("both made from")),
            "{c:?}"
        );

        let c = verdict("Aigerim Nurlanova", "Aizhan Nurlanova");
        assert_eq!(c.decision, Decision::Different, "{c:?}");
        assert!(
            c.reasons
                .iter()
                .any(|r| r.contains("cannot be one person's")),
            "{c:?}"
        );

        let c = verdict("Asel", "Асель");
        assert_eq!(c.decision, Decision::Possible, "one word: {c:?}");

        let c = verdict("Nurlan Abenov", "Abenov Nurlan");
        assert_eq!(c.decision, Decision::Same, "any order: {c:?}");

        let c = verdict("Serik Abenov", "Nurlan Serikovich Abenov");
        assert_eq!(c.decision, Decision::Different, "father and son: {c:?}");

        let c = verdict("A. Abenov", "Askar Abenov");
        assert_eq!(c.decision, Decision::Possible, "initial: {c:?}");

        let c = verdict("Nurlan Abenov", "Nurlan Abenova");
        assert_ne!(c.decision, Decision::Same, "gender: {c:?}");

        assert_eq!(verdict("", "Asel").decision, Decision::Different);
    }

    #[test]
    fn distance_prefers_the_confusions_people_make() {
        let key = |w: &str| crate::translit::keys(w).remove(0);
        assert!(similarity(&key("Abenov"), &key("Abenow")) > 0.95);
        assert!(similarity(&key("Nurlan"), &key("Nrulan")) >= 0.8);
        assert!(similarity(&key("Serik"), &key("Sergei")) < PAIR_MIN);
        assert_eq!(similarity(b"", b""), 0.0);
    }
}
