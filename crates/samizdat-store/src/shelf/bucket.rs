//! Where a bucket is and the key to it: `[store] blobs = "s3://…"` and
//! the credentials beside it, read and checked when the configuration
//! loads. Neither a URL nor an error ever holds a secret.

use std::fmt;
use std::path::Path;

use url::Url;

/// The configuration of a shelf in a bucket could not be used.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("{0}")]
    Url(String),
    #[error(
        "no credentials for the bucket: set SAMIZDAT_S3_ACCESS_KEY_ID and \
         SAMIZDAT_S3_SECRET_ACCESS_KEY, or give `[store] credentials` a file"
    )]
    NoCredentials,
    #[error("reading the credentials file {path}: {reason}")]
    CredentialsFile { path: String, reason: String },
}

/// Where a bucket is: `s3://BUCKET[/PREFIX]?endpoint=URL[,URL…][&region=R][&style=path|virtual]`.
///
/// Credentials never belong here: a URL is printed and logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketAt {
    pub bucket: String,
    /// Put before every blob's name; empty, or ends with `/`.
    pub prefix: String,
    pub endpoints: Vec<Url>,
    pub region: String,
    pub virtual_host: bool,
}

impl std::str::FromStr for BucketAt {
    type Err = S3Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| S3Error::Url(format!("the blob store {why}"));
        let url = Url::parse(text).map_err(|_| bad("is neither \"folder\" nor an s3:// URL"))?;
        if url.scheme() != "s3" {
            return Err(bad("is neither \"folder\" nor an s3:// URL"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "URL holds credentials: give them in the environment or a file, never in the URL",
            ));
        }
        let bucket = url
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| bad("URL names no bucket (s3://BUCKET?endpoint=…)"))?
            .to_string();
        let mut prefix = url.path().trim_matches('/').to_string();
        if !prefix.is_empty() {
            prefix.push('/');
        }
        let mut at = BucketAt {
            bucket,
            prefix,
            endpoints: Vec::new(),
            region: "garage".to_string(),
            virtual_host: false,
        };
        for (key, value) in url.query_pairs() {
            match &*key {
                "endpoint" => {
                    for one in value.split(',').filter(|e| !e.is_empty()) {
                        let endpoint = Url::parse(one)
                            .ok()
                            .filter(|e| matches!(e.scheme(), "http" | "https"))
                            .ok_or_else(|| bad("endpoint is not an http:// or https:// URL"))?;
                        if !endpoint.username().is_empty() || endpoint.password().is_some() {
                            return Err(bad("endpoint holds credentials"));
                        }
                        at.endpoints.push(endpoint);
                    }
                }
                "region" => at.region = value.into_owned(),
                "style" => {
                    at.virtual_host = match &*value {
                        "path" => false,
                        "virtual" => true,
                        _ => return Err(bad("style is neither \"path\" nor \"virtual\"")),
                    }
                }
                other => return Err(bad(&format!("URL has an unknown setting {other:?}"))),
            }
        }
        if at.endpoints.is_empty() {
            return Err(bad("URL gives no endpoint (?endpoint=http://…)"));
        }
        Ok(at)
    }
}

impl fmt::Display for BucketAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let endpoints: Vec<&str> = self
            .endpoints
            .iter()
            .map(|e| e.as_str().trim_end_matches('/'))
            .collect();
        write!(
            f,
            "s3://{}/{}?endpoint={}&region={}",
            self.bucket,
            self.prefix,
            endpoints.join(","),
            self.region
        )?;
        if self.virtual_host {
            f.write_str("&style=virtual")?;
        }
        Ok(())
    }
}

/// An access key for a bucket. Never printed.
#[derive(Clone)]
pub struct Credentials(pub(super) rusty_s3::Credentials);

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(…)")
    }
}

impl Credentials {
    pub fn new(key_id: &str, secret: &str) -> Credentials {
        Credentials(rusty_s3::Credentials::new(key_id, secret))
    }

    /// From `SAMIZDAT_S3_ACCESS_KEY_ID` and `SAMIZDAT_S3_SECRET_ACCESS_KEY`,
    /// or else the usual `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    pub fn from_env() -> Option<Credentials> {
        let pair = |id: &str, secret: &str| {
            let id = std::env::var(id).ok().filter(|v| !v.is_empty())?;
            let secret = std::env::var(secret).ok().filter(|v| !v.is_empty())?;
            Some(Credentials::new(&id, &secret))
        };
        pair("SAMIZDAT_S3_ACCESS_KEY_ID", "SAMIZDAT_S3_SECRET_ACCESS_KEY")
            .or_else(|| pair("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
    }

    /// From a file of `access_key_id = …` and `secret_access_key = …`
    /// lines (`#` starts a comment).
    pub fn from_file(path: &Path) -> Result<Credentials, S3Error> {
        let failed = |reason: String| S3Error::CredentialsFile {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
        let (mut id, mut secret) = (None, None);
        for (number, line) in text.lines().enumerate() {
            // A comment is a whole line: a secret may hold a `#`.
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // The line itself is never quoted back: it may hold the secret.
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| failed("a line is not `name = value`".to_string()))?;
            let value = value.trim().trim_matches('"').to_string();
            match key.trim() {
                "access_key_id" => id = Some(value),
                "secret_access_key" => secret = Some(value),
                // The database's, beside the bucket's (`StoreSettings`).
                "postgres_password" => {}
                // Not quoted back: a line without its `=` may be a secret.
                _ => {
                    return Err(failed(format!(
                        "line {} names none of access_key_id, secret_access_key, postgres_password",
                        number + 1
                    )));
                }
            }
        }
        match (id, secret) {
            (Some(id), Some(secret)) => Ok(Credentials::new(&id, &secret)),
            _ => Err(failed(
                "it needs both access_key_id and secret_access_key".to_string(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_url_is_read_and_shown_without_secrets() {
        let at: BucketAt =
            "s3://archive/blobs?endpoint=http://127.0.0.1:3900,http://127.0.0.1:3910&region=garage"
                .parse()
                .expect("parses");
        assert_eq!(at.bucket, "archive");
        assert_eq!(at.prefix, "blobs/");
        assert_eq!(at.endpoints.len(), 2);
        let again: BucketAt = at.to_string().parse().expect("round trip");
        assert_eq!(again, at);
        for bad in [
            "s3://key:secret@archive?endpoint=http://127.0.0.1:3900",
            "s3://archive",
            "s3://archive?endpoint=ftp://127.0.0.1",
            "s3://archive?endpoint=http://127.0.0.1:3900&colour=red",
            "http://127.0.0.1:3900/archive",
        ] {
            let said = bad.parse::<BucketAt>().expect_err(bad).to_string();
            assert!(!said.contains("secret"), "{said}");
        }
        let credentials = Credentials::new("GK0123", "a-secret");
        assert!(!format!("{credentials:?}").contains("a-secret"));
    }

    #[test]
    fn a_credentials_file_is_read_and_its_lines_never_quoted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s3");
        std::fs::write(
            &path,
            "# the archive's key\naccess_key_id = GK0123\nsecret_access_key = \"s3#cr3t\"\n",
        )
        .expect("write");
        let read = Credentials::from_file(&path).expect("reads");
        assert_eq!((read.0.key(), read.0.secret()), ("GK0123", "s3#cr3t"));
        for bad in [
            "access_key_id GK0123 s3cr3t\n",
            "secret_access_key s3cr3t=x\n",
        ] {
            std::fs::write(&path, bad).expect("write");
            let said = Credentials::from_file(&path)
                .expect_err("refused")
                .to_string();
            assert!(!said.contains("s3cr3t"), "{said}");
        }
    }
}
