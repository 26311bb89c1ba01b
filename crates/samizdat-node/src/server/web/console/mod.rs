//! The documenters' console: review sealed submissions and publish them
//! with their author's consent, corroborate, dispute, verify, mark
//! duplicates, translate, and settle suggested person matches. Every
//! action is a record signed by the documenter, stored like any other,
//! so it syncs like everything else.
//!
//! The console belongs to the operator, not to whoever reaches the port.
//! A request is from "this machine" (`access::trusted`) only when all of these
//! hold:
//! - the connection comes from loopback and the `Host` header names a
//!   loopback address or `localhost` (a web page cannot reach it by
//!   pointing a name of its own at 127.0.0.1: DNS rebinding);
//! - it carries no forwarding header (`Forwarded`, `X-Forwarded-*`,
//!   `X-Real-IP`, `Via`): a local reverse proxy makes every remote client
//!   look local;
//! - it brings the console's access key, a random secret made at each
//!   start, which `serve` prints (as a link that sets it in a cookie) and
//!   writes to `console.url` in the data directory, readable only by its
//!   owner. An onion service, `ssh -R` or socat forward connections from
//!   loopback with no header at all: the key is what they do not have.
//!
//! The same check guards `/status` and the peers on `/node`. Signing
//! needs more: the node's default identity, unlocked with its passphrase
//! for one browser. Unlocking is throttled for the whole node (one key
//! derivation at a time, a delay that doubles with each wrong passphrase);
//! the unlock sets a session cookie (`SameSite=Strict`, `HttpOnly`) that
//! the console asks for on every request; the key is forgotten after
//! `IDLE` (30 minutes) without use (a timer, not the next request), or at once on
//! "lock", and wiped from memory when dropped; the passphrase is wiped as
//! soon as it has been tried.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use askama::Template;
use axum::extract::{ConnectInfo, Form, Path, State as Extract};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use samizdat_core::nostr::prelude::{EventId, Keys, ToBech32};
use samizdat_store::{KeyStore, Query};
use serde::Deserialize;
use zeroize::Zeroizing;

mod access;
mod acts;
mod files;

use access::{ACCESS, COOKIE};
pub use access::{Console, from_this_machine};
pub(crate) use access::{signer, trusted};
pub(crate) use acts::{attest, publish, translate, verdict};
pub(crate) use files::file;
use files::{FileLine, OriginalsLine};

use super::{Page, csrf, problem};
use crate::inbox;
use crate::server::web::Web;

/// Why a console request was turned away, as a page.
fn refused(page: &Page, state: &Web, headers: &HeaderMap, peer: SocketAddr) -> Response {
    if trusted(state, headers, peer) {
        problem(
            page,
            StatusCode::FORBIDDEN,
            "console.locked",
            page.t("console.locked_detail").to_string(),
        )
    } else {
        problem(
            page,
            StatusCode::FORBIDDEN,
            "console.only_here",
            page.t("console.only_here_detail").to_string(),
        )
    }
}

pub struct SealedLine {
    pub wrap: String,
    pub kind: String,
    pub nature: &'static str,
    pub from: String,
    pub summary: String,
    pub when: String,
    pub published: bool,
}

pub struct MatchLine {
    pub a: String,
    pub b: String,
    pub a_name: String,
    pub b_name: String,
    pub score: String,
    pub why: String,
}

#[derive(Template)]
#[template(path = "console.html")]
struct Home<'a> {
    page: &'a Page,
    unlocked: bool,
    npub: String,
    sealed: Vec<SealedLine>,
    unreadable: usize,
    /// The address of the next, older page of sealed records.
    older: Option<String>,
    matches: Vec<MatchLine>,
    /// The sealed originals of public records.
    originals: Vec<OriginalsLine>,
    /// Why the last unlock failed, in the page's language; the form is
    /// shown again beneath it.
    problem: String,
}

impl<'a> Home<'a> {
    /// The locked console: the unlock form, and why the last try failed.
    fn locked(page: &'a Page, problem: String) -> Home<'a> {
        Home {
            page,
            unlocked: false,
            npub: String::new(),
            sealed: Vec::new(),
            unreadable: 0,
            older: None,
            matches: Vec::new(),
            originals: Vec::new(),
            problem,
        }
    }
}

#[derive(Deserialize)]
pub struct Access {
    key: Option<String>,
    /// Where the page of sealed records starts (`inbox::Cursor`).
    older: Option<String>,
}

/// Sealed records shown on one console page.
const PAGE: usize = 50;

pub(crate) async fn home(
    Extract(state): Extract<Web>,
    page: Page,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    axum::extract::Query(access): axum::extract::Query<Access>,
) -> Response {
    // The link `serve` prints: the key goes into a cookie, and out of the
    // address bar and the history at once.
    if let Some(key) = access.key
        && from_this_machine(&headers, peer)
    {
        if !csrf::same(key.trim().as_bytes(), state.web.console.access.as_bytes()) {
            return refused(&page, &state, &headers, peer);
        }
        let mut answer = Redirect::to("/console").into_response();
        let cookie = format!("{ACCESS}={}; Path=/; HttpOnly; SameSite=Strict", key.trim());
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            answer.headers_mut().append(header::SET_COOKIE, v);
        }
        answer
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return answer;
    }
    if !trusted(&state, &headers, peer) {
        return refused(&page, &state, &headers, peer);
    }
    let Some(keys) = signer(&state, &headers, peer) else {
        return page.render(StatusCode::OK, &Home::locked(&page, String::new()));
    };
    let reader = keys.clone();
    let cache = Arc::clone(&state.web);
    let before = access.older.as_deref().and_then(inbox::Cursor::from_param);
    let read = super::read::on_store(&page, &state, move |store| {
        let inbox = inbox::page(store, &reader, before, PAGE)?;
        let registry = cache.registry.get(store)?;
        let mut sealed = Vec::new();
        for (wrap, opened) in &inbox.opened {
            if inbox::file_of(&opened.inner).is_some() {
                continue;
            }
            let published = match opened.inner.id() {
                Some(id) => {
                    store.count(&Query {
                        ids: Some(vec![id]),
                        ..Default::default()
                    })? > 0
                }
                None => false,
            };
            let readable = opened.inner.readable();
            sealed.push(SealedLine {
                wrap: wrap.id.to_hex(),
                kind: opened.inner.record_kind().name().to_string(),
                nature: inbox::nature(&opened.inner),
                from: crate::views::records::short(&opened.sender.to_bech32().unwrap_or_default()),
                summary: crate::views::records::item(&readable).map_or_else(
                    || crate::views::records::excerpt(opened.inner.content(), 140),
                    |i| i.title,
                ),
                when: crate::views::records::date_time(opened.inner.created_at().as_secs()),
                published,
            });
        }
        let name = |i: usize| {
            registry
                .entries
                .get(i)
                .map(|e| e.latest().name.clone())
                .unwrap_or_default()
        };
        let matches = registry
            .suggestions
            .iter()
            .take(50)
            .map(|s| MatchLine {
                a: hex::encode(s.reports.0),
                b: hex::encode(s.reports.1),
                a_name: name(s.entries.0),
                b_name: name(s.entries.1),
                score: format!("{:.2}", s.score),
                why: s.why.clone(),
            })
            .collect::<Vec<_>>();
        let older = inbox
            .older
            .map(|c| format!("/console?older={}", c.to_param()));
        let originals = files::originals(store, &inbox.opened)?;
        Ok((sealed, inbox.unreadable, older, matches, originals))
    })
    .await;
    let (sealed, unreadable, older, matches, originals) = match read {
        Ok(r) => r,
        Err(answer) => return answer,
    };
    page.render(
        StatusCode::OK,
        &Home {
            page: &page,
            unlocked: true,
            npub: keys.public_key().to_bech32().unwrap_or_default(),
            sealed,
            unreadable,
            older,
            matches,
            originals,
            problem: String::new(),
        },
    )
}

#[derive(Deserialize)]
pub struct UnlockForm {
    csrf: String,
    passphrase: Zeroizing<String>,
}

pub(crate) async fn unlock(
    Extract(state): Extract<Web>,
    page: Page,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<UnlockForm>,
) -> Response {
    if let Some(answer) = check(&page, &state, &headers, peer, &form.csrf) {
        return answer;
    }
    // A failed try shows the form again, with why.
    let again = |status: StatusCode, why: String| page.render(status, &Home::locked(&page, why));
    if let Some(wait) = state.web.console.wait(Instant::now()) {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            page.tf("console.wait", wait.as_secs().max(1)),
        );
    }
    // One derivation at a time: each takes 64 MiB and a core for a while.
    let Ok(_permit) = state.web.console.deriving.try_acquire() else {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            page.t("console.deriving").to_string(),
        );
    };
    let dir = state.node.ingest.store().dir().join("keys");
    let passphrase = form.passphrase;
    let unlocked = tokio::task::spawn_blocking(move || {
        let keys = KeyStore::new(dir);
        let Ok(name) = keys.require_default() else {
            return Err("console.no_identity");
        };
        keys.unlock(&name, &passphrase)
            .map_err(|_| "console.wrong_passphrase")
        // `passphrase` is wiped here, as it is dropped.
    })
    .await;
    state
        .web
        .console
        .attempted(matches!(unlocked, Ok(Ok(_))), Instant::now());
    match unlocked {
        Ok(Ok(keys)) => {
            // While the identity is at hand: this node reads its sealed
            // records, so peers hand it the gift wraps addressed to it.
            let (data, signer) = (state.node.ingest.store().dir().to_path_buf(), keys.clone());
            tokio::task::spawn_blocking(move || {
                if let Err(e) = crate::node_key::vouch(&data, &signer) {
                    tracing::warn!(error = %e, "keeping the identity's word for this node");
                }
            });
            let token = state.web.console.open(keys);
            tracing::info!("web: the console was unlocked");
            let mut answer = Redirect::to("/console").into_response();
            let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                answer.headers_mut().append(header::SET_COOKIE, v);
            }
            answer
        }
        Ok(Err(why)) => {
            tracing::warn!(why, "web: the console stayed locked");
            again(StatusCode::FORBIDDEN, page.t(why).to_string())
        }
        Err(e) => problem(
            &page,
            StatusCode::INTERNAL_SERVER_ERROR,
            "console.unlock_failed",
            e.to_string(),
        ),
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    csrf: String,
}

pub(crate) async fn lock(
    Extract(state): Extract<Web>,
    page: Page,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Some(answer) = check(&page, &state, &headers, peer, &form.csrf) {
        return answer;
    }
    state.web.console.close();
    tracing::info!("web: the console was locked");
    Redirect::to("/console").into_response()
}

/// The CSRF token and the machine, for every console form.
fn check(
    page: &Page,
    state: &Web,
    headers: &HeaderMap,
    peer: SocketAddr,
    token: &str,
) -> Option<Response> {
    if !trusted(state, headers, peer) {
        return Some(refused(page, state, headers, peer));
    }
    // A console form comes from a console page: not from another site,
    // nor a sandboxed (opaque) document, nor another port of this machine
    // (which the browser would send the console's cookies to), as the
    // browser's `Sec-Fetch-Site` says. (`Origin: null` is no sign: the
    // pages' `no-referrer` policy makes browsers send it for their own
    // forms.)
    let cross = headers
        .get("sec-fetch-site")
        .is_some_and(|s| s.as_bytes() != b"same-origin");
    let cookies = super::cookies(headers);
    if cross || !csrf::check(headers, super::cookie(&cookies, csrf::COOKIE), token) {
        return Some(problem(
            page,
            StatusCode::FORBIDDEN,
            "error.csrf",
            page.t("error.csrf_detail").to_string(),
        ));
    }
    None
}

/// The form's checks, then the documenter's key.
fn signed_in(
    state: &Web,
    page: &Page,
    headers: &HeaderMap,
    peer: SocketAddr,
    token: &str,
) -> Result<Keys, Box<Response>> {
    if let Some(answer) = check(page, state, headers, peer, token) {
        return Err(Box::new(answer));
    }
    signer(state, headers, peer).ok_or_else(|| Box::new(refused(page, state, headers, peer)))
}

/// A console page asked for by the browser the console is unlocked in,
/// on this machine; carries the documenter's key.
pub(crate) struct Reader {
    keys: Keys,
    page: Page,
}

impl axum::extract::FromRequestParts<Web> for Reader {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Web,
    ) -> Result<Self, Response> {
        let Ok(page) = Page::from_request_parts(parts, state).await;
        let peer = super::peer_of(parts);
        match signer(state, &parts.headers, peer) {
            Some(keys) => Ok(Reader { keys, page }),
            None => Err(refused(&page, state, &parts.headers, peer)),
        }
    }
}

#[derive(Template)]
#[template(path = "sealed.html")]
struct SealedPage<'a> {
    page: &'a Page,
    entry: SealedLine,
    text: String,
    lang: String,
    files: Vec<FileLine>,
}

pub(crate) async fn sealed(
    Extract(state): Extract<Web>,
    Reader { keys, page }: Reader,
    Path(wrap): Path<String>,
) -> Response {
    let Ok(wrap) = EventId::parse(wrap.trim()) else {
        return problem(&page, StatusCode::BAD_REQUEST, "error.bad_id", wrap);
    };
    let found = super::read::on_store(&page, &state, move |store| {
        let Some((_, opened)) = inbox::find(store, &keys, wrap)? else {
            return Ok(None);
        };
        let record = opened.inner.id();
        let nearby = inbox::around(store, &keys, opened.inner.created_at())?;
        let files = nearby
            .opened
            .iter()
            .filter(|(_, o)| o.sender == opened.sender)
            .filter_map(|(w, o)| Some((w, inbox::file_of(&o.inner)?.ok()?)))
            .filter(|(_, f)| Some(f.record) == record)
            .map(|(w, f)| FileLine::of(w, &f))
            .collect();
        let readable = opened.inner.readable();
        let item = crate::views::records::item(&readable);
        let published = match record {
            Some(id) => {
                store.count(&Query {
                    ids: Some(vec![id]),
                    ..Default::default()
                })? > 0
            }
            None => false,
        };
        Ok(Some((
            SealedLine {
                wrap: wrap.to_hex(),
                kind: opened.inner.record_kind().name().to_string(),
                nature: inbox::nature(&opened.inner),
                from: opened.sender.to_bech32().unwrap_or_default(),
                summary: item.as_ref().map(|i| i.title.clone()).unwrap_or_default(),
                when: crate::views::records::date_time(opened.inner.created_at().as_secs()),
                published,
            },
            samizdat_core::tags::text_without_attachments(
                opened.inner.content(),
                &samizdat_core::tags::attachments(&readable).unwrap_or_default(),
            ),
            item.map(|i| i.lang).unwrap_or_default(),
            files,
        )))
    })
    .await;
    match found {
        Ok(Some((entry, text, lang, files))) => page.render(
            StatusCode::OK,
            &SealedPage {
                page: &page,
                entry,
                text,
                lang,
                files,
            },
        ),
        Ok(None) => problem(
            &page,
            StatusCode::NOT_FOUND,
            "error.not_found",
            wrap.to_hex(),
        ),
        Err(answer) => answer,
    }
}
