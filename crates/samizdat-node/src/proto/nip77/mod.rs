//! NIP-77 negentropy reconciliation, both roles, over the store's keys.
//!
//! The messages are those of negentropy protocol version 1 (`0x61`), byte
//! for byte what the `negentropy` crate sends for the same keys (the tests
//! hold the two side by side), so any NIP-77 relay or client can be the
//! peer. What differs is the cost of a fingerprint: the crate adds up the
//! ids of a range every time it is asked, so every round of a million-key
//! reconciliation adds up a million ids on each side; here the keys carry
//! running sums ([`samizdat_store::KeySet`]) and a fingerprint of any range
//! costs a few dozen additions and one SHA-256.
//!
//! A message is a version byte, then ranges: an upper bound (a timestamp,
//! sent as a difference from the previous bound's, and the shortest id
//! prefix that separates it from the key below), a mode and its payload.
//! `Skip` says nothing about the range; `Fingerprint` sends 16 bytes that
//! stand for every key in it; `IdList` sends its ids. A side whose
//! fingerprint differs splits the range into 16 and answers with their
//! fingerprints, or with its ids once fewer than 32 are left; the
//! initiator learns, from every `IdList`, which ids only it has and which
//! only the other side has.

use std::collections::HashSet;

use samizdat_core::nostr::prelude::EventId;

pub mod keys;
mod varint;

use keys::KeyStorage;
use varint::{MAX_VARINT, write_varint};

/// Negentropy protocol version 1.
pub const PROTOCOL_VERSION: u8 = 0x61;
/// The smallest frame size limit (other than 0, no limit).
pub const MIN_FRAME_LIMIT: u64 = 4096;
/// Ranges a mismatching range is split into.
const BUCKETS: usize = 16;
/// Below this many keys a range is sent as its ids.
const DOUBLE_BUCKETS: usize = BUCKETS * 2;
const ID_SIZE: usize = 32;
const FINGERPRINT_SIZE: usize = 16;
/// Room kept under the frame size limit for the closing range.
const FRAME_SLACK: usize = 200;

/// Why a message could not be read or answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegError {
    #[error("the message ends in the middle of a range")]
    Truncated,
    #[error("the message is not negentropy (version byte {0:#04x})")]
    NotNegentropy(u8),
    #[error("negentropy version {0:#04x} is not supported (only 0x61)")]
    Unsupported(u8),
    #[error("unknown range mode {0}")]
    Mode(u64),
    #[error("a bound's id prefix of {0} bytes is longer than an id")]
    BoundPrefix(u64),
    #[error("a number does not fit in 64 bits")]
    Varint,
    #[error("frame size limit must be 0 (none) or at least {MIN_FRAME_LIMIT}")]
    FrameLimit,
    #[error("{0}")]
    Role(&'static str),
}

/// Where the initiator collects the ids only it has and only the other
/// side has.
type Found<'a> = (&'a mut Vec<EventId>, &'a mut Vec<EventId>);

/// One side of a reconciliation.
pub struct Reconciler {
    keys: KeyStorage,
    /// Largest message this side sends, in bytes (0: no limit).
    frame_limit: usize,
    initiator: bool,
    /// Timestamps are sent as differences from the previous bound's, within
    /// one message, each way.
    last_in: u64,
    last_out: u64,
}

/// The upper bound of a range: keys below it are in the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bound {
    at: u64,
    /// The prefix that was sent, zero-padded to a whole id.
    id: [u8; ID_SIZE],
    len: usize,
}

impl Bound {
    const ZERO: Bound = Bound::at(0);
    /// Above every key.
    const END: Bound = Bound::at(u64::MAX);

    const fn at(at: u64) -> Bound {
        Bound {
            at,
            id: [0; ID_SIZE],
            len: 0,
        }
    }

    fn of_key(&(at, id): &(u64, [u8; 32])) -> Bound {
        Bound {
            at,
            id,
            len: ID_SIZE,
        }
    }

    /// Whether `key` sorts below this bound.
    fn above(&self, &(at, ref id): &(u64, [u8; 32])) -> bool {
        (at, id) < (self.at, &self.id)
    }

    /// The shortest bound above `prev` and at or below `next`.
    fn between(prev: &(u64, [u8; 32]), next: &(u64, [u8; 32])) -> Bound {
        if prev.0 != next.0 {
            return Bound::at(next.0);
        }
        let shared = prev
            .1
            .iter()
            .zip(&next.1)
            .take_while(|(a, b)| a == b)
            .count();
        let len = (shared + 1).min(ID_SIZE);
        let mut id = [0; ID_SIZE];
        id[..len].copy_from_slice(&next.1[..len]);
        Bound {
            at: next.0,
            id,
            len,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Skip,
    Fingerprint,
    IdList,
}

impl Mode {
    fn code(self) -> u64 {
        match self {
            Mode::Skip => 0,
            Mode::Fingerprint => 1,
            Mode::IdList => 2,
        }
    }

    fn from_code(code: u64) -> Result<Mode, NegError> {
        match code {
            0 => Ok(Mode::Skip),
            1 => Ok(Mode::Fingerprint),
            2 => Ok(Mode::IdList),
            other => Err(NegError::Mode(other)),
        }
    }
}

impl Reconciler {
    /// One side over `keys`, its messages at most `frame_limit` bytes (0:
    /// no limit; otherwise at least [`MIN_FRAME_LIMIT`]).
    pub fn new(keys: KeyStorage, frame_limit: u64) -> Result<Reconciler, NegError> {
        if frame_limit != 0 && frame_limit < MIN_FRAME_LIMIT {
            return Err(NegError::FrameLimit);
        }
        Ok(Reconciler {
            keys,
            frame_limit: usize::try_from(frame_limit).unwrap_or(usize::MAX),
            initiator: false,
            last_in: 0,
            last_out: 0,
        })
    }

    /// The initiator's first message; this side is the initiator from now.
    pub fn initiate(&mut self) -> Result<Vec<u8>, NegError> {
        if self.initiator {
            return Err(NegError::Role("the first message was already built"));
        }
        self.initiator = true;
        self.last_out = 0;
        let mut out = vec![PROTOCOL_VERSION];
        self.split(0, self.keys.len(), Bound::END, &mut out);
        Ok(out)
    }

    /// The answer to the initiator's `message` (the other side's role).
    pub fn answer(&mut self, message: &[u8]) -> Result<Vec<u8>, NegError> {
        if self.initiator {
            return Err(NegError::Role("the initiator does not answer"));
        }
        self.reconcile(message, None)
    }

    /// The initiator's next message after the other side's `message`, or
    /// `None` when the reconciliation is complete. Ids only this side has
    /// are added to `have`, ids only the other side has to `need`.
    pub fn next(
        &mut self,
        message: &[u8],
        have: &mut Vec<EventId>,
        need: &mut Vec<EventId>,
    ) -> Result<Option<Vec<u8>>, NegError> {
        if !self.initiator {
            return Err(NegError::Role("only the initiator asks again"));
        }
        let out = self.reconcile(message, Some((have, need)))?;
        Ok((out.len() > 1).then_some(out))
    }

    fn reconcile(&mut self, message: &[u8], mut found: Option<Found>) -> Result<Vec<u8>, NegError> {
        self.last_in = 0;
        self.last_out = 0;
        let mut input = Input(message);
        let mut full = vec![PROTOCOL_VERSION];
        let version = input.byte()?;
        if !(0x60..=0x6f).contains(&version) {
            return Err(NegError::NotNegentropy(version));
        }
        if version != PROTOCOL_VERSION {
            // The answer to a version this side does not speak is its own
            // version alone; the initiator can only stop.
            return if self.initiator {
                Err(NegError::Unsupported(version))
            } else {
                Ok(full)
            };
        }

        let size = self.keys.len();
        let mut prev_bound = Bound::ZERO;
        let mut prev_index = 0;
        let mut skip = false;
        // Keys below the last bound written end here.
        let mut emitted = 0;
        while !input.is_empty() {
            let mut o = Vec::new();
            let bound = self.read_bound(&mut input)?;
            let mode = Mode::from_code(input.varint()?)?;
            let lower = prev_index;
            let mut upper = lower + below(&self.keys.keys()[lower..], &bound);

            match mode {
                Mode::Skip => skip = true,
                Mode::Fingerprint => {
                    let theirs = input.bytes(FINGERPRINT_SIZE)?;
                    if theirs != self.keys.fingerprint(lower, upper) {
                        self.flush_skip(&mut skip, &prev_bound, &mut o);
                        self.split(lower, upper, bound, &mut o);
                    } else {
                        skip = true;
                    }
                }
                Mode::IdList => {
                    let count = input.varint()?;
                    if count > (input.0.len() / ID_SIZE) as u64 {
                        return Err(NegError::Truncated);
                    }
                    let ids = input.bytes(count as usize * ID_SIZE)?;
                    if let Some((have, need)) = found.as_mut() {
                        compare(ids, &self.keys.keys()[lower..upper], have, need);
                        skip = true;
                    } else {
                        self.flush_skip(&mut skip, &prev_bound, &mut o);
                        // Our ids for the range, as many as fit; the rest
                        // of the range goes into the closing fingerprint.
                        let mut end_bound = bound;
                        let mut ids = Vec::new();
                        for (index, key) in (lower..upper).zip(&self.keys.keys()[lower..upper]) {
                            if self.exceeds(full.len() + ids.len()) {
                                end_bound = Bound::of_key(key);
                                upper = index;
                                break;
                            }
                            ids.extend_from_slice(&key.1);
                        }
                        self.write_bound(&end_bound, &mut o);
                        write_varint(Mode::IdList.code(), &mut o);
                        write_varint((ids.len() / ID_SIZE) as u64, &mut o);
                        o.extend_from_slice(&ids);
                        full.extend_from_slice(&o);
                        o.clear();
                        emitted = upper;
                    }
                }
            }

            if self.exceeds(full.len() + o.len()) {
                // Over the limit: one fingerprint for everything from the
                // last bound written stands for the rest.
                let rest = self.keys.fingerprint(emitted, size);
                self.write_bound(&Bound::END, &mut full);
                write_varint(Mode::Fingerprint.code(), &mut full);
                full.extend_from_slice(&rest);
                break;
            }
            if !o.is_empty() {
                emitted = upper;
            }
            full.extend_from_slice(&o);
            prev_index = upper;
            prev_bound = bound;
        }
        Ok(full)
    }

    /// Writes the ranges that `keys[lower..upper]` (ending at `upper_bound`)
    /// splits into: its ids when few, else 16 fingerprints.
    fn split(&mut self, lower: usize, upper: usize, upper_bound: Bound, out: &mut Vec<u8>) {
        let count = upper - lower;
        if count < DOUBLE_BUCKETS {
            self.write_bound(&upper_bound, out);
            write_varint(Mode::IdList.code(), out);
            write_varint(count as u64, out);
            for (_, id) in &self.keys.keys()[lower..upper] {
                out.extend_from_slice(id);
            }
            return;
        }
        let (per, extra) = (count / BUCKETS, count % BUCKETS);
        let mut at = lower;
        for bucket in 0..BUCKETS {
            let len = per + usize::from(bucket < extra);
            let fingerprint = self.keys.fingerprint(at, at + len);
            at += len;
            let bound = if at == upper {
                upper_bound
            } else {
                let keys = self.keys.keys();
                Bound::between(&keys[at - 1], &keys[at])
            };
            self.write_bound(&bound, out);
            write_varint(Mode::Fingerprint.code(), out);
            out.extend_from_slice(&fingerprint);
        }
    }

    /// A pending skip is written before anything that follows it.
    fn flush_skip(&mut self, skip: &mut bool, prev_bound: &Bound, out: &mut Vec<u8>) {
        if std::mem::take(skip) {
            self.write_bound(prev_bound, out);
            write_varint(Mode::Skip.code(), out);
        }
    }

    fn exceeds(&self, len: usize) -> bool {
        self.frame_limit != 0 && len > self.frame_limit - FRAME_SLACK
    }

    fn write_bound(&mut self, bound: &Bound, out: &mut Vec<u8>) {
        if bound.at == u64::MAX {
            self.last_out = u64::MAX;
            write_varint(0, out);
        } else {
            let delta = bound.at.saturating_sub(self.last_out);
            self.last_out = bound.at;
            write_varint(delta.saturating_add(1), out);
        }
        write_varint(bound.len as u64, out);
        out.extend_from_slice(&bound.id[..bound.len]);
    }

    fn read_bound(&mut self, input: &mut Input) -> Result<Bound, NegError> {
        let at = match input.varint()? {
            0 => u64::MAX,
            delta => delta - 1,
        };
        let at = at.saturating_add(self.last_in);
        self.last_in = at;
        let len = input.varint()?;
        if len > ID_SIZE as u64 {
            return Err(NegError::BoundPrefix(len));
        }
        let len = len as usize;
        let mut id = [0; ID_SIZE];
        id[..len].copy_from_slice(input.bytes(len)?);
        Ok(Bound { at, id, len })
    }
}

/// How many of `keys` sort below `bound`. Searches forward from the start,
/// doubling the step, then halves: the next bound of a message is most
/// often a few hundred keys on, and a search over the whole store would
/// miss the cache at every one of its twenty steps.
fn below(keys: &[(u64, [u8; 32])], bound: &Bound) -> usize {
    let (mut known, mut probe) = (0, 1);
    while probe <= keys.len() && bound.above(&keys[probe - 1]) {
        known = probe;
        probe *= 2;
    }
    let end = probe.min(keys.len());
    known + keys[known..end].partition_point(|k| bound.above(k))
}

/// The initiator's side of an `IdList`: which of `theirs` (concatenated
/// ids) it lacks, which of `ours` they lack. `need` keeps their order.
fn compare(
    theirs: &[u8],
    ours: &[(u64, [u8; 32])],
    have: &mut Vec<EventId>,
    need: &mut Vec<EventId>,
) {
    let theirs: Vec<[u8; 32]> = theirs
        .chunks_exact(ID_SIZE)
        .map(|c| {
            let mut id = [0; ID_SIZE];
            id.copy_from_slice(c);
            id
        })
        .collect();
    let mut unmatched: HashSet<&[u8; 32]> = theirs.iter().collect();
    for (_, id) in ours {
        if !unmatched.remove(id) {
            have.push(EventId::from_byte_array(*id));
        }
    }
    for id in &theirs {
        if unmatched.remove(id) {
            need.push(EventId::from_byte_array(*id));
        }
    }
}

/// A message as NIP-77 carries it in JSON: hex. (SIMD: a reconciliation of
/// a million keys moves 1.7 MB of it each way.)
pub fn to_hex(message: &[u8]) -> String {
    faster_hex::hex_string(message)
}

/// A message from its hex, or `None` if it is not hex.
pub fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let mut out = vec![0; hex.len() / 2];
    faster_hex::hex_decode(hex.as_bytes(), &mut out).ok()?;
    Some(out)
}

/// What is left of a message.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn byte(&mut self) -> Result<u8, NegError> {
        let (&first, rest) = self.0.split_first().ok_or(NegError::Truncated)?;
        self.0 = rest;
        Ok(first)
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], NegError> {
        if self.0.len() < n {
            return Err(NegError::Truncated);
        }
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(taken)
    }

    fn varint(&mut self) -> Result<u64, NegError> {
        let mut n: u64 = 0;
        for _ in 0..MAX_VARINT {
            let byte = self.byte()?;
            if n >> 57 != 0 {
                return Err(NegError::Varint);
            }
            n = (n << 7) | u64::from(byte & 0x7f);
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(NegError::Varint)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use negentropy::{Id, Negentropy, NegentropyStorageVector};
    use samizdat_store::KeySet;

    use super::*;

    type Key = (u64, [u8; 32]);

    /// A deterministic generator (xorshift), so a failure can be replayed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn id(&mut self) -> [u8; 32] {
            let mut id = [0u8; 32];
            for chunk in id.chunks_exact_mut(8) {
                chunk.copy_from_slice(&self.next().to_le_bytes());
            }
            id
        }
    }

    /// Two key sets sharing most keys. Few distinct timestamps, and ids
    /// that share long prefixes, so bounds need id prefixes of every
    /// length.
    fn sets(
        rng: &mut Rng,
        shared: usize,
        only: (usize, usize),
        spread: u64,
    ) -> (Vec<Key>, Vec<Key>) {
        let key = |rng: &mut Rng| {
            let mut id = rng.id();
            let prefix = (rng.next() % 4) as usize * 3;
            id[..prefix].fill(0xab);
            (1_700_000_000 + rng.next() % spread, id)
        };
        let common: Vec<Key> = (0..shared).map(|_| key(rng)).collect();
        let mut a = common.clone();
        let mut b = common;
        a.extend((0..only.0).map(|_| key(rng)));
        b.extend((0..only.1).map(|_| key(rng)));
        (a, b)
    }

    fn crate_side(keys: &[Key], frame: u64) -> Negentropy<'static, NegentropyStorageVector> {
        let mut storage = NegentropyStorageVector::with_capacity(keys.len());
        let mut unique = keys.to_vec();
        unique.sort_unstable();
        unique.dedup();
        for (at, id) in unique {
            storage.insert(at, Id::from_byte_array(id)).expect("insert");
        }
        storage.seal().expect("seal");
        Negentropy::owned(storage, frame).expect("crate side")
    }

    fn our_side(keys: &[Key], frame: u64) -> Reconciler {
        let set = Arc::new(KeySet::new(keys.to_vec()));
        Reconciler::new(KeyStorage::range(set, 0, u64::MAX), frame).expect("our side")
    }

    fn bytes(ids: &[EventId]) -> Vec<[u8; 32]> {
        ids.iter().map(|id| id.to_bytes()).collect()
    }

    fn sorted(mut ids: Vec<[u8; 32]>) -> Vec<[u8; 32]> {
        ids.sort_unstable();
        ids
    }

    /// Runs the crate against itself and ours against ours on the same
    /// sets, and checks every message is the same bytes, then that the
    /// result is the true difference.
    fn same_as_crate(a: &[Key], b: &[Key], client_frame: u64, server_frame: u64) {
        let mut crate_client = crate_side(a, client_frame);
        let mut crate_server = crate_side(b, server_frame);
        let mut client = our_side(a, client_frame);
        let mut server = our_side(b, server_frame);
        let mut message = crate_client.initiate().expect("initiate");
        assert_eq!(client.initiate().expect("initiate"), message);
        let (mut crate_have, mut crate_need) = (Vec::new(), Vec::new());
        let (mut have, mut need) = (Vec::new(), Vec::new());
        for round in 0..200 {
            let answer = crate_server.reconcile(&message).expect("crate answers");
            assert_eq!(
                server.answer(&message).expect("answers"),
                answer,
                "answer {round}"
            );
            let crate_next = crate_client
                .reconcile_with_ids(&answer, &mut crate_have, &mut crate_need)
                .expect("crate reconciles");
            let next = client
                .next(&answer, &mut have, &mut need)
                .expect("reconciles");
            assert_eq!(next, crate_next, "message {round}");
            assert_eq!(
                sorted(bytes(&have)),
                sorted(crate_have.iter().map(|i| i.to_bytes()).collect()),
                "have after {round}"
            );
            assert_eq!(
                sorted(bytes(&need)),
                sorted(crate_need.iter().map(|i| i.to_bytes()).collect()),
                "need after {round}"
            );
            match next {
                Some(next) => message = next,
                None => {
                    let ids =
                        |keys: &[Key]| -> HashSet<[u8; 32]> { keys.iter().map(|k| k.1).collect() };
                    let (ours, theirs) = (ids(a), ids(b));
                    let mut only_ours: Vec<_> = ours.difference(&theirs).copied().collect();
                    let mut only_theirs: Vec<_> = theirs.difference(&ours).copied().collect();
                    only_ours.sort_unstable();
                    only_theirs.sort_unstable();
                    assert_eq!(sorted(bytes(&have)), only_ours);
                    assert_eq!(sorted(bytes(&need)), only_theirs);
                    return;
                }
            }
        }
        panic!("no end in 200 rounds");
    }

    #[test]
    fn every_message_is_the_crates() {
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        for (shared, only, spread) in [
            (0, (0, 0), 10),
            (0, (5, 0), 10),
            (0, (0, 40), 10),
            (10, (0, 0), 10),
            (31, (1, 1), 3),
            (1_000, (3, 4), 5),
            (5_000, (50, 70), 1_000_000),
            (20_000, (300, 10), 100),
            (3_000, (2_000, 2_500), 50),
        ] {
            let (a, b) = sets(&mut rng, shared, only, spread);
            for (client_frame, server_frame) in [(0, 0), (0, 4_096), (0, 60_000), (4_096, 4_096)] {
                same_as_crate(&a, &b, client_frame, server_frame);
            }
        }
    }

    /// Runs a reconciliation to its end; what the client has and needs.
    fn run(mut client: Reconciler, mut server: Reconciler) -> (Vec<[u8; 32]>, Vec<[u8; 32]>) {
        let (mut have, mut need) = (Vec::new(), Vec::new());
        let mut message = client.initiate().expect("initiate");
        for _ in 0..200 {
            let answer = server.answer(&message).expect("answer");
            match client.next(&answer, &mut have, &mut need).expect("next") {
                Some(next) => message = next,
                None => return (sorted(bytes(&have)), sorted(bytes(&need))),
            }
        }
        panic!("no end in 200 rounds");
    }

    /// A time range of a shared key set reconciles as that range alone.
    #[test]
    fn a_time_range_reconciles_its_keys_alone() {
        let mut rng = Rng(77);
        let (a, b) = sets(&mut rng, 4_000, (40, 60), 1_000);
        let (since, until) = (1_700_000_200, 1_700_000_700);
        let within = |keys: &[Key]| -> Vec<Key> {
            keys.iter()
                .filter(|k| k.0 >= since && k.0 <= until)
                .copied()
                .collect()
        };
        let ranged = |keys: &[Key]| {
            let set = Arc::new(KeySet::new(keys.to_vec()));
            Reconciler::new(KeyStorage::range(set, since, until), 0).expect("side")
        };
        let expected = run(our_side(&within(&a), 0), our_side(&within(&b), 0));
        assert!(!expected.0.is_empty() && !expected.1.is_empty());
        assert_eq!(run(ranged(&a), ranged(&b)), expected);
        let mut first = ranged(&a);
        assert_eq!(first.initiate(), our_side(&within(&a), 0).initiate());
        assert!(
            first.initiate().is_err(),
            "a second first message is refused"
        );
    }

    /// The forward search finds what a binary search over the whole
    /// slice finds, for bounds before, among, between and after the keys.
    #[test]
    fn the_forward_search_is_a_lower_bound() {
        let mut rng = Rng(3);
        let (keys, _) = sets(&mut rng, 700, (0, 0), 40);
        let set = KeySet::new(keys);
        let keys = set.keys();
        let mut bounds = vec![Bound::ZERO, Bound::END, Bound::at(1_700_000_020)];
        for i in (0..keys.len()).step_by(7) {
            bounds.push(Bound::of_key(&keys[i]));
            if i > 0 {
                bounds.push(Bound::between(&keys[i - 1], &keys[i]));
            }
        }
        for from in [0, 1, 5, 333, keys.len() - 1, keys.len()] {
            for bound in &bounds {
                assert_eq!(
                    from + below(&keys[from..], bound),
                    keys.partition_point(|k| bound.above(k)).max(from),
                    "{bound:?} from {from}"
                );
            }
        }
    }

    #[test]
    fn hex_round_trips_and_anything_else_is_refused() {
        let bytes: Vec<u8> = (0..=255).collect();
        let hex = to_hex(&bytes);
        assert_eq!(hex, hex::encode(&bytes));
        assert_eq!(from_hex(&hex), Some(bytes.clone()));
        assert_eq!(from_hex(&hex.to_uppercase()), Some(bytes));
        assert_eq!(from_hex(""), Some(Vec::new()));
        for bad in ["6", "61g0", "61 0", "zz", "6é", &format!("{hex}0")] {
            assert_eq!(from_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn varints_round_trip_and_overlong_ones_are_refused() {
        for n in [0, 1, 127, 128, 16_383, 16_384, u64::MAX / 3, u64::MAX] {
            let mut out = Vec::new();
            write_varint(n, &mut out);
            let mut input = Input(&out);
            assert_eq!(input.varint(), Ok(n));
            assert!(input.is_empty());
        }
        assert_eq!(Input(&[0xff; 11]).varint(), Err(NegError::Varint));
        assert_eq!(
            Input(&[0x82, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).varint(),
            Err(NegError::Varint)
        );
        assert_eq!(Input(&[0x81]).varint(), Err(NegError::Truncated));
    }

    #[test]
    fn bad_messages_are_refused_and_the_side_still_answers() {
        let mut rng = Rng(9);
        let (a, b) = sets(&mut rng, 2_000, (20, 20), 100);
        // No frame limit: an answer cut short would not read the end of a
        // message, and the end is what some of these break.
        let mut server = our_side(&b, 0);
        let good = our_side(&a, 0).initiate().expect("initiate");
        let expected = server.answer(&good).expect("answer");
        let mut cases: Vec<(Vec<u8>, NegError)> = vec![
            (vec![], NegError::Truncated),
            (vec![0x10], NegError::NotNegentropy(0x10)),
            (vec![PROTOCOL_VERSION, 1, 0, 7], NegError::Mode(7)),
            (vec![PROTOCOL_VERSION, 1, 33], NegError::BoundPrefix(33)),
            (vec![PROTOCOL_VERSION, 1, 0, 1, 1, 2], NegError::Truncated),
            (
                vec![PROTOCOL_VERSION, 0, 0, 2, 0xff, 0xff, 0x7f],
                NegError::Truncated,
            ),
        ];
        cases.push((good[..good.len() - 3].to_vec(), NegError::Truncated));
        for (message, error) in cases {
            assert_eq!(server.answer(&message), Err(error), "{message:02x?}");
        }
        // Another version: the answer is our version alone.
        assert_eq!(server.answer(&[0x62, 1, 2, 3]), Ok(vec![PROTOCOL_VERSION]));
        // Random bytes after the version byte: an error or an answer, never
        // a panic; the side then answers a good message as before.
        for _ in 0..2_000 {
            let len = (rng.next() % 300) as usize;
            let mut message = vec![PROTOCOL_VERSION];
            message.extend((0..len).map(|_| rng.next() as u8));
            let _ = server.answer(&message);
            let mut mutated = good.clone();
            let at = 1 + (rng.next() as usize) % (mutated.len() - 1);
            mutated[at] = rng.next() as u8;
            let _ = server.answer(&mutated);
        }
        assert_eq!(server.answer(&good).expect("answer"), expected);
        // Roles hold.
        assert!(
            server
                .next(&expected, &mut Vec::new(), &mut Vec::new())
                .is_err()
        );
        let mut client = our_side(&a, 0);
        client.initiate().expect("initiate");
        assert!(client.answer(&good).is_err());
        assert_eq!(
            client.next(&[0x62], &mut Vec::new(), &mut Vec::new()),
            Err(NegError::Unsupported(0x62))
        );
        assert!(matches!(
            Reconciler::new(KeyStorage::vector(Vec::new()), 4_095),
            Err(NegError::FrameLimit)
        ));
    }
}
