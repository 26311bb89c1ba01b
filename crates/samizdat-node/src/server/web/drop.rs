//! The drop box: anyone who can reach the node leaves a testimony or a
//! person report from a browser, public or sealed for the node's
//! documenters.
//!
//! The witness's key is the witness's: when the form brings none, the
//! node makes one, signs with it, shows it once on the confirmation page
//! and forgets it; a witness who keeps it pastes it into the next form
//! to write as the same person. It is never stored or logged here.
//! Every file is stripped of metadata before anything is stored; a file
//! that cannot be stripped is refused.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use axum::extract::{ConnectInfo, Multipart, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use samizdat_core::BlobHash;
use samizdat_core::nostr::prelude::{Keys, Timestamp, ToBech32};
use samizdat_core::person::{PersonReport, Source, Status};
use samizdat_core::tags::{Observed, Place};
use samizdat_core::testimony::Testimony;
use samizdat_store::InsertOutcome;

use super::{Page, csrf, problem};
use crate::pace::{PIECE_WITHIN, Pace};
use crate::submission::{self, Content, Prepared, Submission, SubmissionError, Visibility};
use crate::{IngestError, State};

/// Files one submission may carry.
const MAX_FILES: usize = 8;
/// How long a form waits for one of the node's upload slots.
const WAIT_FOR_TURN: std::time::Duration = std::time::Duration::from_secs(60);
/// How long one form may take to arrive (64 MiB at about 1 Mbit/s).
const READ_FORM_WITHIN: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// Longest text field other than the testimony and the details.
const MAX_FIELD_BYTES: usize = 4 * 1024;

/// What a form holds, kept to fill the form again when something is
/// wrong, so that nothing the witness wrote is lost.
#[derive(Debug, Default)]
pub struct Fields {
    pub csrf: String,
    pub text: String,
    pub lang: String,
    pub place: String,
    pub observed: String,
    /// `public`, `sealed` (documenters may publish it with the author's
    /// signature) or `private` (documenters read it; only the author may
    /// publish it).
    pub visibility: String,
    pub key: String,
    pub name: String,
    pub aliases: String,
    pub age: String,
    pub role: String,
    pub status: String,
    pub source: String,
    /// `on` when the witness also sends the untouched originals, sealed
    /// for the documenters, beside a public record.
    pub originals: String,
    files: Vec<(String, Vec<u8>)>,
}

#[derive(Template)]
#[template(path = "submit.html")]
struct Choose<'a> {
    page: &'a Page,
}

#[derive(Template)]
#[template(path = "testimony_form.html")]
struct TestimonyForm<'a> {
    page: &'a Page,
    fields: Fields,
    error: String,
    can_seal: bool,
}

#[derive(Template)]
#[template(path = "person_form.html")]
struct PersonForm<'a> {
    page: &'a Page,
    fields: Fields,
    error: String,
    can_seal: bool,
    statuses: Vec<(&'static str, String)>,
    sources: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "stored.html")]
struct Stored<'a> {
    page: &'a Page,
    kind: &'static str,
    /// The public record's id, to link to; empty when sealed.
    id: String,
    sealed: bool,
    private: bool,
    documenters: usize,
    /// Untouched originals sealed for the documenters.
    originals_sealed: usize,
    files: Vec<(String, String)>,
    /// The new key, shown once; empty when the witness brought theirs.
    nsec: String,
    npub: String,
}

pub(crate) async fn choose(page: Page) -> Response {
    page.render(StatusCode::OK, &Choose { page: &page })
}

pub(crate) async fn testimony_form(Extract(state): Extract<Arc<State>>, page: Page) -> Response {
    let fields = Fields {
        lang: page.lang.code().to_string(),
        visibility: "public".into(),
        ..Default::default()
    };
    testimony_again(&page, &state, fields, StatusCode::OK, String::new())
}

fn testimony_again(
    page: &Page,
    state: &State,
    fields: Fields,
    status: StatusCode,
    error: String,
) -> Response {
    page.render(
        status,
        &TestimonyForm {
            page,
            fields,
            error,
            can_seal: !state.documenters.is_empty(),
        },
    )
}

pub(crate) async fn person_form(Extract(state): Extract<Arc<State>>, page: Page) -> Response {
    let fields = Fields {
        lang: page.lang.code().to_string(),
        visibility: "public".into(),
        status: "missing".into(),
        source: "witnessed".into(),
        ..Default::default()
    };
    person_again(&page, &state, fields, StatusCode::OK, String::new())
}

fn person_again(
    page: &Page,
    state: &State,
    fields: Fields,
    status: StatusCode,
    error: String,
) -> Response {
    let statuses = Status::ALL
        .iter()
        .map(|s| (s.as_str(), page.word(&format!("status.{}", s.as_str()))))
        .collect();
    let sources = Source::ALL
        .iter()
        .map(|s| (s.as_str(), page.word(&format!("source.{}", s.as_str()))))
        .collect();
    page.render(
        status,
        &PersonForm {
            page,
            fields,
            error,
            can_seal: !state.documenters.is_empty(),
            statuses,
            sources,
        },
    )
}

/// Why a submission was turned back to its form, and the status: 400 for
/// what the witness can mend, 5xx for the node's own trouble.
struct Refused(StatusCode, String);

/// The node's own fault, as the witness sees it: a short message (the
/// details, paths included, go to the log only).
fn fault(page: &Page, what: &str, full: bool, error: &dyn std::fmt::Display) -> Refused {
    tracing::error!(error = %error, "web: {what}");
    if full {
        Refused(
            StatusCode::INSUFFICIENT_STORAGE,
            page.t("error.full").to_string(),
        )
    } else {
        Refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            page.t("error.store").to_string(),
        )
    }
}

pub(crate) async fn testimony(
    state: Extract<Arc<State>>,
    page: Page,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    submit(Kind::Testimony, state, page, peer, headers, multipart).await
}

pub(crate) async fn person(
    state: Extract<Arc<State>>,
    page: Page,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    submit(Kind::Person, state, page, peer, headers, multipart).await
}

async fn submit(
    what: Kind,
    Extract(state): Extract<Arc<State>>,
    page: Page,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    // Admission before any body is read: a form with no token cookie, or
    // sent by another site, costs nothing; one over its address's budget
    // costs the reading of its text, given back.
    match before_the_body(&state, &headers, peer) {
        Ok(()) => {}
        Err(Admission::Forbidden) => {
            return problem(
                &page,
                StatusCode::FORBIDDEN,
                "error.csrf",
                page.t("error.csrf_detail").to_string(),
            );
        }
        Err(Admission::OverBudget) => {
            let why = format!("{} {}", page.t("error.rate"), page.t("error.again_detail"));
            return again_later(
                what,
                &page,
                &state,
                multipart,
                StatusCode::TOO_MANY_REQUESTS,
                why,
            )
            .await;
        }
    }
    let busy = || format!("{}. {}", page.t("error.busy"), page.t("error.again_detail"));
    // One form at a time from an address, so a few senders cannot take
    // every slot; held until the form is stored or refused.
    let Some(_slot) = state.forms.take(peer.ip().to_canonical()) else {
        return again_later(
            what,
            &page,
            &state,
            multipart,
            StatusCode::TOO_MANY_REQUESTS,
            busy(),
        )
        .await;
    };
    // A form is held whole in memory until it is stored: a few at a time,
    // and none for ever, so that slow senders cannot hold the drop box.
    let permit = tokio::time::timeout(WAIT_FOR_TURN, state.uploads.acquire()).await;
    let Ok(Ok(_permit)) = permit else {
        return again_later(
            what,
            &page,
            &state,
            multipart,
            StatusCode::SERVICE_UNAVAILABLE,
            busy(),
        )
        .await;
    };
    let read = tokio::time::timeout(READ_FORM_WITHIN, admit(&page, &headers, multipart)).await;
    let mut fields = match read {
        Ok(Ok(fields)) => fields,
        Ok(Err(answer)) => return *answer,
        Err(_) => {
            return problem(
                &page,
                StatusCode::REQUEST_TIMEOUT,
                "error.slow",
                String::new(),
            );
        }
    };
    match leave(&page, &state, &mut fields, what).await {
        Ok(answer) => answer,
        Err(Refused(status, why)) => match what {
            Kind::Testimony => testimony_again(&page, &state, fields, status, why),
            Kind::Person => person_again(&page, &state, fields, status, why),
        },
    }
}

/// Why a form is refused from its headers.
enum Admission {
    /// No token cookie, or sent by another site.
    Forbidden,
    /// Its address spent its hourly budget.
    OverBudget,
}

/// What can be checked from the headers alone: the token's cookie, the
/// origin, and the address's hourly budget (spent here, so a form that
/// trickles in still paid for its try).
fn before_the_body(state: &State, headers: &HeaderMap, peer: SocketAddr) -> Result<(), Admission> {
    let cookies = super::cookies(headers);
    let cookie = super::cookie(&cookies, csrf::COOKIE).filter(|c| csrf::valid(c));
    // The token is in the body; the cookie it must match, and the origin,
    // are here.
    if cookie.is_none_or(|c| !csrf::check(headers, Some(c), c)) {
        return Err(Admission::Forbidden);
    }
    if !state
        .submissions
        .take(peer.ip().to_canonical(), Instant::now())
    {
        return Err(Admission::OverBudget);
    }
    Ok(())
}

/// A form refused for load: the form again with the witness's text, what
/// happened, and when to come back (`Retry-After`).
async fn again_later(
    what: Kind,
    page: &Page,
    state: &State,
    multipart: Multipart,
    status: StatusCode,
    why: String,
) -> Response {
    let fields = text_back(multipart, !state.documenters.is_empty()).await;
    later(match what {
        Kind::Testimony => testimony_again(page, state, fields, status, why),
        Kind::Person => person_again(page, state, fields, status, why),
    })
}

/// How long a refused witness should wait before trying again.
const RETRY_AFTER_SECONDS: u32 = 60;

/// A refusal for load, with when to come back (`Retry-After`).
fn later(mut answer: Response) -> Response {
    answer.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(RETRY_AFTER_SECONDS),
    );
    answer
}

/// Forms being read, per address.
#[derive(Default)]
pub struct FormSlots(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// Forms one address may have read at once.
const FORMS_PER_ADDRESS: usize = 1;

/// An address's slot, given back when dropped.
pub struct FormSlot<'a> {
    slots: &'a FormSlots,
    ip: std::net::IpAddr,
}

impl FormSlots {
    fn take(&self, ip: std::net::IpAddr) -> Option<FormSlot<'_>> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= FORMS_PER_ADDRESS {
            return None;
        }
        *n += 1;
        Some(FormSlot { slots: self, ip })
    }
}

impl Drop for FormSlot<'_> {
    fn drop(&mut self) {
        let mut map = self.slots.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// The longest a form field may be.
fn field_limit(name: &str) -> usize {
    match name {
        "text" => samizdat_core::testimony::MAX_TEXT_BYTES,
        "details" => samizdat_core::person::MAX_DETAILS_BYTES,
        _ => MAX_FIELD_BYTES,
    }
}

impl Fields {
    /// Keeps a form field by its name; others are ignored.
    fn set(&mut self, name: &str, text: String) {
        let slot = match name {
            "csrf" => &mut self.csrf,
            "text" | "details" => &mut self.text,
            "lang" => &mut self.lang,
            "place" => &mut self.place,
            "observed" => &mut self.observed,
            "visibility" => &mut self.visibility,
            "key" => &mut self.key,
            "name" => &mut self.name,
            "aliases" => &mut self.aliases,
            "age" => &mut self.age,
            "role" => &mut self.role,
            "status" => &mut self.status,
            "source" => &mut self.source,
            "originals" => &mut self.originals,
            _ => return,
        };
        *slot = text;
    }
}

/// How much of a form refused for load is read to give its text back.
const TEXT_BACK_BYTES: usize = 64 * 1024;
/// How long that reading may take.
const TEXT_BACK_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

/// The text of a form refused for load, to give back to the witness with
/// the form: at most [`TEXT_BACK_BYTES`] of the body are read (files are
/// passed over, not kept) at the minimum pace. A choice of visibility that
/// comes after more than that (behind large files) is not read, and the
/// form comes back with the most private choice.
async fn text_back(mut multipart: Multipart, can_seal: bool) -> Fields {
    let mut fields = Fields::default();
    let mut read = 0usize;
    let mut pace = Pace::start();
    let reading = async {
        // Bounded by TEXT_BACK_BYTES, the pace and TEXT_BACK_WITHIN.
        while let Ok(Some(mut field)) = multipart.next_field().await {
            let name = field.name().unwrap_or("").to_string();
            let mut bytes = Vec::new();
            while let Ok(Some(piece)) = field.chunk().await {
                read += piece.len();
                if read > TEXT_BACK_BYTES || pace.piece(piece.len()).is_err() {
                    return false;
                }
                if name != "files" {
                    bytes.extend_from_slice(&piece);
                }
            }
            if name == "files" || name == "key" || name == "csrf" {
                continue;
            }
            if let Ok(text) = String::from_utf8(bytes)
                && text.len() <= field_limit(&name)
            {
                fields.set(&name, text);
            }
        }
        true
    };
    let whole = tokio::time::timeout(TEXT_BACK_WITHIN, reading)
        .await
        .unwrap_or(false);
    if !whole && fields.visibility.is_empty() && can_seal {
        fields.visibility = "private".into();
    }
    // The key is never sent back into a page.
    fields.key.clear();
    fields
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Testimony,
    Person,
}

/// Reads the form (at a minimum rate), then checks its CSRF token against
/// the cookie; the budget was spent before.
async fn admit(
    page: &Page,
    headers: &HeaderMap,
    mut multipart: Multipart,
) -> Result<Fields, Box<Response>> {
    let bad = |status, title, detail: String| Box::new(problem(page, status, title, detail));
    let slow = || bad(StatusCode::REQUEST_TIMEOUT, "error.slow", String::new());
    let mut fields = Fields::default();
    let mut pace = Pace::start();
    loop {
        let next = tokio::time::timeout(PIECE_WITHIN, multipart.next_field()).await;
        let field = match next.map_err(|_| slow())? {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                let status = e.status();
                let title = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "error.too_large"
                } else {
                    "error.bad_form"
                };
                return Err(bad(status, title, e.body_text()));
            }
        };
        let name = field.name().unwrap_or("").to_string();
        let file_name = (name == "files").then(|| field.file_name().unwrap_or("").to_string());
        // Piece by piece, each within PIECE_WITHIN and the whole at the
        // minimum pace.
        let mut field = field;
        let mut bytes = Vec::new();
        loop {
            let piece = tokio::time::timeout(PIECE_WITHIN, field.chunk())
                .await
                .map_err(|_| slow())?
                .map_err(|e| bad(e.status(), "error.bad_form", e.body_text()))?;
            let Some(piece) = piece else { break };
            bytes.extend_from_slice(&piece);
            pace.piece(piece.len()).map_err(|_| slow())?;
        }
        if let Some(file_name) = file_name {
            // A file input left empty still sends an empty part.
            if bytes.is_empty() && file_name.is_empty() {
                continue;
            }
            if fields.files.len() == MAX_FILES {
                return Err(bad(
                    StatusCode::BAD_REQUEST,
                    "error.too_many_files",
                    MAX_FILES.to_string(),
                ));
            }
            fields.files.push((file_name, bytes));
            continue;
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            bad(
                StatusCode::BAD_REQUEST,
                "error.bad_form",
                format!("{name} is not UTF-8 text"),
            )
        })?;
        if text.len() > field_limit(&name) {
            return Err(bad(
                StatusCode::PAYLOAD_TOO_LARGE,
                "error.field_too_long",
                name,
            ));
        }
        fields.set(&name, text);
    }
    let cookies = super::cookies(headers);
    if !csrf::check(headers, super::cookie(&cookies, csrf::COOKIE), &fields.csrf) {
        return Err(bad(
            StatusCode::FORBIDDEN,
            "error.csrf",
            page.t("error.csrf_detail").to_string(),
        ));
    }
    Ok(fields)
}

/// Strips the files, signs the record and stores it (or its sealed
/// copies); answers with the confirmation page once all is durable.
async fn leave(
    page: &Page,
    state: &Arc<State>,
    fields: &mut Fields,
    what: Kind,
) -> Result<Response, Refused> {
    let refuse = |key: &'static str, detail: &str| {
        let text = page.t(key);
        Refused(
            StatusCode::BAD_REQUEST,
            if detail.is_empty() {
                text.to_string()
            } else {
                format!("{text}: {detail}")
            },
        )
    };
    let visibility = Visibility::from_form(&fields.visibility);
    if visibility.is_sealed() && state.documenters.is_empty() {
        return Err(refuse("error.no_documenters", ""));
    }
    let key = match fields.key.trim() {
        "" => None,
        text => Some(Keys::parse(text).map_err(|_| refuse("error.bad_key", ""))?),
    };
    let observed = parse_observed(&fields.observed).map_err(|d| refuse("error.bad_time", &d))?;
    let place = Place {
        text: Some(fields.place.trim().to_string()).filter(|p| !p.is_empty()),
        geohash: None,
    };
    let lang = fields.lang.trim().to_lowercase();
    let content = match what {
        Kind::Testimony => Content::Testimony(Testimony {
            text: fields.text.trim().to_string(),
            lang,
            place,
            observed,
            attachments: Vec::new(),
            topics: Vec::new(),
        }),
        Kind::Person => {
            let age = match fields.age.trim() {
                "" => None,
                a => Some(a.parse::<u8>().map_err(|_| refuse("error.bad_age", a))?),
            };
            Content::Person(PersonReport {
                name: fields.name.trim().to_string(),
                aliases: fields
                    .aliases
                    .split(',')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
                    .collect(),
                age,
                role: Some(fields.role.trim().to_string()).filter(|r| !r.is_empty()),
                status: fields
                    .status
                    .parse()
                    .map_err(|_| refuse("error.bad_form", &fields.status))?,
                observed,
                place,
                source: fields
                    .source
                    .parse()
                    .map_err(|_| refuse("error.bad_form", &fields.source))?,
                lang: Some(lang).filter(|l| !l.is_empty()),
                details: fields.text.trim().to_string(),
                attachments: Vec::new(),
            })
        }
    };
    let submission = Submission {
        content,
        visibility,
        files: std::mem::take(&mut fields.files),
        keep_originals: fields.originals == "on",
        key,
        documenters: state.documenters.clone(),
        limits: state.config.events,
        now: Timestamp::now(),
    };
    // Stripping, signing and sealing are CPU work: off the runtime.
    let prepared = tokio::task::spawn_blocking(move || submission::prepare(submission))
        .await
        .map_err(|e| fault(page, "preparing a record", false, &e))?
        .map_err(|e| match e {
            SubmissionError::NoDocumenters => refuse("error.no_documenters", ""),
            SubmissionError::File { .. } => refuse("error.bad_file", &e.to_string()),
            SubmissionError::Invalid(why) => refuse("error.invalid", &why),
        })?;
    let Prepared {
        id,
        keys,
        new_key,
        visibility,
        events,
        files: stripped,
        encrypted: blobs,
        originals_sealed,
    } = prepared;
    let sealed = visibility.is_sealed();
    let public = !sealed;
    let store = state.ingest.store().clone();
    let written = tokio::task::spawn_blocking(move || {
        // The blobs this record brings that were not here before: if the
        // record cannot be stored, they go again, so nothing of it stays
        // public on its own.
        let mut new = Vec::new();
        let mut put =
            |hash: BlobHash, write: &dyn Fn() -> Result<(), samizdat_store::BlobError>| {
                let fresh = !store.blobs().contains(&hash);
                write()?;
                if fresh {
                    new.push(hash);
                }
                Ok::<_, samizdat_store::BlobError>(())
            };
        if public {
            for (_, s) in &stripped {
                put(BlobHash::of(s.bytes()), &|| {
                    store.blobs().put_stripped(s).map(drop)
                })?;
            }
        }
        for bytes in &blobs {
            put(BlobHash::of(bytes), &|| store.blobs().put(bytes).map(drop))?;
        }
        Ok::<_, samizdat_store::BlobError>((stripped, new))
    })
    .await
    .map_err(|e| fault(page, "storing files", false, &e))?;
    let (stripped, new_blobs) = written.map_err(|e| {
        let full = matches!(e, samizdat_store::BlobError::Full);
        fault(page, "storing files", full, &e)
    })?;
    for event in events {
        let refused = match state.ingest.submit(event).await {
            Ok(InsertOutcome::Stored | InsertOutcome::Duplicate) => continue,
            Ok(other) => refuse("error.invalid", &format!("{other:?}")),
            Err(IngestError::Store(e)) => fault(page, "storing a record", e.is_full(), &e),
            Err(e) => refuse("error.invalid", &e.to_string()),
        };
        let store = state.ingest.store().clone();
        let _ = tokio::task::spawn_blocking(move || {
            for hash in &new_blobs {
                if let Err(e) = store.blobs().remove(hash) {
                    tracing::warn!(error = %e, "removing a file of a record not stored");
                }
            }
        })
        .await;
        return Err(refused);
    }
    tracing::info!(kind = %if what == Kind::Testimony { "testimony" } else { "person" },
        sealed, files = stripped.len(), "web: a record was left in the drop box");
    let files = stripped
        .iter()
        .map(|(name, s)| {
            let removed = if s.removed().is_empty() {
                page.t("stored.nothing_removed").to_string()
            } else {
                s.removed().join(", ")
            };
            (name.clone(), removed)
        })
        .collect();
    Ok(page.render(
        StatusCode::OK,
        &Stored {
            page,
            kind: if what == Kind::Testimony {
                "kind.testimony"
            } else {
                "kind.person"
            },
            id: if sealed { String::new() } else { id.to_hex() },
            sealed,
            private: visibility == Visibility::Private,
            documenters: state.documenters.len(),
            originals_sealed,
            files,
            nsec: if new_key {
                keys.secret_key().to_bech32().unwrap_or_default()
            } else {
                String::new()
            },
            npub: keys.public_key().to_bech32().unwrap_or_default(),
        },
    ))
}

/// When it happened: `YYYY-MM-DDTHH:MM` (a browser's date-time field),
/// `YYYY-MM-DD HH:MM` or `YYYY-MM-DD`, in the node's time zone, which is
/// the witness's when both are on the same network.
fn parse_observed(text: &str) -> Result<Option<Observed>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let civil: jiff::civil::DateTime = match text.parse() {
        Ok(t) => t,
        Err(_) => text
            .parse::<jiff::civil::Date>()
            .map_err(|_| text.to_string())?
            .to_datetime(jiff::civil::Time::midnight()),
    };
    let zoned = civil
        .to_zoned_datetime(jiff::tz::TimeZone::system())
        .map_err(|e| e.to_string())?;
    let start = u64::try_from(zoned.timestamp().as_second()).map_err(|_| text.to_string())?;
    Ok(Some(Observed { start, end: None }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_from_browsers_and_people() {
        assert!(parse_observed("2026-11-30T14:30").unwrap().is_some());
        assert!(parse_observed("2026-11-30 14:30").unwrap().is_some());
        assert!(parse_observed("2026-11-30").unwrap().is_some());
        assert_eq!(parse_observed("  ").unwrap(), None);
        assert!(parse_observed("last tuesday").is_err());
    }
}
