//! NIP-42 authentication: the challenge a connection gets, and the checks
//! on the kind 22242 event that answers it.

use rand::RngExt;
use samizdat_core::nostr::prelude::{Event, Kind, PublicKey, Timestamp};

/// How far `created_at` of an `AUTH` event may be from now (NIP-42 says
/// "about 10 minutes").
const MAX_SKEW_SECS: u64 = 600;

/// A fresh random challenge.
pub fn challenge() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// Why an `AUTH` was refused; the text follows `invalid: ` or `restricted: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("an AUTH event must be kind 22242")]
    Kind,
    #[error("the challenge does not match the one this connection was given")]
    Challenge,
    #[error("the relay tag names another relay")]
    Relay,
    #[error("created_at is more than ten minutes from now")]
    Time,
}

/// Checks an `AUTH` event whose id and signature are already verified.
/// `host` is the `Host` header the connection was opened with; when known,
/// the event's `relay` tag must name it.
pub fn check(
    event: &Event,
    challenge: &str,
    host: Option<&str>,
    now: Timestamp,
) -> Result<PublicKey, AuthError> {
    if event.kind != Kind::Authentication {
        return Err(AuthError::Kind);
    }
    let tag = |name: &str| {
        event
            .tags
            .iter()
            .map(|t| t.as_slice())
            .find(|t| t.len() >= 2 && t[0] == name)
            .map(|t| t[1].as_str())
    };
    if tag("challenge") != Some(challenge) {
        return Err(AuthError::Challenge);
    }
    let relay = tag("relay").ok_or(AuthError::Relay)?;
    if let Some(host) = host
        && !same_host(relay, host)
    {
        return Err(AuthError::Relay);
    }
    if event.created_at.as_secs().abs_diff(now.as_secs()) > MAX_SKEW_SECS {
        return Err(AuthError::Time);
    }
    Ok(event.pubkey)
}

/// Whether a relay URL (`ws://host:port/path`) names `host` (`host:port`).
fn same_host(url: &str, host: &str) -> bool {
    let rest = url
        .strip_prefix("wss://")
        .or_else(|| url.strip_prefix("ws://"))
        .unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use samizdat_core::nostr::prelude::Keys;
    use samizdat_core::sign::Draft;

    use super::*;

    fn signed(keys: &Keys, kind: Kind, tags: Vec<Vec<String>>) -> Event {
        Draft {
            kind,
            created_at: Timestamp::now(),
            tags,
            content: String::new(),
        }
        .sign(keys)
        .unwrap()
    }

    fn auth(keys: &Keys, relay: &str, challenge: &str) -> Event {
        let tag = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
        signed(
            keys,
            Kind::Authentication,
            vec![tag("relay", relay), tag("challenge", challenge)],
        )
    }

    #[test]
    fn accepts_the_right_answer_and_names_each_wrong_one() {
        let keys = Keys::generate();
        let now = Timestamp::now();
        let good = auth(&keys, "ws://127.0.0.1:4848", "abc");
        assert_eq!(
            check(&good, "abc", Some("127.0.0.1:4848"), now),
            Ok(keys.public_key())
        );
        assert_eq!(check(&good, "abc", None, now), Ok(keys.public_key()));
        assert_eq!(check(&good, "abd", None, now), Err(AuthError::Challenge));
        assert_eq!(
            check(&good, "abc", Some("relay.example:443"), now),
            Err(AuthError::Relay)
        );
        let later = Timestamp::from_secs(now.as_secs() + 3_600);
        assert_eq!(check(&good, "abc", None, later), Err(AuthError::Time));
        let note = signed(&keys, Kind::TextNote, Vec::new());
        assert_eq!(check(&note, "abc", None, now), Err(AuthError::Kind));
    }

    #[test]
    fn challenges_differ() {
        assert_ne!(challenge(), challenge());
        assert_eq!(challenge().len(), 32);
    }
}
