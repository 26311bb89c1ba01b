//! The node's folders are its layers: each module imports only from its
//! own layer and those below it, and no two modules import each other,
//! directly or round a longer loop. The rules are "Layers inside the
//! node" in `docs/ARCHITECTURE.md`; this test reads every `crate::` and
//! `super::` path in the node's sources (tests left out) and holds them
//! to it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, lowest first, with the modules (top-level files or
/// folders under `src/`) each holds. A module may import from its own
/// layer and the layers before it.
const LAYERS: &[(&str, &[&str])] = &[
    ("protocol", &["proto"]),
    (
        "foundations",
        &["config", "node_key", "pace", "progress", "route", "zone"],
    ),
    (
        "the node's own work",
        &[
            "call",
            "ingest",
            "import",
            "live",
            "inbox",
            "people",
            "submission",
            "views",
        ],
    ),
    ("clients", &["client"]),
    ("mirror", &["mirror"]),
    ("servers", &["server"]),
];

/// A module: its path from the crate root (`client::sync::link`).
type Module = Vec<String>;

fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every source file, by module path.
fn modules(dir: &Path, prefix: &Module, out: &mut BTreeMap<Module, PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("source folder")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_stem()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_string();
        if path.is_dir() {
            let mut inner = prefix.clone();
            inner.push(name);
            modules(&path, &inner, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut module = prefix.clone();
            if name != "mod" && name != "lib" {
                module.push(name);
            }
            out.insert(module, path);
        }
    }
}

/// The source without comments, string literals and the test module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        // String literals: enough to drop paths quoted in messages.
        let mut quoted = false;
        for c in line.chars() {
            if c == '"' {
                quoted = !quoted;
            } else if !quoted {
                out.push(c);
            }
        }
        out.push('\n');
    }
    out
}

/// The paths of a use tree starting at `text` (after `crate::` or
/// `super::`): `a::b`, `a::{b, c::d}`.
fn paths(text: &str) -> Vec<Vec<String>> {
    fn tree(chars: &[char], at: &mut usize) -> Vec<Vec<String>> {
        let mut head: Vec<String> = Vec::new();
        loop {
            let start = *at;
            while *at < chars.len() && (chars[*at].is_alphanumeric() || chars[*at] == '_') {
                *at += 1;
            }
            if *at > start {
                head.push(chars[start..*at].iter().collect());
            }
            if chars.get(*at) == Some(&':') && chars.get(*at + 1) == Some(&':') {
                *at += 2;
                if chars.get(*at) == Some(&'{') {
                    *at += 1;
                    let mut out = Vec::new();
                    loop {
                        while chars
                            .get(*at)
                            .is_some_and(|c| c.is_whitespace() || *c == ',')
                        {
                            *at += 1;
                        }
                        if *at >= chars.len() || chars[*at] == '}' {
                            *at += 1;
                            break;
                        }
                        let before = *at;
                        for mut inner in tree(chars, at) {
                            let mut path = head.clone();
                            path.append(&mut inner);
                            out.push(path);
                        }
                        if *at == before {
                            *at += 1;
                        }
                    }
                    return out;
                }
                continue;
            }
            return vec![head];
        }
    }
    // A root segment, so that `{a, b}` reads as a group too.
    let chars: Vec<char> = "_::".chars().chain(text.chars().take(2_000)).collect();
    tree(&chars, &mut 0)
        .into_iter()
        .map(|path| path.into_iter().skip(1).collect())
        .collect()
}

/// The module a path names, or the one whose item it names: the longest
/// prefix that is a module.
fn target(path: &[String], known: &BTreeMap<Module, PathBuf>) -> Option<Module> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|m| known.contains_key(m))
}

fn layer(module: &Module) -> Option<usize> {
    let top = module.first()?;
    LAYERS
        .iter()
        .position(|(_, members)| members.contains(&top.as_str()))
}

/// What each module imports, by module. Items the crate root re-exports
/// (`crate::State`) count as imports of the module they come from.
fn imports(known: &BTreeMap<Module, PathBuf>) -> BTreeMap<Module, BTreeSet<Module>> {
    let lib = fs::read_to_string(source_root().join("lib.rs")).expect("lib.rs");
    let mut reexported: BTreeMap<String, Module> = BTreeMap::new();
    for line in code(&lib).lines() {
        let Some(rest) = line
            .trim()
            .strip_prefix("pub use ")
            .or_else(|| line.trim().strip_prefix("pub(crate) use "))
        else {
            continue;
        };
        for path in paths(rest) {
            if let (Some(item), Some(module)) = (path.last(), target(&path, known)) {
                reexported.insert(item.clone(), module);
            }
        }
    }
    let mut out = BTreeMap::new();
    for (module, file) in known {
        if module.is_empty() {
            continue;
        }
        let text = code(&fs::read_to_string(file).expect("source"));
        let mut found = BTreeSet::new();
        for (at, _) in text.match_indices("crate::") {
            if text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                continue;
            }
            for path in paths(&text[at + "crate::".len()..]) {
                let resolved = match path.first().and_then(|item| reexported.get(item)) {
                    Some(module) if !known.contains_key(&path[..1].to_vec()) => {
                        Some(module.clone())
                    }
                    _ => target(&path, known),
                };
                if let Some(m) = resolved.filter(|m| !m.is_empty()) {
                    found.insert(m);
                }
            }
        }
        for (at, _) in text.match_indices("super::") {
            if text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            // `super` of `a::b` (a file, or a folder's `mod.rs`) is `a`;
            // each further `super::` goes up one more.
            let mut base = module.clone();
            base.pop();
            let mut rest = &text[at + "super::".len()..];
            while let Some(next) = rest.strip_prefix("super::") {
                base.pop();
                rest = next;
            }
            for path in paths(rest) {
                let mut full = base.clone();
                full.extend(path);
                if let Some(m) = target(&full, known).filter(|m| !m.is_empty()) {
                    found.insert(m);
                }
            }
        }
        found.remove(module);
        out.insert(module.clone(), found);
    }
    out
}

fn name(module: &Module) -> String {
    module.join("::")
}

#[test]
fn every_module_imports_from_its_layer_or_below() {
    let mut known = BTreeMap::new();
    modules(&source_root(), &Vec::new(), &mut known);
    let mut wrong = Vec::new();
    for module in known.keys().filter(|m| !m.is_empty()) {
        if layer(module).is_none() {
            wrong.push(format!(
                "{} is in no layer: add it to LAYERS and to ARCHITECTURE.md",
                name(module)
            ));
        }
    }
    for (module, found) in imports(&known) {
        let Some(own) = layer(&module) else { continue };
        for target in found {
            if let Some(theirs) = layer(&target)
                && theirs > own
            {
                wrong.push(format!(
                    "{} ({}) imports {} ({}), a layer above it",
                    name(&module),
                    LAYERS[own].0,
                    name(&target),
                    LAYERS[theirs].0
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    print_layers(&known);
}

/// The layers as they stand (`--nocapture`): files, lines (tests
/// included) and the arrows from each layer to each layer below.
fn print_layers(known: &BTreeMap<Module, PathBuf>) {
    let imports = imports(known);
    println!("| layer | files | lines | imports into |");
    println!("|---|---|---|---|");
    for (n, (layer_name, _)) in LAYERS.iter().enumerate() {
        let files: Vec<&PathBuf> = known
            .iter()
            .filter(|(m, _)| layer(m) == Some(n))
            .map(|(_, f)| f)
            .collect();
        let lines: usize = files
            .iter()
            .map(|f| fs::read_to_string(f).map_or(0, |t| t.lines().count()))
            .sum();
        let mut arrows: BTreeMap<usize, usize> = BTreeMap::new();
        for (module, found) in &imports {
            if layer(module) != Some(n) {
                continue;
            }
            for target in found {
                if let Some(theirs) = layer(target) {
                    *arrows.entry(theirs).or_default() += 1;
                }
            }
        }
        let arrows: Vec<String> = arrows
            .iter()
            .map(|(to, count)| format!("{} {count}", LAYERS[*to].0))
            .collect();
        println!(
            "| {layer_name} | {} | {lines} | {} |",
            files.len(),
            arrows.join(", ")
        );
    }
}

#[test]
fn no_two_modules_import_each_other() {
    let mut known = BTreeMap::new();
    modules(&source_root(), &Vec::new(), &mut known);
    // A module may use what a module around it gives it (`super::Lang`):
    // only imports of modules that do not contain it can close a loop.
    let graph: BTreeMap<Module, Vec<Module>> = imports(&known)
        .into_iter()
        .map(|(module, found)| {
            let outward = found
                .into_iter()
                .filter(|t| !module.starts_with(t))
                .collect();
            (module, outward)
        })
        .collect();
    // Depth-first search for a back edge, bounded by the number of
    // modules and edges.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark: BTreeMap<&Module, Mark> = graph.keys().map(|m| (m, Mark::New)).collect();
    let mut loops = Vec::new();
    for start in graph.keys() {
        if mark[start] != Mark::New {
            continue;
        }
        let mut stack: Vec<(&Module, usize)> = vec![(start, 0)];
        mark.insert(start, Mark::Open);
        while let Some((module, next)) = stack.pop() {
            let edges = graph.get(module).map_or(&[][..], Vec::as_slice);
            if next < edges.len() {
                stack.push((module, next + 1));
                let target = &edges[next];
                match mark.get(target).copied() {
                    Some(Mark::New) => {
                        mark.insert(target, Mark::Open);
                        stack.push((target, 0));
                    }
                    Some(Mark::Open) => {
                        let from = stack.iter().position(|(m, _)| *m == target).unwrap_or(0);
                        let cycle: Vec<String> =
                            stack[from..].iter().map(|(m, _)| name(m)).collect();
                        loops.push(format!("{} -> {}", cycle.join(" -> "), name(target)));
                    }
                    _ => {}
                }
            } else {
                mark.insert(module, Mark::Done);
            }
        }
    }
    assert!(loops.is_empty(), "import loops:\n{}", loops.join("\n"));
}

#[test]
fn paths_in_use_trees_are_read() {
    let found = paths("a::{b, c::{d, e}}, f::g;");
    assert_eq!(
        found,
        [vec!["a", "b"], vec!["a", "c", "d"], vec!["a", "c", "e"]]
    );
    assert_eq!(paths("config::Config;"), [vec!["config", "Config"]]);
    assert_eq!(paths("{Ingest, State};"), [vec!["Ingest"], vec!["State"]]);
    let text = code("use x; // crate::server\nlet s = \"crate::server\";\n");
    assert!(!text.contains("crate::server"), "{text}");
}

/// Most lines a source file may hold before its tests: past this, a file
/// is split by what each part does (ARCHITECTURE.md's rule; the test
/// reads every crate of the workspace, its examples too).
const MOST_LINES: usize = 600;

/// Every `.rs` file under `dir`, tests folders left out.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for path in entries.map(|e| e.expect("entry").path()) {
        if path.is_dir() {
            if !path.ends_with("tests") && !path.ends_with("target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_outgrows_its_job() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in fs::read_dir(&crates).expect("crates folder") {
        let krate = krate.expect("entry").path();
        for part in ["src", "examples"] {
            rust_files(&krate.join(part), &mut files);
        }
    }
    assert!(files.len() > 100, "only {} files found", files.len());
    let mut over = Vec::new();
    for path in files {
        let text = fs::read_to_string(&path).expect("source");
        let lines = text
            .lines()
            .take_while(|l| !l.starts_with("#[cfg(test)]"))
            .count();
        if lines > MOST_LINES {
            over.push(format!("{lines} {}", path.display()));
        }
    }
    assert!(
        over.is_empty(),
        "files over {MOST_LINES} lines:\n{}",
        over.join("\n")
    );
}
