//! The `samizdat` binary, run as a real process on a real data directory.

mod bad_input;
mod blossom;
mod bundles;
mod call;
mod cluster;
mod database;
mod doors;
mod durability;
mod faulty;
mod languages;
mod load;
mod nostr_sdk;
mod peers;
mod people;
mod proxies;
mod publish;
mod records;
mod relay;
mod relay_abuse;
mod sealed;
mod served;
mod store;
mod sync;
mod sync_faults;
mod vault;
mod web;
mod wipe;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use samizdat_core::nostr::prelude::{Event, Keys, Kind, Timestamp};
use samizdat_core::sign::Draft;

pub const PASSPHRASE: &str = "correct horse battery staple";

/// A data directory and a way to run `samizdat` on it.
pub struct Node {
    pub dir: tempfile::TempDir,
}

impl Node {
    /// An initialised data directory with one identity, "witness".
    pub fn start() -> Node {
        let node = Node {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        node.ok(&["init"]);
        node.ok(&["id", "new", "--name", "witness"]);
        node
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_samizdat"));
        cmd.arg("--data").arg(self.data()).args(args);
        cmd.env("SAMIZDAT_PASSPHRASE", PASSPHRASE)
            .env_remove("SAMIZDAT_DATA")
            .env("NO_COLOR", "1");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("samizdat runs")
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "samizdat {args:?} failed ({:?}):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs and expects exit code `code`; returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "samizdat {args:?}: stdout {}\nstderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stderr).expect("utf-8 output")
    }

    /// A testimony in Russian with the tour photo (cleaned on the way in).
    pub fn add_photo_testimony(&self, text: &str) {
        let photo = tour_photo();
        let photo = photo.to_str().expect("utf-8 path");
        self.ok(&["testimony", "add", "--lang", "ru", "--attach", photo, text]);
    }

    /// `--json` output as one value per line.
    pub fn json(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        self.ok(&full)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
            .collect()
    }
}

/// A plain HTTP client (with the TLS provider the node's own client uses).
pub fn http() -> reqwest::Client {
    samizdat_node::client::outbound::install_tls_provider();
    reqwest::Client::new()
}

/// The photo of the README tour: carries GPS, a camera make and serial.
pub fn tour_photo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tour/photo-with-gps.jpg")
}

/// An MP4 with a location, make and serial in every place the format has.
pub fn tour_video() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tour/video-with-location.mp4")
}

pub fn note(keys: &Keys, i: u64) -> Event {
    Draft {
        kind: Kind::TextNote,
        created_at: Timestamp::from_secs(1_650_000_000 + i),
        tags: vec![vec!["t".into(), "import".into()]],
        content: format!("imported note number {i}"),
    }
    .sign(keys)
    .expect("signs")
}

/// An event of any kind, signed by `keys`.
pub fn signed(keys: &Keys, kind: Kind, at: u64, tags: &[&[&str]], content: &str) -> Event {
    Draft {
        kind,
        created_at: Timestamp::from_secs(at),
        tags: tags
            .iter()
            .map(|t| t.iter().map(|s| s.to_string()).collect())
            .collect(),
        content: content.into(),
    }
    .sign(keys)
    .expect("signs")
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
