//! HTTP `Range` for one range of bytes (RFC 9110 14.1.2), as the player
//! asks for pieces of a recording: `bytes=a-b`, `bytes=a-` and
//! `bytes=-n`. Several ranges in one request are answered with the whole
//! file, as the RFC allows.

use std::ops::Range;

/// What to send for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No range (or one this answers whole): 200 and every byte.
    Whole,
    /// 206 and these bytes.
    Part(Range<u64>),
    /// 416: the range starts past the end.
    Unsatisfiable,
}

/// Parsing of one `Range` header.
pub struct ByteRange;

impl ByteRange {
    /// The answer to `header` for a file of `len` bytes, sending at most
    /// `most` bytes in one part (the client asks again for the rest, as
    /// `Content-Range` tells it).
    pub fn answer(header: Option<&str>, len: u64, most: u64) -> RangeAnswer {
        let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return RangeAnswer::Whole };
        if spec.contains(',') {
            return RangeAnswer::Whole;
        }
        let Some((first, last)) = spec.split_once('-') else { return RangeAnswer::Whole };
        let (first, last) = (first.trim(), last.trim());
        let range = match (first.parse::<u64>(), last.parse::<u64>()) {
            (Ok(first), Ok(last)) if first <= last => first..last.saturating_add(1).min(len),
            (Ok(_), Ok(_)) => return RangeAnswer::Whole,
            (Ok(first), Err(_)) if last.is_empty() => first..len,
            (Err(_), Ok(suffix)) if first.is_empty() => len.saturating_sub(suffix)..len,
            _ => return RangeAnswer::Whole,
        };
        if range.start >= len {
            return RangeAnswer::Unsatisfiable;
        }
        RangeAnswer::Part(range.start..range.end.min(range.start.saturating_add(most)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_range_in_each_form() {
        assert_eq!(ByteRange::answer(Some("bytes=0-99"), 1000, 1 << 20), RangeAnswer::Part(0..100));
        assert_eq!(ByteRange::answer(Some("bytes=900-"), 1000, 1 << 20), RangeAnswer::Part(900..1000));
        assert_eq!(ByteRange::answer(Some("bytes=-10"), 1000, 1 << 20), RangeAnswer::Part(990..1000));
        // Past the end is cut to it; a start past it is unsatisfiable.
        assert_eq!(ByteRange::answer(Some("bytes=990-2000"), 1000, 1 << 20), RangeAnswer::Part(990..1000));
        assert_eq!(ByteRange::answer(Some("bytes=1000-1001"), 1000, 1 << 20), RangeAnswer::Unsatisfiable);
    }

    #[test]
    fn a_large_range_is_sent_a_part_at_a_time() {
        assert_eq!(ByteRange::answer(Some("bytes=0-"), 1 << 30, 1 << 20), RangeAnswer::Part(0..1 << 20));
    }

    #[test]
    fn anything_else_is_the_whole_file() {
        for header in [None, Some("items=0-1"), Some("bytes=5-1"), Some("bytes=0-1,4-5"), Some("bytes=x-y"), Some("bytes=")] {
            assert_eq!(ByteRange::answer(header, 1000, 1 << 20), RangeAnswer::Whole, "{header:?}");
        }
    }
}
