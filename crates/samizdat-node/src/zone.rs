//! A time zone the configuration names (`timezone`): an IANA name such
//! as `Asia/Almaty` or an offset such as `+06:00`, read when the
//! configuration loads.

use serde::{Deserialize, Serialize};

/// A time zone the configuration names, read when it loads.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    zone: jiff::tz::TimeZone,
}

impl Zone {
    pub fn parse(name: &str) -> Result<Zone, String> {
        let zone = match samizdat_core::tags::Offset::parse(name) {
            Some(offset) => jiff::tz::Offset::from_seconds(offset.seconds() as i32)
                .map(jiff::tz::TimeZone::fixed)
                .map_err(|e| e.to_string())?,
            None => jiff::tz::TimeZone::get(name).map_err(|_| {
                format!("unknown time zone {name:?}: use a name such as \"Asia/Almaty\" or an offset such as \"+06:00\"")
            })?,
        };
        Ok(Zone {
            name: name.to_string(),
            zone,
        })
    }

    /// The zone's UTC offset at `secs` (Unix seconds).
    pub fn offset_at(&self, secs: i64) -> samizdat_core::tags::Offset {
        let offset = jiff::Timestamp::from_second(secs)
            .map(|t| self.zone.to_offset(t).seconds())
            .unwrap_or(0);
        samizdat_core::tags::Offset::from_minutes(offset / 60)
            .unwrap_or(samizdat_core::tags::Offset::UTC)
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Zone) -> bool {
        self.name == other.name
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Zone, D::Error> {
        let name = String::deserialize(d)?;
        Zone::parse(&name).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}
