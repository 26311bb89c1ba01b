//! A progress bar for a bench's long phases, drawn on stderr only when it
//! is a terminal (indicatif's own rule), so the JSON on stdout stays clean.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar for `what`: counting up to `total`, or a spinner without one.
pub fn bar(total: Option<u64>, what: &str) -> ProgressBar {
    let bar = total.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
    if let Ok(style) = ProgressStyle::with_template("{msg}: {wide_bar} {pos}/{len} ({per_sec})") {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    bar
}
