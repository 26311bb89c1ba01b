//! The matcher on the labelled pairs of `tests/data/pairs.tsv` (written
//! by `tests/data/make-pairs.py`): precision and recall of automatic
//! merges (`same`) at the chosen threshold.
//!
//! Targets: precision at least 0.98, recall at least 0.90. The figures
//! are printed (`cargo test -p samizdat-people --test evaluation --
//! --nocapture`).

use samizdat_people::{Decision, Name, compare};

#[test]
fn precision_and_recall_of_automatic_merges() {
    let text = include_str!("data/pairs.tsv");
    let (mut tp, mut fp, mut fn_, mut tn) = (0u32, 0u32, 0u32, 0u32);
    let mut possible = [0u32; 2];
    let mut wrong = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let [label, a, b, how] = fields[..] else {
            panic!("a line of pairs.tsv without four fields: {line:?}");
        };
        let same = match label {
            "same" => true,
            "different" => false,
            other => panic!("unknown label {other:?}"),
        };
        let verdict = compare(&Name::parse(a), &Name::parse(b));
        let merged = verdict.decision == Decision::Same;
        if verdict.decision == Decision::Possible {
            possible[usize::from(same)] += 1;
        }
        match (same, merged) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => tn += 1,
        }
        if same != merged {
            wrong.push(format!(
                "{label:9} {:9} {:.2}  {a} | {b}  ({how})",
                verdict.decision.as_str(),
                verdict.score
            ));
        }
    }
    let precision = f64::from(tp) / f64::from(tp + fp).max(1.0);
    let recall = f64::from(tp) / f64::from(tp + fn_).max(1.0);
    println!(
        "pairs: {} same, {} different; merged: {tp} right, {fp} wrong; \
         not merged: {tn} right, {fn_} wrong ({} of them `possible`, \
         and {} different pairs `possible`)",
        tp + fn_,
        fp + tn,
        possible[1],
        possible[0],
    );
    println!("precision {precision:.3}, recall {recall:.3}");
    for line in &wrong {
        println!("  {line}");
    }
    assert!(tp + fn_ >= 150 && fp + tn >= 150, "too few pairs");
    assert!(precision >= 0.98, "precision {precision:.3} < 0.98");
    assert!(recall >= 0.90, "recall {recall:.3} < 0.90");
}
