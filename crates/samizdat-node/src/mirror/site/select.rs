//! Which records, attestations, people and blobs a mirror holds, read
//! from the store and put in their order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;

use rayon::prelude::*;
use samizdat_core::attestation::{Attestation, Label};
use samizdat_core::kind;
use samizdat_core::nostr::prelude::{Event, EventId};
use samizdat_core::record::Record;
use samizdat_people::registry::{self, Registry};
use samizdat_store::{Query, Store, StoreError};

use crate::views::records::{self as read};

use super::*;

/// Reads the selected records, the attestations about them and what
/// their media are.
pub(super) fn select(store: &Store, queries: &[Query]) -> Result<Selection, SiteError> {
    let all = [Query::default()];
    let queries = if queries.is_empty() {
        &all[..]
    } else {
        queries
    };
    let wanted = [kind::TESTIMONY.as_u16(), kind::PERSON_REPORT.as_u16()];
    let mut seen = HashSet::new();
    let mut records = Vec::new();
    let mut reports = Vec::new();
    let mut withheld = 0;
    for query in queries {
        let mut query = query.clone();
        let kinds: Vec<u16> = match &query.kinds {
            Some(kinds) => kinds
                .iter()
                .copied()
                .filter(|k| wanted.contains(k))
                .collect(),
            None => wanted.to_vec(),
        };
        if kinds.is_empty() {
            continue;
        }
        query.kinds = Some(kinds);
        query.gift_wraps_for = Some(Vec::new());
        // Read in slices: the parsed events of one slice are in memory
        // at a time, and only what the pages need of them is kept.
        let mut slice = Vec::with_capacity(SLICE);
        let mut failed = None;
        store.query_each(&query, |stored| {
            if seen.insert(stored.id) {
                slice.push(stored);
            }
            if slice.len() == SLICE {
                match entries(std::mem::take(&mut slice)) {
                    Ok(done) => keep(done, &mut records, &mut reports, &mut withheld),
                    Err(e) => {
                        failed = Some(e);
                        return false;
                    }
                }
            }
            true
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        keep(entries(slice)?, &mut records, &mut reports, &mut withheld);
    }
    records.sort_by_key(|e| (e.created_at, e.id.to_bytes()));
    let index: HashMap<EventId, usize> =
        records.iter().enumerate().map(|(i, e)| (e.id, i)).collect();

    let mut attestations = Vec::new();
    let ids: Vec<String> = records.iter().map(|e| e.id.to_hex()).collect();
    let mut taken = HashSet::new();
    for chunk in ids.chunks(500) {
        for stored in store.query(&Query {
            kinds: Some(vec![kind::ATTESTATION.as_u16()]),
            tags: vec![('e', chunk.to_vec())],
            ..Default::default()
        })? {
            if !taken.insert(stored.id) {
                continue;
            }
            let event = stored.event()?;
            let Ok(a) = Attestation::from_event(&event) else {
                continue;
            };
            if !index.contains_key(&a.target) {
                continue;
            }
            if !samizdat_core::record::is_public(&event) || event.verify().is_err() {
                withheld += 1;
                continue;
            }
            attestations.push(event);
        }
    }
    attestations.sort_by(order);
    let mut about: HashMap<EventId, Vec<usize>> = HashMap::new();
    let mut translations: HashMap<EventId, Vec<usize>> = HashMap::new();
    for (i, event) in attestations.iter().enumerate() {
        let Ok(a) = Attestation::from_event(event) else {
            continue;
        };
        about.entry(a.target).or_default().push(i);
        if a.label == Label::TranslationOf
            && let Some(original) = a.original
            && index.contains_key(&original)
            && let Some(&t) = index.get(&a.target)
        {
            let list = translations.entry(original).or_default();
            if !list.contains(&t) {
                list.push(t);
            }
        }
    }

    let mut blobs = BTreeMap::new();
    let mut absent = HashSet::new();
    for (hash, mime) in records.iter().flat_map(|e| &e.media) {
        if store.blobs().contains(hash) {
            blobs.entry(*hash).or_insert_with(|| mime.clone());
        } else {
            absent.insert(*hash);
        }
    }
    let as_of = records
        .iter()
        .map(|e| e.created_at)
        .chain(attestations.iter().map(|e| e.created_at.as_secs()))
        .max()
        .unwrap_or(0);
    Ok(Selection {
        records,
        index,
        reports,
        attestations,
        about,
        translations,
        blobs,
        absent,
        withheld,
        as_of,
    })
}

/// Events read from the store at a time while selecting.
pub(super) const SLICE: usize = 2_048;

/// What the mirror keeps of a slice of stored testimonies and person
/// reports, checked on every core: the entry, and the person report as
/// the registry reads it. `None` for one left out.
#[allow(clippy::type_complexity)]
pub(super) fn entries(
    slice: Vec<samizdat_store::StoredEvent>,
) -> Result<Vec<Option<(Entry, Option<samizdat_people::registry::Report>)>>, StoreError> {
    slice
        .into_par_iter()
        .map(|stored| {
            let event = stored.event()?;
            // Checked on the way in; checked again here, because the
            // pages say the signatures hold.
            if !samizdat_core::record::is_public(&event) || event.verify().is_err() {
                return Ok(None);
            }
            let Some(item) = read::item(&event) else {
                return Ok(None);
            };
            let media = match Record::parse(&event) {
                Ok(record) => read::attachments(&record)
                    .iter()
                    .map(|a| (a.hash, a.mime.clone()))
                    .collect(),
                Err(_) => Vec::new(),
            };
            let when = crate::views::records::happened(&event);
            Ok(Some((
                Entry {
                    id: event.id,
                    created_at: event.created_at.as_secs(),
                    item,
                    media,
                    when,
                    day: crate::views::records::local_day(&event),
                },
                crate::people::report(&event),
            )))
        })
        .collect()
}

#[allow(clippy::type_complexity)]
pub(super) fn keep(
    done: Vec<Option<(Entry, Option<samizdat_people::registry::Report>)>>,
    records: &mut Vec<Entry>,
    reports: &mut Vec<samizdat_people::registry::Report>,
    withheld: &mut u64,
) {
    for entry in done {
        match entry {
            Some((entry, report)) => {
                records.push(entry);
                reports.extend(report);
            }
            None => *withheld += 1,
        }
    }
}

/// Oldest first; the id breaks ties, so the order is total.
pub(super) fn order(a: &Event, b: &Event) -> std::cmp::Ordering {
    a.created_at
        .cmp(&b.created_at)
        .then_with(|| a.id.as_bytes().cmp(b.id.as_bytes()))
}

/// Every record and attestation, oldest first: `records.jsonl`.
pub(super) fn lines(selection: &Selection) -> Vec<EventId> {
    let mut all: Vec<(u64, EventId)> = selection
        .records
        .iter()
        .map(|e| (e.created_at, e.id))
        .chain(
            selection
                .attestations
                .iter()
                .map(|e| (e.created_at.as_secs(), e.id)),
        )
        .collect();
    all.sort();
    all.into_iter().map(|(_, id)| id).collect()
}

/// Writes `records.jsonl`: each event exactly as the store holds it (as
/// its author signed it), read again from the store in chunks rather
/// than kept in memory. Returns each line's id, key and signature.
pub(super) fn write_records(
    files: &mut Files,
    store: &Store,
    selection: &Selection,
) -> Result<Vec<[String; 3]>, SiteError> {
    #[derive(serde::Deserialize)]
    struct Signed<'a> {
        id: &'a str,
        pubkey: &'a str,
        sig: &'a str,
    }
    let ids = lines(selection);
    let mut signatures = Vec::with_capacity(ids.len());
    files.put_streamed(RECORDS, |out| {
        for chunk in ids.chunks(500) {
            let mut json: HashMap<EventId, String> = store
                .query(&Query {
                    ids: Some(chunk.to_vec()),
                    ..Default::default()
                })
                .map_err(io::Error::other)?
                .into_iter()
                .map(|s| (s.id, s.json))
                .collect();
            for id in chunk {
                let Some(line) = json.remove(id) else {
                    return Err(io::Error::other(format!(
                        "record {id} left the store while publishing; publish again"
                    )));
                };
                let signed: Signed<'_> = serde_json::from_str(&line).map_err(io::Error::other)?;
                signatures.push([
                    signed.id.to_string(),
                    signed.pubkey.to_string(),
                    signed.sig.to_string(),
                ]);
                out.write_all(line.as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    })?;
    Ok(signatures)
}

/// The registry of the mirror's person reports, with the verdicts among
/// its attestations.
pub(super) fn people(selection: &Selection) -> Registry {
    // Newest first, as the store would give them.
    let mut reports = selection.reports.clone();
    reports.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.id)));
    let verdicts: Vec<_> = selection
        .attestations
        .iter()
        .rev()
        .filter_map(crate::people::verdict)
        .collect();
    registry::build(reports, &verdicts)
}

/// Days with records, newest first, each with its records' indexes,
/// newest first.
pub(super) fn days(selection: &Selection) -> Vec<(String, Vec<usize>)> {
    let mut by_day: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, entry) in selection.records.iter().enumerate() {
        by_day.entry(&entry.day).or_default().push(i);
    }
    by_day
        .into_iter()
        .rev()
        .map(|(day, mut list)| {
            let records = &selection.records;
            list.sort_by(|&a, &b| {
                records[b].when.cmp(&records[a].when).then_with(|| {
                    (records[b].created_at, records[b].id.to_bytes())
                        .cmp(&(records[a].created_at, records[a].id.to_bytes()))
                })
            });
            (day.to_string(), list)
        })
        .collect()
}
