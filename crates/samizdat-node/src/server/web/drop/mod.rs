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

use askama::Template;
use axum::extract::{ConnectInfo, Multipart, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use samizdat_core::BlobHash;
use samizdat_core::nostr::prelude::{Keys, Timestamp, ToBech32};
use samizdat_core::person::{PersonReport, Source, Status};
use samizdat_core::tags::Place;
use samizdat_core::testimony::Testimony;
use samizdat_store::InsertOutcome;

use super::{Page, Web, csrf, problem};
use crate::IngestError;
use crate::submission::{
    self, Content, Prepared, Readers, Submission, SubmissionError, Visibility,
};

mod form;
pub(crate) mod when;

pub use form::FormSlots;
use form::*;

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

pub(crate) async fn testimony_form(Extract(state): Extract<Web>, page: Page) -> Response {
    let fields = Fields {
        lang: page.lang.code().to_string(),
        visibility: Some(Visibility::Public),
        zone: when::default_zone(state.node.config.timezone.as_ref()),
        ..Default::default()
    };
    testimony_again(&page, &state, fields, StatusCode::OK, String::new())
}

fn testimony_again(
    page: &Page,
    state: &Web,
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
            can_seal: !state.web.documenters.is_empty(),
        },
    )
}

pub(crate) async fn person_form(Extract(state): Extract<Web>, page: Page) -> Response {
    let fields = Fields {
        lang: page.lang.code().to_string(),
        visibility: Some(Visibility::Public),
        status: "missing".into(),
        source: "witnessed".into(),
        zone: when::default_zone(state.node.config.timezone.as_ref()),
        ..Default::default()
    };
    person_again(&page, &state, fields, StatusCode::OK, String::new())
}

fn person_again(
    page: &Page,
    state: &Web,
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
            can_seal: !state.web.documenters.is_empty(),
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
    state: Extract<Web>,
    page: Page,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    submit(Kind::Testimony, state, page, peer, headers, multipart).await
}

pub(crate) async fn person(
    state: Extract<Web>,
    page: Page,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    submit(Kind::Person, state, page, peer, headers, multipart).await
}

async fn submit(
    what: Kind,
    Extract(state): Extract<Web>,
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
    let Some(_slot) = state.web.forms.take(peer.ip().to_canonical()) else {
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
    let permit = tokio::time::timeout(WAIT_FOR_TURN, state.web.uploads.acquire()).await;
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

/// A form refused for load: the form again with the witness's text, what
/// happened, and when to come back (`Retry-After`).
async fn again_later(
    what: Kind,
    page: &Page,
    state: &Web,
    multipart: Multipart,
    status: StatusCode,
    why: String,
) -> Response {
    let fields = text_back(multipart, !state.web.documenters.is_empty()).await;
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Testimony,
    Person,
}

/// Strips the files, signs the record and stores it (or its sealed
/// copies); answers with the confirmation page once all is durable.
async fn leave(
    page: &Page,
    state: &Web,
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
    let visibility = fields.visibility.unwrap_or(Visibility::Public);
    let readers = Readers::of_visibility(visibility, fields.originals, &state.web.documenters)
        .map_err(|_| refuse("error.no_documenters", ""))?;
    let key = match fields.key.trim() {
        "" => None,
        text => Some(Keys::parse(text).map_err(|_| refuse("error.bad_key", ""))?),
    };
    let observed = when::parse_observed(&fields.observed, &fields.zone)
        .map_err(|d| refuse("error.bad_time", &d))?;
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
        readers,
        files: std::mem::take(&mut fields.files),
        untouched: Vec::new(),
        key,
        limits: state.node.config.events,
        now: Timestamp::now(),
    };
    // Stripping, signing and sealing are CPU work: off the runtime.
    let prepared = tokio::task::spawn_blocking(move || submission::prepare(submission))
        .await
        .map_err(|e| fault(page, "preparing a record", false, &e))?
        .map_err(|e| match e {
            SubmissionError::NoDocumenters | SubmissionError::UntouchedNotSealed => {
                refuse("error.no_documenters", "")
            }
            SubmissionError::File { name, source } => {
                refuse("error.bad_file", &file_refusal(page, &name, &source))
            }
            SubmissionError::Invalid(why) => refuse("error.invalid", &why),
        })?;
    let Prepared {
        id,
        keys,
        new_key,
        events,
        files: stripped,
        encrypted: blobs,
        originals_sealed,
        ..
    } = prepared;
    let sealed = visibility.is_sealed();
    let public = !sealed;
    let store = state.node.ingest.store().clone();
    let written = tokio::task::spawn_blocking(move || {
        // The blobs this record brings that were not here before: if the
        // record cannot be stored, they go again, so nothing of it stays
        // public on its own.
        let mut new = Vec::new();
        let mut put =
            |hash: BlobHash, write: &dyn Fn() -> Result<(), samizdat_store::BlobError>| {
                // Asked, not guessed: a blob that is there but did not
                // answer must never be taken for new and removed.
                let fresh = store
                    .blobs()
                    .stat(&hash)
                    .map_err(|source| samizdat_store::BlobError::Io { hash, source })?
                    .is_none();
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
        let refused = match state.node.ingest.submit(event.into_event()).await {
            Ok(InsertOutcome::Stored | InsertOutcome::Duplicate) => continue,
            Ok(other) => refuse("error.invalid", &format!("{other:?}")),
            Err(IngestError::Store(e)) => fault(page, "storing a record", e.is_full(), &e),
            Err(e) => refuse("error.invalid", &e.to_string()),
        };
        let store = state.node.ingest.store().clone();
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
                s.removed_kinds()
                    .iter()
                    .map(|k| page.word(&format!("removed.{}", k.as_str())))
                    .collect::<Vec<_>>()
                    .join(", ")
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
            documenters: state.web.documenters.len(),
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

/// Why a file was refused, in the page's language: the media crate's own
/// message is for the command line.
fn file_refusal(page: &Page, name: &str, error: &samizdat_media::MediaError) -> String {
    use samizdat_media::MediaError;
    let key = match error {
        MediaError::Unsupported(_) | MediaError::NotEncrypted { .. } => "error.file_type",
        MediaError::TooLarge { .. } => "error.file_big",
        MediaError::Corrupt { .. } | MediaError::Identifying { .. } => "error.file_damaged",
    };
    page.tf(key, name)
}
