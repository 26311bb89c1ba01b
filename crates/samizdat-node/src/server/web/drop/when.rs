//! When it happened, as a witness's form says it: a browser's date-time
//! field, read in the UTC offset the form sends beside it. The form
//! offers the node's configured time zone first (`timezone` in
//! samizdat.toml), never the server process's own; the record keeps the
//! offset, so that every reader sees the time as it was written.

use samizdat_core::tags::{Observed, Offset};

use crate::zone::Zone;

/// The offsets a form offers, west to east: every whole hour, and the
/// half and three-quarter hours zones use.
pub const OFFSETS: &[&str] = &[
    "-12:00", "-11:00", "-10:00", "-09:30", "-09:00", "-08:00", "-07:00", "-06:00", "-05:00",
    "-04:00", "-03:30", "-03:00", "-02:00", "-01:00", "+00:00", "+01:00", "+02:00", "+03:00",
    "+03:30", "+04:00", "+04:30", "+05:00", "+05:30", "+05:45", "+06:00", "+06:30", "+07:00",
    "+08:00", "+08:45", "+09:00", "+09:30", "+10:00", "+10:30", "+11:00", "+12:00", "+12:45",
    "+13:00", "+14:00",
];

/// The offset a form offers first: the configured zone's, now; UTC
/// without one.
pub fn default_zone(zone: Option<&Zone>) -> String {
    let now = jiff::Timestamp::now().as_second();
    zone.map_or(Offset::UTC, |z| z.offset_at(now)).to_string()
}

/// Reads `YYYY-MM-DDTHH:MM` (a browser's date-time field),
/// `YYYY-MM-DD HH:MM` or `YYYY-MM-DD` in the offset `zone` (`+06:00`;
/// UTC when the form sent none).
pub fn parse_observed(text: &str, zone: &str) -> Result<Option<Observed>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let offset = match zone.trim() {
        "" => Offset::UTC,
        z => Offset::parse(z).ok_or_else(|| z.to_string())?,
    };
    let civil: jiff::civil::DateTime = match text.parse() {
        Ok(t) => t,
        Err(_) => text
            .parse::<jiff::civil::Date>()
            .map_err(|_| text.to_string())?
            .to_datetime(jiff::civil::Time::midnight()),
    };
    let fixed = jiff::tz::Offset::from_seconds(offset.seconds() as i32)
        .map_err(|e| e.to_string())?
        .to_timestamp(civil)
        .map_err(|e| e.to_string())?;
    let start = u64::try_from(fixed.as_second()).map_err(|_| text.to_string())?;
    Ok(Some(Observed {
        start,
        end: None,
        offset: Some(offset),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_the_offset_the_form_sends() {
        let at = |text, zone| parse_observed(text, zone).unwrap().unwrap();
        let almaty = at("2022-01-05T15:00", "+06:00");
        assert_eq!(almaty.start, 1_641_373_200);
        assert_eq!(almaty.offset, Offset::parse("+06:00"));
        assert_eq!(at("2022-01-05 09:00", "").start, almaty.start);
        assert!(parse_observed("2026-11-30", "+06:00").unwrap().is_some());
        assert_eq!(parse_observed("  ", "+06:00").unwrap(), None);
        assert!(parse_observed("last tuesday", "+06:00").is_err());
        assert!(parse_observed("2026-11-30T14:30", "Almaty").is_err());
        for zone in OFFSETS {
            assert!(Offset::parse(zone).is_some(), "{zone}");
        }
    }
}
