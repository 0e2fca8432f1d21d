//! Go duration strings ("30m", "1h30m", "1.5h", "300ms"), as Teleport reads
//! `client_idle_timeout`.

use std::time::Duration;

/// Parses Go's `time.ParseDuration` syntax: a sequence of decimal numbers,
/// each with an optional fraction and a unit (`ns`, `us`/`µs`/`μs`, `ms`, `s`,
/// `m`, `h`), or a bare `0`.
///
/// Negative durations are refused: an idle timeout below zero means nothing.
pub(crate) fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let invalid =
        || format!("invalid duration {text:?}, expected something like \"30m\" or \"1h30m\"");
    let mut s = text;
    if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    } else if let Some(rest) = s.strip_prefix('-') {
        if rest.chars().all(|c| c == '0' || c == '.') {
            // "-0" is zero in Go; anything else negative is refused below.
            s = rest;
        } else {
            return Err(format!("duration {text:?} is negative"));
        }
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, rest) = s.split_at(int_len);
        s = rest;
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let frac_len = rest.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &rest[..frac_len];
            s = &rest[frac_len..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let nanos_per_unit: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            "" => return Err(format!("missing unit in duration {text:?}")),
            other => return Err(format!("unknown unit {other:?} in duration {text:?}")),
        };
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse::<u128>().map_err(|_| invalid())?
        };
        let mut nanos = whole.checked_mul(nanos_per_unit).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            // Exact decimal arithmetic on at most 30 fraction digits.
            let digits = &frac_part[..frac_part.len().min(30)];
            let scale = 10u128.pow(u32::try_from(digits.len()).unwrap_or(30));
            let frac: u128 = digits.parse().map_err(|_| invalid())?;
            nanos = nanos
                .checked_add(frac.checked_mul(nanos_per_unit).ok_or_else(invalid)? / scale)
                .ok_or_else(invalid)?;
        }
        total = total.checked_add(nanos).ok_or_else(invalid)?;
    }
    // Go durations are int64 nanoseconds.
    if total > i64::MAX as u128 {
        return Err(format!("duration {text:?} is too long"));
    }
    let total = u64::try_from(total).map_err(|_| invalid())?;
    Ok(Duration::from_nanos(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let ok = [
            ("0", 0),
            ("30m", 1_800),
            ("1h30m", 5_400),
            ("1.5h", 5_400),
            ("90s", 90),
            ("+2h", 7_200),
            ("-0", 0),
            ("1h0m0s", 3_600),
        ];
        for (text, secs) in ok {
            assert_eq!(
                parse_go_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        assert_eq!(parse_go_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_go_duration("1.5µs"), Ok(Duration::from_nanos(1_500)));
        assert_eq!(parse_go_duration(".5s"), Ok(Duration::from_millis(500)));
        for bad in [
            "",
            "30",
            "m",
            "1x",
            "-1h",
            "1h-1m",
            ".s",
            "1.h2",
            "10000000000h",
            "1 h",
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} should fail");
        }
    }
}
