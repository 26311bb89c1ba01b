//! The people registry: reports about one person, written in Kazakh or
//! Russian Cyrillic or in any Latin transliteration, in any order, with
//! or without patronymic, brought together. Nothing here does I/O.
//!
//! - [`translit`]: one word, any script, to canonical keys;
//! - [`name`]: a name cut into words, with initials and endings;
//! - [`lexicon`]: real given names, surnames and patronymics, which are
//!   never typos of each other;
//! - [`matcher`]: two names compared: score, decision, reasons;
//! - [`index`]: candidates for a name among many, without comparing all;
//! - [`registry`]: reports into one entry per person, with its history;
//! - [`pfif`]: PFIF 1.4 documents, read and written;
//! - [`evaluation`]: the matcher measured on labelled pairs.

pub mod evaluation;
mod facts;
pub mod index;
pub mod lexicon;
pub mod matcher;
pub mod name;
pub mod pfif;
pub mod registry;

pub use matcher::{Comparison, Decision, compare};
pub use name::Name;
/// Words to canonical keys (the `samizdat-script` crate, which search
/// shares).
pub use samizdat_script as translit;
