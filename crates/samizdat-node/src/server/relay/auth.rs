//! NIP-42 authentication: the challenge a connection gets, the checks on
//! the kind 22242 event that answers it, the identities a node shows it
//! reads for (`reads-for` tokens, bounded), and what is held back.

use rand::RngExt;
use samizdat_core::delegation::ReadsFor;
use samizdat_core::nostr::prelude::{Event, Kind, PublicKey, Timestamp};
use samizdat_core::sealed;
use samizdat_store::Query;

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
/// The event's `relay` tag must name one of the relay's own `names`
/// (host, or host and port) when it has them; otherwise `host`, the
/// `Host` header the connection was opened with, when known.
pub fn check(
    event: &Event,
    challenge: &str,
    names: &[String],
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
    if !names.is_empty() {
        let named = names.iter().any(|name| {
            same_host(relay, name)
                || authority(relay)
                    .rsplit_once(':')
                    .is_some_and(|(h, _)| h.eq_ignore_ascii_case(name))
        });
        if !named {
            return Err(AuthError::Relay);
        }
    } else if let Some(host) = host
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
    authority(url).eq_ignore_ascii_case(host)
}

/// The `host:port` of a relay URL.
fn authority(url: &str) -> &str {
    let rest = url
        .strip_prefix("wss://")
        .or_else(|| url.strip_prefix("ws://"))
        .unwrap_or(url);
    rest.split(['/', '?', '#']).next().unwrap_or("")
}

/// Identities one connection may show it reads for, in all and in one
/// `AUTH`, and the tags of an `AUTH` looked at for them.
pub(super) const MAX_READS_FOR: usize = 32;
const MAX_READS_FOR_PER_AUTH: usize = 8;
const MAX_TAGS_CHECKED: usize = 64;

/// The identities an `AUTH` event (its signature checked) shows its key
/// reads for: at most `room` and a few per `AUTH`, none in `known`, each
/// token checked once.
pub(super) fn reads_for(event: &Event, known: &[PublicKey], room: usize) -> Vec<PublicKey> {
    let mut readers: Vec<PublicKey> = Vec::new();
    for tag in event.tags.iter().take(MAX_TAGS_CHECKED) {
        if readers.len() >= room.min(MAX_READS_FOR_PER_AUTH) {
            break;
        }
        if let Some(token) = ReadsFor::from_tag(tag.as_slice(), &event.pubkey)
            && !known.contains(&token.reader)
            && !readers.contains(&token.reader)
        {
            readers.push(token.reader);
        }
    }
    readers
}

/// What an authenticated client is told it does not get: how many sealed
/// records this node holds for readers it did not show it is or reads for
/// (`readers`; `None` for a carrier, which gets them all), so that a sync
/// can say why they stayed behind. Empty when nothing is held back.
pub(super) async fn held_back(
    store: samizdat_store::Store,
    readers: Option<Vec<PublicKey>>,
) -> String {
    let Some(readers) = readers else {
        return String::new();
    };
    let wraps = |readers: Option<Vec<PublicKey>>| Query {
        kinds: Some(vec![sealed::GIFT_WRAP.as_u16()]),
        gift_wraps_for: readers,
        ..Query::default()
    };
    let (all, readable) = (wraps(None), wraps(Some(readers)));
    let counted = tokio::task::spawn_blocking(move || {
        Ok::<_, samizdat_store::StoreError>((store.count(&all)?, store.count(&readable)?))
    })
    .await;
    match counted {
        // Whether, not how many: a count polled again and again would
        // tell when sealed records arrive.
        Ok(Ok((all, readable))) if all > readable => "held back: sealed records addressed to \
             others (this node hands them to their readers and to the nodes in its carriers)"
            .to_string(),
        _ => String::new(),
    }
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
            check(&good, "abc", &[], Some("127.0.0.1:4848"), now),
            Ok(keys.public_key())
        );
        assert_eq!(check(&good, "abc", &[], None, now), Ok(keys.public_key()));
        assert_eq!(
            check(&good, "abd", &[], None, now),
            Err(AuthError::Challenge)
        );
        assert_eq!(
            check(&good, "abc", &[], Some("relay.example:443"), now),
            Err(AuthError::Relay)
        );
        let later = Timestamp::from_secs(now.as_secs() + 3_600);
        assert_eq!(check(&good, "abc", &[], None, later), Err(AuthError::Time));
        let note = signed(&keys, Kind::TextNote, Vec::new());
        assert_eq!(check(&note, "abc", &[], None, now), Err(AuthError::Kind));
    }

    /// With its own names set, a relay takes only an answer that names
    /// one of them, whatever `Host` the client sent: an answer signed for
    /// another relay and passed on is refused.
    #[test]
    fn a_relay_with_names_takes_answers_for_those_names_only() {
        let keys = Keys::generate();
        let now = Timestamp::now();
        let names = ["relay.example".to_string(), "10.0.0.5:4848".to_string()];
        for (relay, ok) in [
            ("wss://relay.example", true),
            ("wss://relay.example:443/", true),
            ("ws://10.0.0.5:4848", true),
            ("ws://evil.example:4848", false),
            ("ws://10.0.0.5:9999", false),
        ] {
            let answer = auth(&keys, relay, "abc");
            let host = Some(authority(relay));
            assert_eq!(
                check(&answer, "abc", &names, host, now).is_ok(),
                ok,
                "{relay}"
            );
        }
    }

    #[test]
    fn challenges_differ() {
        assert_ne!(challenge(), challenge());
        assert_eq!(challenge().len(), 32);
    }

    #[test]
    fn an_auth_shows_a_few_checked_tokens_at_most() {
        let node = Keys::generate();
        let identities: Vec<Keys> = (0..10).map(|_| Keys::generate()).collect();
        let mut tags: Vec<Vec<String>> = identities
            .iter()
            .map(|i| ReadsFor::sign(i, &node.public_key()).to_tag())
            .collect();
        // A copy, and a token made for another node, count for nothing.
        tags.push(tags[0].clone());
        tags.insert(
            0,
            ReadsFor::sign(&identities[9], &Keys::generate().public_key()).to_tag(),
        );
        let event = signed(&node, Kind::Authentication, tags);
        let readers = reads_for(&event, &[], MAX_READS_FOR);
        assert_eq!(readers.len(), MAX_READS_FOR_PER_AUTH);
        assert_eq!(readers[0], identities[0].public_key());
        assert_eq!(reads_for(&event, &[], 3).len(), 3);
        let known = [identities[0].public_key()];
        assert!(!reads_for(&event, &known, MAX_READS_FOR).contains(&known[0]));
    }
}
