//! The registry: person reports brought together into one entry per
//! person, with a status history and its conflicts.
//!
//! Built from the records alone, in one deterministic pass, so that every
//! node holding the same records shows the same registry:
//! 1. reports are taken oldest first (by `created_at`, then id);
//! 2. each is compared with the reports before it that the index offers;
//!    a `same` verdict joins their entries, unless a documenter said
//!    otherwise or the ages contradict it; a `possible` one becomes a
//!    suggestion for a documenter;
//! 3. documenters' verdicts (`same-person`, `different-person`
//!    attestations) decide the pairs they name; for one pair the newest
//!    verdict holds. Two entries are never joined across a pair a
//!    documenter called different.

use std::collections::{HashMap, HashSet};

use crate::index::Index;
use crate::matcher::{Agreements, Decision, Matcher, POSSIBLE};
use crate::name::Name;

/// Ages further apart than this stop an automatic merge: reporters
/// guess ages, but not by that much.
const MAX_AGE_GAP: u8 = 5;

/// At most this many earlier spellings are compared with each of a
/// report's names (its own spelling always, then those sharing keys with
/// the most words): a name shared by thousands of people costs no more
/// than one shared by a few, so building stays linear in the reports.
pub const MAX_COMPARED: usize = 64;

/// At most this many earlier reports stand for the entries holding one
/// spelling (the latest, besides those a documenter's verdict names): a
/// spelling that many people share (`Айбек Назаров`) is compared with
/// that many entries, not with every one of them.
const MAX_STANDING: usize = 64;

/// A person report, as the registry needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: [u8; 32],
    pub author: [u8; 32],
    pub created_at: u64,
    pub name: String,
    pub aliases: Vec<String>,
    pub age: Option<u8>,
    pub role: Option<String>,
    /// `missing`, `detained`, `injured`, `killed`, `released`, `found`,
    /// `unknown`.
    pub status: String,
    /// When the status was observed, if the report says, and the UTC
    /// offset it was written in (`+06:00`), to show it as written.
    pub observed: Option<u64>,
    pub offset: Option<String>,
    pub place: Option<String>,
    /// How the reporter knows.
    pub source: String,
    /// What else the reporter wrote (empty when nothing).
    pub details: String,
}

impl Report {
    /// When the claim holds: the time observed, else when it was written.
    pub fn when(&self) -> u64 {
        self.observed.unwrap_or(self.created_at)
    }
}

/// A documenter's verdict on two reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub a: [u8; 32],
    pub b: [u8; 32],
    pub same: bool,
    pub created_at: u64,
    /// The attestation's id, to order verdicts of one instant.
    pub id: [u8; 32],
}

/// Two claims about one person that cannot both be true.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Indexes into [`Entry::history`].
    pub earlier: usize,
    pub later: usize,
    pub why: String,
}

/// One person.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Reports about this person, newest claim first.
    pub history: Vec<Report>,
    pub conflicts: Vec<Conflict>,
}

impl Entry {
    /// The names and spellings the reports give, most used first (the
    /// oldest report's first among equals).
    pub fn names(&self) -> Vec<String> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for report in self.history.iter().rev() {
            for name in std::iter::once(&report.name).chain(&report.aliases) {
                match counts.iter_mut().find(|(n, _)| n == name) {
                    Some((_, c)) => *c += 1,
                    None => counts.push((name.clone(), 1)),
                }
            }
        }
        // Stable: equal counts keep the order of first appearance.
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        counts.into_iter().map(|(n, _)| n).collect()
    }

    /// The newest claim.
    pub fn latest(&self) -> &Report {
        &self.history[0]
    }
}

/// A pair of reports a documenter should look at.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// Indexes into [`Registry::entries`].
    pub entries: (usize, usize),
    /// The reports compared.
    pub reports: ([u8; 32], [u8; 32]),
    pub score: f32,
    pub why: String,
}

#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub entries: Vec<Entry>,
    pub suggestions: Vec<Suggestion>,
    /// Every distinct spelling of a name in the reports (names and
    /// aliases), parsed, with the entries it is found in; and their
    /// index, by spelling. What [`Registry::search`] reads instead of
    /// every entry.
    names: Vec<(Name, Vec<usize>)>,
    index: Index,
    /// Names compared while building (each report's with the spellings
    /// the index offered, and with the spellings of entries it joined).
    pub comparisons: usize,
}

/// Two registries are equal when they hold the same entries and
/// suggestions (the parsed names and their index follow from those).
impl PartialEq for Registry {
    fn eq(&self, other: &Registry) -> bool {
        self.entries == other.entries && self.suggestions == other.suggestions
    }
}

impl Registry {
    /// How many reports the entries hold.
    pub fn reports(&self) -> usize {
        self.entries.iter().map(|e| e.history.len()).sum()
    }

    /// Entries with a name that may be `name`'s (in any script or
    /// spelling), best first, with their scores.
    pub fn search(&self, name: &str) -> Vec<(usize, f32)> {
        let wanted = Name::parse(name);
        let mut matcher = Matcher::new(&wanted);
        let mut best: HashMap<usize, f32> = HashMap::new();
        for spelling in self.index.candidates(&wanted) {
            let (name, entries) = &self.names[spelling as usize];
            let score = matcher.score(name).0;
            if score >= POSSIBLE {
                for &entry in entries {
                    let held = best.entry(entry).or_default();
                    *held = held.max(score);
                }
            }
        }
        let mut found: Vec<(usize, f32)> = best.into_iter().collect();
        found.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        found
    }
}

/// Verdicts on pairs of spellings, remembered, so that a spelling many
/// reports use is judged against each other spelling once; and the
/// agreements of their words, so that each pair of words is compared
/// once. Bounded: forgets everything when it holds [`Judged::HELD`]
/// pairs.
struct Judged<'s> {
    spellings: &'s [Name],
    agreements: Agreements,
    known: HashMap<(u32, u32), (f32, Decision, bool)>,
}

impl<'s> Judged<'s> {
    const HELD: usize = 1 << 21;

    fn new(spellings: &'s [Name]) -> Judged<'s> {
        Judged {
            spellings,
            agreements: Agreements::new(),
            known: HashMap::new(),
        }
    }

    fn judge(&mut self, a: u32, b: u32) -> (f32, Decision, bool) {
        if let Some(known) = self.known.get(&(a, b)) {
            return *known;
        }
        if self.known.len() >= Self::HELD {
            self.known.clear();
        }
        let verdict = self
            .agreements
            .judge(&self.spellings[a as usize], &self.spellings[b as usize]);
        self.known.insert((a, b), verdict);
        verdict
    }

    fn score(&mut self, a: u32, b: u32) -> (f32, Decision) {
        let (score, decision, _) = self.judge(a, b);
        (score, decision)
    }

    fn certainly_other(&mut self, a: u32, b: u32) -> bool {
        self.judge(a, b).2
    }
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    // Bounded: each step moves towards a root, and paths are halved.
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// Whether a claim says the person was alive then.
fn alive(status: &str) -> bool {
    matches!(status, "detained" | "injured" | "released" | "found")
}

/// The claims of one entry that contradict what came before them: alive
/// after killed, or, at the same time, another fate. Each such claim is
/// paired with the nearest earlier claim it contradicts, once, so that a
/// person reported a thousand times costs a thousand steps, not a
/// million.
fn conflicts(history: &[Report]) -> Vec<Conflict> {
    let mut found = Vec::new();
    // History is newest first: walk it oldest first. The nearest killed
    // claim so far; the claims sharing the current time, by status.
    let mut killed: Option<usize> = None;
    let mut same_time: Vec<(&str, usize)> = Vec::new();
    for i in (0..history.len()).rev() {
        let later = &history[i];
        if same_time
            .first()
            .is_some_and(|&(_, j)| history[j].when() != later.when())
        {
            same_time.clear();
        }
        let why = if let Some(j) = killed.filter(|_| alive(&later.status)) {
            Some((j, format!("reported killed, then later {}", later.status)))
        } else if later.status == "killed" || later.status == "unknown" {
            None
        } else {
            same_time
                .iter()
                .find(|&&(status, _)| status != later.status && status != "unknown")
                .map(|&(status, j)| {
                    (
                        j,
                        format!("at the same time reported {status} and {}", later.status),
                    )
                })
        };
        if let Some((earlier, why)) = why {
            found.push(Conflict {
                earlier,
                later: i,
                why,
            });
        }
        if !same_time.iter().any(|&(status, _)| status == later.status) {
            same_time.push((&later.status, i));
        }
        if later.status == "killed" {
            killed = Some(i);
        }
    }
    // Newest claim first, as before.
    found.reverse();
    found
}

/// What the other fields of two reports say, for a documenter: ages,
/// places and roles that agree or differ.
fn evidence(a: &Report, b: &Report) -> String {
    let mut notes = Vec::new();
    if let (Some(x), Some(y)) = (a.age, b.age) {
        notes.push(if x.abs_diff(y) <= 2 {
            format!("ages agree ({x}, {y})")
        } else {
            format!("ages differ ({x}, {y})")
        });
    }
    let shares_word = |x: &str, y: &str| {
        let (x, y) = (Name::parse(x), Name::parse(y));
        x.words.iter().any(|w| {
            y.words
                .iter()
                .any(|v| w.keys.iter().any(|k| v.keys.contains(k)))
        })
    };
    if let (Some(x), Some(y)) = (&a.place, &b.place) {
        notes.push(if shares_word(x, y) {
            format!("places agree ({x}; {y})")
        } else {
            format!("places differ ({x}; {y})")
        });
    }
    if let (Some(x), Some(y)) = (&a.role, &b.role) {
        notes.push(if shares_word(x, y) {
            format!("roles agree ({x}; {y})")
        } else {
            format!("roles differ ({x}; {y})")
        });
    }
    if notes.is_empty() {
        String::new()
    } else {
        format!("; {}", notes.join(", "))
    }
}

/// Builds the registry.
pub fn build(mut reports: Vec<Report>, verdicts: &[Verdict]) -> Registry {
    reports.sort_by_key(|r| (r.created_at, r.id));
    reports.dedup_by(|x, y| x.id == y.id);
    let position: HashMap<[u8; 32], usize> =
        reports.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    // For each pair, the newest verdict.
    let mut decided: HashMap<(usize, usize), (u64, [u8; 32], bool)> = HashMap::new();
    for v in verdicts {
        let (Some(&a), Some(&b)) = (position.get(&v.a), position.get(&v.b)) else {
            continue;
        };
        if a == b {
            continue;
        }
        let key = (a.min(b), a.max(b));
        let candidate = (v.created_at, v.id, v.same);
        if decided
            .get(&key)
            .is_none_or(|held| (held.0, held.1) < (v.created_at, v.id))
        {
            decided.insert(key, candidate);
        }
    }
    let apart: Vec<(usize, usize)> = decided
        .iter()
        .filter(|(_, v)| !v.2)
        .map(|(k, _)| *k)
        .collect();
    // Every distinct spelling (a report's name or alias, as written) is
    // parsed, indexed and compared once, however many reports use it:
    // a person reported a thousand times the same way costs one
    // comparison per new report, not a thousand.
    let mut spellings: Vec<Name> = Vec::new();
    let mut spelling_of: HashMap<&str, u32> = HashMap::new();
    let spellings_of: Vec<Vec<u32>> = reports
        .iter()
        .map(|r| {
            let mut own: Vec<u32> = std::iter::once(&r.name)
                .chain(&r.aliases)
                .map(|n| {
                    *spelling_of.entry(n.trim()).or_insert_with(|| {
                        spellings.push(Name::parse(n));
                        (spellings.len() - 1) as u32
                    })
                })
                .collect();
            own.sort_unstable();
            own.dedup();
            own
        })
        .collect();
    // For each spelling, the earlier reports that stand for the entries
    // holding it: one per entry and age, and every report a documenter's
    // verdict names.
    let mut standing: Vec<Vec<usize>> = vec![Vec::new(); spellings.len()];
    let mut indexed = vec![false; spellings.len()];
    // Reports a documenter's verdict names are always compared in their
    // own right; any other report stands in for the reports of its entry
    // with its spelling and age.
    let named: HashSet<usize> = decided.keys().flat_map(|&(a, b)| [a, b]).collect();
    let mut parent: Vec<usize> = (0..reports.len()).collect();
    // Each root's spellings, for the check against chains of typos.
    let mut written: Vec<HashSet<u32>> = spellings_of
        .iter()
        .map(|own| own.iter().copied().collect())
        .collect();
    // Whether joining the entries of `a` and `b` would join two reports a
    // documenter called different.
    let blocked = |parent: &mut Vec<usize>, a: usize, b: usize| {
        let (ra, rb) = (find(parent, a), find(parent, b));
        apart.iter().any(|&(x, y)| {
            let (rx, ry) = (find(parent, x), find(parent, y));
            (rx == ra && ry == rb) || (rx == rb && ry == ra)
        })
    };
    let mut index = Index::new();
    let mut judged = Judged::new(&spellings);
    let mut possible: Vec<(usize, usize, f32, String)> = Vec::new();
    let mut comparisons = 0;
    for i in 0..reports.len() {
        let own = &spellings_of[i];
        let mut found: Vec<u32> = Vec::new();
        for &s in own {
            if indexed[s as usize] {
                found.push(s);
            }
            found.extend(index.candidates_at_most(&spellings[s as usize], MAX_COMPARED));
        }
        found.sort_unstable();
        found.dedup();
        // The best verdict of the report's names against each earlier
        // report that stands for its entry.
        let mut best: HashMap<usize, (f32, Decision)> = HashMap::new();
        comparisons += found.len() * own.len();
        for &s in &found {
            let mut verdict = (0.0f32, Decision::Different);
            for &mine in own {
                let v = judged.score(mine, s);
                if v.0 > verdict.0 {
                    verdict = v;
                }
            }
            if verdict.1 == Decision::Different {
                continue;
            }
            let mut seen: HashSet<(usize, Option<u8>)> = HashSet::new();
            standing[s as usize].retain(|&c| {
                named.contains(&c) || seen.insert((find(&mut parent, c), reports[c].age))
            });
            for &c in &standing[s as usize] {
                let held = best.entry(c).or_insert(verdict);
                if verdict.0 > held.0 {
                    *held = verdict;
                }
            }
        }
        let mut candidates: Vec<(usize, (f32, Decision))> = best.into_iter().collect();
        candidates.sort_unstable_by_key(|&(c, _)| c);
        for (c, best) in candidates {
            let key = (c.min(i), c.max(i));
            if decided.contains_key(&key) {
                continue;
            }
            let ages = reports[i].age.zip(reports[c].age);
            let ages_apart = ages.is_some_and(|(x, y)| x.abs_diff(y) > MAX_AGE_GAP);
            match best.1 {
                Decision::Same if !ages_apart => {
                    let (ri, rc) = (find(&mut parent, i), find(&mut parent, c));
                    if ri != rc && !blocked(&mut parent, i, c) {
                        // A chain of typos must not join two people: no
                        // spelling in one entry may name someone else for
                        // certain than this report does.
                        comparisons += written[rc].len() + written[ri].len();
                        let apart = written[rc].iter().chain(&written[ri]).any(|s| {
                            !own.contains(s)
                                && own.iter().any(|&mine| judged.certainly_other(mine, *s))
                        });
                        if apart {
                            possible.push((c, i, best.0, "the names agree, but another report of the same entry names someone else".into()));
                        } else {
                            let (low, high) = (ri.min(rc), ri.max(rc));
                            parent[high] = low;
                            // The smaller set moves into the larger.
                            let mut moved = std::mem::take(&mut written[high]);
                            if moved.len() > written[low].len() {
                                std::mem::swap(&mut moved, &mut written[low]);
                            }
                            written[low].extend(moved);
                        }
                    }
                }
                Decision::Same => possible.push((
                    c,
                    i,
                    best.0,
                    format!(
                        "the names agree, but the ages ({} and {}) do not",
                        reports[c].age.unwrap_or(0),
                        reports[i].age.unwrap_or(0)
                    ),
                )),
                Decision::Possible => {
                    let why = format!(
                        "the names may be one person's{}",
                        evidence(&reports[c], &reports[i])
                    );
                    possible.push((c, i, best.0, why))
                }
                Decision::Different => {}
            }
        }
        for &s in own {
            let standing = &mut standing[s as usize];
            standing.push(i);
            if standing.len() > 2 * MAX_STANDING {
                // The latest, and those a verdict names.
                let cut = standing.len() - MAX_STANDING;
                let mut n = 0;
                standing.retain(|c| {
                    n += 1;
                    n > cut || named.contains(c)
                });
            }
            if !indexed[s as usize] {
                indexed[s as usize] = true;
                index.insert(s, &spellings[s as usize]);
            }
        }
    }
    // Documenters' merges, oldest pair first, for a stable result.
    let mut merges: Vec<(usize, usize)> = decided
        .iter()
        .filter(|(_, v)| v.2)
        .map(|(k, _)| *k)
        .collect();
    merges.sort_unstable();
    for (a, b) in merges {
        if find(&mut parent, a) != find(&mut parent, b) && !blocked(&mut parent, a, b) {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    // Entries in the order of their first report.
    let mut entry_of: HashMap<usize, usize> = HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    for i in 0..reports.len() {
        let root = find(&mut parent, i);
        let e = *entry_of.entry(root).or_insert_with(|| {
            members.push(Vec::new());
            members.len() - 1
        });
        members[e].push(i);
    }
    let entries: Vec<Entry> = members
        .iter()
        .map(|m| {
            let mut history: Vec<Report> = m.iter().map(|&i| reports[i].clone()).collect();
            history.sort_by(|x, y| {
                (y.when(), y.created_at, y.id).cmp(&(x.when(), x.created_at, x.id))
            });
            let conflicts = conflicts(&history);
            Entry { history, conflicts }
        })
        .collect();
    let entry_index = |i: usize, parent: &mut Vec<usize>| entry_of[&find(parent, i)];
    let mut suggestions: Vec<Suggestion> = Vec::new();
    let mut suggested: HashSet<(usize, usize)> = HashSet::new();
    for (a, b, score, why) in possible {
        let (ea, eb) = (entry_index(a, &mut parent), entry_index(b, &mut parent));
        if ea == eb || !suggested.insert((ea.min(eb), ea.max(eb))) {
            continue;
        }
        suggestions.push(Suggestion {
            entries: (ea.min(eb), ea.max(eb)),
            reports: (reports[a].id, reports[b].id),
            score,
            why,
        });
    }
    // Which entries each spelling is found in, for search.
    let mut spelling_entries: Vec<Vec<usize>> = vec![Vec::new(); spellings.len()];
    for (i, own) in spellings_of.iter().enumerate() {
        let entry = entry_index(i, &mut parent);
        for &s in own {
            let list = &mut spelling_entries[s as usize];
            if !list.contains(&entry) {
                list.push(entry);
            }
        }
    }
    let names = spellings.into_iter().zip(spelling_entries).collect();
    Registry {
        entries,
        suggestions,
        names,
        index,
        comparisons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(n: u8, name: &str, status: &str, at: u64) -> Report {
        Report {
            id: [n; 32],
            author: [0; 32],
            created_at: at,
            name: name.into(),
            aliases: Vec::new(),
            age: None,
            role: None,
            status: status.into(),
            observed: None,
            offset: None,
            place: None,
            source: "relative".into(),
            details: String::new(),
        }
    }

    #[test]
    fn one_entry_per_person_with_history_and_conflicts() {
        let reports = vec![
            report(1, "Әсел Нұрланқызы", "missing", 100),
            report(2, "Асель Нурланова", "detained", 200),
            report(3, "NURLANOVA Assel", "killed", 300),
            report(4, "Aigerim Nurlanova", "detained", 150),
            report(5, "Assel Nurlanova", "released", 400),
        ];
        let registry = build(reports, &[]);
        assert_eq!(registry.entries.len(), 2, "{registry:#?}");
        let asel = &registry.entries[0];
        let statuses: Vec<&str> = asel.history.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(statuses, ["released", "killed", "detained", "missing"]);
        assert_eq!(asel.names()[0], "Әсел Нұрланқызы");
        assert_eq!(asel.conflicts.len(), 1, "{:?}", asel.conflicts);
        assert!(
            asel.conflicts[0]
                .why
                .contains("killed, then later released")
        );
        assert_eq!(registry.entries[1].history[0].name, "Aigerim Nurlanova");
        let found = registry.search("Нурланова Асель");
        assert_eq!(found[0].0, 0, "{found:?}");
        assert!(
            found.iter().all(|(e, _)| *e != 1),
            "Aigerim is not Asel: {found:?}"
        );
        assert_eq!(registry.search("Нурланова")[0].0, 0);
        assert!(registry.search("Bolat Zhaksylykov").is_empty());
    }

    #[test]
    fn each_contradicting_claim_is_one_conflict_however_many_reports() {
        // Killed, then reported detained two thousand times; at one
        // time, missing and found.
        let mut reports = vec![report(0, "Нұрлан Әбенов", "killed", 10)];
        for n in 1..=2000u32 {
            let mut r = report(0, "Nurlan Abenov", "detained", 10 + u64::from(n));
            r.id[..4].copy_from_slice(&n.to_le_bytes());
            reports.push(r);
        }
        let mut missing = report(7, "Nurlan Abenov", "missing", 5000);
        missing.id[31] = 1;
        let mut found = report(8, "Nurlan Abenov", "found", 5000);
        found.id[31] = 1;
        reports.extend([missing, found]);
        let registry = build(reports, &[]);
        assert_eq!(registry.entries.len(), 1);
        let entry = &registry.entries[0];
        let killed_then = entry
            .conflicts
            .iter()
            .filter(|c| c.why == "reported killed, then later detained")
            .count();
        assert_eq!(killed_then, 2000);
        // `found` is alive: after killed, that is its conflict, once;
        // `missing` contradicts nothing before it.
        assert_eq!(entry.conflicts.len(), 2001, "{:?}", &entry.conflicts[..3]);
        for c in &entry.conflicts {
            assert!(c.later < c.earlier, "{c:?}");
            assert_eq!(entry.history[c.earlier].status, "killed");
        }
        let at_once = build(
            vec![
                report(1, "Nurlan Abenov", "missing", 100),
                report(2, "Nurlan Abenov", "detained", 100),
                report(3, "Nurlan Abenov", "unknown", 100),
            ],
            &[],
        );
        let conflicts = &at_once.entries[0].conflicts;
        assert_eq!(conflicts.len(), 1, "{conflicts:?}");
        assert!(conflicts[0].why.starts_with("at the same time reported"));
    }

    #[test]
    fn documenters_decide_and_ages_hold_back() {
        let mut a = report(1, "Nurlan Abenov", "detained", 100);
        let mut b = report(2, "Нұрлан Әбенов", "detained", 200);
        let c = report(3, "N. Abenov", "released", 300);
        a.age = Some(23);
        b.age = Some(41);
        let mut d = report(4, "A. Abenov", "detained", 400);
        d.place = Some("Жаңаөзен".into());
        let mut e = report(5, "Askar Abenov", "detained", 500);
        e.place = Some("Zhanaozen, police station".into());
        let pair = build(vec![d, e], &[]);
        assert!(
            pair.suggestions[0].why.contains("places agree"),
            "{:?}",
            pair.suggestions
        );
        let registry = build(vec![a.clone(), b.clone(), c.clone()], &[]);
        assert_eq!(registry.entries.len(), 3);
        assert_eq!(registry.suggestions.len(), 3, "{:#?}", registry.suggestions);
        assert!(registry.suggestions[0].why.contains("ages"));

        // A documenter joins the initial to the first; another says the
        // first two are different people; a later verdict on the first
        // pair wins.
        let verdict = |x: &Report, y: &Report, same, at| Verdict {
            a: x.id,
            b: y.id,
            same,
            created_at: at,
            id: [at as u8; 32],
        };
        let verdicts = [
            verdict(&c, &a, true, 10),
            verdict(&a, &b, true, 11),
            verdict(&a, &b, false, 12),
        ];
        let registry = build(vec![a.clone(), b.clone(), c.clone()], &verdicts);
        assert_eq!(registry.entries.len(), 2, "{registry:#?}");
        assert_eq!(registry.entries[0].history.len(), 2);
        // The same records in another order give the same registry.
        let again = build(vec![c, b, a], &verdicts);
        assert_eq!(again, registry);
    }
}
