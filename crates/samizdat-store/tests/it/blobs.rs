//! Blob owners (Blossom) and the records that reference blobs.

use samizdat_core::BlobHash;
use samizdat_core::nostr::prelude::Keys;
use samizdat_store::{OwnedBlob, Release, Store};

use crate::{NOW, event, fixture, insert};

/// Uniform bytes, as an encrypted file is: what the admission rule takes
/// without a format.
pub(crate) fn sealed(seed: &str, n: usize) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    (0..n.div_ceil(32))
        .flat_map(|i| Sha256::digest(format!("{seed} {i}")).to_vec())
        .take(n)
        .collect()
}

fn owned(bytes: &[u8], uploaded: u64) -> OwnedBlob {
    OwnedBlob {
        hash: BlobHash::of(bytes),
        size: bytes.len() as u64,
        mime: None,
        uploaded,
    }
}

/// A plain note whose NIP-92 `imeta` names `hash`.
fn referencing(keys: &Keys, hash: &BlobHash) -> samizdat_core::nostr::prelude::Event {
    let x = format!("x {}", hash.to_hex());
    event(
        keys,
        1,
        NOW - 10,
        &[&["imeta", "m image/jpeg", &x]],
        "a photo",
    )
}

#[test]
fn owners_list_and_release() {
    let f = fixture();
    let (alice, bob) = (Keys::generate(), Keys::generate());
    let a = alice.public_key();
    let b = bob.public_key();
    let bytes = sealed("shared blob", 3_000);
    let hash = f.store.blobs().put(&bytes).expect("put").hash;
    f.store.add_blob_owner(a, owned(&bytes, 100)).expect("own");
    f.store
        .add_blob_owner(a, owned(&bytes, 200))
        .expect("own again");
    f.store.add_blob_owner(b, owned(&bytes, 300)).expect("own");
    let listed = f.store.blobs_owned_by(a, None, None).expect("list");
    assert_eq!(
        listed,
        vec![owned(&bytes, 100)],
        "the first upload time stays"
    );
    assert!(
        f.store
            .blobs_owned_by(a, Some(101), None)
            .expect("list")
            .is_empty()
    );

    let release = f.store.release_blob(a, hash).expect("release");
    assert_eq!(
        release,
        Release {
            was_owner: true,
            still_needed: true
        }
    );
    assert!(f.store.blobs().contains(&hash), "bob still has it");
    let again = f.store.release_blob(a, hash).expect("release");
    assert!(!again.was_owner);
    let last = f.store.release_blob(b, hash).expect("release");
    assert_eq!(
        last,
        Release {
            was_owner: true,
            still_needed: false
        }
    );
    assert!(
        !f.store.blobs().contains(&hash),
        "no owner, no record: gone"
    );
}

#[test]
fn unreferenced_uploads_are_counted_until_a_record_names_them() {
    let f = fixture();
    let keys = Keys::generate();
    let me = keys.public_key();
    let (a, b) = (sealed("waiting a", 3_000), sealed("waiting b", 5_000));
    assert_eq!(f.store.unreferenced_blob_bytes().expect("count"), 0);
    for bytes in [&a, &b] {
        f.store.blobs().put(bytes).expect("put");
        f.store.add_blob_owner(me, owned(bytes, 1)).expect("own");
    }
    // Two uploaders of one blob count it once.
    f.store
        .add_blob_owner(Keys::generate().public_key(), owned(&a, 2))
        .expect("own");
    assert_eq!(f.store.unreferenced_blob_bytes().expect("count"), 8_000);
    let hash = BlobHash::of(&a);
    assert!(!f.store.blob_is_referenced(&hash).expect("query"));
    insert(&f.store, &[referencing(&keys, &hash)]);
    assert!(f.store.blob_is_referenced(&hash).expect("query"));
    assert_eq!(f.store.unreferenced_blob_bytes().expect("count"), 5_000);
}

#[test]
fn a_referenced_blob_is_kept_until_its_record_goes() {
    let f = fixture();
    let keys = Keys::generate();
    let bytes = sealed("evidence", 3_000);
    let hash = f.store.blobs().put(&bytes).expect("put").hash;
    let record = referencing(&keys, &hash);
    insert(&f.store, std::slice::from_ref(&record));
    let me = keys.public_key();
    f.store.add_blob_owner(me, owned(&bytes, 1)).expect("own");
    let release = f.store.release_blob(me, hash).expect("release");
    assert!(release.was_owner && release.still_needed);
    assert!(f.store.blobs().contains(&hash));

    // Once the record is deleted (NIP-09), nothing needs the blob.
    let deletion = event(&keys, 5, NOW - 5, &[&["e", &record.id.to_hex()]], "");
    insert(&f.store, &[deletion]);
    f.store.add_blob_owner(me, owned(&bytes, 2)).expect("own");
    let release = f.store.release_blob(me, hash).expect("release");
    assert!(release.was_owner && !release.still_needed);
}

#[test]
fn migration_two_finds_references_in_records_stored_before_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = Keys::generate();
    let older = sealed("older evidence", 3_000);
    let hash = BlobHash::of(&older);
    {
        let store = Store::open(dir.path()).expect("open");
        insert(&store, &[referencing(&keys, &hash)]);
    }
    // Back to schema version 1, as a store written before migration 2.
    {
        let conn =
            rusqlite::Connection::open(dir.path().join(samizdat_store::DB_FILE)).expect("open db");
        conn.execute_batch(
            "DROP TABLE blob_owners; DROP TABLE blob_refs; DROP TABLE counters; DROP TABLE originals; \
             DROP INDEX events_happened; ALTER TABLE events DROP COLUMN happened; \
             PRAGMA user_version = 1;",
        )
        .expect("downgrade");
    }
    let store = Store::open(dir.path()).expect("reopen and migrate");
    store.blobs().put(&older).expect("put");
    let me = keys.public_key();
    store.add_blob_owner(me, owned(&older, 1)).expect("own");
    let release = store.release_blob(me, hash).expect("release");
    assert!(
        release.still_needed,
        "the backfilled reference keeps the blob"
    );
}

/// Sets a blob's file time `secs` into the past.
fn age_by(store: &Store, hash: &BlobHash, secs: u64) {
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(secs);
    std::fs::File::open(store.blobs().local_path(hash).expect("blobs in a folder"))
        .and_then(|f| f.set_modified(then))
        .expect("aged");
}

#[test]
fn blobs_nothing_needs_are_collected_after_their_grace() {
    let f = fixture();
    let keys = Keys::generate();
    let hour = samizdat_store::UNNEEDED_BLOB_GRACE;
    let put = |seed: &str| f.store.blobs().put(&sealed(seed, 2_000)).expect("put").hash;
    let orphan = put("left by a refused record");
    let young = put("its record is on the way");
    let named = put("named by a record");
    let uploaded = put("an upload waiting for its record");
    let again = put("stored again just now");
    insert(&f.store, &[referencing(&keys, &named)]);
    f.store
        .add_blob_owner(
            keys.public_key(),
            owned(&sealed("an upload waiting for its record", 2_000), 1),
        )
        .expect("own");
    for hash in [&orphan, &named, &uploaded, &again] {
        age_by(&f.store, hash, 2 * 3600);
    }
    // Storing it again makes it young: its record may follow.
    put("stored again just now");
    let removed = f.store.collect_unneeded_blobs(hour).expect("collect");
    assert_eq!(removed, vec![(orphan, 2_000)]);
    assert!(!f.store.blobs().contains(&orphan));
    for kept in [&young, &named, &uploaded, &again] {
        assert!(f.store.blobs().contains(kept));
    }
    assert_eq!(f.store.unreferenced_blobs().expect("count"), (1, 2_000));
    // Nothing more to collect; a second pass changes nothing.
    assert!(
        f.store
            .collect_unneeded_blobs(hour)
            .expect("collect")
            .is_empty()
    );
}
