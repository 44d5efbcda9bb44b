//! Go `time.ParseDuration`, as used by `refreshInterval` (no `d` unit, no spaces).

use std::time::Duration;

/// A duration string that Go would reject.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid Go duration {text:?}: {why} (examples: 30s, 15m, 1h30m, 0)")]
pub struct DurationError {
    text: String,
    why: &'static str,
}

/// Parses a Go duration. Negative durations parse to zero (Go treats `refreshInterval <= 0` alike).
pub fn parse_go_duration(text: &str) -> Result<Duration, DurationError> {
    let err = |why| DurationError {
        text: text.to_owned(),
        why,
    };
    let mut rest = text;
    let negative = if let Some(r) = rest.strip_prefix('-') {
        rest = r;
        true
    } else {
        rest = rest.strip_prefix('+').unwrap_or(rest);
        false
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(err("empty"));
    }
    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(err("expected a number"));
        }
        let value: f64 = number.parse().map_err(|_| err("expected a number"))?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(err("missing unit")),
            _ => return Err(err("unknown unit (use ns, us, ms, s, m or h)")),
        };
        rest = &rest[unit_len..];
        total_nanos += value * nanos_per_unit;
    }
    if total_nanos > i64::MAX as f64 {
        return Err(err("overflow"));
    }
    if negative {
        return Ok(Duration::ZERO);
    }
    Ok(Duration::from_nanos(total_nanos.round() as u64))
}

/// Go's `Duration.String()` (`1h0m0s`, `30s`, `1m30s`), used in messages and printed defaults.
pub fn format_go_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 && d.subsec_nanos() == 0 {
        return "0s".to_owned();
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let frac = d.subsec_nanos();
    let sec = if frac == 0 {
        format!("{s}s")
    } else {
        format!("{}s", s as f64 + frac as f64 / 1e9)
    };
    if h > 0 {
        format!("{h}h{m}m{sec}")
    } else if m > 0 {
        format!("{m}m{sec}")
    } else {
        sec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_go_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_go_duration("1h0m0s"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("1µs"), Ok(Duration::from_micros(1)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_go_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_go_duration("-5m"), Ok(Duration::ZERO));
    }

    #[test]
    fn what_go_rejects_is_rejected() {
        for bad in ["", "1d", "5", "1H", "1h 30m", "h", ".s", "1..2s"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn durations_format_like_go() {
        assert_eq!(format_go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format_go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_go_duration(Duration::from_secs(5)), "5s");
        assert_eq!(format_go_duration(Duration::ZERO), "0s");
    }
}
