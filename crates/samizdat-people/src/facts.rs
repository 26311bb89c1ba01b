//! What a registry entry and its reports say, read the same way by the
//! command line, the node's pages and PFIF export.

use crate::registry::{Entry, Report};

impl Entry {
    /// The newest age any report gives.
    pub fn age(&self) -> Option<u8> {
        self.history.iter().find_map(|r| r.age)
    }

    /// The newest role any report gives.
    pub fn role(&self) -> Option<&str> {
        self.history.iter().find_map(|r| r.role.as_deref())
    }
}

impl Report {
    /// The offset [`when`](Self::when) was written in (`+06:00`), when the
    /// report gives an observed time and says.
    pub fn when_offset(&self) -> Option<&str> {
        self.observed.and(self.offset.as_deref())
    }
}
