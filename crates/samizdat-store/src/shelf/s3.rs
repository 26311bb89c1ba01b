//! A shelf in a bucket of an S3-compatible object store (Garage, MinIO,
//! Ceph, a cloud bucket).
//!
//! A blob is the object `<prefix><sha256 hex>`. Requests are signed with
//! SigV4 (`rusty-s3`) and sent by a blocking HTTP client (`ureq`); every
//! body sent carries its `Content-MD5`, so the store refuses bytes that
//! changed on the way. A blob up to [`SINGLE_PUT`] long is one `PUT`
//! streamed from its staged file (a multipart upload costs a store such as
//! Garage several times the time of one `PUT`); a longer one is a
//! multipart upload of [`PART`]-long parts. Memory stays bounded whatever
//! the size of a video. Reads stream, and ranges are asked of the store,
//! not cut here.
//!
//! Several endpoints may be given (the S3 ports of several nodes of one
//! cluster): a request that cannot reach one, or that one answers with a
//! server fault, goes to the next.

use std::fmt;
use std::io::{self, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use md5::{Digest as _, Md5};
use rusty_s3::{Bucket, S3Action, UrlStyle};
use samizdat_core::BlobHash;

use super::bucket::{BucketAt, Credentials, S3Error};
use super::http::{
    age_of, brief, content_md5, entry_name, error_code, expect_success, read_full, read_text,
    status_error,
};
use super::{Shelf, ShelfEntry, Stat};

/// Bytes of one part of a multipart upload.
pub const PART: usize = 16 << 20;

/// The most one `PUT` sends: S3's own limit.
pub const SINGLE_PUT: u64 = 5 << 30;

/// How long a signed request stays good.
const SIGNED_FOR: Duration = Duration::from_secs(3_600);

/// Rounds over the endpoints before a request is given up.
const ROUNDS: usize = 3;

/// A shelf in a bucket.
pub struct S3 {
    at: BucketAt,
    /// One per endpoint, in the order given.
    buckets: Vec<Bucket>,
    credentials: rusty_s3::Credentials,
    agent: ureq::Agent,
    /// The endpoint that answered last: tried first.
    preferred: AtomicUsize,
    single_put: u64,
    part: usize,
}

impl fmt::Debug for S3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S3({})", self.at)
    }
}

impl S3 {
    pub fn new(at: BucketAt, credentials: Credentials) -> Result<S3, S3Error> {
        let style = if at.virtual_host {
            UrlStyle::VirtualHost
        } else {
            UrlStyle::Path
        };
        let buckets = at
            .endpoints
            .iter()
            .map(|e| {
                Bucket::new(e.clone(), style, at.bucket.clone(), at.region.clone())
                    .map_err(|e| S3Error::Url(format!("the blob store's bucket: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for endpoint in &at.endpoints {
            if endpoint.scheme() == "http" && !crate::settings::is_near(endpoint.host()) {
                tracing::warn!(
                    %endpoint,
                    "the object store is reached over plain http beyond this machine and its \
                     private network: whoever is on the path can read and swap blobs; use https"
                );
            }
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // The archive's own store, reached directly; a redirect
            // elsewhere is not followed.
            .proxy(None)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .timeout_per_write(Some(Duration::from_secs(60)))
            .build()
            .into();
        Ok(S3 {
            at,
            buckets,
            credentials: credentials.0,
            agent,
            preferred: AtomicUsize::new(0),
            single_put: SINGLE_PUT,
            part: PART,
        })
    }

    /// The same shelf, sending blobs longer than `single_put` in parts of
    /// `part` bytes (at least 5 MiB, S3's least but for the last part).
    pub fn with_parts(mut self, single_put: u64, part: usize) -> S3 {
        self.single_put = single_put;
        self.part = part.max(5 << 20);
        self
    }

    fn key(&self, hash: &BlobHash) -> String {
        format!("{}{}", self.at.prefix, hash.to_hex())
    }

    /// Sends one request, to each endpoint in turn until one answers with
    /// something other than a server fault. `send` makes and sends the
    /// request for one bucket (one endpoint).
    fn call(
        &self,
        what: &str,
        send: impl Fn(&Bucket) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> io::Result<ureq::http::Response<ureq::Body>> {
        let count = self.buckets.len();
        let first = self.preferred.load(Ordering::Relaxed) % count;
        let mut last = None;
        for attempt in 0..count * ROUNDS {
            if attempt > 0 && attempt % count == 0 {
                std::thread::sleep(Duration::from_millis(250 * (attempt / count) as u64));
            }
            let index = (first + attempt) % count;
            match send(&self.buckets[index]) {
                Ok(response) if response.status().is_server_error() => {
                    last = Some(status_error(what, response));
                }
                Ok(response) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(response);
                }
                Err(e) => {
                    tracing::debug!(endpoint = %self.at.endpoints[index], error = %e, "{what}");
                    last = Some(io::Error::other(format!("{what}: {e}")));
                }
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other(format!("{what}: no endpoint"))))
    }

    /// One `PUT` of the whole file, streamed from it (opened anew for
    /// each endpoint tried).
    fn put_whole(&self, key: &str, file: &Path) -> io::Result<()> {
        let mut hasher = Md5::new();
        io::copy(&mut std::fs::File::open(file)?, &mut hasher)?;
        let md5 = base64::engine::general_purpose::STANDARD.encode(hasher.finalize());
        let response = self.call("storing a blob in the bucket", |bucket| {
            let url = bucket
                .put_object(Some(&self.credentials), key)
                .sign(SIGNED_FOR);
            let body = std::fs::File::open(file)?;
            self.agent
                .put(url.as_str())
                .header("content-md5", &md5)
                .send(&body)
        })?;
        expect_success("storing a blob in the bucket", response).map(drop)
    }

    fn put_parts(&self, key: &str, file: &mut std::fs::File) -> io::Result<()> {
        let what = "starting a multipart upload";
        let response = self.call(what, |bucket| {
            let url = bucket
                .create_multipart_upload(Some(&self.credentials), key)
                .sign(SIGNED_FOR);
            brief(self.agent.post(url.as_str())).send_empty()
        })?;
        let body = read_text(expect_success(what, response)?)?;
        let created = rusty_s3::actions::CreateMultipartUpload::parse_response(&body)
            .map_err(|e| io::Error::other(format!("{what}: {e}")))?;
        let upload = created.upload_id().to_string();
        match self.send_parts(key, &upload, file) {
            Ok(()) => Ok(()),
            Err(e) => {
                // Best effort: a store keeps the parts of an upload never
                // finished until it is aborted.
                let _ = self.call("aborting a multipart upload", |bucket| {
                    let url = bucket
                        .abort_multipart_upload(Some(&self.credentials), key, &upload)
                        .sign(SIGNED_FOR);
                    brief(self.agent.delete(url.as_str())).call()
                });
                Err(e)
            }
        }
    }

    fn send_parts(&self, key: &str, upload: &str, file: &mut std::fs::File) -> io::Result<()> {
        let mut etags = Vec::new();
        let mut part = vec![0u8; self.part];
        loop {
            let n = read_full(file, &mut part)?;
            if n == 0 && !etags.is_empty() {
                break;
            }
            let number = u16::try_from(etags.len() + 1)
                .map_err(|_| io::Error::other("a blob too large for a multipart upload"))?;
            let bytes = &part[..n];
            let md5 = content_md5(bytes);
            let what = "sending a part of a blob to the bucket";
            let response = self.call(what, |bucket| {
                let url = bucket
                    .upload_part(Some(&self.credentials), key, number, upload)
                    .sign(SIGNED_FOR);
                self.agent
                    .put(url.as_str())
                    .header("content-md5", &md5)
                    .send(bytes)
            })?;
            let response = expect_success(what, response)?;
            let etag = response
                .headers()
                .get("etag")
                .and_then(|e| e.to_str().ok())
                .ok_or_else(|| io::Error::other(format!("{what}: the answer has no ETag")))?
                .to_string();
            etags.push(etag);
            if n < self.part {
                break;
            }
        }
        let what = "finishing a multipart upload";
        let response = self.call(what, |bucket| {
            let action = bucket.complete_multipart_upload(
                Some(&self.credentials),
                key,
                upload,
                etags.iter().map(String::as_str),
            );
            let url = action.sign(SIGNED_FOR);
            brief(self.agent.post(url.as_str())).send(action.body())
        })?;
        // A store may answer 200 and then tell of a fault in the body.
        let body = read_text(expect_success(what, response)?)?;
        if body.contains("<Error>") {
            return Err(io::Error::other(format!("{what}: {}", error_code(&body))));
        }
        Ok(())
    }

    fn head(&self, key: &str) -> io::Result<Option<ureq::http::Response<ureq::Body>>> {
        let what = "asking the bucket for a blob";
        let response = self.call(what, |bucket| {
            let url = bucket
                .head_object(Some(&self.credentials), key)
                .sign(SIGNED_FOR);
            brief(self.agent.head(url.as_str())).call()
        })?;
        if response.status() == 404 {
            return Ok(None);
        }
        expect_success(what, response).map(Some)
    }
}

impl Shelf for S3 {
    fn describe(&self) -> String {
        format!("the bucket {}", self.at)
    }

    fn stat(&self, hash: &BlobHash) -> io::Result<Option<Stat>> {
        let Some(response) = self.head(&self.key(hash))? else {
            return Ok(None);
        };
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let size = header("content-length")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| io::Error::other("the bucket gave no size for a blob"))?;
        let age = header("last-modified").and_then(|v| age_of(&v));
        Ok(Some(Stat { size, age }))
    }

    fn put_file(&self, file: &Path, hash: &BlobHash, size: u64) -> io::Result<()> {
        let key = self.key(hash);
        if size <= self.single_put {
            self.put_whole(&key, file)?;
        } else {
            self.put_parts(&key, &mut std::fs::File::open(file)?)?;
        }
        match std::fs::remove_file(file) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn open(&self, hash: &BlobHash, range: Option<Range<u64>>) -> io::Result<Box<dyn Read + Send>> {
        let key = self.key(hash);
        let wanted = match &range {
            Some(r) if r.start >= r.end => {
                // Nothing to read, but the blob must be there.
                return match self.head(&key)? {
                    Some(_) => Ok(Box::new(io::empty())),
                    None => Err(io::ErrorKind::NotFound.into()),
                };
            }
            Some(r) => Some(format!("bytes={}-{}", r.start, r.end - 1)),
            None => None,
        };
        let what = "reading a blob from the bucket";
        let response = self.call(what, |bucket| {
            let url = bucket
                .get_object(Some(&self.credentials), &key)
                .sign(SIGNED_FOR);
            let request = self.agent.get(url.as_str());
            match &wanted {
                Some(bytes) => request.header("range", bytes).call(),
                None => request.call(),
            }
        })?;
        if response.status() == 404 {
            return Err(io::ErrorKind::NotFound.into());
        }
        let ranged = response.status() == 206;
        if let (Some(r), true) = (&range, ranged) {
            // The bytes sent must be the ones asked for.
            let said = response
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let starts = said
                .strip_prefix("bytes ")
                .and_then(|rest| rest.split_once('-'))
                .and_then(|(start, _)| start.parse::<u64>().ok());
            if starts != Some(r.start) {
                return Err(io::Error::other(format!(
                    "{what}: the bucket sent other bytes than the range asked for"
                )));
            }
        }
        let mut reader = expect_success(what, response)?.into_body().into_reader();
        match range {
            // A store that ignored the range sent it all: cut it here.
            Some(r) if !ranged => {
                io::copy(&mut (&mut reader).take(r.start), &mut io::sink())?;
                Ok(Box::new(reader.take(r.end - r.start)))
            }
            // Never more than asked, whatever the store sends.
            Some(r) => Ok(Box::new(reader.take(r.end - r.start))),
            None => Ok(Box::new(reader)),
        }
    }

    fn touch(&self, hash: &BlobHash) -> io::Result<()> {
        let key = self.key(hash);
        let source = format!("/{}/{}", self.at.bucket, key);
        let what = "marking a blob in the bucket as stored again";
        // A copy of the object onto itself (CopyObject) with its metadata
        // replaced: the store gives it a new date.
        let response = self.call(what, |bucket| {
            let mut action = bucket.put_object(Some(&self.credentials), &key);
            action.headers_mut().insert("x-amz-copy-source", &source);
            action
                .headers_mut()
                .insert("x-amz-metadata-directive", "REPLACE");
            let url = action.sign(SIGNED_FOR);
            brief(self.agent.put(url.as_str()))
                .header("x-amz-copy-source", &source)
                .header("x-amz-metadata-directive", "REPLACE")
                .send_empty()
        })?;
        if response.status() == 404 {
            return Err(io::ErrorKind::NotFound.into());
        }
        let body = read_text(expect_success(what, response)?)?;
        if body.contains("<Error>") {
            return Err(io::Error::other(format!("{what}: {}", error_code(&body))));
        }
        Ok(())
    }

    fn remove(&self, hash: &BlobHash) -> io::Result<()> {
        let key = self.key(hash);
        let what = "deleting a blob from the bucket";
        let response = self.call(what, |bucket| {
            let url = bucket
                .delete_object(Some(&self.credentials), &key)
                .sign(SIGNED_FOR);
            brief(self.agent.delete(url.as_str())).call()
        })?;
        if response.status() == 404 {
            return Ok(());
        }
        expect_success(what, response).map(drop)
    }

    /// Asked and then deleted: a bucket has no rename to move the blob
    /// aside first. Within one node the blob store's lock keeps a `put`
    /// of the same bytes from running between the two; a `put` on another
    /// front node over the same bucket could (a few milliseconds, after a
    /// grace of hours), so run the collection of unneeded blobs on one
    /// front node only.
    fn remove_if_old(&self, hash: &BlobHash, grace: Duration) -> io::Result<Option<u64>> {
        let Some(stat) = self.stat(hash)? else {
            return Ok(None);
        };
        if stat.age.is_none_or(|a| a < grace) {
            return Ok(None);
        }
        self.remove(hash)?;
        Ok(Some(stat.size))
    }

    fn list(&self) -> io::Result<Vec<ShelfEntry>> {
        let mut out: Vec<ShelfEntry> = self.objects()?.into_iter().map(|(e, _)| e).collect();
        out.sort_by_key(entry_name);
        Ok(out)
    }

    /// From the listing's own dates: one request per thousand blobs, not
    /// one per blob.
    fn list_old(&self, grace: Duration) -> io::Result<Vec<BlobHash>> {
        let now = jiff::Timestamp::now();
        let mut out: Vec<BlobHash> = self
            .objects()?
            .into_iter()
            .filter_map(|(entry, modified)| match entry {
                ShelfEntry::Blob(hash) => Some((hash, modified?)),
                ShelfEntry::Stray(_) => None,
            })
            .filter(|(_, modified)| {
                modified
                    .parse::<jiff::Timestamp>()
                    .ok()
                    .and_then(|then| Duration::try_from(now.duration_since(then)).ok())
                    .is_some_and(|age| age >= grace)
            })
            .map(|(hash, _)| hash)
            .collect();
        out.sort_by_key(BlobHash::to_hex);
        Ok(out)
    }
}

impl S3 {
    /// Every object in this store's folder of the bucket, with the date
    /// the listing gives it.
    fn objects(&self) -> io::Result<Vec<(ShelfEntry, Option<String>)>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        // Bounded: a million pages of a thousand names.
        for _ in 0..1_000_000 {
            let what = "listing the bucket";
            let response = self.call(what, |bucket| {
                let mut action = bucket.list_objects_v2(Some(&self.credentials));
                // Only this store's folder of the bucket, not the folders
                // within it (other stores may share the bucket).
                action.with_delimiter("/");
                if !self.at.prefix.is_empty() {
                    action.with_prefix(self.at.prefix.as_str());
                }
                if let Some(token) = &token {
                    action.with_continuation_token(token.as_str());
                }
                let url = action.sign(SIGNED_FOR);
                brief(self.agent.get(url.as_str())).call()
            })?;
            let body = read_text(expect_success(what, response)?)?;
            let page = rusty_s3::actions::ListObjectsV2::parse_response(&body)
                .map_err(|e| io::Error::other(format!("{what}: {e}")))?;
            for object in page.contents {
                let name = object.key.strip_prefix(&self.at.prefix).unwrap_or_default();
                let entry = match name.parse::<BlobHash>() {
                    Ok(hash) if hash.to_hex() == name => ShelfEntry::Blob(hash),
                    _ => ShelfEntry::Stray(PathBuf::from(&object.key)),
                };
                out.push((entry, object.last_modified));
            }
            match page.next_continuation_token {
                // A store that sends the same page again would list forever.
                Some(next) if token.as_deref() == Some(next.as_str()) => {
                    return Err(io::Error::other(format!(
                        "{what}: the bucket sent the same page twice"
                    )));
                }
                Some(next) => token = Some(next),
                None => break,
            }
        }
        Ok(out)
    }
}
