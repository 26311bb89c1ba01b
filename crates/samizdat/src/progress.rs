//! Progress bars for long operations. They draw on stderr only when it is a
//! terminal, so scripts and pipes see clean output.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `what` up to `total` (a spinner when the total is unknown).
pub fn bar(total: Option<u64>, what: &str) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let template = match total {
        Some(_) => format!(
            "{{spinner}} {what} {{bar:30}} {{human_pos}}/{{human_len}} ({{per_sec}}, {{eta}} left)"
        ),
        None => format!("{{spinner}} {what} {{human_pos}} ({{per_sec}})"),
    };
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}
