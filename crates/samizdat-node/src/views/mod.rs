//! What the web pages and the static mirror show, the same way in both:
//! the interface's languages ([`i18n`]) and records and registry entries
//! as lines and pages ([`records`]).

pub mod i18n;
pub mod records;

pub use i18n::Lang;
