//! `samizdat serve` as a Blossom server, over plain HTTP per the BUD texts.

use base64::Engine;
use reqwest::StatusCode;
use samizdat_core::nostr::prelude::{Keys, Kind, Timestamp};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::served::Served;
use crate::{Node, signed, tour_photo, tour_video};

pub(crate) fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `Authorization: Nostr <base64 kind 24242>` for `verb`, naming `hashes`.
pub(crate) fn authorization(keys: &Keys, verb: &str, hashes: &[&str]) -> String {
    let now = Timestamp::now().as_secs();
    let expiration = (now + 600).to_string();
    let t = ["t", verb];
    let e = ["expiration", expiration.as_str()];
    let x: Vec<[&str; 2]> = hashes.iter().map(|h| ["x", *h]).collect();
    let mut tags: Vec<&[&str]> = vec![&t[..], &e[..]];
    tags.extend(x.iter().map(|t| &t[..]));
    let event = signed(keys, Kind::Custom(24242), now - 1, &tags, "samizdat test");
    let encoded = base64::engine::general_purpose::STANDARD.encode(event.as_json());
    format!("Nostr {encoded}")
}

/// Bytes of no format, uniform as an encrypted blob's: what the admission
/// rule takes as a sealed file.
pub(crate) fn opaque(n: usize) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let seed = n.to_le_bytes();
    (0..n.div_ceil(32) as u64)
        .flat_map(|i| {
            Sha256::new()
                .chain_update(seed)
                .chain_update(i.to_le_bytes())
                .finalize()
        })
        .take(n)
        .collect()
}

fn reason(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-reason")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_download_ranges_list_and_delete() {
    upload_download_ranges_list_and_delete_on("").await;
}

/// The bucket `SAMIZDAT_TEST_S3` names (with its key in the
/// environment, which the node inherits), as `[store]` settings; `None`,
/// saying so, when no bucket is given (`scripts/garage` starts one).
pub(crate) fn bucket_settings() -> Option<String> {
    match std::env::var("SAMIZDAT_TEST_S3") {
        Ok(url) if !url.is_empty() => {
            // A folder of the bucket no other test uses.
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let (bucket, query) = url.split_once('?').expect("an endpoint after ?");
            let bucket = bucket.trim_end_matches('/');
            Some(format!(
                "[store]\nblobs = \"{bucket}/node-{nanos}-{}?{query}\"\n",
                std::process::id()
            ))
        }
        _ => {
            assert!(
                std::env::var("SAMIZDAT_TEST_S3_REQUIRED").is_err(),
                "SAMIZDAT_TEST_S3_REQUIRED is set but SAMIZDAT_TEST_S3 names no bucket"
            );
            eprintln!("no S3 bucket (SAMIZDAT_TEST_S3): the bucket's case is skipped");
            None
        }
    }
}

/// Blossom over blobs kept in a bucket behaves as over the local folder,
/// and the data directory's folder holds none of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_download_ranges_list_and_delete_in_a_bucket() {
    let Some(settings) = bucket_settings() else {
        return;
    };
    let node = upload_download_ranges_list_and_delete_on(&settings).await;
    // The data directory's own settings, for the commands beside `serve`.
    std::fs::write(node.data().join("samizdat.toml"), &settings).expect("settings");
    node.add_photo_testimony("seen from the bridge");
    let report = crate::store::verified(&node);
    assert!(
        report.contains(" 0 corrupt, 0 referenced blobs missing"),
        "{report}"
    );
    let local: Vec<_> = std::fs::read_dir(node.data().join("blobs"))
        .expect("blobs")
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != "tmp")
        .collect();
    assert!(local.is_empty(), "blobs left in the folder: {local:?}");
}

async fn upload_download_ranges_list_and_delete_on(store: &str) -> Node {
    let node = Node::start();
    let served = Served::start(
        &node,
        &format!("{store}[blossom]\nmax_upload_bytes = 1000000\n"),
    );
    let base = format!("http://{}", served.addr);
    let http = crate::http();
    let keys = Keys::generate();

    let blob = opaque(10_000);
    let hash = sha256(&blob);
    let response = http
        .put(format!("{base}/upload"))
        .header("authorization", authorization(&keys, "upload", &[&hash]))
        .body(blob.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::OK, "{}", reason(&response));
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "*",
        "CORS on every answer"
    );
    let descriptor: Value = response.json().await.expect("descriptor");
    assert_eq!(descriptor["sha256"], hash.as_str());
    assert_eq!(descriptor["size"], 10_000);
    assert!(descriptor["uploaded"].as_u64().is_some());
    let url = descriptor["url"].as_str().expect("url").to_string();

    // BUD-01: the exact bytes, with or without an extension, and HEAD.
    for address in [url.clone(), format!("{base}/{hash}.bin")] {
        let got = http.get(&address).send().await.expect("get");
        assert_eq!(got.status(), StatusCode::OK);
        assert_eq!(got.bytes().await.expect("body").as_ref(), blob.as_slice());
    }
    let head = http.head(&url).send().await.expect("head");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "10000");
    assert_eq!(head.headers()["accept-ranges"], "bytes");
    let missing = sha256(b"nothing like this was uploaded");
    let head = http
        .head(format!("{base}/{missing}"))
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), StatusCode::NOT_FOUND);

    // Ranges: resuming a cut download.
    let part = http
        .get(&url)
        .header("range", "bytes=9000-")
        .send()
        .await
        .expect("range");
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 9000-9999/10000");
    assert_eq!(part.bytes().await.expect("body").as_ref(), &blob[9000..]);
    let past = http
        .get(&url)
        .header("range", "bytes=20000-")
        .send()
        .await
        .expect("range");
    assert_eq!(past.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(past.headers()["content-range"], "bytes */10000");

    // BUD-12 list.
    let pubkey = keys.public_key().to_hex();
    let list: Value = http
        .get(format!("{base}/list/{pubkey}"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["sha256"], hash.as_str());

    // BUD-12 delete: only by the uploader, then gone.
    let stranger = Keys::generate();
    let refused = http
        .delete(&url)
        .header(
            "authorization",
            authorization(&stranger, "delete", &[&hash]),
        )
        .send()
        .await
        .expect("delete");
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let deleted = http
        .delete(&url)
        .header("authorization", authorization(&keys, "delete", &[&hash]))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::OK, "{}", reason(&deleted));
    let gone = http.get(&url).send().await.expect("get");
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    drop(served);
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_that_could_expose_a_witness_are_refused() {
    let node = Node::start();
    let served = Served::start(&node, "[blossom]\nmax_upload_bytes = 1000000\n");
    let base = format!("http://{}", served.addr);
    let http = crate::http();
    let keys = Keys::generate();
    let put = |bytes: Vec<u8>, auth: Option<String>| {
        let mut request = http.put(format!("{base}/upload")).body(bytes);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };

    // A photo with GPS coordinates and a camera serial: refused, and told why.
    let photo = std::fs::read(tour_photo()).expect("tour photo");
    let photo_hash = sha256(&photo);
    let response = put(
        photo.clone(),
        Some(authorization(&keys, "upload", &[&photo_hash])),
    )
    .await
    .expect("upload");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let why = reason(&response);
    assert!(why.contains("metadata") && why.contains("GPS"), "{why}");
    let body: Value = response.json().await.expect("json error");
    assert!(body["message"].as_str().unwrap_or("").contains("metadata"));
    let stored = http
        .head(format!("{base}/{photo_hash}"))
        .send()
        .await
        .expect("head");
    assert_eq!(stored.status(), StatusCode::NOT_FOUND, "nothing was stored");

    // The same photo, cleaned, is stored byte for byte.
    let clean = samizdat_media::strip(&photo).expect("strips").into_bytes();
    let clean_hash = sha256(&clean);
    let response = put(
        clean.clone(),
        Some(authorization(&keys, "upload", &[&clean_hash])),
    )
    .await
    .expect("upload");
    assert_eq!(response.status(), StatusCode::OK, "{}", reason(&response));
    let got = http
        .get(format!("{base}/{clean_hash}.jpg"))
        .send()
        .await
        .expect("get");
    assert_eq!(got.headers()["content-type"], "image/jpeg");
    assert_eq!(got.bytes().await.expect("body").as_ref(), clean.as_slice());

    // An AVIF image the node cannot clean yet, a broken MP4, a corrupt JPEG.
    for (header, why) in [
        (&b"\0\0\0\x18ftypavif\0\0\0\0mif1avif"[..], "AVIF"),
        (&b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom"[..], "corrupt MP4"),
    ] {
        let mut file = header.to_vec();
        file.extend(opaque(500));
        let h = sha256(&file);
        let response = put(file, Some(authorization(&keys, "upload", &[&h])))
            .await
            .expect("upload");
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(reason(&response).contains(why), "{}", reason(&response));
    }
    let corrupt = clean[..clean.len() / 2].to_vec();
    let h = sha256(&corrupt);
    let response = put(corrupt, Some(authorization(&keys, "upload", &[&h])))
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        reason(&response).contains("corrupt"),
        "{}",
        reason(&response)
    );

    // Authorization: missing, for another blob, for another verb, too big.
    let blob = opaque(100);
    let h = sha256(&blob);
    let response = put(blob.clone(), None).await.expect("upload");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let other = sha256(b"other");
    let response = put(
        blob.clone(),
        Some(authorization(&keys, "upload", &[&other])),
    )
    .await
    .expect("upload");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = put(blob.clone(), Some(authorization(&keys, "delete", &[&h])))
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = put(
        "Nostr bm90IGFuIGV2ZW50".into(),
        Some("Nostr bm90IGFuIGV2ZW50".into()),
    )
    .await
    .expect("upload");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let big = opaque(1_000_001);
    let h = sha256(&big);
    // The node answers from the declared length, without reading the body,
    // and closes: a client still sending may see its 413 or only the
    // closed connection. Either way nothing is stored.
    match put(big, Some(authorization(&keys, "upload", &[&h]))).await {
        Ok(response) => assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => assert!(e.is_request(), "the upload failed otherwise: {e}"),
    }
    let stored = crate::http()
        .head(format!("{base}/{h}"))
        .send()
        .await
        .expect("head");
    assert_eq!(stored.status(), StatusCode::NOT_FOUND, "nothing was stored");

    // BUD-06 preflight, on fresh connections: the node answered the
    // oversized upload without reading its body and closes that
    // connection, which a pooled client could otherwise pick up again.
    let fresh = crate::http();
    let preflight = |headers: Vec<(&'static str, String)>| {
        let mut request = fresh.head(format!("{base}/upload"));
        for (k, v) in headers {
            request = request.header(k, v);
        }
        request.send()
    };
    let auth = authorization(&keys, "upload", &[&h]);
    let ok = preflight(vec![
        ("x-sha-256", h.clone()),
        ("x-content-length", "1000".into()),
        ("x-content-type", "image/jpeg".into()),
        ("authorization", auth.clone()),
    ])
    .await
    .expect("head");
    assert_eq!(ok.status(), StatusCode::OK);
    let big = preflight(vec![("x-content-length", "5000000".into())])
        .await
        .expect("head");
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let video = preflight(vec![("x-content-type", "image/tiff".into())])
        .await
        .expect("head");
    assert_eq!(video.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Hostile addresses.
    for path in [
        "/../samizdat.db",
        "/%2e%2e%2fsamizdat.db",
        "/abc",
        "/list/xyz",
        "/list/0123",
    ] {
        let response = http.get(format!("{base}{path}")).send().await.expect("get");
        assert!(
            response.status().is_client_error(),
            "{path}: {}",
            response.status()
        );
    }
}

/// A video attached on the command line is stored without its location and
/// served as MP4; the raw file is refused over Blossom, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_is_stored_and_served_without_its_location() {
    let node = Node::start();
    let raw = std::fs::read(tour_video()).expect("tour video");
    node.ok(&[
        "testimony",
        "add",
        "--lang",
        "en",
        "--attach",
        tour_video().to_str().expect("utf-8 path"),
        "Video from the square",
    ]);
    let clean = samizdat_media::strip(&raw).expect("strips").into_bytes();
    let served = Served::start(&node, "");
    let base = format!("http://{}", served.addr);
    let http = crate::http();
    let got = http
        .get(format!("{base}/{}.mp4", sha256(&clean)))
        .send()
        .await
        .expect("get");
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.headers()["content-type"], "video/mp4");
    let body = got.bytes().await.expect("body");
    assert_eq!(body.as_ref(), clean.as_slice());
    assert!(!body.windows(8).any(|w| w == b"+43.2389"));

    let keys = Keys::generate();
    let h = sha256(&raw);
    let response = http
        .put(format!("{base}/upload"))
        .header("authorization", authorization(&keys, "upload", &[&h]))
        .body(raw)
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        reason(&response).contains("user data"),
        "{}",
        reason(&response)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_a_record_needs_outlives_its_uploaders_delete() {
    let node = Node::start();
    // The CLI stores the cleaned photo and a testimony that references it.
    node.add_photo_testimony("Фото с площади");
    let served = Served::start(&node, "");
    let base = format!("http://{}", served.addr);
    let http = crate::http();
    let keys = Keys::generate();
    let clean = samizdat_media::strip(&std::fs::read(tour_photo()).expect("photo"))
        .expect("strips")
        .into_bytes();
    let hash = sha256(&clean);
    let response = http
        .put(format!("{base}/upload"))
        .header("authorization", authorization(&keys, "upload", &[&hash]))
        .body(clean.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::OK, "{}", reason(&response));
    let response = http
        .delete(format!("{base}/{hash}"))
        .header("authorization", authorization(&keys, "delete", &[&hash]))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status(), StatusCode::OK);
    let message: Value = response.json().await.expect("json");
    assert!(
        message["message"].as_str().unwrap_or("").contains("stay"),
        "{message}"
    );
    let got = http
        .get(format!("{base}/{hash}"))
        .send()
        .await
        .expect("get");
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.expect("body").as_ref(), clean.as_slice());
}

/// A bare HTTP/1.1 server on loopback that answers every request with
/// `body`: a source for `PUT /mirror` that is not a Blossom server.
pub(crate) async fn static_source(
    body: Vec<u8>,
    content_type: &'static str,
) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        // Ends with the test's runtime; serves a handful of requests.
        for _ in 0..16 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: {content_type}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
            let _ = socket.write_all(&body).await;
            let _ = socket.shutdown().await;
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_copies_checks_and_refuses() {
    let source_node = Node::start();
    let source = Served::start(&source_node, "");
    let node = Node::start();
    let served = Served::start(
        &node,
        "[blossom]\nmax_upload_bytes = 1000000\nmirror = true\nmirror_private_addresses = true\n",
    );
    let base = format!("http://{}", served.addr);
    let http = crate::http();
    let keys = Keys::generate();
    let mirror = |url: String, auth: Option<String>| {
        let mut request = http
            .put(format!("{base}/mirror"))
            .json(&serde_json::json!({ "url": url }));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };

    // A blob on another server, copied with the upload's authorization.
    let blob = opaque(20_000);
    let hash = sha256(&blob);
    let auth = authorization(&keys, "upload", &[&hash]);
    let uploaded: Value = http
        .put(format!("http://{}/upload", source.addr))
        .header("authorization", auth.clone())
        .body(blob.clone())
        .send()
        .await
        .expect("upload to the source")
        .json()
        .await
        .expect("descriptor");
    let url = uploaded["url"].as_str().expect("url").to_string();
    let response = mirror(url.clone(), Some(auth.clone()))
        .await
        .expect("mirror");
    assert_eq!(response.status(), StatusCode::OK, "{}", reason(&response));
    let descriptor: Value = response.json().await.expect("descriptor");
    assert_eq!(descriptor["sha256"], hash.as_str());
    assert_eq!(descriptor["size"], 20_000);
    let got = http
        .get(format!("{base}/{hash}"))
        .send()
        .await
        .expect("get");
    assert_eq!(got.bytes().await.expect("body").as_ref(), blob.as_slice());
    let list: Value = http
        .get(format!("{base}/list/{}", keys.public_key().to_hex()))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");

    // The blob at the URL is not the one the authorization names.
    let other = opaque(3_000);
    let other_hash = sha256(&other);
    let upload = http
        .put(format!("http://{}/upload", source.addr))
        .header(
            "authorization",
            authorization(&keys, "upload", &[&other_hash]),
        )
        .body(other.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(upload.status(), StatusCode::OK);
    let other_url = format!("http://{}/{other_hash}", source.addr);
    let response = mirror(other_url.clone(), Some(auth.clone()))
        .await
        .expect("mirror");
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        reason(&response).contains(&other_hash),
        "{}",
        reason(&response)
    );
    let head = http
        .head(format!("{base}/{other_hash}"))
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), StatusCode::NOT_FOUND, "nothing stored");

    // Authorization: none, or one that names no blob.
    let response = mirror(other_url.clone(), None).await.expect("mirror");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = mirror(other_url, Some(authorization(&keys, "upload", &[])))
        .await
        .expect("mirror");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(reason(&response).contains("x tag"), "{}", reason(&response));

    // A body that is not the JSON BUD-04 asks for, and URLs that are not http.
    let response = http
        .put(format!("{base}/mirror"))
        .header("authorization", auth.clone())
        .body("url=http://example.org/")
        .send()
        .await
        .expect("mirror");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(reason(&response).contains("JSON"), "{}", reason(&response));
    for bad in ["file:///etc/passwd", "not a url", "gopher://127.0.0.1/"] {
        let response = mirror(bad.into(), Some(auth.clone()))
            .await
            .expect("mirror");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    // The source has no such blob.
    let missing = sha256(b"not on the source");
    let response = mirror(
        format!("http://{}/{missing}", source.addr),
        Some(authorization(&keys, "upload", &[&missing])),
    )
    .await
    .expect("mirror");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(reason(&response).contains("404"), "{}", reason(&response));

    // A photo that still carries GPS, from a plain web server: refused as
    // an upload would be.
    let photo = std::fs::read(tour_photo()).expect("tour photo");
    let photo_hash = sha256(&photo);
    let photo_source = static_source(photo, "image/jpeg").await;
    let response = mirror(
        format!("http://{photo_source}/photo.jpg"),
        Some(authorization(&keys, "upload", &[&photo_hash])),
    )
    .await
    .expect("mirror");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reason(&response).contains("GPS"), "{}", reason(&response));
    let head = http
        .head(format!("{base}/{photo_hash}"))
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), StatusCode::NOT_FOUND, "nothing stored");

    // Larger than the node takes.
    let big = opaque(1_500_000);
    let big_hash = sha256(&big);
    let big_source = static_source(big, "application/octet-stream").await;
    let response = mirror(
        format!("http://{big_source}/big"),
        Some(authorization(&keys, "upload", &[&big_hash])),
    )
    .await
    .expect("mirror");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // By default a node will not fetch from loopback or private networks,
    // named by address or by a name that resolves there.
    let guarded_node = Node::start();
    let guarded = Served::start(&guarded_node, "[blossom]\nmirror = true\n");
    for target in [url.clone(), url.replace("127.0.0.1", "localhost")] {
        let response = http
            .put(format!("http://{}/mirror", guarded.addr))
            .header("authorization", auth.clone())
            .json(&serde_json::json!({ "url": target }))
            .send()
            .await
            .expect("mirror");
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{target}");
        let why = reason(&response);
        assert!(why.contains("private") && why.contains("loopback"), "{why}");
    }
    let head = http
        .head(format!("http://{}/{hash}", guarded.addr))
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), StatusCode::NOT_FOUND);

    // And mirroring is off unless the operator turns it on.
    let off_node = Node::start();
    let off = Served::start(&off_node, "");
    let response = http
        .put(format!("http://{}/mirror", off.addr))
        .header("authorization", auth)
        .json(&serde_json::json!({ "url": url }))
        .send()
        .await
        .expect("mirror");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(reason(&response).contains("turned off"));
}

/// Sends the head of an upload of `blob` (whose length it declares in
/// full) over a raw connection, then drops the connection: the link cut
/// mid-blob.
async fn cut_upload(addr: std::net::SocketAddr, auth: &str, hash: &str, blob: &[u8], sent: usize) {
    use tokio::io::AsyncWriteExt;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "PUT /upload HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nX-SHA-256: {hash}\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        blob.len()
    );
    tcp.write_all(head.as_bytes()).await.expect("head");
    tcp.write_all(&blob[..sent]).await.expect("part");
    tcp.flush().await.expect("flush");
    // Let the node read what came before the link goes.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(tcp);
}

/// What a node says it keeps of `keys`'s cut upload of `hash` (`HEAD
/// /upload`'s `Upload-Offset`, asked with their authorization), after
/// giving it a moment to write it.
async fn kept(http: &reqwest::Client, base: &str, keys: &Keys, hash: &str) -> Option<u64> {
    for _ in 0..50 {
        let response = http
            .head(format!("{base}/upload"))
            .header("authorization", authorization(keys, "upload", &[hash]))
            .header("x-sha-256", hash)
            .send()
            .await
            .expect("head");
        assert_eq!(response.status(), StatusCode::OK);
        if let Some(offset) = response.headers().get("upload-offset") {
            return offset.to_str().ok().and_then(|v| v.parse().ok());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_mid_blob_goes_on_from_where_it_stopped() {
    let node = Node::start();
    let served = Served::start(&node, "");
    let base = format!("http://{}", served.addr);
    // A connection for each request: an answer given before the body was
    // read closes its connection, and a pooled one could be reused as it
    // closes.
    samizdat_node::client::outbound::install_tls_provider();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let keys = Keys::generate();
    let blob = opaque(300_000);
    let hash = sha256(&blob);
    let auth = authorization(&keys, "upload", &[&hash]);

    cut_upload(served.addr, &auth, &hash, &blob, 120_000).await;
    let offset = kept(&http, &base, &keys, &hash)
        .await
        .expect("the cut upload is kept");
    assert_eq!(offset, 120_000, "all that came is kept");
    // Not a blob: nothing is served under the name, and a stranger is not
    // told that an upload of it is under way.
    let got = http
        .get(format!("{base}/{hash}"))
        .send()
        .await
        .expect("get");
    assert_eq!(got.status(), StatusCode::NOT_FOUND);
    assert!(got.headers().get("upload-offset").is_none());

    // Another key that names the same blob can neither see, go on from,
    // stop nor drop that upload: it has its own, empty.
    let stranger = Keys::generate();
    let theirs = authorization(&stranger, "upload", &[&hash]);
    let head = http
        .head(format!("{base}/upload"))
        .header("authorization", theirs.clone())
        .header("x-sha-256", &hash)
        .send()
        .await
        .expect("head");
    assert!(head.headers().get("upload-offset").is_none());
    let hijack = http
        .put(format!("{base}/upload"))
        .header("authorization", theirs.clone())
        .header("x-sha-256", &hash)
        .header("upload-offset", "120000")
        .body(vec![0u8; 10])
        .send()
        .await
        .expect("put");
    assert_eq!(hijack.status(), StatusCode::CONFLICT, "{}", reason(&hijack));
    assert_eq!(hijack.headers()["upload-offset"], "0");
    let empty = http
        .put(format!("{base}/upload"))
        .header("authorization", theirs)
        .header("x-sha-256", &hash)
        .body(Vec::new())
        .send()
        .await
        .expect("put");
    assert!(!empty.status().is_success());
    assert_eq!(
        kept(&http, &base, &keys, &hash).await,
        Some(120_000),
        "untouched"
    );

    let put = |from: u64, body: Vec<u8>, auth: String| {
        http.put(format!("{base}/upload"))
            .header("authorization", auth)
            .header("x-sha-256", &hash)
            .header("upload-offset", from.to_string())
            .body(body)
            .send()
    };
    // From the wrong place: 409, and where to go on from.
    let wrong = put(1_000, blob[1_000..].to_vec(), auth.clone())
        .await
        .expect("put");
    assert_eq!(wrong.status(), StatusCode::CONFLICT, "{}", reason(&wrong));
    assert_eq!(wrong.headers()["upload-offset"], "120000");
    // An offset for a blob the authorization does not name: refused.
    let other = authorization(&keys, "upload", &[&sha256(b"another")]);
    let unnamed = put(offset, blob[120_000..].to_vec(), other)
        .await
        .expect("put");
    assert_eq!(
        unnamed.status(),
        StatusCode::BAD_REQUEST,
        "{}",
        reason(&unnamed)
    );

    // The rest: the blob whole, as if sent in one piece.
    let rest = put(offset, blob[120_000..].to_vec(), auth.clone())
        .await
        .expect("put");
    assert_eq!(rest.status(), StatusCode::OK, "{}", reason(&rest));
    let got = http
        .get(format!("{base}/{hash}"))
        .send()
        .await
        .expect("get");
    assert_eq!(got.bytes().await.expect("bytes").as_ref(), &blob[..]);

    // A rest that does not make the named blob: refused, and the cut part
    // is dropped, so the next try starts clean.
    let second = opaque(200_000);
    let second_hash = sha256(&second);
    let auth = authorization(&keys, "upload", &[&second_hash]);
    cut_upload(served.addr, &auth, &second_hash, &second, 50_000).await;
    let offset = kept(&http, &base, &keys, &second_hash).await.expect("kept");
    let mut forged = second[offset as usize..].to_vec();
    forged[10] ^= 1;
    let response = http
        .put(format!("{base}/upload"))
        .header("authorization", auth)
        .header("x-sha-256", &second_hash)
        .header("upload-offset", offset.to_string())
        .body(forged)
        .send()
        .await
        .expect("put");
    assert!(!response.status().is_success(), "{}", reason(&response));
    let head = http
        .head(format!("{base}/upload"))
        .header(
            "authorization",
            authorization(&keys, "upload", &[&second_hash]),
        )
        .header("x-sha-256", &second_hash)
        .send()
        .await
        .expect("head");
    assert!(head.headers().get("upload-offset").is_none(), "dropped");
}
