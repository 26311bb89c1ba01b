//! The relay's half of the wire format: client messages in, relay
//! messages out (NIP-01, NIP-42, NIP-45, NIP-77). This module and its
//! counterpart, `proto::client`, are the only ones that know the JSON
//! arrays; the rest of the node works with their types.

use serde_json::value::RawValue;

use super::Bounds;
use super::filter::{Filter, FilterError};

/// A subscription id, checked once: 1 to `max_subid_length` characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubId(String);

impl SubId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as a JSON string, for splicing into replies.
    fn json(&self) -> String {
        json_string(&self.0)
    }
}

/// One message from a client.
#[derive(Debug)]
pub enum ClientMessage<'a> {
    /// The event's JSON text, validated later on a worker thread.
    Event(&'a RawValue),
    Req {
        sub: SubId,
        filters: Vec<Filter>,
    },
    Count {
        sub: SubId,
        filters: Vec<Filter>,
    },
    Close(SubId),
    /// The NIP-42 authentication event's JSON text.
    Auth(&'a RawValue),
    NegOpen {
        sub: SubId,
        filter: Filter,
        message: Vec<u8>,
    },
    NegMsg {
        sub: SubId,
        message: Vec<u8>,
    },
    NegClose(SubId),
}

/// Why a client message was not understood. The text goes to the client.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MessageError {
    #[error("invalid: message is not a JSON array")]
    NotAnArray,
    #[error("invalid: unknown message type {0:?}")]
    UnknownType(String),
    #[error("invalid: {0} message must have {1}")]
    Shape(&'static str, &'static str),
    #[error("invalid: subscription id must be 1 to {0} characters")]
    SubId(usize),
    /// A bad filter, reported against its subscription.
    #[error("invalid: {error}")]
    Filter { sub: SubId, error: FilterError },
    #[error("blocked: at most {limit} filters in one {what}")]
    TooManyFilters {
        sub: SubId,
        what: &'static str,
        limit: usize,
    },
    #[error("invalid: negentropy message is not hex")]
    NegHex(SubId),
}

impl MessageError {
    /// The subscription a refusal belongs to, when there is one, so it can be
    /// answered with `CLOSED` (or `NEG-ERR`) rather than a `NOTICE`.
    pub fn subscription(&self) -> Option<&SubId> {
        match self {
            MessageError::Filter { sub, .. }
            | MessageError::TooManyFilters { sub, .. }
            | MessageError::NegHex(sub) => Some(sub),
            _ => None,
        }
    }
}

fn sub_id(raw: &RawValue, limits: &Bounds) -> Result<SubId, MessageError> {
    let s: String = serde_json::from_str(raw.get())
        .map_err(|_| MessageError::SubId(limits.max_subid_length))?;
    let n = s.chars().count();
    if n == 0 || n > limits.max_subid_length {
        return Err(MessageError::SubId(limits.max_subid_length));
    }
    Ok(SubId(s))
}

fn filters(
    sub: &SubId,
    raw: &[&RawValue],
    what: &'static str,
    limits: &Bounds,
) -> Result<Vec<Filter>, MessageError> {
    if raw.len() > limits.max_filters {
        return Err(MessageError::TooManyFilters {
            sub: sub.clone(),
            what,
            limit: limits.max_filters,
        });
    }
    raw.iter()
        .map(|f| {
            Filter::parse(f.get(), limits).map_err(|error| MessageError::Filter {
                sub: sub.clone(),
                error,
            })
        })
        .collect()
}

fn hex_message(sub: &SubId, raw: &RawValue) -> Result<Vec<u8>, MessageError> {
    let s: &str = serde_json::from_str(raw.get()).map_err(|_| MessageError::NegHex(sub.clone()))?;
    crate::proto::nip77::from_hex(s).ok_or_else(|| MessageError::NegHex(sub.clone()))
}

impl<'a> ClientMessage<'a> {
    /// Parses one text frame. The event inside an `EVENT` or `AUTH` is left
    /// as text: parsing and checking it is the validator's job.
    pub fn parse(text: &'a str, limits: &Bounds) -> Result<Self, MessageError> {
        let parts: Vec<&'a RawValue> =
            serde_json::from_str(text).map_err(|_| MessageError::NotAnArray)?;
        let Some((kind, rest)) = parts.split_first() else {
            return Err(MessageError::NotAnArray);
        };
        let kind: std::borrow::Cow<'_, str> =
            serde_json::from_str(kind.get()).map_err(|_| MessageError::NotAnArray)?;
        match (kind.as_ref(), rest) {
            ("EVENT", [event]) => Ok(ClientMessage::Event(event)),
            ("EVENT", _) => Err(MessageError::Shape("EVENT", "one event")),
            ("REQ", [sub, fs @ ..]) => {
                let sub = sub_id(sub, limits)?;
                let filters = filters(&sub, fs, "REQ", limits)?;
                Ok(ClientMessage::Req { sub, filters })
            }
            ("REQ", _) => Err(MessageError::Shape("REQ", "a subscription id")),
            ("COUNT", [sub, fs @ ..]) => {
                let sub = sub_id(sub, limits)?;
                let filters = filters(&sub, fs, "COUNT", limits)?;
                Ok(ClientMessage::Count { sub, filters })
            }
            ("COUNT", _) => Err(MessageError::Shape("COUNT", "a subscription id")),
            ("CLOSE", [sub]) => Ok(ClientMessage::Close(sub_id(sub, limits)?)),
            ("CLOSE", _) => Err(MessageError::Shape("CLOSE", "one subscription id")),
            ("AUTH", [event]) => Ok(ClientMessage::Auth(event)),
            ("AUTH", _) => Err(MessageError::Shape("AUTH", "one event")),
            ("NEG-OPEN", [sub, filter, message, ..]) => {
                let sub = sub_id(sub, limits)?;
                let filter =
                    Filter::parse(filter.get(), limits).map_err(|error| MessageError::Filter {
                        sub: sub.clone(),
                        error,
                    })?;
                let message = hex_message(&sub, message)?;
                Ok(ClientMessage::NegOpen {
                    sub,
                    filter,
                    message,
                })
            }
            ("NEG-OPEN", _) => Err(MessageError::Shape(
                "NEG-OPEN",
                "a subscription id, a filter and a message",
            )),
            ("NEG-MSG", [sub, message]) => {
                let sub = sub_id(sub, limits)?;
                let message = hex_message(&sub, message)?;
                Ok(ClientMessage::NegMsg { sub, message })
            }
            ("NEG-MSG", _) => Err(MessageError::Shape(
                "NEG-MSG",
                "a subscription id and a message",
            )),
            ("NEG-CLOSE", [sub]) => Ok(ClientMessage::NegClose(sub_id(sub, limits)?)),
            ("NEG-CLOSE", _) => Err(MessageError::Shape("NEG-CLOSE", "a subscription id")),
            (other, _) => Err(MessageError::UnknownType(truncate(other, 32))),
        }
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// A JSON string literal.
pub fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// Messages the relay sends, serialised by hand so that a stored event's
/// JSON is spliced in as it is, never parsed and re-encoded.
pub mod out {
    use super::{SubId, json_string};

    pub fn event(sub: &SubId, event_json: &str) -> String {
        format!("[\"EVENT\",{},{event_json}]", sub.json())
    }

    pub fn ok(id_hex: &str, accepted: bool, message: &str) -> String {
        format!(
            "[\"OK\",{},{accepted},{}]",
            json_string(id_hex),
            json_string(message)
        )
    }

    pub fn eose(sub: &SubId) -> String {
        format!("[\"EOSE\",{}]", sub.json())
    }

    pub fn closed(sub: &SubId, reason: &str) -> String {
        format!("[\"CLOSED\",{},{}]", sub.json(), json_string(reason))
    }

    pub fn notice(message: &str) -> String {
        format!("[\"NOTICE\",{}]", json_string(message))
    }

    pub fn count(sub: &SubId, n: u64) -> String {
        format!("[\"COUNT\",{},{{\"count\":{n}}}]", sub.json())
    }

    pub fn auth(challenge: &str) -> String {
        format!("[\"AUTH\",{}]", json_string(challenge))
    }

    pub fn neg_msg(sub: &SubId, message: &[u8]) -> String {
        format!(
            "[\"NEG-MSG\",{},\"{}\"]",
            sub.json(),
            crate::proto::nip77::to_hex(message)
        )
    }

    pub fn neg_err(sub: &SubId, reason: &str) -> String {
        format!("[\"NEG-ERR\",{},{}]", sub.json(), json_string(reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ClientMessage<'_>, MessageError> {
        ClientMessage::parse(text, &Bounds::default())
    }

    #[test]
    fn req_with_several_filters() {
        let m = parse(r#"["REQ","s1",{"kinds":[1]},{"limit":3}]"#).unwrap();
        let ClientMessage::Req { sub, filters } = m else {
            panic!("not a REQ")
        };
        assert_eq!(sub.as_str(), "s1");
        assert_eq!(filters.len(), 2);
    }

    #[test]
    fn req_without_filters_is_allowed() {
        assert!(matches!(
            parse(r#"["REQ","s"]"#),
            Ok(ClientMessage::Req { filters, .. }) if filters.is_empty()
        ));
    }

    #[test]
    fn bad_messages_say_what_is_wrong() {
        assert_eq!(parse("{}").unwrap_err(), MessageError::NotAnArray);
        assert_eq!(parse("[").unwrap_err(), MessageError::NotAnArray);
        assert_eq!(parse("[]").unwrap_err(), MessageError::NotAnArray);
        assert_eq!(parse("[1]").unwrap_err(), MessageError::NotAnArray);
        assert_eq!(
            parse(r#"["HELLO"]"#).unwrap_err(),
            MessageError::UnknownType("HELLO".into())
        );
        assert_eq!(
            parse(r#"["EVENT"]"#).unwrap_err(),
            MessageError::Shape("EVENT", "one event")
        );
        assert_eq!(
            parse(r#"["CLOSE",""]"#).unwrap_err(),
            MessageError::SubId(64)
        );
        let long = format!(r#"["CLOSE","{}"]"#, "x".repeat(65));
        assert_eq!(parse(&long).unwrap_err(), MessageError::SubId(64));
        let err = parse(r#"["REQ","s",{"kinds":"1"}]"#).unwrap_err();
        assert_eq!(err.subscription().map(SubId::as_str), Some("s"));
        let err = parse(r#"["NEG-OPEN","n",{},"zz"]"#).unwrap_err();
        assert_eq!(err, MessageError::NegHex(SubId("n".into())));
    }

    #[test]
    fn too_many_filters_are_refused() {
        let fs = vec!["{}"; 17].join(",");
        let err = parse(&format!(r#"["REQ","s",{fs}]"#)).unwrap_err();
        assert!(err.to_string().starts_with("blocked:"), "{err}");
    }

    #[test]
    fn replies_escape_what_they_carry() {
        let sub = SubId("a\"b".into());
        assert_eq!(out::eose(&sub), r#"["EOSE","a\"b"]"#);
        assert_eq!(out::count(&sub, 3), r#"["COUNT","a\"b",{"count":3}]"#);
        assert_eq!(
            out::ok("ab", false, "invalid: x"),
            r#"["OK","ab",false,"invalid: x"]"#
        );
    }
}
