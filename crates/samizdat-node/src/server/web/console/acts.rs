//! What a documenter does from the console, each a signed form checked
//! before its handler runs ([`Signed`]): publish a sealed record,
//! attest a record, translate a testimony, decide whether two reports
//! name one person.

use axum::extract::{Form, FromRequestParts, State as Extract};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use samizdat_core::attestation::{Attestation, Label};
use samizdat_core::nostr::prelude::{Event, EventId, Keys, Timestamp};
use samizdat_core::sign::Draft;
use samizdat_core::tags::Place;
use samizdat_core::testimony::Testimony;
use samizdat_core::{RecordKind, VerifiedEvent, kind};
use samizdat_store::Query;
use serde::Deserialize;

use super::{Page, problem};
use crate::inbox;
use crate::server::web::Web;

use super::*;

/// A console form, checked before the handler sees it: from this
/// machine, with its CSRF token, from the browser the console is
/// unlocked in. Carries the documenter's key.
pub(crate) struct Signed<T> {
    keys: Keys,
    form: T,
    page: Page,
}

/// A form with a CSRF token.
pub(crate) trait Token {
    fn token(&self) -> &str;
}

impl<T> axum::extract::FromRequest<Web> for Signed<T>
where
    T: serde::de::DeserializeOwned + Token + Send,
{
    type Rejection = Response;

    async fn from_request(request: axum::extract::Request, state: &Web) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Ok(page) = Page::from_request_parts(&mut parts, state).await;
        let peer = super::super::peer_of(&parts);
        let headers = parts.headers.clone();
        let request = axum::extract::Request::from_parts(parts, body);
        let Form(form) = Form::<T>::from_request(request, state)
            .await
            .map_err(|e| problem(&page, e.status(), "error.bad_form", e.body_text()))?;
        let keys = signed_in(state, &page, &headers, peer, form.token()).map_err(|b| *b)?;
        Ok(Signed { keys, form, page })
    }
}

macro_rules! token {
    ($($form:ty),+) => {
        $(impl Token for $form {
            fn token(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
token!(PublishForm, AttestForm, TranslateForm, MatchForm);

/// An answer either way: the handler's page, or the page of what stopped
/// it.
type Answer = Result<Response, Response>;

fn either(answer: Answer) -> Response {
    answer.unwrap_or_else(|stopped| stopped)
}

#[derive(Deserialize)]
pub struct PublishForm {
    csrf: String,
    wrap: String,
}

pub(crate) async fn publish(Extract(state): Extract<Web>, signed: Signed<PublishForm>) -> Response {
    either(publish_signed(&state, signed).await)
}

async fn publish_signed(state: &Web, signed: Signed<PublishForm>) -> Answer {
    let Signed { keys, form, page } = signed;
    let wrap = EventId::parse(form.wrap.trim())
        .map_err(|_| problem(&page, StatusCode::BAD_REQUEST, "error.bad_id", form.wrap))?;
    let prepared = super::super::read::on_store(&page, state, move |store| {
        let Some((_, opened)) = inbox::find(store, &keys, wrap)? else {
            return Ok(Err(wrap.to_hex()));
        };
        let prepared = inbox::ready_to_publish(store, &keys, opened.inner);
        Ok(prepared
            .map(VerifiedEvent::into_event)
            .map_err(|e| e.to_string()))
    })
    .await?;
    let event = prepared
        .map_err(|why| problem(&page, StatusCode::CONFLICT, "console.not_published", why))?;
    let id = event.id;
    store_one(&page, state, event).await?;
    tracing::info!(record = %id, "web: a sealed record was published from the console");
    Ok(Redirect::to(&format!("/r/{}", id.to_hex())).into_response())
}

#[derive(Deserialize)]
pub struct AttestForm {
    csrf: String,
    target: String,
    label: String,
    #[serde(default)]
    note: String,
    /// The original, for `duplicate-of`.
    #[serde(default)]
    of: String,
}

pub(crate) async fn attest(Extract(state): Extract<Web>, signed: Signed<AttestForm>) -> Response {
    either(attest_signed(&state, signed).await)
}

async fn attest_signed(state: &Web, signed: Signed<AttestForm>) -> Answer {
    let Signed { keys, form, page } = signed;
    let label = match form.label.as_str() {
        "corroborates" => Label::Corroborates,
        "disputes" => Label::Disputes,
        "verified" => Label::Verified,
        "duplicate-of" => Label::DuplicateOf,
        other => return Err(bad_form(&page, other)),
    };
    let target = find(&page, state, &form.target).await?;
    let original = if label == Label::DuplicateOf {
        Some(find(&page, state, &form.of).await?.id)
    } else {
        None
    };
    let attestation = Attestation {
        label,
        target: target.id,
        target_author: Some(target.pubkey),
        original,
        note: form.note.trim().to_string(),
    };
    sign_and_store(&page, state, &keys, attestation.draft(Timestamp::now())).await?;
    Ok(Redirect::to(&format!("/r/{}", target.id.to_hex())).into_response())
}

#[derive(Deserialize)]
pub struct TranslateForm {
    csrf: String,
    target: String,
    text: String,
    lang: String,
}

pub(crate) async fn translate(
    Extract(state): Extract<Web>,
    signed: Signed<TranslateForm>,
) -> Response {
    either(translate_signed(&state, signed).await)
}

async fn translate_signed(state: &Web, signed: Signed<TranslateForm>) -> Answer {
    let Signed { keys, form, page } = signed;
    let original = find(&page, state, &form.target).await?;
    let place = match samizdat_core::record::Record::parse(&original) {
        Ok(samizdat_core::record::Record::Testimony(t)) => t.place,
        _ => Place {
            text: None,
            geohash: None,
        },
    };
    let translation = Testimony {
        text: form.text.trim().to_string(),
        lang: form.lang.trim().to_lowercase(),
        place,
        observed: None,
        attachments: Vec::new(),
        topics: Vec::new(),
    };
    let now = Timestamp::now();
    let draft = Draft {
        kind: kind::TESTIMONY,
        created_at: now,
        tags: translation.tags(),
        content: translation.content(),
    };
    let id = sign_and_store(&page, state, &keys, draft).await?;
    let link = Attestation {
        label: Label::TranslationOf,
        target: id,
        target_author: Some(keys.public_key()),
        original: Some(original.id),
        note: String::new(),
    };
    sign_and_store(&page, state, &keys, link.draft(now)).await?;
    Ok(Redirect::to(&format!("/r/{}", original.id.to_hex())).into_response())
}

#[derive(Deserialize)]
pub struct MatchForm {
    csrf: String,
    a: String,
    b: String,
    /// `same` or `different`.
    verdict: String,
}

pub(crate) async fn verdict(Extract(state): Extract<Web>, signed: Signed<MatchForm>) -> Response {
    either(verdict_signed(&state, signed).await)
}

async fn verdict_signed(state: &Web, signed: Signed<MatchForm>) -> Answer {
    let Signed { keys, form, page } = signed;
    let label = match form.verdict.as_str() {
        "same" => Label::SamePerson,
        "different" => Label::DifferentPerson,
        other => return Err(bad_form(&page, other)),
    };
    let mut reports = Vec::new();
    for id in [&form.a, &form.b] {
        let event = find(&page, state, id).await?;
        if RecordKind::of(&event) != RecordKind::PersonReport {
            return Err(problem(
                &page,
                StatusCode::BAD_REQUEST,
                "console.not_a_person",
                event.id.to_hex(),
            ));
        }
        reports.push(event);
    }
    let attestation = Attestation {
        label,
        target: reports[0].id,
        target_author: Some(reports[0].pubkey),
        original: Some(reports[1].id),
        note: String::new(),
    };
    sign_and_store(&page, state, &keys, attestation.draft(Timestamp::now())).await?;
    Ok(Redirect::to("/console").into_response())
}

fn bad_form(page: &Page, what: &str) -> Response {
    problem(
        page,
        StatusCode::BAD_REQUEST,
        "error.bad_form",
        what.to_string(),
    )
}

/// The stored public record `text` names (hex or NIP-19).
async fn find(page: &Page, state: &Web, text: &str) -> Result<Event, Response> {
    let Ok(id) = EventId::parse(text.trim()) else {
        return Err(problem(
            page,
            StatusCode::BAD_REQUEST,
            "error.bad_id",
            text.to_string(),
        ));
    };
    let found = super::super::read::on_store(page, state, move |store| {
        store
            .query(&Query {
                ids: Some(vec![id]),
                ..Default::default()
            })?
            .first()
            .map(|s| s.event())
            .transpose()
    })
    .await?;
    found.ok_or_else(|| problem(page, StatusCode::NOT_FOUND, "error.not_found", id.to_hex()))
}

async fn sign_and_store(
    page: &Page,
    state: &Web,
    keys: &Keys,
    draft: Draft,
) -> Result<EventId, Response> {
    let event = draft.sign(keys).map_err(|e| {
        problem(
            page,
            StatusCode::BAD_REQUEST,
            "error.invalid",
            e.reason().to_string(),
        )
    })?;
    let id = event.id;
    store_one(page, state, event).await?;
    Ok(id)
}

/// Stores one event through the node's one way in; answers once durable.
async fn store_one(page: &Page, state: &Web, event: Event) -> Result<(), Response> {
    match state.node.ingest.submit(event).await {
        Ok(_) => Ok(()),
        Err(e) => Err(problem(
            page,
            StatusCode::BAD_REQUEST,
            "error.invalid",
            e.to_string(),
        )),
    }
}
