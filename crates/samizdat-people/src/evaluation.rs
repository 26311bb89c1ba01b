//! The matcher measured on labelled pairs of names: precision and recall
//! of automatic merges (`same`), overall and per kind of pair.
//!
//! Three sets, in `tests/data/`:
//! - `pairs.tsv`, written by `make-pairs.py` by rules: one person's name
//!   in two transliteration systems, with typos, orders and dropped
//!   patronymics; different people with similar names; and, drawn from
//!   OpenCorpora's real names, pairs of real surnames, given names and
//!   patronymics one letter apart;
//! - `hard-pairs.tsv`, written by hand: the hard cases (real surnames a
//!   letter or two apart, siblings, patronymics, initials, press
//!   spellings, Korean-Kazakh surnames, Turkish-style Latin);
//! - `held-out.tsv`, written by hand the same way and kept out of any
//!   tuning of the matcher: its figures are the honest ones.

use std::collections::BTreeMap;

use crate::matcher::{Decision, compare};
use crate::name::Name;

/// The sets, by name.
pub const SETS: &[(&str, &str)] = &[
    ("generated", include_str!("../tests/data/pairs.tsv")),
    ("hard", include_str!("../tests/data/hard-pairs.tsv")),
    ("held-out", include_str!("../tests/data/held-out.tsv")),
];

/// Counts for one group of pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// One person's pairs decided `same`, `possible`, `different`.
    pub same: [u32; 3],
    /// Different people's pairs decided `same`, `possible`, `different`.
    pub different: [u32; 3],
}

impl Counts {
    fn add(&mut self, one_person: bool, decision: Decision) {
        let slot = match decision {
            Decision::Same => 0,
            Decision::Possible => 1,
            Decision::Different => 2,
        };
        if one_person {
            self.same[slot] += 1;
        } else {
            self.different[slot] += 1;
        }
    }

    fn merge(&mut self, other: &Counts) {
        for i in 0..3 {
            self.same[i] += other.same[i];
            self.different[i] += other.different[i];
        }
    }

    pub fn pairs(&self) -> u32 {
        self.same.iter().sum::<u32>() + self.different.iter().sum::<u32>()
    }

    /// Of the pairs merged, the share that were one person (1 when none
    /// was merged).
    pub fn precision(&self) -> f64 {
        let merged = self.same[0] + self.different[0];
        if merged == 0 {
            1.0
        } else {
            f64::from(self.same[0]) / f64::from(merged)
        }
    }

    /// Of one person's pairs, the share merged (none when there are none).
    pub fn recall(&self) -> Option<f64> {
        let all: u32 = self.same.iter().sum();
        (all > 0).then(|| f64::from(self.same[0]) / f64::from(all))
    }
}

/// A pair the matcher got wrong.
#[derive(Debug, Clone)]
pub struct Miss {
    pub set: &'static str,
    pub category: String,
    pub label: &'static str,
    pub decision: Decision,
    pub score: f32,
    pub a: String,
    pub b: String,
}

/// Everything one run measured.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// (set, category) to counts.
    pub groups: BTreeMap<(&'static str, String), Counts>,
    pub misses: Vec<Miss>,
}

impl Evaluation {
    /// Counts of one set (all of them for `None`), leaving out the
    /// categories `skip` names.
    pub fn total(&self, set: Option<&str>, skip: &[&str]) -> Counts {
        let mut total = Counts::default();
        for ((s, category), counts) in &self.groups {
            if set.is_none_or(|set| set == *s) && !skip.contains(&category.as_str()) {
                total.merge(counts);
            }
        }
        total
    }

    /// Counts per category over every set.
    pub fn by_category(&self) -> BTreeMap<&str, Counts> {
        let mut out: BTreeMap<&str, Counts> = BTreeMap::new();
        for ((_, category), counts) in &self.groups {
            out.entry(category.as_str()).or_default().merge(counts);
        }
        out
    }
}

/// The kind of a pair of the generated set, from how it was made.
fn category_of(how: &str, one_person: bool) -> &'static str {
    let rules: &[(&str, &str)] = &[
        ("lexicon: surnames", "surname-near"),
        ("lexicon: given names", "siblings"),
        ("lexicon: patronymics", "patronymic"),
        ("similar surnames", "surname-near"),
        ("siblings", "siblings"),
        ("father and son", "father"),
        ("namesakes with different patronymics", "patronymic"),
        ("same given name", "namesakes"),
        ("a man and a woman", "gender"),
        ("initial", "initial"),
        ("typo", "typo"),
        ("surname from the father's name", "fathers-name"),
        ("french", "press"),
        ("german", "press"),
    ];
    for (needle, category) in rules {
        if how.contains(needle) {
            return category;
        }
    }
    if one_person { "scripts" } else { "other" }
}

/// Runs the matcher over every set.
pub fn evaluate() -> Result<Evaluation, String> {
    let mut evaluation = Evaluation::default();
    for (set, text) in SETS {
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let fields: Vec<&str> = line.split('\t').collect();
            let [label, a, b, how] = fields[..] else {
                return Err(format!("{set}: a line without four fields: {line:?}"));
            };
            let (label, one_person) = match label {
                "same" => ("same", true),
                "different" => ("different", false),
                other => return Err(format!("{set}: unknown label {other:?}")),
            };
            let category = if *set == "generated" {
                category_of(how, one_person).to_string()
            } else {
                how.trim().to_string()
            };
            let verdict = compare(&Name::parse(a), &Name::parse(b));
            evaluation
                .groups
                .entry((set, category.clone()))
                .or_default()
                .add(one_person, verdict.decision);
            let wrong = match (one_person, verdict.decision) {
                (true, Decision::Same) | (false, Decision::Different | Decision::Possible) => false,
                (true, _) => category != "initial",
                (false, Decision::Same) => true,
            };
            if wrong {
                evaluation.misses.push(Miss {
                    set,
                    category,
                    label,
                    decision: verdict.decision,
                    score: verdict.score,
                    a: a.to_string(),
                    b: b.to_string(),
                });
            }
        }
    }
    Ok(evaluation)
}

/// The table `bench people` and the evaluation test print.
pub fn table(evaluation: &Evaluation) -> String {
    let mut out = String::new();
    let row = |out: &mut String, name: &str, c: &Counts| {
        let recall = c
            .recall()
            .map_or_else(|| "–".to_string(), |r| format!("{r:.3}"));
        out.push_str(&format!(
            "| {name} | {} | {} / {} / {} | {} / {} / {} | {:.3} | {recall} |\n",
            c.pairs(),
            c.same[0],
            c.same[1],
            c.same[2],
            c.different[0],
            c.different[1],
            c.different[2],
            c.precision(),
        ));
    };
    out.push_str(
        "| pairs | count | one person: same / possible / different | \
         two people: same / possible / different | precision | recall |\n\
         |---|---|---|---|---|---|\n",
    );
    for (category, counts) in evaluation.by_category() {
        row(&mut out, category, &counts);
    }
    for (set, _) in SETS {
        row(
            &mut out,
            &format!("**{set}**"),
            &evaluation.total(Some(set), &[]),
        );
        row(
            &mut out,
            &format!("**{set}**, full names"),
            &evaluation.total(Some(set), &["initial"]),
        );
    }
    row(&mut out, "**all**", &evaluation.total(None, &[]));
    out
}
