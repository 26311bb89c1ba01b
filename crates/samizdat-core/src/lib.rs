//! The samizdat record model: record kinds, their tags, validation rules and
//! the text folding used for search. Nothing in this crate does I/O: every
//! function is a plain function over data, so the rules can be tested (and
//! reused by the store, the relay and bundles) without sockets or disks.
//!
//! Records are Nostr events (NIP-01). The kinds and tags are specified in
//! `docs/PROTOCOL.md`; the constants in [`kind`] are the single source of
//! truth for the numbers and names used there.

pub mod attestation;
pub mod blob;
pub mod delegation;
pub mod kind;
pub mod limits;
pub mod person;
pub mod record;
pub mod retraction;
pub mod sealed;
pub mod sealed_file;
pub mod sign;
pub mod tags;
pub mod testimony;
pub mod text;
pub mod validate;

pub use nostr;

pub use blob::{Attachment, BlobHash};
pub use kind::RecordKind;
pub use limits::Limits;
pub use record::{Record, RuleViolation};
pub use validate::{ValidationError, VerifiedEvent, validate};
