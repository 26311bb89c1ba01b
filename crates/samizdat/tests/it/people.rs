//! `samizdat people match`: the matcher's verdict and reasons, as a
//! documenter sees them.

use crate::Node;

#[test]
fn match_prints_score_decision_and_reasons() {
    let node = Node::start();
    let verdict = |a: &str, b: &str| {
        node.json(&["people", "match", a, b])
            .pop()
            .expect("one verdict")
    };
    let same = verdict("Әсел Нұрланқызы", "NURLANOVA Assel");
    assert_eq!(same["decision"], "same", "{same}");
    let reasons = same["reasons"].to_string();
    assert!(reasons.contains("another script"), "{reasons}");
    assert!(reasons.contains("made from the name nurlan"), "{reasons}");

    let siblings = verdict("Айгерім Нұрланова", "Aizhan Nurlanova");
    assert_eq!(siblings["decision"], "different", "{siblings}");
    let possible = verdict("A. Nurlanova", "Aigerim Nurlanova");
    assert_eq!(possible["decision"], "possible", "{possible}");

    // Nothing readable is a clear "different", not a failure.
    let empty = verdict("", "(42)");
    assert_eq!(empty["decision"], "different");
    assert!(empty["reasons"][0].as_str().unwrap_or("").contains("no letters"));

    let text = node.ok(&["people", "match", "Nurlan Abenov", "Абенов Нұрлан"]);
    assert!(text.starts_with("same (score 1.00)"), "{text}");
}
