//! One conformance suite for every shelf that keeps whole blobs: each
//! case runs on the local folder always, and on an S3 bucket when
//! `SAMIZDAT_TEST_S3` names one (`scripts/garage` starts Garage and sets
//! it, with the key in `SAMIZDAT_S3_ACCESS_KEY_ID` and
//! `SAMIZDAT_S3_SECRET_ACCESS_KEY`). With `SAMIZDAT_TEST_S3_REQUIRED=1`
//! a missing bucket fails the suite instead of leaving it to the folder.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use samizdat_core::BlobHash;
use samizdat_media::Admitted;
use samizdat_store::shelf::{BucketAt, Credentials, Folder, S3, Shelf, ShelfEntry};
use samizdat_store::{BlobError, BlobStore};

/// A blob store on one shelf, in a staging folder of its own; on a
/// bucket, under a prefix no other case uses.
struct Case {
    _dir: tempfile::TempDir,
    blobs: BlobStore,
    shelf: Arc<dyn Shelf>,
    name: &'static str,
}

fn cases() -> Vec<Case> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let mut out = Vec::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let shelf: Arc<dyn Shelf> = Arc::new(Folder::new(dir.path().join("blobs")));
    out.push(Case {
        blobs: BlobStore::open_on(dir.path().join("blobs"), shelf.clone()).expect("open"),
        _dir: dir,
        shelf,
        name: "folder",
    });
    match std::env::var("SAMIZDAT_TEST_S3") {
        Ok(url) if !url.is_empty() => {
            let mut at: BucketAt = url.parse().expect("SAMIZDAT_TEST_S3 is a bucket URL");
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            at.prefix = format!(
                "{}conformance-{nanos}-{}-{}/",
                at.prefix,
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            let credentials = Credentials::from_env().expect("the bucket's key in the environment");
            let whole = S3::new(at.clone(), credentials.clone()).expect("a bucket");
            at.prefix = format!("{}parts/", at.prefix);
            // Every blob over 1 MiB in 5 MiB parts: the multipart path.
            let parts = S3::new(at, credentials)
                .expect("a bucket")
                .with_parts(1 << 20, TEST_PART);
            let shelves: [(Arc<dyn Shelf>, &'static str); 2] =
                [(Arc::new(whole), "s3"), (Arc::new(parts), "s3 in parts")];
            for (shelf, name) in shelves {
                let dir = tempfile::tempdir().expect("tempdir");
                out.push(Case {
                    blobs: BlobStore::open_on(dir.path().join("blobs"), shelf.clone())
                        .expect("open"),
                    _dir: dir,
                    shelf,
                    name,
                });
            }
        }
        _ => assert!(
            std::env::var("SAMIZDAT_TEST_S3_REQUIRED").is_err(),
            "SAMIZDAT_TEST_S3_REQUIRED is set but SAMIZDAT_TEST_S3 names no bucket"
        ),
    }
    out
}

/// Parts of a multipart upload in the case that sends them.
const TEST_PART: usize = 5 << 20;

/// Uniform bytes, as an encrypted file is: what the admission rule takes
/// without cleaning.
fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 56) as u8
        })
        .collect()
}

fn read_all(case: &Case, hash: &BlobHash, range: Option<std::ops::Range<u64>>) -> Vec<u8> {
    let mut out = Vec::new();
    case.blobs
        .open_read(hash, range)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name))
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    out
}

#[test]
fn a_blob_put_is_read_back_whole_and_checked() {
    for case in cases() {
        let sealed = noise(1, 70_000);
        let kept = case.blobs.put(&sealed).expect("put");
        assert_eq!(kept.hash, BlobHash::of(&sealed), "{}", case.name);
        assert_eq!(kept.admitted, Admitted::Encrypted);
        // Put again: the same name, nothing new.
        assert_eq!(case.blobs.put(&sealed).expect("again").hash, kept.hash);
        assert!(case.blobs.contains(&kept.hash), "{}", case.name);
        let stat = case.blobs.stat(&kept.hash).expect("stat").expect("here");
        assert_eq!(stat.size, 70_000, "{}", case.name);
        assert_eq!(case.blobs.get(&kept.hash).expect("get"), sealed);
        assert_eq!(case.blobs.verify(&kept.hash).expect("verify"), 70_000);
        assert_eq!(
            case.blobs.admission(&kept.hash).expect("admitted"),
            Admitted::Encrypted
        );
        // Nothing is left in staging.
        let staged = std::fs::read_dir(case._dir.path().join("blobs/tmp"))
            .expect("staging")
            .count();
        assert_eq!(staged, 0, "{}", case.name);
    }
}

#[test]
fn a_missing_blob_is_told_apart() {
    for case in cases() {
        let missing = BlobHash::of(b"never stored");
        assert!(!case.blobs.contains(&missing), "{}", case.name);
        assert_eq!(case.blobs.stat(&missing).expect("stat"), None);
        assert!(
            matches!(case.blobs.get(&missing), Err(BlobError::NotFound(_))),
            "{}",
            case.name
        );
        assert!(matches!(
            case.blobs.open_read(&missing, Some(0..10)),
            Err(BlobError::NotFound(_))
        ));
        assert!(matches!(
            case.blobs.verify(&missing),
            Err(BlobError::NotFound(_))
        ));
        let touched = case.shelf.touch(&missing).expect_err("nothing to touch");
        assert_eq!(
            touched.kind(),
            std::io::ErrorKind::NotFound,
            "{}",
            case.name
        );
        case.blobs
            .remove(&missing)
            .expect("removing nothing is fine");
        assert_eq!(
            case.blobs
                .remove_if_old(&missing, Duration::ZERO)
                .expect("nothing"),
            None
        );
    }
}

#[test]
fn what_the_rule_refuses_never_reaches_the_shelf() {
    for case in cases() {
        let text = b"lat 43.238949, lon 76.889709, taken with a Canon EOS 5D".repeat(20);
        assert!(matches!(case.blobs.put(&text), Err(BlobError::Refused(_))));
        let hash = BlobHash::of(&text);
        assert_eq!(case.blobs.stat(&hash).expect("stat"), None, "{}", case.name);
        // Nor by a download that arrives whole.
        std::fs::write(case.blobs.partial_path(&hash), &text).expect("partial");
        assert!(matches!(
            case.blobs.adopt_partial(&hash),
            Err(BlobError::Refused(_))
        ));
        assert!(!case.blobs.partial_path(&hash).exists());
        assert!(case.blobs.list().expect("list").is_empty(), "{}", case.name);
    }
}

#[test]
fn nothing_is_kept_under_a_name_its_bytes_do_not_hash_to() {
    for case in cases() {
        let sealed = noise(2, 5_000);
        let hash = BlobHash::of(&sealed);
        std::fs::write(case.blobs.partial_path(&hash), &sealed[..3_000]).expect("cut");
        assert!(matches!(
            case.blobs.adopt_partial(&hash),
            Err(BlobError::Corrupt { .. })
        ));
        assert_eq!(case.blobs.stat(&hash).expect("stat"), None, "{}", case.name);
        std::fs::write(case.blobs.partial_path(&hash), &sealed).expect("whole");
        assert_eq!(case.blobs.adopt_partial(&hash).expect("adopt").size, 5_000);
        assert_eq!(case.blobs.get(&hash).expect("get"), sealed, "{}", case.name);
        assert!(!case.blobs.partial_path(&hash).exists());
    }
}

#[test]
fn a_blob_altered_at_rest_is_never_served_as_good() {
    for case in cases() {
        let sealed = noise(3, 4_000);
        let hash = case.blobs.put(&sealed).expect("put").hash;
        // Other bytes under its name, as a disk fault or an intruder leaves.
        let mut tampered = sealed.clone();
        tampered[100] ^= 1;
        let mut file = tempfile::NamedTempFile::new().expect("tmp");
        file.write_all(&tampered).expect("write");
        case.shelf
            .put_file(&file.into_temp_path(), &hash, tampered.len() as u64)
            .expect("altered");
        assert!(
            matches!(case.blobs.get(&hash), Err(BlobError::Corrupt { .. })),
            "{}",
            case.name
        );
        assert!(matches!(
            case.blobs.verify(&hash),
            Err(BlobError::Corrupt { .. })
        ));
        assert!(matches!(
            case.blobs.admission(&hash),
            Err(BlobError::Corrupt { .. })
        ));
    }
}

#[test]
fn ranges_are_the_bytes_asked_for() {
    for case in cases() {
        let sealed = noise(4, 100_000);
        let hash = case.blobs.put(&sealed).expect("put").hash;
        for (start, end) in [
            (0, 1),
            (0, 100_000),
            (99_999, 100_000),
            (12_345, 67_890),
            (500, 500),
        ] {
            let got = read_all(&case, &hash, Some(start..end));
            assert_eq!(
                got,
                &sealed[start as usize..end as usize],
                "{}: {start}..{end}",
                case.name
            );
        }
        assert_eq!(read_all(&case, &hash, None), sealed);
    }
}

#[test]
fn a_video_larger_than_a_part_streams_in_and_out() {
    for case in cases() {
        // Two and a half parts of a multipart upload.
        let size = TEST_PART * 5 / 2;
        let sealed = noise(5, size);
        let hash = BlobHash::of(&sealed);
        std::fs::write(case.blobs.partial_path(&hash), &sealed).expect("partial");
        let kept = case.blobs.adopt_partial(&hash).expect("adopt");
        assert_eq!(kept.size, size as u64, "{}", case.name);
        assert_eq!(case.blobs.verify(&hash).expect("verify"), size as u64);
        // Across the boundary of two parts.
        let part = TEST_PART as u64;
        let got = read_all(&case, &hash, Some(part - 10..part + 10));
        assert_eq!(got, &sealed[part as usize - 10..part as usize + 10]);
    }
}

#[test]
fn removal_and_the_grace_of_blobs_stored_again() {
    for case in cases() {
        let (a, b) = (noise(6, 3_000), noise(7, 3_000));
        let a = case.blobs.put(&a).expect("a").hash;
        let b = case.blobs.put(&b).expect("b").hash;
        // What the collection looks at: none young, all past no grace.
        assert!(
            case.blobs
                .list_old(Duration::from_secs(3_600))
                .expect("old")
                .is_empty(),
            "{}",
            case.name
        );
        let mut both = vec![a, b];
        both.sort_by_key(BlobHash::to_hex);
        assert_eq!(
            case.blobs.list_old(Duration::ZERO).expect("old"),
            both,
            "{}",
            case.name
        );
        // Young: kept through an hour's grace.
        assert_eq!(
            case.blobs
                .remove_if_old(&a, Duration::from_secs(3_600))
                .expect("young"),
            None,
            "{}",
            case.name
        );
        assert!(case.blobs.contains(&a));
        assert_eq!(
            case.blobs
                .remove_if_old(&a, Duration::ZERO)
                .expect("old enough"),
            Some(3_000),
            "{}",
            case.name
        );
        assert!(!case.blobs.contains(&a));
        case.shelf.touch(&b).expect("touch");
        assert!(
            case.blobs
                .age(&b)
                .is_some_and(|age| age < Duration::from_secs(600))
        );
        case.blobs.remove(&b).expect("remove");
        assert!(!case.blobs.contains(&b), "{}", case.name);
        assert!(case.blobs.list().expect("list").is_empty(), "{}", case.name);
    }
}

#[test]
fn the_listing_names_every_blob_in_order() {
    for case in cases() {
        let mut hashes: Vec<BlobHash> = (0..5)
            .map(|i| case.blobs.put(&noise(10 + i, 1_000)).expect("put").hash)
            .collect();
        hashes.sort_by_key(|h| h.to_hex());
        let listed: Vec<BlobHash> = case
            .blobs
            .list()
            .expect("list")
            .into_iter()
            .filter_map(|e| match e {
                ShelfEntry::Blob(h) => Some(h),
                ShelfEntry::Stray(_) => None,
            })
            .collect();
        assert_eq!(listed, hashes, "{}", case.name);
    }
}

#[test]
fn many_writers_of_one_blob_leave_one_whole_blob() {
    for case in cases() {
        let sealed = Arc::new(noise(20, 200_000));
        let hash = BlobHash::of(&sealed);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                let (blobs, sealed) = (&case.blobs, sealed.clone());
                scope.spawn(move || blobs.put(&sealed).expect("put"));
            }
        });
        assert_eq!(case.blobs.get(&hash).expect("get").len(), 200_000);
        assert_eq!(case.blobs.list().expect("list").len(), 1, "{}", case.name);
    }
}
