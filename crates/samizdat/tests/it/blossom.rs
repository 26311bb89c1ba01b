//! `samizdat serve` as a Blossom server, over plain HTTP per the BUD texts.

use base64::Engine;
use reqwest::StatusCode;
use samizdat_core::nostr::prelude::{Keys, Kind, Timestamp};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::served::Served;
use crate::{Node, signed, tour_photo};

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `Authorization: Nostr <base64 kind 24242>` for `verb`, naming `hashes`.
fn authorization(keys: &Keys, verb: &str, hashes: &[&str]) -> String {
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

/// Bytes of no recognised format, like an encrypted blob.
fn opaque(n: usize) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
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
    let node = Node::start();
    let served = Served::start(&node, "[blossom]\nmax_upload_bytes = 1000000\n");
    let base = format!("http://{}", served.addr);
    let http = reqwest::Client::new();
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_that_could_expose_a_witness_are_refused() {
    let node = Node::start();
    let served = Served::start(&node, "[blossom]\nmax_upload_bytes = 1000000\n");
    let base = format!("http://{}", served.addr);
    let http = reqwest::Client::new();
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
    let clean = samizdat_media::strip(&photo).expect("strips").bytes;
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

    // A video the node cannot clean yet, a corrupt JPEG.
    let mut video = b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom".to_vec();
    video.extend(opaque(500));
    let h = sha256(&video);
    let response = put(video, Some(authorization(&keys, "upload", &[&h])))
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(
        reason(&response).contains("ISO media"),
        "{}",
        reason(&response)
    );
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
    let response = put(big, Some(authorization(&keys, "upload", &[&h])))
        .await
        .expect("upload");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // BUD-06 preflight.
    let preflight = |headers: Vec<(&'static str, String)>| {
        let mut request = http.head(format!("{base}/upload"));
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
    let video = preflight(vec![("x-content-type", "video/mp4".into())])
        .await
        .expect("head");
    assert_eq!(video.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Hostile addresses.
    for path in [
        "/../samizdat.db",
        "/%2e%2e%2fsamizdat.db",
        "/abc",
        "/list/xyz",
    ] {
        let response = http.get(format!("{base}{path}")).send().await.expect("get");
        assert!(
            response.status().is_client_error(),
            "{path}: {}",
            response.status()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_a_record_needs_outlives_its_uploaders_delete() {
    let node = Node::start();
    // The CLI stores the cleaned photo and a testimony that references it.
    node.ok(&[
        "testimony",
        "add",
        "--lang",
        "ru",
        "--attach",
        tour_photo().to_str().expect("utf-8 path"),
        "Фото с площади",
    ]);
    let served = Served::start(&node, "");
    let base = format!("http://{}", served.addr);
    let http = reqwest::Client::new();
    let keys = Keys::generate();
    let clean = samizdat_media::strip(&std::fs::read(tour_photo()).expect("photo"))
        .expect("strips")
        .bytes;
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
