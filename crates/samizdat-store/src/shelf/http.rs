//! The HTTP side of the bucket's client: answers read within bounds,
//! errors told by the store's own code (never by the signed URL), dates.

use std::io::{self, Read};
use std::time::Duration;

use base64::Engine as _;
use md5::{Digest as _, Md5};

use super::ShelfEntry;

/// A request whose answer is short (not a blob's bytes): the whole of it
/// within a bound, so a store that trickles cannot hold a caller.
pub(super) fn brief<B>(request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
    request
        .config()
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
}

pub(super) fn entry_name(entry: &ShelfEntry) -> String {
    match entry {
        ShelfEntry::Blob(hash) => hash.to_hex(),
        ShelfEntry::Stray(path) => path.display().to_string(),
    }
}

pub(super) fn content_md5(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(bytes))
}

/// Fills `buf` from `reader` unless it ends first; how many bytes came.
pub(super) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A text answer, at most 16 MiB (a page of a listing is well under).
pub(super) fn read_text(response: ureq::http::Response<ureq::Body>) -> io::Result<String> {
    let mut text = String::new();
    response
        .into_body()
        .into_reader()
        .take(16 << 20)
        .read_to_string(&mut text)?;
    Ok(text)
}

pub(super) fn expect_success(
    what: &str,
    response: ureq::http::Response<ureq::Body>,
) -> io::Result<ureq::http::Response<ureq::Body>> {
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(status_error(what, response))
    }
}

/// An answer that is not a success, as an error that says what failed
/// and the store's own code for it (never the request: its URL is signed).
pub(super) fn status_error(what: &str, response: ureq::http::Response<ureq::Body>) -> io::Error {
    let status = response.status();
    let mut body = String::new();
    let _ = response
        .into_body()
        .into_reader()
        .take(4_096)
        .read_to_string(&mut body);
    let code = error_code(&body);
    let kind = match status.as_u16() {
        404 => io::ErrorKind::NotFound,
        401 | 403 => io::ErrorKind::PermissionDenied,
        507 => io::ErrorKind::StorageFull,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("{what}: HTTP {status} {code}"))
}

/// The `<Code>` of an S3 error answer, if it has one.
pub(super) fn error_code(body: &str) -> String {
    body.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| {
            code.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .take(64)
                .collect()
        })
        .unwrap_or_default()
}

/// How long ago an HTTP date (`Last-Modified`) was.
pub(super) fn age_of(date: &str) -> Option<Duration> {
    let then = jiff::fmt::rfc2822::parse(date).ok()?.timestamp();
    let since = jiff::Timestamp::now().duration_since(then);
    Duration::try_from(since).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_codes_of_answers_are_read() {
        assert!(age_of("Wed, 21 Oct 2015 07:28:00 GMT").is_some_and(|a| a.as_secs() > 1_000));
        assert_eq!(age_of("yesterday"), None);
        assert_eq!(
            error_code("<Error><Code>NoSuchKey</Code><Message>x</Message></Error>"),
            "NoSuchKey"
        );
    }
}
