//! Size and time limits applied to every event, whatever its kind.

use serde::{Deserialize, Serialize};

/// Earliest `created_at` accepted: 2020-01-01T00:00:00Z. Nostr did not exist
/// before late 2020, so an earlier time means a broken clock or a backdated
/// record.
pub const EARLIEST_CREATED_AT: u64 = 1_577_836_800;

/// Limits every event must respect. The defaults suit a node on a laptop;
/// the relay makes them configurable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest event, as canonical JSON, in bytes. Media travel as blobs, so
    /// records stay small; 256 KiB leaves room for long testimonies.
    pub max_event_bytes: usize,
    /// Most tags in one event. Bounds the index rows one event can create.
    pub max_tags: usize,
    /// Longest single tag value, in bytes.
    pub max_tag_value_bytes: usize,
    /// How far ahead of this node's clock `created_at` may be, in seconds.
    /// Phones' clocks drift; fifteen minutes tolerates that.
    pub max_future_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_event_bytes: 256 * 1024,
            max_tags: 2_000,
            max_tag_value_bytes: 64 * 1024,
            max_future_seconds: 15 * 60,
        }
    }
}
