//! NIP-11: the relay information document, served on `GET /` to clients
//! that ask for `application/nostr+json`.

use samizdat_core::limits::EARLIEST_CREATED_AT;
use serde_json::{Value, json};

use crate::config::Config;

/// NIPs this node implements (77 only while negentropy is on).
pub const SUPPORTED_NIPS: &[u16] = &[1, 9, 11, 42, 45, 50, 59, 77];

pub fn document(config: &Config, now: u64) -> Value {
    let relay = &config.relay;
    let mut doc = json!({
        "name": config.info.name,
        "description": config.info.description,
        "supported_nips": SUPPORTED_NIPS
            .iter()
            .filter(|n| **n != 77 || relay.negentropy)
            .collect::<Vec<_>>(),
        "software": "samizdat",
        "version": env!("CARGO_PKG_VERSION"),
        "limitation": {
            "max_message_length": relay.max_message_bytes,
            "max_subscriptions": relay.max_subscriptions,
            "max_limit": relay.max_limit,
            "default_limit": relay.default_limit,
            "max_subid_length": relay.max_subid_length,
            "max_event_tags": config.events.max_tags,
            "max_content_length": config.events.max_event_bytes,
            "created_at_lower_limit": now.saturating_sub(EARLIEST_CREATED_AT),
            "created_at_upper_limit": config.events.max_future_seconds,
            "auth_required": false,
            "payment_required": false,
            "restricted_writes": false,
        },
    });
    if let Some(pubkey) = &config.info.pubkey {
        doc["pubkey"] = Value::from(pubkey.as_str());
    }
    if let Some(contact) = &config.info.contact {
        doc["contact"] = Value::from(contact.as_str());
    }
    doc
}
