//! The key sets a NIP-77 reconciliation compares, on either side.
//!
//! A filter that only bounds time (`since`, `until`, or nothing: the usual
//! sync) is answered from the store's shared sorted keys
//! (`Store::all_keys`), a slice of them with nothing copied or sorted.
//! Any other filter reads its keys from the table for this reconciliation
//! alone.

use negentropy::{Bound, Error, Id, Item, NegentropyStorageBase, NegentropyStorageVector};
use samizdat_store::{Query, SortedKeys};

/// Keys for one reconciliation.
pub enum KeyStorage {
    /// A time range of the store's shared keys.
    Shared {
        keys: SortedKeys,
        start: usize,
        end: usize,
    },
    /// The keys of a narrower filter, read and sorted for this one.
    Vector(NegentropyStorageVector),
}

impl KeyStorage {
    /// The keys with `since <= created_at <= until`.
    pub fn range(keys: SortedKeys, since: u64, until: u64) -> KeyStorage {
        let start = keys.partition_point(|k| k.0 < since);
        let end = keys.partition_point(|k| k.0 <= until).max(start);
        KeyStorage::Shared { keys, start, end }
    }

    /// The keys of one filter's events, read from the table.
    pub fn vector(keys: Vec<(u64, [u8; 32])>) -> Result<KeyStorage, Error> {
        let mut storage = NegentropyStorageVector::with_capacity(keys.len());
        for (at, id) in keys {
            storage.insert(at, Id::from_byte_array(id))?;
        }
        storage.seal()?;
        Ok(KeyStorage::Vector(storage))
    }

    pub fn len(&self) -> usize {
        match self {
            KeyStorage::Shared { start, end, .. } => end - start,
            KeyStorage::Vector(v) => v.size().unwrap_or(0),
        }
    }

    fn item(&(created_at, id): &(u64, [u8; 32])) -> Item {
        Item::with_timestamp_and_id(created_at, Id::from_byte_array(id))
    }
}

/// The time bounds of a query that bounds nothing else.
pub fn time_range(q: &Query) -> Option<(u64, u64)> {
    let only_time = q.ids.is_none()
        && q.authors.is_none()
        && q.kinds.is_none()
        && q.tags.is_empty()
        && q.search.is_none();
    only_time.then(|| (q.since.unwrap_or(0), q.until.unwrap_or(u64::MAX)))
}

impl NegentropyStorageBase for KeyStorage {
    fn size(&self) -> Result<usize, Error> {
        Ok(self.len())
    }

    fn get_item(&self, i: usize) -> Result<Option<Item>, Error> {
        match self {
            KeyStorage::Shared { keys, start, end } => {
                Ok((start + i < *end).then(|| KeyStorage::item(&keys[start + i])))
            }
            KeyStorage::Vector(v) => v.get_item(i),
        }
    }

    fn iterate(
        &self,
        begin: usize,
        end: usize,
        cb: &mut dyn FnMut(Item, usize) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        match self {
            KeyStorage::Shared {
                keys,
                start,
                end: stop,
            } => {
                if begin > end || start + end > *stop {
                    return Err(Error::BadRange);
                }
                // One slice, taken once: the loop then reads keys in
                // order with no bounds check or pointer chase per key.
                for (i, key) in (begin..).zip(&keys[start + begin..start + end]) {
                    if !cb(KeyStorage::item(key), i)? {
                        break;
                    }
                }
                Ok(())
            }
            KeyStorage::Vector(v) => v.iterate(begin, end, cb),
        }
    }

    fn find_lower_bound(&self, first: usize, last: usize, value: &Bound) -> usize {
        match self {
            KeyStorage::Shared { keys, start, .. } => {
                let (first, last) = (first.min(last), last);
                let slice = &keys[start + first..start + last];
                first
                    + slice.partition_point(|&(created_at, id)| {
                        Item::with_timestamp_and_id(created_at, Id::from_byte_array(id))
                            < value.item
                    })
            }
            KeyStorage::Vector(v) => v.find_lower_bound(first, last, value),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use negentropy::Negentropy;

    use super::*;

    fn keys(n: u64, skip: u64) -> Vec<(u64, [u8; 32])> {
        (0..n)
            .filter(|i| i % 97 != skip)
            .map(|i| {
                let mut id = [0u8; 32];
                id[..8].copy_from_slice(&(i * 2_654_435_761).to_be_bytes());
                (1_000 + i / 3, id)
            })
            .collect()
    }

    /// A reconciliation over shared slices finds exactly what one over the
    /// crate's own vectors finds.
    #[test]
    fn shared_slices_reconcile_like_vectors() {
        let (mut ours, theirs) = (keys(20_000, 5), keys(20_000, 11));
        ours.sort_unstable();
        let mut sorted_theirs = theirs.clone();
        sorted_theirs.sort_unstable();
        let reconcile = |client: KeyStorage, server: KeyStorage| {
            let mut client = Negentropy::owned(client, 0).unwrap();
            let mut server = Negentropy::owned(server, 4_096).unwrap();
            let mut message = client.initiate().unwrap();
            let (mut have, mut need) = (Vec::new(), Vec::new());
            for _ in 0..1_000 {
                let answer = server.reconcile(&message).unwrap();
                match client
                    .reconcile_with_ids(&answer, &mut have, &mut need)
                    .unwrap()
                {
                    Some(next) => message = next,
                    None => break,
                }
            }
            have.sort();
            need.sort();
            (have, need)
        };
        let expected = reconcile(
            KeyStorage::vector(ours.clone()).unwrap(),
            KeyStorage::vector(theirs.clone()).unwrap(),
        );
        assert!(!expected.0.is_empty() && !expected.1.is_empty());
        let got = reconcile(
            KeyStorage::range(Arc::new(ours.clone()), 0, u64::MAX),
            KeyStorage::range(Arc::new(sorted_theirs.clone()), 0, u64::MAX),
        );
        assert_eq!(got, expected);

        // A time range of the shared keys is that range alone.
        let (since, until) = (2_000, 5_000);
        let within = |k: &&(u64, [u8; 32])| k.0 >= since && k.0 <= until;
        let expected = reconcile(
            KeyStorage::vector(ours.iter().filter(within).copied().collect()).unwrap(),
            KeyStorage::vector(theirs.iter().filter(within).copied().collect()).unwrap(),
        );
        let got = reconcile(
            KeyStorage::range(Arc::new(ours), since, until),
            KeyStorage::range(Arc::new(sorted_theirs), since, until),
        );
        assert_eq!(got, expected);
    }
}
