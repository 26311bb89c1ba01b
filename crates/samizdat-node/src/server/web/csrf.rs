//! CSRF protection by double submission: a random token in a cookie that
//! only this site's pages can see (`SameSite=Strict`, `HttpOnly`), repeated
//! in a hidden field of every form. A page of another site can make a
//! browser post here, but cannot read the cookie to repeat it. A request
//! that says it comes from another origin is refused as well.

use axum::http::{HeaderMap, header};
use rand::RngExt;

/// The cookie that holds the token.
pub const COOKIE: &str = "samizdat_csrf";

/// A new token: 32 random bytes, hex.
pub fn token() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    hex::encode(bytes)
}

/// Whether `text` looks like a token this module made.
pub fn valid(text: &str) -> bool {
    samizdat_core::validate::is_lower_hex(text, 64)
}

/// Whether a form's `field` matches the cookie, and the request does not
/// say it came from another site.
pub fn check(headers: &HeaderMap, cookie: Option<&str>, field: &str) -> bool {
    let Some(cookie) = cookie.filter(|c| valid(c)) else {
        return false;
    };
    if !same(cookie.as_bytes(), field.as_bytes()) {
        return false;
    }
    // Browsers send Origin on POST; when it names another host, refuse.
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|h| h.to_str().ok()) {
        None | Some("null") => true,
        Some(origin) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            host.is_some_and(|h| h.eq_ignore_ascii_case(origin_host))
        }
    }
}

/// Compares in time independent of where the first difference is.
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(origin: Option<&'static str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("192.168.1.5:4848"));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_static(o));
        }
        h
    }

    #[test]
    fn only_the_matching_token_from_this_site_passes() {
        let t = token();
        assert!(check(&headers(None), Some(&t), &t));
        assert!(check(
            &headers(Some("http://192.168.1.5:4848")),
            Some(&t),
            &t
        ));
        assert!(!check(&headers(Some("http://evil.example")), Some(&t), &t));
        assert!(!check(&headers(None), Some(&t), &token()));
        assert!(!check(&headers(None), None, &t));
        assert!(!check(&headers(None), Some("short"), "short"));
    }
}
