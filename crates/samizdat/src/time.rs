//! Times typed by people: RFC 3339 with an offset, a local date and time,
//! a date, or Unix seconds.

use anyhow::{Context, Result, bail};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

/// Parses one moment. A time without an offset is in this machine's zone.
pub fn parse(text: &str) -> Result<u64> {
    let text = text.trim();
    let seconds = if let Ok(n) = text.parse::<u64>() {
        n as i64
    } else if let Ok(ts) = text.parse::<Timestamp>() {
        ts.as_second()
    } else if let Ok(z) = text.parse::<ZonedDateTime>() {
        z.timestamp().as_second()
    } else if let Ok(dt) = text.replacen(' ', "T", 1).parse::<DateTime>() {
        dt.to_zoned_datetime(TimeZone::system())
            .with_context(|| format!("time {text:?} does not exist in this time zone"))?
            .timestamp()
            .as_second()
    } else if let Ok(d) = text.parse::<Date>() {
        d.to_zoned_datetime(TimeZone::system())
            .with_context(|| format!("date {text:?} does not exist in this time zone"))?
            .timestamp()
            .as_second()
    } else {
        bail!(
            "cannot read {text:?} as a time; write 2022-01-05T14:00, 2022-01-05 14:00+06:00 or 2022-01-05"
        );
    };
    u64::try_from(seconds).map_err(|_| anyhow::anyhow!("time {text:?} is before 1970"))
}

/// Parses `TIME` or `START..END`.
pub fn parse_span(text: &str) -> Result<(u64, Option<u64>)> {
    match text.split_once("..") {
        Some((start, end)) => {
            let (start, end) = (parse(start)?, parse(end)?);
            if end < start {
                bail!("{text:?} ends before it starts");
            }
            Ok((start, Some(end)))
        }
        None => Ok((parse(text)?, None)),
    }
}

/// A Unix time as `2022-01-05 14:00:00Z`.
pub fn show(seconds: u64) -> String {
    match Timestamp::from_second(seconds as i64) {
        Ok(ts) => ts.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
        Err(_) => seconds.to_string(),
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
        assert_eq!(parse_span("1..2").expect("span"), (1, Some(2)));
        assert!(parse_span("2..1").is_err());
        assert!(parse("yesterday-ish").is_err());
        assert_eq!(show(1_641_463_200), "2022-01-06 10:00:00Z");
    }
}
