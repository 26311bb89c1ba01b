//! Sealed files in the console: the files of sealed records, and the
//! untouched originals a witness sent sealed beside a public record
//! ("also send my untouched files"), each said for what it is, shown when
//! it is a picture, sound or video, and saved otherwise.

use std::collections::BTreeMap;

use axum::extract::{Path, State as Extract};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use samizdat_core::nostr::prelude::{Event, EventId, ToBech32};
use samizdat_core::sealed::Opened;
use samizdat_core::sealed_file::{Role, SealedFile};
use samizdat_store::{Query, Store, StoreError};

use super::Reader;
use crate::inbox;
use crate::server::web::{Web, problem};
use crate::views::records::{date_time, excerpt, item, short};

/// One sealed file, as a page lists it.
pub struct FileLine {
    /// Where the console serves it, opened.
    pub url: String,
    pub mime: String,
    /// How the page shows it: `image`, `video`, `audio`, or nothing (a
    /// link to save it).
    pub preview: &'static str,
    /// What it is (a catalogue key): an attachment, an original, a file
    /// sent whole.
    pub role: &'static str,
}

impl FileLine {
    pub fn of(wrap: &Event, file: &SealedFile) -> FileLine {
        let preview = match file.mime.split('/').next() {
            Some("image") => "image",
            Some("video") => "video",
            Some("audio") => "audio",
            _ => "",
        };
        FileLine {
            url: format!("/console/file/{}", wrap.id.to_hex()),
            mime: file.mime.clone(),
            preview,
            role: match file.role {
                Role::Attachment => "console.role_attachment",
                Role::Original { .. } => "console.role_original",
                Role::Untouched => "console.role_untouched",
            },
        }
    }
}

/// The sealed originals of one public record.
pub struct OriginalsLine {
    /// The public record's id, and what it says, when it is here.
    pub record: String,
    pub title: String,
    pub from: String,
    pub when: String,
    pub files: Vec<FileLine>,
}

/// The sealed files among `opened` that belong to no sealed record of
/// the same page: the originals of public records, grouped by record.
pub fn originals(
    store: &Store,
    opened: &[(Event, Opened)],
) -> Result<Vec<OriginalsLine>, StoreError> {
    let sealed_records: Vec<EventId> = opened.iter().filter_map(|(_, o)| o.inner.id()).collect();
    let mut by_record: BTreeMap<EventId, OriginalsLine> = BTreeMap::new();
    for (wrap, o) in opened {
        let Some(Ok(file)) = inbox::file_of(&o.inner) else {
            continue;
        };
        if sealed_records.contains(&file.record) {
            continue;
        }
        let line = match by_record.entry(file.record) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let public = store
                    .query(&Query {
                        ids: Some(vec![file.record]),
                        ..Default::default()
                    })?
                    .into_iter()
                    .next()
                    .and_then(|stored| stored.event().ok());
                let title = public
                    .as_ref()
                    .map(|event| {
                        item(event).map_or_else(|| excerpt(&event.content, 140), |i| i.title)
                    })
                    .unwrap_or_else(|| short(&file.record.to_hex()));
                e.insert(OriginalsLine {
                    record: file.record.to_hex(),
                    title,
                    from: short(&o.sender.to_bech32().unwrap_or_default()),
                    when: date_time(o.inner.created_at().as_secs()),
                    files: Vec::new(),
                })
            }
        };
        line.files.push(FileLine::of(wrap, &file));
    }
    Ok(by_record.into_values().collect())
}

/// A sealed file, opened, for the documenter's eyes only.
pub(crate) async fn file(
    Extract(state): Extract<Web>,
    Reader { keys, page }: Reader,
    Path(wrap): Path<String>,
) -> Response {
    let Ok(wrap) = EventId::parse(wrap.trim()) else {
        return problem(&page, StatusCode::BAD_REQUEST, "error.bad_id", wrap);
    };
    let opened = crate::server::web::read::on_store(&page, &state, move |store| {
        let Some(file) =
            inbox::find(store, &keys, wrap)?.and_then(|(_, o)| inbox::file_of(&o.inner)?.ok())
        else {
            return Ok(Err(String::new()));
        };
        Ok(inbox::decrypt(store, &file)
            .map(|plain| (file.mime.clone(), plain))
            .map_err(|e| e.to_string()))
    })
    .await;
    match opened {
        Ok(Ok((_, plain))) => sealed_file_answer(&wrap, plain),
        Ok(Err(why)) => problem(&page, StatusCode::NOT_FOUND, "error.not_found", why),
        Err(answer) => answer,
    }
}

/// A sealed file as the browser gets it. The type is what the bytes are,
/// not what the sender said: a picture, sound or video samizdat knows is
/// shown in the page; anything else is a download. Either way it is
/// sandboxed, so a file made to look like a page runs nothing on the
/// console's origin.
fn sealed_file_answer(wrap: &EventId, plain: Vec<u8>) -> Response {
    let media = samizdat_media::MediaType::detect(&plain).map(|t| t.mime());
    let mut answer = plain.into_response();
    let h = answer.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.unwrap_or("application/octet-stream")),
    );
    if media.is_none() {
        let name = format!(
            "attachment; filename=\"sealed-{}.bin\"",
            &wrap.to_hex()[..16]
        );
        if let Ok(v) = HeaderValue::from_str(&name) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    answer
}
