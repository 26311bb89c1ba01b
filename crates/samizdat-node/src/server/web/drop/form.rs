//! Reading a drop-box form: what it may hold, the checks made from its
//! headers before any body is read (token, origin, the address's
//! budget), one form at a time per address, the body read at a least
//! pace, and the witness's text given back when the node cannot take it.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::Multipart;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{Page, csrf, problem};
use crate::pace::{PIECE_WITHIN, Pace};
use crate::server::web::Web;
use crate::submission::Visibility;

/// Files one submission may carry.
pub(super) const MAX_FILES: usize = 8;
/// How long a form waits for one of the node's upload slots.
pub(super) const WAIT_FOR_TURN: std::time::Duration = std::time::Duration::from_secs(60);
/// How long one form may take to arrive (64 MiB at about 1 Mbit/s).
pub(super) const READ_FORM_WITHIN: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// Longest text field other than the testimony and the details.
pub(super) const MAX_FIELD_BYTES: usize = 4 * 1024;

/// What a form holds, kept to fill the form again when something is
/// wrong, so that nothing the witness wrote is lost.
#[derive(Debug, Default)]
pub struct Fields {
    pub csrf: String,
    pub text: String,
    pub lang: String,
    pub place: String,
    pub observed: String,
    /// The UTC offset the witness's time is in (`+06:00`).
    pub zone: String,
    /// Who may read and publish the record; `None` until the form says
    /// (public then, unless the form was cut off before it said).
    pub visibility: Option<Visibility>,
    pub key: String,
    pub name: String,
    pub aliases: String,
    pub age: String,
    pub role: String,
    pub status: String,
    pub source: String,
    /// Whether the witness also sends the untouched originals, sealed for
    /// the documenters, beside a public record.
    pub originals: bool,
    pub(super) files: Vec<(String, Vec<u8>)>,
}

/// Why a form is refused from its headers.
pub(super) enum Admission {
    /// No token cookie, or sent by another site.
    Forbidden,
    /// Its address spent its hourly budget.
    OverBudget,
}

/// What can be checked from the headers alone: the token's cookie, the
/// origin, and the address's hourly budget (spent here, so a form that
/// trickles in still paid for its try).
pub(super) fn before_the_body(
    state: &Web,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<(), Admission> {
    let cookies = super::super::cookies(headers);
    let cookie = super::super::cookie(&cookies, csrf::COOKIE).filter(|c| csrf::valid(c));
    // The token is in the body; the cookie it must match, and the origin,
    // are here.
    if cookie.is_none_or(|c| !csrf::check(headers, Some(c), c)) {
        return Err(Admission::Forbidden);
    }
    if !state
        .web
        .submissions
        .take(peer.ip().to_canonical(), Instant::now())
    {
        return Err(Admission::OverBudget);
    }
    Ok(())
}

/// Forms being read, per address.
#[derive(Default)]
pub struct FormSlots(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// Forms one address may have read at once.
pub(super) const FORMS_PER_ADDRESS: usize = 1;

/// An address's slot, given back when dropped.
pub struct FormSlot<'a> {
    slots: &'a FormSlots,
    ip: std::net::IpAddr,
}

impl FormSlots {
    pub(super) fn take(&self, ip: std::net::IpAddr) -> Option<FormSlot<'_>> {
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
pub(super) fn field_limit(name: &str) -> usize {
    match name {
        "text" => samizdat_core::testimony::MAX_TEXT_BYTES,
        "details" => samizdat_core::person::MAX_DETAILS_BYTES,
        _ => MAX_FIELD_BYTES,
    }
}

impl Fields {
    /// The visibility the form shows as chosen.
    pub fn chosen(&self) -> &'static str {
        self.visibility.unwrap_or(Visibility::Public).name()
    }

    /// Keeps a form field by its name; others are ignored.
    pub(super) fn set(&mut self, name: &str, text: String) {
        let slot = match name {
            "csrf" => &mut self.csrf,
            "text" | "details" => &mut self.text,
            "lang" => &mut self.lang,
            "place" => &mut self.place,
            "observed" => &mut self.observed,
            "zone" => &mut self.zone,
            "key" => &mut self.key,
            "name" => &mut self.name,
            "aliases" => &mut self.aliases,
            "age" => &mut self.age,
            "role" => &mut self.role,
            "status" => &mut self.status,
            "source" => &mut self.source,
            "visibility" => {
                self.visibility = Some(Visibility::from_form(&text));
                return;
            }
            // A checkbox sends `on` when it is ticked, nothing otherwise.
            "originals" => {
                self.originals = text == "on";
                return;
            }
            _ => return,
        };
        *slot = text;
    }
}

/// How much of a form refused for load is read to give its text back.
pub(super) const TEXT_BACK_BYTES: usize = 64 * 1024;
/// How long that reading may take.
pub(super) const TEXT_BACK_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

/// The text of a form refused for load, to give back to the witness with
/// the form: at most [`TEXT_BACK_BYTES`] of the body are read (files are
/// passed over, not kept) at the minimum pace. A choice of visibility that
/// comes after more than that (behind large files) is not read, and the
/// form comes back with the most private choice.
pub(super) async fn text_back(mut multipart: Multipart, can_seal: bool) -> Fields {
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
    if !whole && fields.visibility.is_none() && can_seal {
        fields.visibility = Some(Visibility::Private);
    }
    // The key is never sent back into a page.
    fields.key.clear();
    fields
}

/// Reads the form (at a minimum rate), then checks its CSRF token against
/// the cookie; the budget was spent before.
pub(super) async fn admit(
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
    let cookies = super::super::cookies(headers);
    if !csrf::check(
        headers,
        super::super::cookie(&cookies, csrf::COOKIE),
        &fields.csrf,
    ) {
        return Err(bad(
            StatusCode::FORBIDDEN,
            "error.csrf",
            page.t("error.csrf_detail").to_string(),
        ));
    }
    Ok(fields)
}
