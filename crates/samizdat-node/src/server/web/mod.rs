//! The web interface, served by the node itself on its own port: a drop
//! box any phone's browser can use, pages to read the public records and
//! the people registry, and the node's status.
//!
//! Every page is rendered on the server (askama templates compiled into
//! the binary, which escape everything they print) and works with
//! JavaScript off; the pages load nothing from anywhere else, and the
//! Content-Security-Policy forbids them to. Forms carry a CSRF token
//! (a cookie the form repeats): see `csrf`.

mod console;
mod csrf;
mod drop;
pub(crate) mod read;

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use crate::views::Lang;
pub use console::Console;
pub(crate) use console::trusted;
pub use drop::FormSlots;

use crate::server::{Shared, State};

/// What only the web pages hold.
pub(crate) struct Own {
    /// Drop-box budget per address.
    pub submissions: crate::server::relay::PerIp,
    /// Drop-box forms being read, per address.
    pub forms: FormSlots,
    /// Drop-box forms being read at once: each may hold up to
    /// `web.max_upload_bytes` in memory.
    pub uploads: tokio::sync::Semaphore,
    /// Who reads what witnesses seal through the drop box.
    pub documenters: Vec<samizdat_core::nostr::prelude::PublicKey>,
    /// The documenters' console, when unlocked.
    pub console: Console,
    /// The people registry as last built.
    pub registry: crate::people::Cached,
}

/// The web pages' part of the node's state.
#[derive(Clone)]
pub(crate) struct Web {
    pub node: Arc<Shared>,
    pub web: Arc<Own>,
}

impl axum::extract::FromRef<State> for Web {
    fn from_ref(state: &State) -> Web {
        Web {
            node: Arc::clone(&state.node),
            web: Arc::clone(&state.web),
        }
    }
}

/// The pages' only stylesheet.
const STYLE: &str = include_str!("../../../web/assets/style.css");
/// The pages' icon.
const ICON: &str = include_str!("../../../web/assets/icon.svg");

/// What the pages may load: their own stylesheet and media, nothing else;
/// forms post only here; no page may be framed.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; media-src 'self'; \
                   form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The routes of the web interface. `/` itself stays with the server,
/// which also answers WebSocket upgrades and NIP-11 there.
pub(crate) fn router(state: Web) -> Router<Web> {
    let limit = state.node.config.web.max_upload_bytes;
    Router::new()
        .route("/timeline", get(read::timeline))
        .route("/search", get(read::search))
        .route("/r/{id}", get(read::record))
        .route("/people", get(read::people))
        .route("/people/{id}", get(read::person))
        .route("/node", get(read::node))
        .route("/submit", get(drop::choose))
        .route(
            "/submit/testimony",
            get(drop::testimony_form).post(drop::testimony),
        )
        .route("/submit/person", get(drop::person_form).post(drop::person))
        .route("/console", get(console::home))
        .route("/console/unlock", post(console::unlock))
        .route("/console/lock", post(console::lock))
        .route("/console/sealed/{wrap}", get(console::sealed))
        .route("/console/file/{wrap}", get(console::file))
        .route("/console/publish", post(console::publish))
        .route("/console/attest", post(console::attest))
        .route("/console/translate", post(console::translate))
        .route("/console/match", post(console::verdict))
        .route("/assets/style.css", get(style))
        .route("/assets/icon.svg", get(icon))
        .route("/favicon.ico", get(icon))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(secure))
}

/// The home page for browsers: the timeline.
pub(crate) async fn home(
    state: axum::extract::State<Web>,
    peer: SocketAddr,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
) -> Response {
    let page = Page::new(headers, uri, peer, &state);
    read::timeline(
        state,
        page,
        axum::extract::Query(read::TimelineQuery::default()),
    )
    .await
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLE,
    )
        .into_response()
}

async fn icon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        ICON,
    )
        .into_response()
}

/// Headers every page carries.
async fn secure(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    secure_headers(response.headers_mut());
    response
}

pub(crate) fn secure_headers(headers: &mut HeaderMap) {
    // A handler that set a stricter policy (a sandboxed file) keeps it.
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// What every page knows about its viewer: the language, the CSRF token
/// for its forms, and how to switch language without losing the page.
pub struct Page {
    pub lang: Lang,
    pub csrf: String,
    /// Whether the token is new and must be set as a cookie.
    new_token: bool,
    /// Whether the language came from `?lang=` and must be remembered.
    chosen: bool,
    /// Each other language and the link to this page in it.
    pub switch: Vec<(Lang, String)>,
    /// Whether the viewer is the operator on this machine, with the
    /// console's access key (sees the node's peers and the console link).
    pub local: bool,
    /// Whether the viewer has the documenters' console open.
    pub console: bool,
}

impl axum::extract::FromRequestParts<Web> for Page {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Web,
    ) -> Result<Page, Self::Rejection> {
        Ok(Page::new(&parts.headers, &parts.uri, peer_of(parts), state))
    }
}

/// Who sent the request. The node serves with connect info; a peer it
/// cannot tell is treated as remote.
fn peer_of(parts: &axum::http::request::Parts) -> SocketAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0)
}

impl Page {
    pub(crate) fn new(
        headers: &HeaderMap,
        uri: &axum::http::Uri,
        peer: SocketAddr,
        state: &Web,
    ) -> Page {
        let cookies = cookies(headers);
        let asked = uri.query().and_then(|q| {
            q.split('&')
                .filter_map(|pair| pair.strip_prefix("lang="))
                .find_map(Lang::from_code)
        });
        let lang = asked
            .or_else(|| cookie(&cookies, "lang").and_then(Lang::from_code))
            .or_else(|| {
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|h| h.to_str().ok())
                    .and_then(Lang::negotiate)
            })
            .unwrap_or(Lang::En);
        let (csrf, new_token) = match cookie(&cookies, csrf::COOKIE).filter(|t| csrf::valid(t)) {
            Some(token) => (token.to_string(), false),
            None => (csrf::token(), true),
        };
        let kept: Vec<&str> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("lang="))
            .collect();
        let switch = Lang::ALL
            .into_iter()
            .filter(|l| *l != lang)
            .map(|l| {
                let mut query = kept.clone();
                let choice = format!("lang={}", l.code());
                query.push(&choice);
                (l, format!("{}?{}", uri.path(), query.join("&")))
            })
            .collect();
        Page {
            lang,
            csrf,
            new_token,
            chosen: asked.is_some(),
            switch,
            local: console::trusted(state, headers, peer),
            console: console::signer(state, headers, peer).is_some(),
        }
    }

    /// The message `key` in the page's language.
    pub fn t(&self, key: &'static str) -> &'static str {
        self.lang.t(key)
    }

    /// The message `key` with `{n}` replaced.
    pub fn tf(&self, key: &'static str, n: impl std::fmt::Display) -> String {
        self.t(key).replace("{n}", &n.to_string())
    }

    /// A message for a key made at run time, or the key itself.
    pub fn word(&self, key: &str) -> String {
        self.lang.word(key)
    }

    /// A person's status (`missing`…) in the page's words.
    pub fn status(&self, status: &str) -> String {
        self.word(&format!("status.{status}"))
    }

    /// A record kind (`testimony`, `person`…) in the page's words.
    pub fn kind(&self, kind: &str) -> String {
        self.word(&format!("kind.{kind}"))
    }

    /// What a sealed record's author allowed, in the page's words.
    pub fn nature(&self, nature: &str) -> String {
        self.word(&format!("console.nature_{nature}"))
    }

    /// Renders `template` as this page's answer, with its cookies.
    pub fn render(&self, status: StatusCode, template: &impl Template) -> Response {
        let body = match template.render() {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "rendering a page");
                return (StatusCode::INTERNAL_SERVER_ERROR, "page failed to render\n")
                    .into_response();
            }
        };
        let mut response = (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response();
        let headers = response.headers_mut();
        if self.new_token {
            let cookie = format!(
                "{}={}; Path=/; HttpOnly; SameSite=Strict",
                csrf::COOKIE,
                self.csrf
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                headers.append(header::SET_COOKIE, v);
            }
        }
        if self.chosen {
            let cookie = format!(
                "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
                self.lang.code()
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                headers.append(header::SET_COOKIE, v);
            }
        }
        response
    }
}

fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .take(64)
        .collect()
}

fn cookie<'a>(cookies: &'a [(String, String)], name: &str) -> Option<&'a str> {
    cookies
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A page that says what went wrong, in the viewer's language.
#[derive(Template)]
#[template(path = "problem.html")]
pub struct Problem<'a> {
    pub page: &'a Page,
    pub title: &'static str,
    pub detail: String,
}

pub fn problem(page: &Page, status: StatusCode, title: &'static str, detail: String) -> Response {
    page.render(
        status,
        &Problem {
            page,
            title: page.t(title),
            detail,
        },
    )
}
