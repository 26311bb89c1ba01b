//! `samizdat publish verify DIR`: checks a mirror as a reader would,
//! trusting nothing in it but the records' signatures.
//!
//! 1. `SHA256SUMS` is the one `manifest.json` names (by its SHA-256);
//! 2. every file it lists is there, with those bytes, and nothing else is;
//! 3. every line of `records.jsonl` is a Nostr event whose id is the hash
//!    of its content and whose signature holds, and it is the record the
//!    manifest lists on that line (id, key, signature);
//! 4. every record has its page in each language.
//!
//! Each problem is said with the file (and line) it is in.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, BufRead};
use std::path::{Component, Path};

use samizdat_core::nostr::prelude::Event;
use samizdat_core::record::Record;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::site::{FORMAT, MANIFEST, RECORDS, SUMS, hash_file, record_path};
use crate::progress::Observer;
use crate::views::Lang;

/// Most problems kept; the count goes on.
const MAX_PROBLEMS: usize = 1_000;

/// Why a folder could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0} is not a samizdat mirror: {1}")]
    NotAMirror(String, String),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

/// What a check found.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Checked {
    /// Files checked against `SHA256SUMS`.
    pub files: u64,
    /// Records and attestations whose id and signature were checked.
    pub records: u64,
    /// Everything wrong, each naming its file; the first
    /// [`MAX_PROBLEMS`].
    pub problems: Vec<String>,
    /// How many problems in all.
    pub problem_count: u64,
    /// SHA-256 of `manifest.json`.
    pub digest: String,
}

impl Checked {
    fn problem(&mut self, text: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(text);
        }
    }
}

pub fn verify(dir: &Path, observer: &mut dyn Observer) -> Result<Checked, VerifyError> {
    let shown = dir.display().to_string();
    let not_mirror = |why: String| VerifyError::NotAMirror(shown.clone(), why);
    let manifest_bytes = fs::read(dir.join(MANIFEST))
        .map_err(|e| not_mirror(format!("cannot read {MANIFEST}: {e}")))?;
    let manifest: Value = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| not_mirror(format!("{MANIFEST} is not JSON: {e}")))?;
    match manifest.get("format").and_then(Value::as_str) {
        Some(FORMAT) => {}
        other => {
            return Err(not_mirror(format!(
                "{MANIFEST} says format {other:?}; this samizdat reads {FORMAT}"
            )));
        }
    }
    let mut checked = Checked {
        digest: hex::encode(Sha256::digest(&manifest_bytes)),
        ..Default::default()
    };

    // 1. The list of files.
    let sums = fs::read(dir.join(SUMS)).map_err(|e| VerifyError::Io {
        path: SUMS.into(),
        source: e,
    })?;
    let said = manifest.get("sums").and_then(Value::as_str).unwrap_or("");
    let actual = hex::encode(Sha256::digest(&sums));
    if actual != said {
        checked.problem(format!(
            "{SUMS}: changed after publishing (its SHA-256 is {actual}, {MANIFEST} says {said})"
        ));
    }
    let mut listed = BTreeMap::new();
    for (n, line) in String::from_utf8_lossy(&sums).lines().enumerate() {
        let line_no = n + 1;
        let Some((hash, path)) = line.split_once("  ") else {
            checked.problem(format!("{SUMS} line {line_no}: not `<sha256>  <path>`"));
            continue;
        };
        if !samizdat_core::validate::is_lower_hex(hash, 64) {
            checked.problem(format!("{SUMS} line {line_no}: {hash:?} is not a SHA-256"));
            continue;
        }
        if !inside(path) {
            checked.problem(format!(
                "{SUMS} line {line_no}: the path {path:?} leaves the mirror"
            ));
            continue;
        }
        listed.insert(path.to_string(), hash.to_ascii_lowercase());
    }
    if let Some(count) = manifest.get("files").and_then(Value::as_u64)
        && count != listed.len() as u64
    {
        checked.problem(format!(
            "{SUMS}: lists {} files, {MANIFEST} says {count}",
            listed.len()
        ));
    }

    // 2. The files.
    observer.phase("checking files", Some(listed.len() as u64));
    for (path, expected) in &listed {
        let full = dir.join(path);
        match fs::symlink_metadata(&full) {
            Err(_) => checked.problem(format!("{path}: missing")),
            Ok(m) if !m.is_file() => {
                checked.problem(format!("{path}: not a plain file (a link or a folder)"))
            }
            Ok(_) => match hash_file(&full) {
                Ok((hash, _)) if hex::encode(hash) == *expected => {}
                Ok((hash, _)) => checked.problem(format!(
                    "{path}: changed after publishing (its SHA-256 is {}, {SUMS} says {expected})",
                    hex::encode(hash)
                )),
                Err(e) => checked.problem(format!("{path}: cannot be read: {e}")),
            },
        }
        checked.files += 1;
        observer.advance(1);
    }
    let mut present = Vec::new();
    walk(dir, dir, &mut present, 0).map_err(|e| VerifyError::Io {
        path: shown.clone(),
        source: e,
    })?;
    for path in present {
        if path != MANIFEST && path != SUMS && !listed.contains_key(&path) {
            checked.problem(format!("{path}: not in {SUMS} (added after publishing)"));
        }
    }

    // 3. The records.
    let signatures: Vec<[String; 3]> = manifest
        .get("signatures")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|row| {
                    let at = |i: usize| {
                        row.get(i)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    [at(0), at(1), at(2)]
                })
                .collect()
        })
        .unwrap_or_default();
    observer.phase("checking signatures", Some(signatures.len() as u64));
    let file = fs::File::open(dir.join(RECORDS)).map_err(|e| VerifyError::Io {
        path: RECORDS.into(),
        source: e,
    })?;
    let mut with_pages = BTreeSet::new();
    let mut lines = 0usize;
    for (n, line) in io::BufReader::new(file).lines().enumerate() {
        let line_no = n + 1;
        lines = line_no;
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                checked.problem(format!("{RECORDS} line {line_no}: unreadable: {e}"));
                continue;
            }
        };
        observer.advance(1);
        let event = match Event::from_json(&line) {
            Ok(event) => event,
            Err(e) => {
                checked.problem(format!("{RECORDS} line {line_no}: not a Nostr event: {e}"));
                continue;
            }
        };
        checked.records += 1;
        let id = event.id.to_hex();
        if !event.verify_id() {
            checked.problem(format!(
                "{RECORDS} line {line_no}: record {id}: the id is not the hash of its content \
                 (the record was changed)"
            ));
        } else if !event.verify_signature() {
            checked.problem(format!(
                "{RECORDS} line {line_no}: record {id}: the signature does not hold"
            ));
        }
        match signatures.get(n) {
            Some([sid, pubkey, sig])
                if *sid == id
                    && *pubkey == event.pubkey.to_hex()
                    && *sig == event.sig.to_string() => {}
            Some(_) => checked.problem(format!(
                "{RECORDS} line {line_no}: record {id} is not the one {MANIFEST} lists there"
            )),
            None => checked.problem(format!(
                "{RECORDS} line {line_no}: record {id} is not in {MANIFEST}"
            )),
        }
        if matches!(
            Record::parse(&event),
            Ok(Record::Testimony(_) | Record::PersonReport(_))
        ) {
            with_pages.insert(id);
        }
    }
    if lines < signatures.len() {
        checked.problem(format!(
            "{RECORDS}: {lines} lines, {MANIFEST} lists {} records",
            signatures.len()
        ));
    }

    // 4. Every record's pages.
    for id in &with_pages {
        for lang in Lang::ALL {
            let page = format!("{}/{}", lang.code(), record_path(id));
            if !listed.contains_key(&page) {
                checked.problem(format!("record {id}: its page {page} is not in the mirror"));
            }
        }
    }
    Ok(checked)
}

/// Whether `path` (from `SHA256SUMS`) names a file inside the mirror.
fn inside(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Every file under `dir`, as paths from `root` with `/`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>, depth: usize) -> io::Result<()> {
    // The mirror is four levels deep; anything deeper is not ours either.
    if depth > 8 {
        return Ok(());
    }
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(root, &path, out, depth + 1)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_paths_stay_inside() {
        assert!(inside("en/r/ab/x.html"));
        assert!(!inside("../etc/passwd"));
        assert!(!inside("/etc/passwd"));
        assert!(!inside("en/../../x"));
        assert!(!inside("en\\..\\x"));
        assert!(!inside(""));
    }
}
