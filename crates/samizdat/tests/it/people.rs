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
    assert!(
        empty["reasons"][0]
            .as_str()
            .unwrap_or("")
            .contains("no letters")
    );

    let text = node.ok(&["people", "match", "Nurlan Abenov", "Абенов Нұрлан"]);
    assert!(text.starts_with("same (score 1.00)"), "{text}");
}

/// The statuses of a person's history, as `people show --json` gives it.
fn statuses(person: &serde_json::Value) -> Vec<String> {
    person["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|r| r["status"].as_str().map(str::to_string))
        .collect()
}

/// Reports one person in `node`; returns the report's id.
fn report(node: &Node, name: &str, status: &str, when: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "person", "report", "--name", name, "--status", status, "--source", "relative", "--when",
        when,
    ];
    args.extend_from_slice(extra);
    node.json(&args)
        .pop()
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .expect("a report id")
}

#[test]
fn the_registry_brings_reports_together_and_documenters_decide() {
    let node = Node::start();
    let first = report(
        &node,
        "Әсел Нұрланқызы",
        "missing",
        "2022-01-05",
        &["--age", "23"],
    );
    report(&node, "Асель Нурланова", "detained", "2022-01-07", &[]);
    let killed = report(&node, "NURLANOVA Assel", "killed", "2022-01-08", &[]);
    let released = report(&node, "Assel Nurlanova", "released", "2022-01-20", &[]);
    let sister = report(&node, "Aigerim Nurlanova", "detained", "2022-01-06", &[]);
    let initial = report(&node, "A. Nurlanova", "injured", "2022-01-06", &[]);

    let people = node.json(&["people", "list"]);
    assert_eq!(people.len(), 3, "{people:?}");
    let asel = node
        .json(&["people", "show", "Assel Nurlanova"])
        .pop()
        .expect("shown");
    assert_eq!(asel["name"], "Әсел Нұрланқызы");
    assert_eq!(
        statuses(&asel),
        ["released", "killed", "detained", "missing"]
    );
    // Alive after killed: shown as a conflict, never resolved silently.
    assert_eq!(asel["conflicts"][0]["earlier"], killed.as_str());
    assert_eq!(asel["conflicts"][0]["later"], released.as_str());
    assert!(asel["possible"].to_string().contains(&initial), "{asel}");

    // By any script, and by a report's id.
    let found = node.json(&["people", "search", "Нурланова Асель"]);
    assert_eq!(found[0]["name"], "Әсел Нұрланқызы", "{found:?}");
    let by_id = node
        .json(&["people", "show", &sister[..12]])
        .pop()
        .expect("shown");
    assert_eq!(by_id["name"], "Aigerim Nurlanova");

    // A documenter says the initial is Asel: one entry fewer. Then
    // another verdict, newer, says it is not: apart again.
    node.ok(&["people", "confirm", &initial, &first]);
    assert_eq!(node.json(&["people", "list"]).len(), 2);
    let asel = node.json(&["people", "show", &first]).pop().expect("shown");
    assert_eq!(asel["history"].as_array().map(Vec::len), Some(5));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    node.ok(&["people", "reject", &initial, &first]);
    assert_eq!(node.json(&["people", "list"]).len(), 3);

    // Bad input: not a person report, or no such record.
    let note = node
        .json(&["testimony", "add", "A note", "--lang", "en"])
        .pop()
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .expect("an id");
    let err = node.fails(&["people", "confirm", &note, &first], 1);
    assert!(err.contains("not a person report"), "{err}");
    let err = node.fails(&["people", "show", "Zhaksylyk Bekov"], 1);
    assert!(err.contains("nobody in the registry"), "{err}");
}

#[test]
fn pfif_and_csv_carry_the_registry_to_other_registries_and_back() {
    let here = Node::start();
    report(
        &here,
        "Әсел Нұрланқызы",
        "missing",
        "2022-01-05",
        &["--place", "Алматы"],
    );
    report(&here, "Asel Nurlanova", "killed", "2022-01-08", &[]);
    report(
        &here,
        "Нурлан Абенов",
        "detained",
        "2022-01-06",
        &["--age", "31"],
    );
    let pfif = here.dir.path().join("registry.xml");
    let pfif_path = pfif.to_str().expect("path");
    here.ok(&["people", "export", "--format", "pfif", "-o", pfif_path]);
    let xml = std::fs::read_to_string(&pfif).expect("written");
    assert!(
        xml.contains("xmlns:pfif=\"http://zesty.ca/pfif/1.4\""),
        "{xml}"
    );
    assert!(
        xml.contains("<pfif:status>believed_dead</pfif:status>"),
        "{xml}"
    );
    assert_eq!(xml.matches("<pfif:person>").count(), 2);

    let csv = here.ok(&["people", "export", "--format", "csv"]);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[0].starts_with("person,person_name,report"), "{csv}");

    // Another registry takes it in: the same people, signed by its
    // documenter, saying where they came from.
    let there = Node::start();
    let summary = there
        .json(&["people", "import", pfif_path])
        .pop()
        .expect("summary");
    assert_eq!(summary["stored"], 3, "{summary}");
    let people = there.json(&["people", "list"]);
    assert_eq!(people.len(), 2, "{people:?}");
    let asel = there
        .json(&["people", "show", "Асель Нурланова"])
        .pop()
        .expect("shown");
    assert_eq!(statuses(&asel), ["killed", "missing"]);
    // Again: nothing new.
    let again = there
        .json(&["people", "import", pfif_path])
        .pop()
        .expect("summary");
    assert_eq!(again["stored"], 0, "{again}");
    assert_eq!(again["already_present"], 3, "{again}");

    // Bad input: not PFIF, cut short, a note without a date.
    let bad = there.dir.path().join("bad.xml");
    std::fs::write(&bad, "<html><body>hello</body></html>").expect("written");
    let err = there.fails(&["people", "import", bad.to_str().expect("path")], 1);
    assert!(err.contains("not a PFIF document"), "{err}");
    // Cut short: between two characters, and inside a Cyrillic letter.
    let mut half = xml.len() / 2;
    while !xml.is_char_boundary(half) {
        half -= 1;
    }
    let letter = xml.find('ы').expect("a Cyrillic letter in the export");
    for cut in [half, letter + 1] {
        std::fs::write(&bad, &xml.as_bytes()[..cut]).expect("written");
        let err = there.fails(&["people", "import", bad.to_str().expect("path")], 1);
        assert!(err.contains("XML") || err.contains("PFIF"), "{err}");
    }
    std::fs::write(
        &bad,
        "<pfif:pfif xmlns:pfif=\"http://zesty.ca/pfif/1.4\"><pfif:person>\
         <pfif:person_record_id>example.org/9</pfif:person_record_id>\
         <pfif:full_name>Bolat Serikov</pfif:full_name></pfif:person></pfif:pfif>",
    )
    .expect("written");
    let out = there.run(&["people", "import", bad.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no date"));
    assert_eq!(there.json(&["people", "list"]).len(), 2);
}
