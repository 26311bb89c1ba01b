//! Where a node keeps what it stores: `[store]` in `samizdat.toml`.
//!
//! ```toml
//! [store]
//! events = "sqlite"          # or "postgres://USER@HOST:PORT/DATABASE"
//! blobs = "folder"           # or "s3://BUCKET?endpoint=URL&region=R"
//! credentials = "FILE"       # secrets, when not in the environment
//! ```
//!
//! Secrets never go in the URLs (they are logged and shown): the bucket's
//! keys and the database's password come from the environment or from
//! the credentials file.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::postgres::{PgError, Postgres, Target};
use crate::shelf::{BlobsAt, Credentials, Folder, S3, S3Error, Shelf};
use crate::sqlite::Sqlite;
use crate::{DB_FILE, EventStore, Store, StoreError, StoreOptions};

/// Where a node keeps what it stores (`[store]` in `samizdat.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// Where events are kept: `"sqlite"` (the data directory's
    /// `samizdat.db`, the default) or a PostgreSQL database,
    /// `"postgres://USER@HOST[:PORT]/DATABASE"`, that several front nodes
    /// may share.
    pub events: EventsAtText,
    /// Where whole blobs are kept: `"folder"` (the data directory's
    /// `blobs/`, the default) or a bucket,
    /// `"s3://BUCKET?endpoint=http://HOST:PORT[,…]&region=REGION"`.
    pub blobs: BlobsAtText,
    /// A file with the bucket's `access_key_id` and `secret_access_key`
    /// and the database's `postgres_password`; without it they come from
    /// `SAMIZDAT_S3_ACCESS_KEY_ID` and `SAMIZDAT_S3_SECRET_ACCESS_KEY` (or
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`) and
    /// `SAMIZDAT_POSTGRES_PASSWORD`.
    pub credentials: Option<PathBuf>,
}

/// [`BlobsAt`] as the configuration file writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BlobsAtText(pub BlobsAt);

impl TryFrom<String> for BlobsAtText {
    type Error = S3Error;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        BlobsAt::try_from(text).map(BlobsAtText)
    }
}

impl From<BlobsAtText> for String {
    fn from(at: BlobsAtText) -> String {
        at.0.to_string()
    }
}

/// Where a store keeps its events, as `[store] events` says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EventsAt {
    /// `samizdat.db` in the data directory.
    #[default]
    Sqlite,
    /// A PostgreSQL database, by its URL (without a password).
    Postgres(String),
}

impl std::str::FromStr for EventsAt {
    type Err = PgError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "" | "sqlite" => Ok(EventsAt::Sqlite),
            url => {
                // Checked now, so a bad setting fails when it is read.
                Target::parse(url, None)?;
                Ok(EventsAt::Postgres(url.to_string()))
            }
        }
    }
}

impl fmt::Display for EventsAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventsAt::Sqlite => f.write_str("sqlite"),
            EventsAt::Postgres(url) => f.write_str(url),
        }
    }
}

/// [`EventsAt`] as the configuration file writes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventsAtText(pub EventsAt);

impl TryFrom<String> for EventsAtText {
    type Error = PgError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse().map(EventsAtText)
    }
}

impl From<EventsAtText> for String {
    fn from(at: EventsAtText) -> String {
        at.0.to_string()
    }
}

/// Why a store could not be opened as its settings say.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("[store] blobs: {0}")]
    Blobs(#[from] S3Error),
    #[error("[store] events: {0}")]
    Events(#[from] PgError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StoreSettings {
    /// The shelf these settings name, for the data directory `data`.
    pub fn shelf(&self, data: &Path) -> Result<Arc<dyn Shelf>, S3Error> {
        match &self.blobs.0 {
            BlobsAt::Folder => Ok(Arc::new(Folder::new(data.join("blobs")))),
            BlobsAt::S3(at) => {
                let credentials = match &self.credentials {
                    Some(file) => Credentials::from_file(file)?,
                    None => Credentials::from_env().ok_or(S3Error::NoCredentials)?,
                };
                Ok(Arc::new(S3::new(at.clone(), credentials)?))
            }
        }
    }

    /// The database these settings name, if not the data directory's.
    pub fn database(&self) -> Result<Option<Target>, PgError> {
        let EventsAt::Postgres(url) = &self.events.0 else {
            return Ok(None);
        };
        let password = match &self.credentials {
            Some(file) => postgres_password(file)?,
            None => None,
        }
        .or_else(|| {
            std::env::var("SAMIZDAT_POSTGRES_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty())
        });
        Target::parse(url, password.as_deref()).map(Some)
    }

    /// Opens the store of the data directory `data` as these settings say.
    pub fn open(&self, data: &Path, options: StoreOptions) -> Result<Store, OpenError> {
        let shelf = self.shelf(data)?;
        let events = self.event_store(data, options)?;
        Ok(Store::with_events(data, events, shelf)?)
    }

    /// Opens the event store these settings name, for the data directory
    /// `data`.
    pub fn event_store(
        &self,
        data: &Path,
        options: StoreOptions,
    ) -> Result<Box<dyn EventStore>, OpenError> {
        Ok(match self.database()? {
            None => {
                std::fs::create_dir_all(data).map_err(|source| StoreError::Io {
                    path: data.to_path_buf(),
                    source,
                })?;
                Box::new(Sqlite::open(&data.join(DB_FILE), options)?)
            }
            Some(target) => Box::new(Postgres::open(target, options)?),
        })
    }
}

/// The `postgres_password = …` line of a credentials file, if any. Lines
/// are never quoted back: they may hold secrets.
fn postgres_password(path: &Path) -> Result<Option<String>, PgError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| PgError::Url(format!("credentials file {}: {e}", path.display())))?;
    Ok(text.lines().find_map(|line| {
        let (key, value) = line.trim().split_once('=')?;
        (key.trim() == "postgres_password").then(|| value.trim().trim_matches('"').to_string())
    }))
}

/// Whether `host` is this machine or on its private network: where a
/// store may be reached without TLS without a warning.
pub(crate) fn is_near(host: Option<url::Host<&str>>) -> bool {
    match host {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_private(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}
