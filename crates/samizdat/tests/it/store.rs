//! `samizdat store copy`: blobs moved to a bucket and back, each checked,
//! a second run sending nothing again; bad places refused clearly.

use crate::Node;

/// A folder of the `SAMIZDAT_TEST_S3` bucket no other test uses, as a
/// URL; `None` when no bucket is given.
fn bucket_url() -> Option<String> {
    let settings = crate::blossom::bucket_settings()?;
    let url = settings.split('"').nth(1)?.to_string();
    Some(url)
}

/// What `verify` says (it reports on standard error), after it passed.
pub(crate) fn verified(node: &Node) -> String {
    let out = node.run(&["verify"]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "verify failed: {said}");
    said
}

fn blob_files(node: &Node) -> usize {
    walk(&node.data().join("blobs"))
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name() != "tmp")
            .map(|e| {
                if e.path().is_dir() {
                    walk(&e.path())
                } else {
                    1
                }
            })
            .sum()
    })
}

#[test]
fn blobs_go_to_a_bucket_and_back_checked_and_resumed() {
    let Some(url) = bucket_url() else {
        return;
    };
    let node = Node::start();
    node.add_photo_testimony("the queue at the checkpoint");
    node.add_photo_testimony("the same queue, an hour later");
    let here = blob_files(&node);
    assert!(here >= 1, "the photos are in the folder");

    // Bytes no door would take (text naming a place), put in the folder
    // under their own hash by something other than samizdat.
    let text = b"lat 43.238949, lon 76.889709: where the photo was taken".repeat(20);
    let planted = crate::blossom::sha256(&text);
    let dir = node.data().join("blobs").join(&planted[..2]);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join(&planted), &text).expect("planted");

    let out = node.run(&["--json", "store", "copy", "--blobs-to", &url]);
    assert_eq!(out.status.code(), Some(3), "the refused blob is a problem");
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).expect("json");
    assert_eq!(first["copied"], here as u64, "{first}");
    assert_eq!(first["corrupt"].as_array().map(Vec::len), Some(0));
    assert_eq!(first["refused"][0], planted.as_str(), "{first}");
    std::fs::remove_file(dir.join(&planted)).expect("unplanted");
    // Run again (after a cut, say): nothing is sent twice.
    let again: serde_json::Value = serde_json::from_str(
        node.ok(&["--json", "store", "copy", "--blobs-to", &url])
            .trim(),
    )
    .expect("json");
    assert_eq!(
        (again["copied"].as_u64(), again["already_there"].as_u64()),
        (Some(0), Some(here as u64))
    );

    // The node now keeps its blobs in the bucket, none in the folder.
    let settings = format!("[store]\nblobs = \"{url}\"\n");
    std::fs::write(node.data().join("samizdat.toml"), &settings).expect("settings");
    std::fs::remove_dir_all(node.data().join("blobs")).expect("emptied");
    let report = verified(&node);
    assert!(report.contains("0 corrupt"), "{report}");
    assert!(report.contains("0 referenced blobs missing"), "{report}");

    // And back to the folder.
    let back: serde_json::Value = serde_json::from_str(
        node.ok(&["--json", "store", "copy", "--blobs-to", "folder"])
            .trim(),
    )
    .expect("json");
    assert_eq!(back["copied"], here as u64, "{back}");
    std::fs::remove_file(node.data().join("samizdat.toml")).expect("settings");
    assert_eq!(blob_files(&node), here);
    let report = verified(&node);
    assert!(report.contains("0 referenced blobs missing"), "{report}");
}

#[test]
fn a_place_that_cannot_be_used_is_refused_clearly() {
    let node = Node::start();
    node.add_photo_testimony("a photo to move");
    for (place, says) in [
        ("folder", "already kept"),
        (
            "ftp://127.0.0.1/blobs",
            "neither \"folder\" nor an s3:// URL",
        ),
        ("s3://samizdat", "no endpoint"),
        (
            "s3://GKkey:hunter2secret@samizdat?endpoint=http://127.0.0.1:9",
            "never in the URL",
        ),
    ] {
        let said = node.fails(&["store", "copy", "--blobs-to", place], 1);
        assert!(said.contains(says), "{place}: {said}");
        assert!(!said.contains("hunter2secret"), "{said}");
    }
    // A bucket that does not answer: an error, and the folder untouched.
    let said = node
        .command(&[
            "store",
            "copy",
            "--blobs-to",
            "s3://samizdat?endpoint=http://127.0.0.1:9",
        ])
        .env("SAMIZDAT_S3_ACCESS_KEY_ID", "GK0")
        .env("SAMIZDAT_S3_SECRET_ACCESS_KEY", "hunter2secret")
        .output()
        .expect("runs");
    assert_eq!(said.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&said.stderr);
    assert!(!stderr.contains("hunter2secret"), "{stderr}");
    assert!(blob_files(&node) >= 1);
    let report = verified(&node);
    assert!(report.contains("0 corrupt"), "{report}");
}
