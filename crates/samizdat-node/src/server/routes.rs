//! The one port's routes: the relay's upgrade, NIP-11 and a short page on
//! `/`, Blossom, the status, and the web pages when they are on.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, State as Extract};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use samizdat_core::nostr::prelude::Timestamp;

use axum::extract::FromRef;

use super::{State, blossom, relay, web};

pub(super) fn router(state: State) -> Router {
    let web = if state.node.config.web.enabled {
        let web_state = web::Web::from_ref(&state);
        crate::server::web::router(web_state.clone()).with_state(web_state)
    } else {
        Router::new()
    };
    Router::new()
        .route("/", get(root).options(preflight))
        .route(
            "/upload",
            put(blossom::upload)
                .head(blossom::upload_check)
                .options(preflight),
        )
        .route("/mirror", put(blossom::mirror).options(preflight))
        .route("/list/{pubkey}", get(blossom::list).options(preflight))
        .route(
            "/{name}",
            get(blossom::get_blob)
                .delete(blossom::delete)
                .options(preflight),
        )
        .layer(axum::middleware::map_response(with_cors))
        // The web pages and the status get no CORS: no other site may
        // read them.
        .route("/status", get(status))
        .merge(web)
        .with_state(state)
}

/// BUD-01 and NIP-11 ask for open CORS on every answer.
async fn with_cors(mut response: Response) -> Response {
    cors(response.headers_mut());
    response
}

/// `/`: the relay for WebSocket upgrades, NIP-11 for clients that ask for
/// it, a short page for browsers.
async fn root(
    Extract(state): Extract<State>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    upgrade: Result<yawc::IncomingUpgrade, StatusCode>,
) -> Response {
    let asks_upgrade = headers
        .get(header::UPGRADE)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    if let (true, Ok(upgrade)) = (asks_upgrade, upgrade) {
        if *state.node.shutdown.borrow() {
            return (StatusCode::SERVICE_UNAVAILABLE, "node shutting down").into_response();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string);
        // Frames up to twice the limit are read, so that their sender gets
        // a clean close (1009) with a reason; beyond that the WebSocket
        // layer closes (1009) without reading further.
        let hard_limit = state.node.config.relay.max_message_bytes.saturating_mul(2);
        let mut options = yawc::Options::default()
            .with_max_payload_read(hard_limit)
            .with_max_read_buffer(hard_limit)
            .with_utf8();
        if state.node.config.relay.permessage_deflate {
            options = options.with_low_latency_compression();
        }
        let (response, upgraded) = match upgrade.upgrade(options) {
            Ok(accepted) => accepted,
            Err(e) => {
                return (StatusCode::BAD_REQUEST, format!("WebSocket upgrade: {e}\n"))
                    .into_response();
            }
        };
        let token = state.node.connections.token();
        tokio::spawn(async move {
            match upgraded.await {
                Ok(ws) => relay::serve(relay::Relay::from_ref(&state), ws, peer, host).await,
                Err(e) => tracing::debug!(%peer, error = %e, "WebSocket upgrade failed"),
            }
            drop(token);
        });
        return response.map(axum::body::Body::new);
    }
    let wants_nip11 = headers
        .get(header::ACCEPT)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|a| a.contains("application/nostr+json"));
    if wants_nip11 {
        let doc = crate::server::nip11::document(&state.node.config, Timestamp::now().as_secs());
        return (
            [(header::CONTENT_TYPE, "application/nostr+json")],
            doc.to_string(),
        )
            .into_response();
    }
    if state.node.config.web.enabled {
        let mut page =
            crate::server::web::home(Extract(web::Web::from_ref(&state)), peer, &headers, &uri)
                .await;
        crate::server::web::secure_headers(page.headers_mut());
        return page;
    }
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "samizdat node. Nostr clients: connect a WebSocket to this address.\n",
    )
        .into_response()
}

/// `/status`: how the node and each peer are doing, for the operator on
/// this machine only (the console's check: loopback, no forwarding, the
/// access key). Which peers a node talks to, their onion addresses and
/// proxies, is not for the network, nor for another site's page, to read.
async fn status(
    Extract(state): Extract<State>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !crate::server::web::trusted(&web::Web::from_ref(&state), &headers, peer) {
        return (
            StatusCode::FORBIDDEN,
            "the status is shown only to this machine's operator, with the console's access \
             key (Authorization: Bearer <key>, from console.url in the data directory); \
             `samizdat peers` shows it too\n",
        )
            .into_response();
    }
    let body = serde_json::json!({
        "time": Timestamp::now().as_secs(),
        "peers": state.node.peers.board().snapshot(),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// NIP-11 and Blossom (BUD-01) both ask for open CORS.
fn cors(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, *"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, PUT, DELETE, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("*"),
    );
}
