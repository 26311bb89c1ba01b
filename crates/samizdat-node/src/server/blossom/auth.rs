//! Blossom authorization: a kind 24242 event, base64 in the
//! `Authorization: Nostr …` header (BUD-11).

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use samizdat_core::BlobHash;
use samizdat_core::nostr::prelude::{Event, Kind, PublicKey, Timestamp};

use crate::proto::BLOSSOM_AUTH_KIND as KIND;

/// Clock skew tolerated on `created_at` ("must be in the past").
const SKEW_SECS: u64 = 60;

/// What the request wants to do: the `t` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Upload,
    List,
    Delete,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Upload => "upload",
            Verb::List => "list",
            Verb::Delete => "delete",
        }
    }
}

/// Why an authorization was refused; the text goes to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "authorization required: send a signed kind 24242 event (Authorization: Nostr <base64>)"
    )]
    Missing,
    #[error("the Authorization header is not a base64 Nostr event")]
    Malformed,
    #[error("the authorization event's signature does not verify")]
    BadSignature,
    #[error("the authorization event must be kind 24242")]
    Kind,
    #[error("the authorization event's created_at is in the future")]
    Future,
    #[error("the authorization event has expired or has no expiration tag")]
    Expired,
    #[error("the authorization event is for {0:?}, not {1:?}")]
    Verb(String, &'static str),
    #[error("the authorization event names no x tag for this blob")]
    Hash,
}

const INDIFFERENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, INDIFFERENT);
const LENIENT_URL: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, INDIFFERENT);

/// Reads the header into an event, without checking its signature yet.
pub fn parse(header: Option<&str>) -> Result<Event, AuthError> {
    let header = header.ok_or(AuthError::Missing)?;
    let encoded = header
        .strip_prefix("Nostr ")
        .ok_or(AuthError::Malformed)?
        .trim();
    // Clients in use send every form: standard or URL-safe alphabet,
    // padded or not (blossom-client-sdk: URL-safe, unpadded).
    let json = LENIENT
        .decode(encoded)
        .or_else(|_| LENIENT_URL.decode(encoded))
        .map_err(|_| AuthError::Malformed)?;
    let json = String::from_utf8(json).map_err(|_| AuthError::Malformed)?;
    Event::from_json(&json).map_err(|_| AuthError::Malformed)
}

/// Checks an authorization event whose signature has been verified, for
/// `verb` and, when the endpoint concerns one blob, `hash`.
pub fn check(
    event: &Event,
    verb: Verb,
    hash: Option<&BlobHash>,
    now: Timestamp,
) -> Result<PublicKey, AuthError> {
    if event.kind != Kind::Custom(KIND) {
        return Err(AuthError::Kind);
    }
    if event.created_at.as_secs() > now.as_secs() + SKEW_SECS {
        return Err(AuthError::Future);
    }
    let values = |name: &'static str| values(event, name);
    let expiration = values("expiration")
        .next()
        .and_then(|e| e.parse::<u64>().ok())
        .ok_or(AuthError::Expired)?;
    if expiration <= now.as_secs() {
        return Err(AuthError::Expired);
    }
    let t = values("t").next().unwrap_or("");
    if t != verb.as_str() {
        return Err(AuthError::Verb(t.to_string(), verb.as_str()));
    }
    if let Some(hash) = hash {
        let hex = hash.to_hex();
        if !hashes(event).any(|x| x.eq_ignore_ascii_case(&hex)) {
            return Err(AuthError::Hash);
        }
    }
    Ok(event.pubkey)
}

/// The blob hashes an authorization names (its `x` tags).
pub fn hashes(event: &Event) -> impl Iterator<Item = &str> {
    values(event, "x")
}

fn values<'a>(event: &'a Event, name: &'static str) -> impl Iterator<Item = &'a str> {
    event
        .tags
        .iter()
        .map(|t| t.as_slice())
        .filter(move |t| t.len() >= 2 && t[0] == name)
        .map(|t| t[1].as_str())
}

#[cfg(test)]
mod tests {
    use samizdat_core::nostr::prelude::Keys;
    use samizdat_core::sign::Draft;

    use super::*;

    fn auth(keys: &Keys, tags: &[(&str, &str)], at: u64) -> Event {
        Draft {
            kind: Kind::Custom(KIND),
            created_at: Timestamp::from_secs(at),
            tags: tags
                .iter()
                .map(|(a, b)| vec![a.to_string(), b.to_string()])
                .collect(),
            content: "Upload".into(),
        }
        .sign(keys)
        .unwrap()
    }

    #[test]
    fn every_base64_form_clients_send_is_read() {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        let keys = Keys::generate();
        // Content chosen so the encodings differ in padding and alphabet.
        let event = Draft {
            kind: Kind::Custom(KIND),
            created_at: Timestamp::from_secs(1_800_000_000),
            tags: vec![vec!["t".into(), "upload".into()]],
            content: "Upload ??>>".into(),
        }
        .sign(&keys)
        .unwrap();
        let json = event.as_json();
        for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
            let header = format!("Nostr {}", engine.encode(&json));
            assert_eq!(parse(Some(&header)).map(|e| e.id), Ok(event.id), "{header}");
        }
        assert_eq!(parse(Some("Nostr not*base64")), Err(AuthError::Malformed));
        assert_eq!(parse(Some("Basic abc")), Err(AuthError::Malformed));
        assert_eq!(parse(None), Err(AuthError::Missing));
    }

    #[test]
    fn each_rule_is_checked() {
        let keys = Keys::generate();
        let now = 1_800_000_000;
        let hash = BlobHash::of(b"blob");
        let hex = hash.to_hex();
        let exp = (now + 600).to_string();
        let at = Timestamp::from_secs(now);
        let good = auth(
            &keys,
            &[("t", "upload"), ("x", &hex), ("expiration", &exp)],
            now - 5,
        );
        assert_eq!(
            check(&good, Verb::Upload, Some(&hash), at),
            Ok(keys.public_key())
        );
        assert_eq!(
            check(&good, Verb::Delete, Some(&hash), at),
            Err(AuthError::Verb("upload".into(), "delete"))
        );
        let other = BlobHash::of(b"other");
        assert_eq!(
            check(&good, Verb::Upload, Some(&other), at),
            Err(AuthError::Hash)
        );
        let later = Timestamp::from_secs(now + 601);
        assert_eq!(
            check(&good, Verb::Upload, Some(&hash), later),
            Err(AuthError::Expired)
        );
        let no_exp = auth(&keys, &[("t", "upload"), ("x", &hex)], now);
        assert_eq!(
            check(&no_exp, Verb::Upload, Some(&hash), at),
            Err(AuthError::Expired)
        );
        let future = auth(&keys, &[("t", "list"), ("expiration", &exp)], now + 3_600);
        assert_eq!(check(&future, Verb::List, None, at), Err(AuthError::Future));
    }

    #[test]
    fn header_parsing() {
        let keys = Keys::generate();
        let event = auth(&keys, &[("t", "list")], 1_800_000_000);
        let encoded = base64::engine::general_purpose::STANDARD.encode(event.as_json());
        assert_eq!(parse(Some(&format!("Nostr {encoded}"))), Ok(event));
        assert_eq!(parse(None), Err(AuthError::Missing));
        assert_eq!(parse(Some("Bearer x")), Err(AuthError::Malformed));
        assert_eq!(parse(Some("Nostr !!!")), Err(AuthError::Malformed));
    }
}
