//! HTTP range requests (RFC 9110 §14), one range at a time: what a
//! download resumed after a cut needs.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// Inclusive byte positions within the blob.
    Bytes { start: u64, end: u64 },
    /// No byte of the request lies within the blob: 416.
    Unsatisfiable,
    /// Not a single byte range (several ranges, another unit, garbage):
    /// RFC 9110 lets the server send the whole blob.
    Ignore,
}

/// Reads a `Range` header for a blob of `len` bytes.
pub fn parse(header: &str, len: u64) -> Range {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Range::Ignore;
    };
    if spec.contains(',') {
        return Range::Ignore;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Range::Ignore;
    };
    let (first, last) = (first.trim(), last.trim());
    match (first.is_empty(), last.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match last.parse::<u64>() {
            Ok(0) => Range::Unsatisfiable,
            Ok(n) if len > 0 => Range::Bytes {
                start: len.saturating_sub(n),
                end: len - 1,
            },
            Ok(_) => Range::Unsatisfiable,
            Err(_) => Range::Ignore,
        },
        (false, _) => {
            let Ok(start) = first.parse::<u64>() else {
                return Range::Ignore;
            };
            let end = if last.is_empty() {
                u64::MAX
            } else {
                match last.parse::<u64>() {
                    Ok(end) if end >= start => end,
                    _ => return Range::Ignore,
                }
            };
            if start >= len {
                Range::Unsatisfiable
            } else {
                Range::Bytes {
                    start,
                    end: end.min(len - 1),
                }
            }
        }
        (true, true) => Range::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let b = |start, end| Range::Bytes { start, end };
        assert_eq!(parse("bytes=0-9", 100), b(0, 9));
        assert_eq!(parse("bytes=90-", 100), b(90, 99));
        assert_eq!(parse("bytes=90-500", 100), b(90, 99));
        assert_eq!(parse("bytes=-10", 100), b(90, 99));
        assert_eq!(parse("bytes=-500", 100), b(0, 99));
        assert_eq!(parse("bytes=100-", 100), Range::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 100), Range::Unsatisfiable);
        assert_eq!(parse("bytes=0-", 0), Range::Unsatisfiable);
        assert_eq!(parse("bytes=5-1", 100), Range::Ignore);
        assert_eq!(parse("bytes=0-1,5-6", 100), Range::Ignore);
        assert_eq!(parse("items=0-1", 100), Range::Ignore);
        assert_eq!(parse("bytes=x-y", 100), Range::Ignore);
    }
}
