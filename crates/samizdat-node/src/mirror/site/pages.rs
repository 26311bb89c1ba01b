//! The mirror's pages, in each language: records, days, people, the
//! root chooser, the feed and the manifest.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;

use askama::Template;
use samizdat_core::attestation::Attestation;
use samizdat_core::blob::BlobHash;
use samizdat_core::nostr::prelude::{Event, EventId, ToBech32};
use samizdat_core::record::Record;
use samizdat_people::registry::Registry;
use samizdat_store::{Query, Store};
use sha2::{Digest, Sha256};

use crate::views::Lang;
use crate::views::records::{self as read, HistoryLine, Item, PersonLine, Said, Shown};

use super::*;

/// What a mirror page knows: its language, how far it is from the
/// language's folder (`up`) and from the mirror's root (`top`), and its
/// own path in the language's folder (for the language switcher).
pub struct Sheet {
    pub lang: Lang,
    pub up: &'static str,
    pub top: &'static str,
    pub path: String,
    pub as_of: String,
}

impl Sheet {
    pub(super) fn new(lang: Lang, path: String, as_of: &str) -> Sheet {
        let (up, top) = match path.matches('/').count() {
            0 => ("", "../"),
            1 => ("../", "../../"),
            _ => ("../../", "../../../"),
        };
        Sheet {
            lang,
            up,
            top,
            path,
            as_of: as_of.to_string(),
        }
    }

    pub fn t(&self, key: &'static str) -> &'static str {
        self.lang.t(key)
    }

    pub fn tf(&self, key: &'static str, n: impl std::fmt::Display) -> String {
        self.lang.tf(key, n)
    }

    pub fn status(&self, status: &str) -> String {
        self.lang.word(&format!("status.{status}"))
    }

    /// The other languages, for the switcher.
    pub fn others(&self) -> Vec<Lang> {
        Lang::ALL.into_iter().filter(|l| *l != self.lang).collect()
    }
}

#[derive(Template)]
#[template(path = "mirror/record.html")]
pub(super) struct RecordPage<'a> {
    pub(super) sheet: &'a Sheet,
    pub(super) shown: Shown,
    pub(super) said: Vec<Said>,
    pub(super) translations: Vec<Item>,
}

#[derive(Template)]
#[template(path = "mirror/index.html")]
pub(super) struct IndexPage<'a> {
    pub(super) sheet: &'a Sheet,
    pub(super) records: usize,
    pub(super) people: usize,
    pub(super) days: Vec<(&'a str, usize)>,
    pub(super) items: Vec<&'a Item>,
}

#[derive(Template)]
#[template(path = "mirror/day.html")]
pub(super) struct DayPage<'a> {
    pub(super) sheet: &'a Sheet,
    pub(super) day: &'a str,
    /// Records of the day, on every page.
    pub(super) count: usize,
    pub(super) items: Vec<&'a Item>,
    pub(super) newer: Option<&'a str>,
    pub(super) older: Option<&'a str>,
    pub(super) number: usize,
    pub(super) pages: &'a [(usize, String)],
}

#[derive(Template)]
#[template(path = "mirror/people.html")]
pub(super) struct PeoplePage<'a> {
    pub(super) sheet: &'a Sheet,
    pub(super) entries: Vec<PersonLine>,
    pub(super) total: usize,
    pub(super) number: usize,
    pub(super) pages: &'a [(usize, String)],
}

#[derive(Template)]
#[template(path = "mirror/person.html")]
pub(super) struct PersonPage<'a> {
    pub(super) sheet: &'a Sheet,
    pub(super) line: PersonLine,
    pub(super) history: Vec<HistoryLine>,
    pub(super) conflicts: Vec<String>,
}

#[derive(Template)]
#[template(path = "mirror/verify.html")]
pub(super) struct VerifyPage<'a> {
    pub(super) sheet: &'a Sheet,
}

#[derive(Template)]
#[template(path = "mirror/root.html")]
pub(super) struct RootPage {
    pub(super) langs: Vec<(Lang, &'static str, String)>,
}

#[derive(Template)]
#[template(path = "mirror/feed.atom", escape = "html")]
pub(super) struct Feed {
    pub(super) id: String,
    pub(super) updated: String,
    pub(super) entries: Vec<FeedEntry>,
}

pub(super) struct FeedEntry {
    pub(super) id: String,
    pub(super) note: String,
    pub(super) title: String,
    pub(super) updated: String,
    pub(super) author: String,
    pub(super) text: String,
}

pub(super) fn render(path: &str, template: &impl Template) -> Result<String, SiteError> {
    template
        .render()
        .map_err(|e| SiteError::Render(path.to_string(), e.to_string()))
}

/// The events `ids`, read again from the store, in that order.
pub(super) fn read_events(
    store: &Store,
    ids: impl Iterator<Item = EventId>,
) -> Result<Vec<Event>, SiteError> {
    let ids: Vec<EventId> = ids.collect();
    let mut found: HashMap<EventId, Event> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        for stored in store.query(&Query {
            ids: Some(chunk.to_vec()),
            ..Default::default()
        })? {
            found.insert(stored.id, stored.event()?);
        }
    }
    ids.iter()
        .map(|id| {
            found.remove(id).ok_or_else(|| SiteError::Io {
                path: PathBuf::from(RECORDS),
                source: io::Error::other(format!(
                    "record {id} left the store while publishing; publish again"
                )),
            })
        })
        .collect()
}

/// A record's page in each language.
pub(super) fn record_pages(
    selection: &Selection,
    event: &Event,
    as_of: &str,
) -> Result<Vec<(String, String)>, SiteError> {
    let id = event.id;
    let mut present = HashMap::new();
    if let Ok(record) = Record::parse(event) {
        for a in read::attachments(&record) {
            present.insert(a.hash.to_hex(), selection.blobs.contains_key(&a.hash));
        }
    }
    let path = record_path(&id.to_hex());
    let mut pages = Vec::with_capacity(Lang::ALL.len());
    for lang in Lang::ALL {
        let sheet = Sheet::new(lang, path.clone(), as_of);
        let Some(mut shown) = read::show(lang, event, &present) else {
            continue;
        };
        for media in &mut shown.attachments {
            if let Ok(hash) = media.url.trim_start_matches('/').parse::<BlobHash>() {
                media.url = format!("{}{}", sheet.top, blob_path(&hash, &media.mime));
            }
        }
        let said = selection
            .about
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|&i| {
                let event = &selection.attestations[i];
                let a = Attestation::from_event(event).ok()?;
                Some(Said {
                    label: lang.word(&format!("label.{}", a.label.as_str())),
                    author: read::short_npub(event),
                    note: a.note,
                    when: read::date_time(event.created_at.as_secs()),
                    link: a
                        .original
                        .filter(|o| selection.index.contains_key(o))
                        .map(|o| o.to_hex()),
                })
            })
            .collect();
        let translations = selection
            .translations
            .get(&id)
            .into_iter()
            .flatten()
            .map(|&i| selection.records[i].item.clone())
            .collect();
        let page = RecordPage {
            sheet: &sheet,
            shown,
            said,
            translations,
        };
        let file = format!("{}/{path}", lang.code());
        let body = render(&file, &page)?;
        pages.push((file, body));
    }
    Ok(pages)
}

/// A language's index, day pages and verification page.
pub(super) fn index_pages(
    files: &mut Files,
    selection: &Selection,
    days: &[(String, Vec<usize>)],
    people: usize,
    lang: Lang,
    as_of: &str,
) -> Result<(), SiteError> {
    let code = lang.code();
    let sheet = Sheet::new(lang, "index.html".into(), as_of);
    let latest: Vec<&Item> = selection
        .records
        .iter()
        .rev()
        .take(LATEST)
        .map(|e| &e.item)
        .collect();
    let page = IndexPage {
        sheet: &sheet,
        records: selection.records.len(),
        people,
        days: days.iter().map(|(d, l)| (d.as_str(), l.len())).collect(),
        items: latest,
    };
    let file = format!("{code}/index.html");
    files.put(&file, render(&file, &page)?.as_bytes())?;
    for (i, (day, list)) in days.iter().enumerate() {
        let pages = numbered(&format!("days/{day}"), list.len(), DAY_PAGE);
        for (n, name) in &pages {
            let sheet = Sheet::new(lang, name.clone(), as_of);
            let page = DayPage {
                sheet: &sheet,
                day,
                count: list.len(),
                items: list
                    .iter()
                    .skip((n - 1) * DAY_PAGE)
                    .take(DAY_PAGE)
                    .map(|&r| &selection.records[r].item)
                    .collect(),
                newer: i.checked_sub(1).map(|n| days[n].0.as_str()),
                older: days.get(i + 1).map(|d| d.0.as_str()),
                number: *n,
                pages: &pages,
            };
            let file = format!("{code}/{name}");
            files.put(&file, render(&file, &page)?.as_bytes())?;
        }
    }
    let sheet = Sheet::new(lang, "verify.html".into(), as_of);
    let file = format!("{code}/verify.html");
    files.put(
        &file,
        render(&file, &VerifyPage { sheet: &sheet })?.as_bytes(),
    )
}

/// The pages a list of `count` items takes at `per` a page: `NAME.html`,
/// then `NAME-2.html`…, with their numbers.
pub(super) fn numbered(name: &str, count: usize, per: usize) -> Vec<(usize, String)> {
    (1..=count.div_ceil(per).max(1))
        .map(|n| {
            let file = if n == 1 {
                format!("{name}.html")
            } else {
                format!("{name}-{n}.html")
            };
            (n, file)
        })
        .collect()
}

/// A language's registry pages and a page per person.
pub(super) fn people_pages(
    files: &mut Files,
    registry: &Registry,
    lang: Lang,
    as_of: &str,
) -> Result<(), SiteError> {
    let code = lang.code();
    let pages = numbered("people", registry.entries.len(), PEOPLE_PER_PAGE);
    for (n, name) in &pages {
        let sheet = Sheet::new(lang, name.clone(), as_of);
        let entries = registry
            .entries
            .iter()
            .skip((n - 1) * PEOPLE_PER_PAGE)
            .take(PEOPLE_PER_PAGE)
            .map(|e| read::person_line(lang, e))
            .collect();
        let page = PeoplePage {
            sheet: &sheet,
            entries,
            total: registry.entries.len(),
            number: *n,
            pages: &pages,
        };
        let file = format!("{code}/{name}");
        files.put(&file, render(&file, &page)?.as_bytes())?;
    }
    for entry in &registry.entries {
        let line = read::person_line(lang, entry);
        let path = person_path(&line.id);
        let sheet = Sheet::new(lang, path.clone(), as_of);
        let history = read::history(lang, entry);
        let page = PersonPage {
            sheet: &sheet,
            line,
            history,
            conflicts: entry.conflicts.iter().map(|c| c.why.clone()).collect(),
        };
        let file = format!("{code}/{path}");
        files.put(&file, render(&file, &page)?.as_bytes())?;
    }
    Ok(())
}

pub(super) fn root_page(selection: &Selection) -> Result<String, SiteError> {
    let langs = Lang::ALL
        .into_iter()
        .map(|l| {
            (
                l,
                l.t("mirror.title"),
                l.tf("mirror.records", selection.records.len()),
            )
        })
        .collect();
    render("index.html", &RootPage { langs })
}

/// What a record says in its own words: a testimony's text, a person
/// report's details (without the attachments' URIs the content ends with).
pub(super) fn said(event: &Event) -> String {
    match Record::parse(event) {
        Ok(Record::Testimony(t)) => t.text,
        Ok(Record::PersonReport(p)) => p.details,
        _ => String::new(),
    }
}

pub(super) fn rfc3339(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(
            || "1970-01-01T00:00:00Z".into(),
            |t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
}

/// The Atom feed of the newest records.
pub(super) fn feed(store: &Store, selection: &Selection) -> Result<String, SiteError> {
    let newest = selection.records.iter().rev().take(FEED_ENTRIES);
    let events = read_events(store, newest.clone().map(|e| e.id))?;
    let entries = newest
        .zip(&events)
        .map(|(e, event)| {
            let title = match e.item.kind {
                "person" => format!("{} — {}", e.item.title, e.item.status),
                _ => read::excerpt(&e.item.title, 80),
            };
            FeedEntry {
                id: event.id.to_hex(),
                note: event.id.to_bech32().unwrap_or_default(),
                title,
                updated: rfc3339(event.created_at.as_secs()),
                author: event.pubkey.to_bech32().unwrap_or_default(),
                text: read::excerpt(&said(event), 2_000),
            }
        })
        .collect();
    // The feed is named by its first record, so that copies of one
    // mirror share it and it does not change as records are added.
    let first = selection
        .records
        .first()
        .map_or_else(String::new, |e| e.id.to_hex());
    render(
        "feed.atom",
        &Feed {
            id: format!("urn:samizdat:mirror:{first}"),
            updated: rfc3339(selection.as_of),
            entries,
        },
    )
}

/// `manifest.json`: the format, the counts, the SHA-256 of `SHA256SUMS`
/// and every line of `records.jsonl` as id, key and signature. Written
/// by hand so that its bytes are fixed: one record per line.
pub(super) fn manifest(
    selection: &Selection,
    files: &Files,
    sums: &str,
    signatures: &[[String; 3]],
) -> String {
    let mut out = String::new();
    out.push_str("{\n");
    out.push_str(&format!("  \"format\": \"{FORMAT}\",\n"));
    out.push_str(&format!("  \"media\": \"{MEDIA_RULE}\",\n"));
    out.push_str(&format!("  \"as_of\": {},\n", selection.as_of));
    out.push_str(&format!("  \"records\": {},\n", selection.records.len()));
    out.push_str(&format!(
        "  \"attestations\": {},\n",
        selection.attestations.len()
    ));
    out.push_str(&format!("  \"files\": {},\n", files.listed.len()));
    out.push_str(&format!(
        "  \"sums\": \"{}\",\n",
        hex::encode(Sha256::digest(sums.as_bytes()))
    ));
    out.push_str("  \"signatures\": [");
    for (i, [id, pubkey, sig]) in signatures.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(&format!("    [\"{id}\", \"{pubkey}\", \"{sig}\"]"));
    }
    out.push_str(if signatures.is_empty() {
        "]\n"
    } else {
        "\n  ]\n"
    });
    out.push_str("}\n");
    out
}
