//! Blossom's error answers: a status, an `X-Reason` header and a JSON
//! `message` (BUD-01), and the answer for each reason a blob is not kept.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use samizdat_media::MediaError;
use samizdat_store::{BlobError, StoreError};
use serde_json::json;

use super::auth::AuthError;

/// The header of a cut upload's offset, in requests and answers (see
/// `resume`).
pub(crate) const OFFSET: &str = "upload-offset";

/// An error answer: status, `X-Reason` header and a JSON `message`.
#[derive(Debug)]
pub struct BlossomError {
    status: StatusCode,
    message: String,
    /// Bytes kept of a cut upload of the blob (`Upload-Offset`).
    offset: Option<u64>,
}

impl BlossomError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> BlossomError {
        BlossomError {
            status,
            message: message.into(),
            offset: None,
        }
    }

    /// The same answer, saying that `offset` bytes of a cut upload of the
    /// blob are kept (see `resume`).
    pub(super) fn with_offset(self, offset: Option<u64>) -> BlossomError {
        BlossomError { offset, ..self }
    }

    pub(super) fn internal(e: impl std::fmt::Display) -> BlossomError {
        tracing::error!(error = %e, "blossom request failed");
        BlossomError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

impl std::fmt::Display for BlossomError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<AuthError> for BlossomError {
    fn from(e: AuthError) -> Self {
        let status = match e {
            AuthError::Missing | AuthError::Malformed | AuthError::BadSignature => {
                StatusCode::UNAUTHORIZED
            }
            _ => StatusCode::FORBIDDEN,
        };
        BlossomError::new(status, e.to_string())
    }
}

impl From<StoreError> for BlossomError {
    fn from(e: StoreError) -> Self {
        BlossomError::internal(e)
    }
}

impl IntoResponse for BlossomError {
    fn into_response(self) -> Response {
        // A header carries visible ASCII only; the JSON body has it all.
        let ascii: String = self
            .message
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        let reason =
            HeaderValue::from_str(&ascii).unwrap_or_else(|_| HeaderValue::from_static("refused"));
        let mut response = (self.status, Json(json!({ "message": self.message }))).into_response();
        response.headers_mut().insert("x-reason", reason.clone());
        response
            .headers_mut()
            .insert("blossom-upload-message", reason);
        if let Some(offset) = self.offset {
            response
                .headers_mut()
                .insert(OFFSET, HeaderValue::from(offset));
        }
        response
    }
}

pub(crate) type Answer<T> = Result<T, BlossomError>;

/// The answer for a blob the store would not keep: the admission rule's
/// refusal, or a full disk.
pub(super) fn not_kept(e: BlobError) -> BlossomError {
    match e {
        BlobError::Refused(why) => {
            let status = match why {
                MediaError::Identifying { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                MediaError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                MediaError::Unsupported(_)
                | MediaError::Corrupt { .. }
                | MediaError::NotEncrypted { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            };
            BlossomError::new(status, why.to_string())
        }
        BlobError::Full => BlossomError::new(StatusCode::INSUFFICIENT_STORAGE, e.to_string()),
        other => BlossomError::internal(other),
    }
}
