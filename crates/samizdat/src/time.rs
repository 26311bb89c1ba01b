//! Times typed by people: RFC 3339 with an offset, a local date and time,
//! a date, or Unix seconds.

use anyhow::{Context, Result, bail};
use jiff::civil::{Date, DateTime};
use jiff::fmt::temporal::Pieces;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use samizdat_core::tags::Offset;

/// Parses one moment. A time without an offset is in this machine's zone.
pub fn parse(text: &str) -> Result<u64> {
    parse_at(text).map(|(seconds, _)| seconds)
}

/// Parses one moment, with the UTC offset it was written in: the one it
/// gives, or this machine's zone's for a local time; none for Unix
/// seconds.
pub fn parse_at(text: &str) -> Result<(u64, Option<Offset>)> {
    let text = text.trim();
    let here = |ts: Timestamp| to_offset(TimeZone::system().to_offset(ts));
    let (seconds, offset) = if let Ok(n) = text.parse::<u64>() {
        (n as i64, None)
    } else if let Ok(ts) = text.parse::<Timestamp>() {
        let written = Pieces::parse(text)
            .ok()
            .and_then(|p| p.to_numeric_offset())
            .and_then(to_offset);
        (ts.as_second(), written)
    } else if let Ok(z) = text.parse::<ZonedDateTime>() {
        (z.timestamp().as_second(), to_offset(z.offset()))
    } else if let Ok(dt) = text.replacen(' ', "T", 1).parse::<DateTime>() {
        let ts = dt
            .to_zoned_datetime(TimeZone::system())
            .with_context(|| format!("time {text:?} does not exist in this time zone"))?
            .timestamp();
        (ts.as_second(), here(ts))
    } else if let Ok(d) = text.parse::<Date>() {
        let ts = d
            .to_zoned_datetime(TimeZone::system())
            .with_context(|| format!("date {text:?} does not exist in this time zone"))?
            .timestamp();
        (ts.as_second(), here(ts))
    } else {
        bail!(
            "cannot read {text:?} as a time; write 2022-01-05T14:00, 2022-01-05 14:00+06:00 or 2022-01-05"
        );
    };
    let seconds =
        u64::try_from(seconds).map_err(|_| anyhow::anyhow!("time {text:?} is before 1970"))?;
    Ok((seconds, offset))
}

fn to_offset(offset: jiff::tz::Offset) -> Option<Offset> {
    Offset::from_minutes(offset.seconds() / 60)
}

/// Parses `TIME` or `START..END`, with the offset the start was written
/// in.
pub fn parse_span(text: &str) -> Result<(u64, Option<u64>, Option<Offset>)> {
    match text.split_once("..") {
        Some((start, end)) => {
            let ((start, offset), end) = (parse_at(start)?, parse(end)?);
            if end < start {
                bail!("{text:?} ends before it starts");
            }
            Ok((start, Some(end), offset))
        }
        None => parse_at(text).map(|(start, offset)| (start, None, offset)),
    }
}

/// A Unix time as `2022-01-05 14:00:00Z`.
pub fn show(seconds: u64) -> String {
    match Timestamp::from_second(seconds as i64) {
        Ok(ts) => ts.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
        Err(_) => seconds.to_string(),
    }
}

/// A Unix time in the offset it was written in, `2022-01-05
/// 14:00:00+06:00`; in UTC without one.
pub fn show_at(seconds: u64, offset: Option<Offset>) -> String {
    let Some(offset) = offset else {
        return show(seconds);
    };
    let local = i64::try_from(seconds)
        .ok()
        .and_then(|s| Timestamp::from_second(s + offset.seconds()).ok());
    match local {
        Some(ts) => format!("{}{offset}", ts.strftime("%Y-%m-%d %H:%M:%S")),
        None => seconds.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        assert_eq!(parse("1641463200").expect("unix"), 1_641_463_200);
        assert_eq!(
            parse("2022-01-06T10:00:00Z").expect("rfc3339"),
            1_641_463_200
        );
        assert_eq!(
            parse("2022-01-06 16:00+06:00").expect("offset"),
            1_641_463_200
        );
        assert_eq!(parse_span("1..2").expect("span"), (1, Some(2), None));
        let almaty = Offset::parse("+06:00");
        assert_eq!(
            parse_at("2022-01-06 16:00+06:00").expect("offset"),
            (1_641_463_200, almaty)
        );
        assert_eq!(show_at(1_641_463_200, almaty), "2022-01-06 16:00:00+06:00");
        assert_eq!(
            parse_at("2022-01-06T10:00:00Z").expect("zulu").1,
            Offset::parse("+00:00")
        );
        assert!(parse_span("2..1").is_err());
        assert!(parse("yesterday-ish").is_err());
        assert_eq!(show(1_641_463_200), "2022-01-06 10:00:00Z");
    }
}
