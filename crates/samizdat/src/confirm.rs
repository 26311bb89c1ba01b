//! Confirmation of what cannot be undone: a word typed on the terminal,
//! or `--yes` for scripts. Without a terminal, nothing is confirmed.

use std::io::{IsTerminal, Write};

use anyhow::Result;

/// Shows `prompt` on the terminal and reads one line; true when it is
/// `word`. False at once when there is no terminal to ask.
pub fn typed(prompt: &str, word: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer.trim() == word)
}
