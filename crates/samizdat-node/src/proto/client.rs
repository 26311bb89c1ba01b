//! The client's half of the relay messages: what a client sends
//! ([`send`], built by hand as the relay's own `out` is, so that a stored
//! event's JSON is spliced in unchanged) and what it reads back
//! ([`RelayMessage`], read once, its strings borrowed from the text when
//! they hold no escapes, an event left as raw JSON for the validator).

use std::borrow::Cow;

use samizdat_core::nostr::prelude::EventId;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// What a client sends.
pub mod send {
    use super::super::filter::Filter;
    use super::super::message::json_string;

    /// `["REQ", sub, filter…]`.
    pub fn req(sub: &str, filters: &[&Filter]) -> String {
        let mut out = format!("[\"REQ\",{}", json_string(sub));
        for filter in filters {
            out.push(',');
            out.push_str(&filter.to_json().to_string());
        }
        out.push(']');
        out
    }

    /// `["CLOSE", sub]`.
    pub fn close(sub: &str) -> String {
        format!("[\"CLOSE\",{}]", json_string(sub))
    }

    /// `["EVENT", event]`, the event's JSON as it is.
    pub fn event(event_json: &str) -> String {
        format!("[\"EVENT\",{event_json}]")
    }

    /// `["AUTH", event]` (NIP-42), the event's JSON as it is.
    pub fn auth(event_json: &str) -> String {
        format!("[\"AUTH\",{event_json}]")
    }

    /// `["NEG-OPEN", sub, filter, message]` (NIP-77).
    pub fn neg_open(sub: &str, filter: &Filter, message: &[u8]) -> String {
        format!(
            "[\"NEG-OPEN\",{},{},\"{}\"]",
            json_string(sub),
            filter.to_json(),
            crate::proto::nip77::to_hex(message)
        )
    }

    /// `["NEG-MSG", sub, message]`.
    pub fn neg_msg(sub: &str, message: &[u8]) -> String {
        format!(
            "[\"NEG-MSG\",{},\"{}\"]",
            json_string(sub),
            crate::proto::nip77::to_hex(message)
        )
    }

    /// `["NEG-CLOSE", sub]`.
    pub fn neg_close(sub: &str) -> String {
        format!("[\"NEG-CLOSE\",{}]", json_string(sub))
    }
}

/// A message from a relay, as a client reads it.
#[derive(Debug, Clone)]
pub enum RelayMessage<'a> {
    /// An event for a subscription, as raw JSON (`None`: the message
    /// carries none; whether it is an event is the validator's to say).
    Event {
        sub: Cow<'a, str>,
        event: Option<&'a RawValue>,
    },
    /// The answer to an `EVENT` or `AUTH`.
    Ok {
        id: Cow<'a, str>,
        accepted: bool,
        message: Cow<'a, str>,
    },
    /// A subscription's stored events are all sent.
    Eose {
        sub: Cow<'a, str>,
    },
    /// A subscription ended by the relay, and why.
    Closed {
        sub: Cow<'a, str>,
        message: Cow<'a, str>,
    },
    Notice {
        message: Cow<'a, str>,
    },
    /// A NIP-42 challenge.
    Auth {
        challenge: Cow<'a, str>,
    },
    /// A NIP-45 count.
    Count {
        sub: Cow<'a, str>,
        count: u64,
    },
    /// A NIP-77 message, as hex.
    NegMsg {
        sub: Cow<'a, str>,
        message: Cow<'a, str>,
    },
    /// A NIP-77 session ended by the relay, and why.
    NegErr {
        sub: Cow<'a, str>,
        reason: Cow<'a, str>,
    },
    /// A message of a type this client does not read.
    Other {
        kind: Cow<'a, str>,
    },
}

/// Why a relay's message could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("not a JSON array of a message type and its parts")]
    NotAnArray,
    #[error("a {0} message without {1}")]
    Shape(&'static str, &'static str),
}

impl<'a> RelayMessage<'a> {
    /// Reads one message. Parts beyond those a type has are ignored, as
    /// NIP-01 allows; a part missing or of the wrong type is an error.
    pub fn parse(text: &'a str) -> Result<RelayMessage<'a>, ReplyError> {
        let parts: Vec<&'a RawValue> =
            serde_json::from_str(text).map_err(|_| ReplyError::NotAnArray)?;
        let string = |i: usize, kind: &'static str, what: &'static str| {
            parts
                .get(i)
                .and_then(|raw| serde_json::from_str::<Cow<'a, str>>(raw.get()).ok())
                .ok_or(ReplyError::Shape(kind, what))
        };
        let kind = string(0, "relay", "a type")?;
        Ok(match kind.as_ref() {
            "EVENT" => RelayMessage::Event {
                sub: string(1, "EVENT", "a subscription")?,
                event: parts.get(2).copied(),
            },
            "OK" => RelayMessage::Ok {
                id: string(1, "OK", "an event id")?,
                accepted: parts
                    .get(2)
                    .and_then(|raw| serde_json::from_str::<bool>(raw.get()).ok())
                    .ok_or(ReplyError::Shape("OK", "true or false"))?,
                message: string(3, "OK", "a message").unwrap_or_default(),
            },
            "EOSE" => RelayMessage::Eose {
                sub: string(1, "EOSE", "a subscription")?,
            },
            "CLOSED" => RelayMessage::Closed {
                sub: string(1, "CLOSED", "a subscription")?,
                message: string(2, "CLOSED", "a message").unwrap_or_default(),
            },
            "NOTICE" => RelayMessage::Notice {
                message: string(1, "NOTICE", "a message")?,
            },
            "AUTH" => RelayMessage::Auth {
                challenge: string(1, "AUTH", "a challenge")?,
            },
            "COUNT" => RelayMessage::Count {
                sub: string(1, "COUNT", "a subscription")?,
                count: parts
                    .get(2)
                    .and_then(|raw| serde_json::from_str::<Map<String, Value>>(raw.get()).ok())
                    .and_then(|object| object.get("count").and_then(Value::as_u64))
                    .ok_or(ReplyError::Shape("COUNT", "a count"))?,
            },
            "NEG-MSG" => RelayMessage::NegMsg {
                sub: string(1, "NEG-MSG", "a subscription")?,
                message: string(2, "NEG-MSG", "a message")?,
            },
            "NEG-ERR" => RelayMessage::NegErr {
                sub: string(1, "NEG-ERR", "a subscription")?,
                reason: string(2, "NEG-ERR", "a reason").unwrap_or_default(),
            },
            _ => RelayMessage::Other { kind },
        })
    }
}

/// The id an event's raw JSON claims (not checked: what it is worth is
/// the validator's to say), when it is 64 hex digits.
pub fn claimed_id(event: &RawValue) -> Option<EventId> {
    #[derive(serde::Deserialize)]
    struct Id<'a> {
        #[serde(borrow)]
        id: Cow<'a, str>,
    }
    let Id { id } = serde_json::from_str(event.get()).ok()?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(id.as_ref(), &mut bytes).ok()?;
    Some(EventId::from_byte_array(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Bounds;
    use crate::proto::message::{ClientMessage, SubId, out};

    /// The subscription a client message names.
    fn sub_of(message: &ClientMessage<'_>) -> Option<SubId> {
        match message {
            ClientMessage::Req { sub, .. }
            | ClientMessage::Count { sub, .. }
            | ClientMessage::Close(sub)
            | ClientMessage::NegOpen { sub, .. }
            | ClientMessage::NegMsg { sub, .. }
            | ClientMessage::NegClose(sub) => Some(sub.clone()),
            _ => None,
        }
    }

    /// `text` reads as `expected` (compared as printed: raw JSON has no
    /// equality of its own).
    fn same(text: &str, expected: RelayMessage<'_>) {
        let got = RelayMessage::parse(text).expect("reads");
        assert_eq!(format!("{got:?}"), format!("{expected:?}"), "{text}");
    }

    /// What the relay's own half writes, this half reads back.
    #[test]
    fn the_relays_messages_read_back() {
        let limits = Bounds::default();
        let text = send::close("pull-1");
        let close = ClientMessage::parse(&text, &limits).expect("parses");
        let sub = sub_of(&close).expect("a subscription");
        let event = r#"{"id":"ab","kind":1,"content":"қала \"x\""}"#;
        same(
            &out::event(&sub, event),
            RelayMessage::Event {
                sub: "pull-1".into(),
                event: Some(serde_json::from_str(event).expect("raw")),
            },
        );
        same(
            &out::ok("ab", false, "blocked: \"no\""),
            RelayMessage::Ok {
                id: "ab".into(),
                accepted: false,
                message: "blocked: \"no\"".into(),
            },
        );
        same(
            &out::eose(&sub),
            RelayMessage::Eose {
                sub: "pull-1".into(),
            },
        );
        same(
            &out::closed(&sub, "error: too slow"),
            RelayMessage::Closed {
                sub: "pull-1".into(),
                message: "error: too slow".into(),
            },
        );
        same(
            &out::count(&sub, 7),
            RelayMessage::Count {
                sub: "pull-1".into(),
                count: 7,
            },
        );
        same(
            &out::neg_msg(&sub, &[0x61, 0x00]),
            RelayMessage::NegMsg {
                sub: "pull-1".into(),
                message: "6100".into(),
            },
        );
        same(
            &out::auth("challenge"),
            RelayMessage::Auth {
                challenge: "challenge".into(),
            },
        );
        same(
            r#"["FUTURE",1]"#,
            RelayMessage::Other {
                kind: "FUTURE".into(),
            },
        );
    }

    #[test]
    fn broken_messages_are_errors() {
        assert!(matches!(
            RelayMessage::parse(r#"["EVENT","s"]"#),
            Ok(RelayMessage::Event { event: None, .. })
        ));
        for text in [
            "",
            "{}",
            "[]",
            "[1]",
            r#"["EVENT"]"#,
            r#"["OK","ab","yes"]"#,
            r#"["EOSE"]"#,
            r#"["COUNT","s",{}]"#,
            r#"["NEG-MSG","s"]"#,
        ] {
            assert!(RelayMessage::parse(text).is_err(), "{text}");
        }
    }

    /// What a hostile peer may send is an error or `Other`, never a
    /// panic, and costs what it is long.
    #[test]
    fn hostile_messages_are_refused_quietly() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let long = format!(r#"["NOTICE","{}"]"#, "x".repeat(1 << 20));
        for text in [
            deep.as_str(),
            r#"["EVENT",{"sub":1},{}]"#,
            r#"["COUNT","s",{"count":-1}]"#,
            r#"["OK","ab",1,"m"]"#,
            "[\"EOSE\",\"s\"",
        ] {
            assert!(RelayMessage::parse(text).is_err(), "{text:.60}");
        }
        // A message that cannot be read leaves the verdict, not the text.
        assert!(matches!(
            RelayMessage::parse(r#"["OK","ab",true,"\ud800"]"#),
            Ok(RelayMessage::Ok { accepted: true, message, .. }) if message.is_empty()
        ));
        assert!(matches!(
            RelayMessage::parse(&long),
            Ok(RelayMessage::Notice { message }) if message.len() == 1 << 20
        ));
        assert!(
            claimed_id(&serde_json::from_str::<Box<RawValue>>(r#"{"id":"zz"}"#).expect("raw"))
                .is_none()
        );
    }

    /// What this half sends, the relay's half reads.
    #[test]
    fn what_a_client_sends_the_relay_reads() {
        let limits = Bounds::default();
        let filter = crate::proto::filter::Filter::ids(&[EventId::from_byte_array([7; 32])])
            .with_kinds(&[1, 1948])
            .with_time(Some(5), None);
        for text in [
            send::req("s\"1", &[&filter, &filter]),
            send::close("s\"1"),
            send::neg_open("s\"1", &filter, &[0x61]),
            send::neg_msg("s\"1", &[0x61]),
            send::neg_close("s\"1"),
        ] {
            let message = ClientMessage::parse(&text, &limits).expect("the relay reads it");
            assert_eq!(
                sub_of(&message).as_ref().map(SubId::as_str),
                Some("s\"1"),
                "{text}"
            );
        }
        assert!(matches!(
            ClientMessage::parse(&send::event(r#"{"id":"ab"}"#), &limits),
            Ok(ClientMessage::Event(_))
        ));
    }
}
