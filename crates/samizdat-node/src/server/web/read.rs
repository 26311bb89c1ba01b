//! Reading: the timeline of public records, search, a record's page,
//! the people registry and the node's status.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query as Params, State as Extract};
use axum::http::StatusCode;
use axum::response::Response;
use samizdat_core::attestation::{Attestation, Label};
use samizdat_core::kind;
use samizdat_core::nostr::prelude::{Event, EventId};
use samizdat_core::record::Record;
use samizdat_store::{Query, Store, StoreError};
use serde::Deserialize;

use super::{Page, problem};
use crate::server::web::Web;
use crate::views::records::{
    HistoryLine, Item, PersonLine, Said, Shown, attachments, date_time, encode, happened, history,
    item, local_day, person_line, short_npub, show,
};

/// Records on one page of the timeline or of search results.
const PAGE_SIZE: usize = 50;
/// Events read to fill one page when some must be left out (notes of
/// other applications, places that do not match).
const READ_AHEAD: usize = PAGE_SIZE * 8;

#[derive(Debug, Default, Deserialize)]
pub struct TimelineQuery {
    pub kind: Option<String>,
    /// The records' language (`language=kk`): a filter of the content,
    /// never the interface's language, which is `lang=`.
    pub language: Option<String>,
    pub day: Option<String>,
    pub place: Option<String>,
    /// Only records published before this time (the next page).
    pub before: Option<u64>,
}

#[derive(Template)]
#[template(path = "timeline.html")]
struct Timeline<'a> {
    page: &'a Page,
    items: Vec<Item>,
    filter: TimelineQuery,
    /// Link to the next page, when there may be one.
    more: Option<String>,
    search: String,
    searching: bool,
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage<'a> {
    page: &'a Page,
    shown: Shown,
    said: Vec<Said>,
    translations: Vec<Item>,
}

pub(crate) async fn timeline(
    Extract(state): Extract<Web>,
    page: Page,
    Params(filter): Params<TimelineQuery>,
) -> Response {
    // By when things happened (as their witnesses say), not when they
    // were signed: the same days and order as the mirror.
    let mut query = Query {
        until: filter.before.map(|b| b.saturating_sub(1)),
        limit: Some(READ_AHEAD),
        by_happened: true,
        ..Default::default()
    };
    if let Some(lang) = filter.language.as_deref().filter(|l| !l.is_empty()) {
        query.tags.push(('l', vec![lang.to_lowercase()]));
    }
    let mut day_wanted = None;
    if let Some(day) = filter.day.as_deref().filter(|d| !d.is_empty()) {
        let Some((since, until)) = day_span(day) else {
            return problem(
                &page,
                StatusCode::BAD_REQUEST,
                "error.bad_day",
                day.to_string(),
            );
        };
        // The day as each witness wrote it, in their own offset: up to 14
        // hours either side of the UTC day, then each record's own day.
        query.since = Some(since.saturating_sub(MAX_OFFSET));
        let until = until + MAX_OFFSET;
        query.until = Some(query.until.map_or(until, |u| u.min(until)));
        day_wanted = Some(day.trim().to_string());
    }
    // Testimonies by their label, in the store's index, so that a flood
    // of other notes (kind 1 too) is never read for a page.
    let testimonies = {
        let mut q = query.clone();
        q.kinds = Some(vec![kind::TESTIMONY.as_u16()]);
        q.tags.push(('l', vec![kind::TESTIMONY_LABEL.to_string()]));
        q
    };
    let people = Query {
        kinds: Some(vec![kind::PERSON_REPORT.as_u16()]),
        ..query
    };
    let queries = match filter.kind.as_deref() {
        Some("testimony") => vec![testimonies],
        Some("person") => vec![people],
        _ => vec![testimonies, people],
    };
    let place = filter
        .place
        .as_deref()
        .map(|p| samizdat_core::text::fold(p.trim()))
        .filter(|p| !p.is_empty());
    let mut events = Vec::new();
    let mut read_all = true;
    for query in queries {
        match read(&page, &state, query).await {
            Ok(found) => {
                read_all &= found.len() < READ_AHEAD;
                events.extend(found);
            }
            Err(answer) => return answer,
        }
    }
    // Newest first by when it happened, as the store gives each list;
    // the first READ_AHEAD.
    let mut events: Vec<(u64, Event)> = events.into_iter().map(|e| (happened(&e), e)).collect();
    events.sort_by(|(a_at, a), (b_at, b)| b_at.cmp(a_at).then_with(|| a.id.cmp(&b.id)));
    events.truncate(READ_AHEAD);
    let mut items = Vec::new();
    let mut last = None;
    for (at, event) in &events {
        last = Some(*at);
        if day_wanted.as_ref().is_some_and(|d| *d != local_day(event)) {
            continue;
        }
        let Some(item) = item(event) else { continue };
        if let Some(p) = &place
            && !samizdat_core::text::fold(&item.place).contains(p.as_str())
        {
            continue;
        }
        items.push(item);
        if items.len() == PAGE_SIZE {
            break;
        }
    }
    let more = match last {
        Some(before) if items.len() == PAGE_SIZE || !read_all => {
            let mut link = format!("/timeline?before={before}");
            for (name, value) in [
                ("kind", &filter.kind),
                ("language", &filter.language),
                ("day", &filter.day),
                ("place", &filter.place),
            ] {
                if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                    link.push_str(&format!("&{name}={}", encode(v)));
                }
            }
            Some(link)
        }
        _ => None,
    };
    page.render(
        StatusCode::OK,
        &Timeline {
            page: &page,
            items,
            filter,
            more,
            search: String::new(),
            searching: false,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    pub q: Option<String>,
}

pub(crate) async fn search(
    Extract(state): Extract<Web>,
    page: Page,
    Params(params): Params<SearchQuery>,
) -> Response {
    let words = params.q.unwrap_or_default();
    let words = words.trim();
    let mut items = Vec::new();
    if !words.is_empty() {
        let query = Query {
            kinds: Some(vec![kind::TESTIMONY.as_u16(), kind::PERSON_REPORT.as_u16()]),
            search: Some(words.chars().take(200).collect()),
            limit: Some(READ_AHEAD),
            ..Default::default()
        };
        match read(&page, &state, query).await {
            Ok(events) => items.extend(events.iter().filter_map(item).take(PAGE_SIZE)),
            Err(answer) => return answer,
        }
    }
    page.render(
        StatusCode::OK,
        &Timeline {
            page: &page,
            items,
            filter: TimelineQuery::default(),
            more: None,
            search: words.to_string(),
            searching: true,
        },
    )
}

pub(crate) async fn record(
    Extract(state): Extract<Web>,
    page: Page,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = EventId::parse(id.trim()) else {
        return problem(&page, StatusCode::BAD_REQUEST, "error.bad_id", id);
    };
    let found = on_store(&page, &state, move |store| about(store, id)).await;
    let (event, attestations, translations, present) = match found {
        Ok(Some(found)) => found,
        Ok(None) => {
            return problem(&page, StatusCode::NOT_FOUND, "error.not_found", id.to_hex());
        }
        Err(answer) => return answer,
    };
    let Some(mut shown) = show(page.lang, &event, &present) else {
        return problem(&page, StatusCode::NOT_FOUND, "error.not_found", id.to_hex());
    };
    shown.signature_ok = event.verify().is_ok();
    let said = attestations
        .iter()
        .filter_map(|e| {
            let a = Attestation::from_event(e).ok()?;
            Some(Said {
                label: page.word(&format!("label.{}", a.label.as_str())),
                author: short_npub(e),
                note: a.note,
                when: date_time(e.created_at.as_secs()),
                link: a.original.map(|o| o.to_hex()),
            })
        })
        .collect();
    let translations = translations.iter().filter_map(item).collect();
    page.render(
        StatusCode::OK,
        &RecordPage {
            page: &page,
            shown,
            said,
            translations,
        },
    )
}

/// Attestations and translations of one record, read in one go.
type About = (Event, Vec<Event>, Vec<Event>, HashMap<String, bool>);

fn about(store: &Store, id: EventId) -> Result<Option<About>, StoreError> {
    let Some(stored) = store
        .query(&Query {
            ids: Some(vec![id]),
            ..Default::default()
        })?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let event = stored.event()?;
    let mut attestations = Vec::new();
    let mut translations = Vec::new();
    for stored in store.query(&Query {
        kinds: Some(vec![kind::ATTESTATION.as_u16()]),
        tags: vec![('e', vec![id.to_hex()])],
        limit: Some(500),
        ..Default::default()
    })? {
        attestations.push(stored.event()?);
    }
    // A translation names its original in an `of` tag: the labels naming
    // this record, of which the translation labels.
    for stored in store.labels_naming(&id, 500)? {
        let label = stored.event()?;
        if let Ok(a) = Attestation::from_event(&label)
            && a.label == Label::TranslationOf
            && a.original == Some(id)
            && let Some(t) = store
                .query(&Query {
                    ids: Some(vec![a.target]),
                    ..Default::default()
                })?
                .into_iter()
                .next()
        {
            translations.push(t.event()?);
        }
    }
    let mut present = HashMap::new();
    if let Ok(record) = Record::parse(&event) {
        for a in attachments(&record) {
            present.insert(a.hash.to_hex(), store.blobs().contains(&a.hash));
        }
    }
    Ok(Some((event, attestations, translations, present)))
}

#[derive(Template)]
#[template(path = "people.html")]
struct People<'a> {
    page: &'a Page,
    name: String,
    entries: Vec<PersonLine>,
    total: usize,
}

#[derive(Template)]
#[template(path = "person.html")]
struct PersonPage<'a> {
    page: &'a Page,
    line: PersonLine,
    history: Vec<HistoryLine>,
    conflicts: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PeopleQuery {
    pub name: Option<String>,
}

pub(crate) async fn people(
    Extract(state): Extract<Web>,
    page: Page,
    Params(params): Params<PeopleQuery>,
) -> Response {
    let name = params.name.unwrap_or_default().trim().to_string();
    let cache = Arc::clone(&state.web);
    let registry = match on_store(&page, &state, move |store| cache.registry.get(store)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let chosen: Vec<usize> = if name.is_empty() {
        (0..registry.entries.len()).collect()
    } else {
        registry.search(&name).into_iter().map(|(i, _)| i).collect()
    };
    let entries = chosen
        .into_iter()
        .take(200)
        .filter_map(|i| registry.entries.get(i))
        .map(|e| person_line(page.lang, e))
        .collect();
    page.render(
        StatusCode::OK,
        &People {
            page: &page,
            name,
            entries,
            total: registry.entries.len(),
        },
    )
}

pub(crate) async fn person(
    Extract(state): Extract<Web>,
    page: Page,
    Path(id): Path<String>,
) -> Response {
    let Ok(wanted) = EventId::parse(id.trim()) else {
        return problem(&page, StatusCode::BAD_REQUEST, "error.bad_id", id);
    };
    let cache = Arc::clone(&state.web);
    let registry = match on_store(&page, &state, move |store| cache.registry.get(store)).await {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    let wanted = wanted.to_bytes();
    let Some(entry) = registry
        .entries
        .iter()
        .find(|e| e.history.iter().any(|r| r.id == wanted))
    else {
        return problem(
            &page,
            StatusCode::NOT_FOUND,
            "error.not_found",
            hex::encode(wanted),
        );
    };
    let history = history(page.lang, entry);
    let conflicts = entry.conflicts.iter().map(|c| c.why.clone()).collect();
    page.render(
        StatusCode::OK,
        &PersonPage {
            page: &page,
            line: person_line(page.lang, entry),
            history,
            conflicts,
        },
    )
}

#[derive(Template)]
#[template(path = "node.html")]
struct NodePage<'a> {
    page: &'a Page,
    records: u64,
    peers: Vec<PeerLine>,
    peer_count: usize,
    last_sync: String,
    waiting: u64,
}

pub struct PeerLine {
    pub url: String,
    pub state: String,
    pub last_success: String,
    pub last_error: String,
    pub waiting: u64,
}

pub(crate) async fn node(Extract(state): Extract<Web>, page: Page) -> Response {
    let records = match on_store(&page, &state, |store| {
        store.count(&Query {
            kinds: Some(vec![kind::TESTIMONY.as_u16(), kind::PERSON_REPORT.as_u16()]),
            ..Default::default()
        })
    })
    .await
    {
        Ok(n) => n,
        Err(answer) => return answer,
    };
    let board = state.node.peers.board().snapshot();
    let never = || page.t("node.never").to_string();
    let last_sync = board
        .iter()
        .filter_map(|p| p.last_success)
        .max()
        .map_or_else(never, date_time);
    let waiting = board.iter().map(|p| p.waiting).sum();
    // Which peers this node talks to is for its owner only.
    let peers = if page.local {
        board
            .iter()
            .map(|p| PeerLine {
                url: p.url.clone(),
                state: format!("{:?}", p.state).to_lowercase(),
                last_success: p.last_success.map_or_else(never, date_time),
                last_error: p.last_error.clone().unwrap_or_default(),
                waiting: p.waiting,
            })
            .collect()
    } else {
        Vec::new()
    };
    page.render(
        StatusCode::OK,
        &NodePage {
            page: &page,
            records,
            peer_count: board.len(),
            peers,
            last_sync,
            waiting,
        },
    )
}

/// Runs `f` on the store on a blocking thread, within the node's read
/// budget; a failure becomes the error page.
pub(crate) async fn on_store<T: Send + 'static>(
    page: &Page,
    state: &Web,
    f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    let _permit = state
        .node
        .reads
        .acquire()
        .await
        .map_err(|e| failed(page, e))?;
    let store = state.node.ingest.store().clone();
    match tokio::task::spawn_blocking(move || f(&store)).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(failed(page, e)),
        Err(e) => Err(failed(page, e)),
    }
}

/// Reads the events `query` matches.
async fn read(page: &Page, state: &Web, query: Query) -> Result<Vec<Event>, Response> {
    on_store(page, state, move |store| {
        store.query(&query)?.iter().map(|s| s.event()).collect()
    })
    .await
}

fn failed(page: &Page, error: impl std::fmt::Display) -> Response {
    tracing::error!(error = %error, "web: reading the store");
    problem(
        page,
        StatusCode::INTERNAL_SERVER_ERROR,
        "error.store",
        String::new(),
    )
}

/// The widest UTC offset there is (UTC+14:00), in seconds.
const MAX_OFFSET: u64 = 14 * 3_600;

/// The first and last second of a `YYYY-MM-DD` day, in UTC.
fn day_span(day: &str) -> Option<(u64, u64)> {
    let date: jiff::civil::Date = day.trim().parse().ok()?;
    let start = date
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .ok()?
        .timestamp();
    let start = u64::try_from(start.as_second()).ok()?;
    Some((start, start + 86_399))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_its_utc_seconds() {
        assert_eq!(day_span("2026-12-01"), Some((1_796_083_200, 1_796_169_599)));
        assert_eq!(day_span("yesterday"), None);
        assert_eq!(day_span("2026-13-01"), None);
    }
}
