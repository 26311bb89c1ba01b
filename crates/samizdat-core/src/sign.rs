//! Making signed events from a record's parts.

use std::sync::LazyLock;

use nostr::prelude::{Event, EventId, Keys, Kind, Signature, Tag, Tags, Timestamp};
use secp256k1::{All, Secp256k1};

use crate::record::RuleViolation;

static SECP: LazyLock<Secp256k1<All>> = LazyLock::new(Secp256k1::new);

/// Parts of an event before it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub kind: Kind,
    pub created_at: Timestamp,
    pub tags: Vec<Vec<String>>,
    pub content: String,
}

impl Draft {
    fn tags(&self) -> Result<Tags, RuleViolation> {
        let list = self
            .tags
            .iter()
            .map(|t| Tag::parse(t).map_err(|e| RuleViolation::new(format!("bad tag {t:?}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Tags::from_list(list))
    }

    /// Signs with fresh randomness, as BIP-340 recommends.
    pub fn sign(&self, keys: &Keys) -> Result<Event, RuleViolation> {
        let (id, tags) = self.id(keys)?;
        let sig = keys.sign_schnorr(id.as_bytes());
        Ok(self.assemble(keys, id, tags, sig))
    }

    /// Signs with the given auxiliary randomness. With a fixed `aux` the
    /// signature is deterministic, which is what test vectors need.
    pub fn sign_with_aux(&self, keys: &Keys, aux: &[u8; 32]) -> Result<Event, RuleViolation> {
        let (id, tags) = self.id(keys)?;
        let sig = keys.sign_schnorr_with_aux_rand(&SECP, id.as_bytes(), aux);
        Ok(self.assemble(keys, id, tags, sig))
    }

    fn id(&self, keys: &Keys) -> Result<(EventId, Tags), RuleViolation> {
        let tags = self.tags()?;
        let id = EventId::compute(
            &keys.public_key(),
            &self.created_at,
            &self.kind,
            &tags,
            &self.content,
        );
        Ok((id, tags))
    }

    fn assemble(&self, keys: &Keys, id: EventId, tags: Tags, sig: Signature) -> Event {
        Event::new(
            id,
            keys.public_key(),
            self.created_at,
            self.kind,
            tags,
            self.content.clone(),
            sig,
        )
    }
}
