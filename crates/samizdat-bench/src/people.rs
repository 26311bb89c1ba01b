//! `samizdat-bench people`: matching new reports against a registry, on
//! one core.
//!
//! A registry of generated people (Kazakh and Russian given names,
//! patronymics and surnames, in Cyrillic) is indexed; then reports come
//! in, most of them one of those people written another way (a Latin
//! transliteration, another order, no patronymic), the rest new people.
//! Each report is matched: the index gives candidates, the matcher
//! decides. Beside it, in the same run, the same reports are looked up
//! by their exact text in a hash map: the least any matching can cost.
//! The registry is dense with namesakes (a few dozen names and surnames
//! for many people), which makes candidate lists long: a hard case for
//! speed. Which merges are right is the evaluation's business
//! (`crates/samizdat-people/tests/evaluation.rs`), not this bench's.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Result, bail};
use samizdat_people::evaluation::{evaluate, table};
use samizdat_people::index::Index;
use samizdat_people::lexicon::{self, Kinds};
use samizdat_people::matcher::Matcher;
use samizdat_people::registry::{self, Report};
use samizdat_people::{Decision, Name};
use serde_json::json;

use crate::BenchPeopleArgs;

#[rustfmt::skip]
const GIVEN: &[&str] = &[
    "Нұрлан", "Ерлан", "Серік", "Асқар", "Бауыржан", "Жандос", "Мұхтар", "Қасым", "Шыңғыс",
    "Ержан", "Дәурен", "Ғалым", "Айдос", "Нұржан", "Талғат", "Бақыт", "Өмірзақ", "Жасұлан",
    "Әлібек", "Ұлан", "Болат", "Марат", "Қайрат", "Нұрбол", "Арман", "Дамир", "Ернар", "Алмас",
    "Әсел", "Айгерім", "Гүлнар", "Жанар", "Динара", "Ақмарал", "Сәуле", "Мөлдір", "Жұлдыз",
    "Гүлмира", "Назерке", "Аружан", "Перизат", "Айжан", "Шолпан", "Ботагөз", "Раушан", "Мадина",
    "Александр", "Дмитрий", "Сергей", "Евгений", "Андрей", "Алексей", "Юрий", "Фёдор", "Михаил",
    "Николай", "Игорь", "Виктор", "Юлия", "Наталья", "Елена", "Ольга", "Мария", "Татьяна",
    "Анастасия", "Ксения", "Екатерина", "Людмила",
];
#[rustfmt::skip]
const SURNAMES: &[&str] = &[
    "Әбенов", "Тоқаев", "Сейітов", "Жақсылықов", "Құрманов", "Омаров", "Бекмұхамбетов",
    "Ахметов", "Сәрсенбаев", "Қожахметов", "Мұқанов", "Әлиев", "Досмұхамбетов", "Байжанов",
    "Ермеков", "Тұрсынов", "Шәкенов", "Оспанов", "Жұмабаев", "Қасымов", "Есенов", "Иманғалиев",
    "Нұрланов", "Серіков", "Болатов", "Маратов", "Қайратов", "Талғатов", "Бақытов", "Ержанов",
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков",
    "Морозов", "Петров", "Волков", "Фёдоров", "Щербаков", "Жуков", "Сергеев", "Яковлев",
    "Цветков", "Захаров", "Хохлов", "Чернышёв", "Бекболатов", "Сұлтанов", "Әлімжанов",
    "Дүйсенов", "Мәмбетов", "Рахимов", "Сапаров", "Төлеуов", "Ұзақов", "Шайхиев",
];
#[rustfmt::skip]
const FATHERS: &[&str] = &[
    "Нұрлан", "Ерлан", "Серік", "Асқар", "Бауыржан", "Жандос", "Мұхтар", "Қасым", "Шыңғыс",
    "Ержан", "Дәурен", "Ғалым", "Айдос", "Нұржан", "Талғат", "Бақыт", "Өмірзақ", "Жасұлан",
    "Әлібек", "Ұлан", "Болат", "Марат", "Қайрат", "Нұрбол", "Арман", "Дамир", "Ернар", "Алмас",
    "Ермек", "Асхат", "Берік", "Дархан", "Ельдар", "Мейрам", "Нартай", "Омар", "Рахат",
    "Сайран",
];

/// ICAO 9303 (Kazakh letters as Kazakhstan's passports write them): how
/// a report in Latin letters writes a Cyrillic name.
fn icao(word: &str) -> String {
    let mut out = String::new();
    for c in word.chars() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let latin = match lower {
            'а' | 'ә' => "a",
            'б' => "b",
            'в' => "v",
            'г' | 'ғ' => "g",
            'д' => "d",
            'е' | 'ё' | 'э' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' | 'й' | 'і' => "i",
            'к' | 'қ' => "k",
            'л' => "l",
            'м' => "m",
            'н' | 'ң' => "n",
            'о' | 'ө' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' | 'ұ' | 'ү' => "u",
            'ф' => "f",
            'х' => "kh",
            'һ' => "h",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ы' => "y",
            'ю' => "iu",
            'я' => "ia",
            _ => "",
        };
        if c != lower {
            let mut chars = latin.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push_str(latin);
        }
    }
    out
}

/// A small deterministic generator (xorshift64*), so that every run
/// matches the same people.
pub(crate) struct Dice(pub(crate) u64);

impl Dice {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[(self.next() % list.len() as u64) as usize]
    }
}

pub(crate) struct Person {
    given: &'static str,
    father: &'static str,
    surname: &'static str,
}

pub(crate) fn person(dice: &mut Dice) -> Person {
    Person {
        given: dice.pick(GIVEN),
        father: dice.pick(FATHERS),
        surname: dice.pick(SURNAMES),
    }
}

impl Person {
    fn registry(&self) -> String {
        format!("{} {}ұлы {}", self.given, self.father, self.surname)
    }

    /// The person as a report writes them: Latin or Cyrillic, either
    /// order, with or without the patronymic.
    pub(crate) fn reported(&self, dice: &mut Dice) -> String {
        let latin = dice.next().is_multiple_of(2);
        let w = |s: &str| if latin { icao(s) } else { s.to_string() };
        match dice.next() % 3 {
            0 => format!("{} {}", w(self.surname), w(self.given)),
            1 => format!("{} {}", w(self.given), w(self.surname)),
            _ => format!(
                "{} {}uly {}",
                w(self.given),
                icao(self.father),
                w(self.surname)
            ),
        }
    }
}

pub fn run(args: BenchPeopleArgs) -> Result<()> {
    if args.registry == 0 || args.reports == 0 {
        bail!("--registry and --reports must be at least 1");
    }
    crate::ingest::pin_to_cores(1)?;
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let people: Vec<Person> = (0..args.registry).map(|_| person(&mut dice)).collect();
    let registry: Vec<String> = people.iter().map(Person::registry).collect();
    // Reports: seven in ten are people of the registry, the rest new.
    let mut truth = Vec::with_capacity(args.reports);
    let reports: Vec<String> = (0..args.reports)
        .map(|_| {
            if dice.next() % 10 < 7 {
                let i = (dice.next() % people.len() as u64) as usize;
                truth.push(Some(i));
                people[i].reported(&mut dice)
            } else {
                truth.push(None);
                person(&mut dice).reported(&mut dice)
            }
        })
        .collect();
    eprintln!(
        "{} registry entries, {} reports (about 7 in 10 of registry people), one core",
        registry.len(),
        reports.len()
    );

    let started = Instant::now();
    let names: Vec<Name> = registry.iter().map(|r| Name::parse(r)).collect();
    let mut index = Index::new();
    for (id, name) in names.iter().enumerate() {
        index.insert(id as u32, name);
    }
    let indexing = started.elapsed();

    // Baseline: exact text lookups of the same reports.
    let started = Instant::now();
    let exact: HashMap<&str, usize> = registry
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_str(), i))
        .collect();
    let exact_found = reports
        .iter()
        .filter(|r| exact.contains_key(r.as_str()))
        .count();
    let baseline = started.elapsed();

    let started = Instant::now();
    let (mut candidates, mut same, mut possible) = (0usize, 0usize, 0usize);
    let mut finding = std::time::Duration::ZERO;
    for report in &reports {
        let looking = Instant::now();
        let name = Name::parse(report);
        let found = index.candidates_at_most(&name, registry::MAX_COMPARED);
        finding += looking.elapsed();
        candidates += found.len();
        let mut best: Option<(f32, Decision)> = None;
        let mut matcher = Matcher::new(&name);
        for id in found {
            let (score, decision) = matcher.score(&names[id as usize]);
            if best.is_none_or(|(best, _)| score > best) {
                best = Some((score, decision));
            }
        }
        match best {
            Some((_, Decision::Same)) => same += 1,
            Some((_, Decision::Possible)) => possible += 1,
            _ => {}
        }
    }
    let matching = started.elapsed();
    let from_registry = truth.iter().filter(|t| t.is_some()).count();
    let summary = json!({
        "registry": registry.len(),
        "reports": reports.len(),
        "indexing_seconds": indexing.as_secs_f64(),
        "matching_seconds": matching.as_secs_f64(),
        "matching_us_per_report": matching.as_secs_f64() * 1e6 / reports.len() as f64,
        "finding_candidates_seconds": finding.as_secs_f64(),
        "candidates_per_report": candidates as f64 / reports.len() as f64,
        "exact_lookup_seconds": baseline.as_secs_f64(),
        "matching_vs_exact_lookup": matching.as_secs_f64() / baseline.as_secs_f64().max(1e-9),
        "merged": same,
        "possible": possible,
        "reports_of_registry_people": from_registry,
        "exact_text_found": exact_found,
        "matching_us_per_pair": matching.as_secs_f64() * 1e6 / candidates.max(1) as f64,
    });
    println!("{summary}");
    eprintln!(
        "indexing {:.2} s; matching {} reports {:.2} s ({:.0} µs each, {:.1} candidates each), \
         {:.0}× an exact lookup; {same} merged, {possible} possible; {from_registry} \
         reports were of registry people (names alone cannot tell namesakes apart)",
        indexing.as_secs_f64(),
        reports.len(),
        matching.as_secs_f64(),
        matching.as_secs_f64() * 1e6 / reports.len() as f64,
        candidates as f64 / reports.len() as f64,
        matching.as_secs_f64() / baseline.as_secs_f64().max(1e-9),
    );
    eprintln!(
        "{:.1} µs a pair compared",
        matching.as_secs_f64() * 1e6 / candidates.max(1) as f64
    );
    println!(
        "{}",
        json!({ "registry_build": building(&mut dice, args.registry) })
    );
    let evaluation = evaluate().map_err(anyhow::Error::msg)?;
    eprintln!("\nthe matcher on the labelled pairs (crates/samizdat-people/tests/data):");
    eprintln!("{}", table(&evaluation));
    Ok(())
}

/// Builds the registry (`registry::build`: every report matched with
/// the ones before it) from a tenth, a half and all of `reports`
/// generated reports, for two populations:
///
/// - `spread`: people named from the lexicon's given names, surnames and
///   patronymics with log-uniform ranks (a few names very common, most
///   rare), one person for every three reports. The names' distribution
///   is fixed, so the more reports, the more namesakes each new one has:
///   the comparisons a report needs grow with the registry until they
///   reach their bound ([`registry::MAX_COMPARED`] spellings a name);
/// - `common`: the same, from the ten commonest names of each kind
///   alone, so that every report has more namesakes than the bound from
///   the start: the work of a report is at its bound throughout, and
///   building time shows what it costs at scale.
///
/// Each name is written in one of several orders and cases, with or
/// without the patronymic. Printed: seconds, µs and names compared per
/// report, and how much longer the whole took than the tenth.
fn building(dice: &mut Dice, reports: usize) -> serde_json::Value {
    let lists = [Kinds::GIVEN, Kinds::SURNAME, Kinds::PATRONYMIC].map(|kind| {
        let mut names = lexicon::names(kind);
        // Ranks in an order unrelated to the alphabet.
        names.sort_by_key(|n| {
            n.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            })
        });
        names
    });
    let capital = |word: &str| {
        let mut chars = word.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect::<String>())
            .unwrap_or_default()
    };
    let make = |count: usize, pool: usize, dice: &mut Dice| -> Vec<Report> {
        let people: Vec<[usize; 3]> = (0..count.div_ceil(3))
            .map(|_| {
                [0, 1, 2].map(|k| {
                    let n = lists[k].len().min(pool) as f64;
                    let u = (dice.next() >> 11) as f64 / (1u64 << 53) as f64;
                    (n.powf(u) as usize)
                        .saturating_sub(1)
                        .min(lists[k].len() - 1)
                })
            })
            .collect();
        (0..count)
            .map(|n| {
                let [g, s, p] = people[(dice.next() % people.len() as u64) as usize];
                let (given, surname, father) = (&lists[0][g], &lists[1][s], &lists[2][p]);
                let name = match dice.next() % 4 {
                    0 => format!("{} {}", capital(given), capital(surname)),
                    1 => format!("{} {}", surname.to_uppercase(), capital(given)),
                    2 => format!(
                        "{} {} {}",
                        capital(surname),
                        capital(given),
                        capital(father)
                    ),
                    _ => format!(
                        "{} {} {}",
                        capital(given),
                        capital(father),
                        capital(surname)
                    ),
                };
                let mut id = [0u8; 32];
                id[..8].copy_from_slice(&(n as u64).to_le_bytes());
                Report {
                    id,
                    author: [1; 32],
                    created_at: n as u64,
                    name,
                    aliases: Vec::new(),
                    age: None,
                    role: None,
                    status: "missing".into(),
                    observed: None,
                    offset: None,
                    place: None,
                    source: "witness".into(),
                    details: String::new(),
                }
            })
            .collect()
    };
    let sizes = [reports / 10, reports / 2, reports].map(|n| n.max(1));
    let mut out = serde_json::Map::new();
    for (population, pool) in [("spread", usize::MAX), ("common", 10)] {
        let (mut seconds, mut compared) = (Vec::new(), Vec::new());
        for count in sizes {
            let batch = make(count, pool, dice);
            let started = Instant::now();
            let registry = registry::build(batch, &[]);
            let took = started.elapsed().as_secs_f64();
            let per_report = registry.comparisons as f64 / count as f64;
            seconds.push(took);
            compared.push(per_report);
            eprintln!(
                "registry ({population}) of {count} reports built in {took:.2} s, \
                 {:.0} µs and {per_report:.1} names compared a report ({} entries)",
                took * 1e6 / count as f64,
                registry.entries.len()
            );
        }
        eprintln!(
            "registry ({population}): ten times the reports took {:.1} times as long",
            seconds[2] / seconds[0].max(1e-9)
        );
        out.insert(
            population.into(),
            json!({
                "reports": sizes,
                "seconds": seconds,
                "names_compared_per_report": compared,
                "growth_for_ten_times_the_reports": seconds[2] / seconds[0].max(1e-9),
                "growth_for_twice_the_reports": seconds[2] / seconds[1].max(1e-9),
            }),
        );
    }
    serde_json::Value::Object(out)
}
