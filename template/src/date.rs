//! Sprig's basic date functions with Go reference-time layouts
//! (`2006-01-02T15:04:05Z07:00`). Times are UTC: the controller has no time
//! zone database, so only the zones `UTC`, `""` and `Local` (= UTC) are
//! accepted.

use chrono::{
    DateTime, Datelike as _, FixedOffset, Offset as _, TimeZone as _, Timelike as _, Utc,
};

use crate::function::{Call, FResult, arity, ferr, text_arg};
use crate::value::Value;

pub(crate) fn now(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 0)?;
    Ok(Value::Time(Utc::now().fixed_offset()))
}

/// Sprig's `toDate`-less conversion of a date argument: a time, or Unix
/// seconds.
fn time_arg(v: &Value) -> DateTime<FixedOffset> {
    match v {
        Value::Time(t) => *t,
        Value::Int(secs) => Utc
            .timestamp_opt(*secs, 0)
            .single()
            .unwrap_or_default()
            .fixed_offset(),
        // Sprig uses time.Now() for anything else.
        _ => Utc::now().fixed_offset(),
    }
}

fn zone(name: &str) -> Result<FixedOffset, crate::function::FuncError> {
    match name {
        "" | "UTC" | "Local" => Ok(Utc.fix()),
        _ => ferr("only the UTC time zone is supported"),
    }
}

pub(crate) fn date(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let layout = text_arg(args, 0)?;
    let t = time_arg(&args[1]).with_timezone(&zone("UTC")?);
    Ok(Value::str(format_go(&t, &layout)))
}

pub(crate) fn date_in_zone(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 3)?;
    let layout = text_arg(args, 0)?;
    let t = time_arg(&args[1]).with_timezone(&zone(&text_arg(args, 2)?)?);
    Ok(Value::str(format_go(&t, &layout)))
}

pub(crate) fn html_date(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    Ok(Value::str(format_go(
        &time_arg(&args[0]).with_timezone(&zone("UTC")?),
        "2006-01-02",
    )))
}

pub(crate) fn html_date_in_zone(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 2)?;
    let t = time_arg(&args[0]).with_timezone(&zone(&text_arg(args, 1)?)?);
    Ok(Value::str(format_go(&t, "2006-01-02")))
}

pub(crate) fn unix_epoch(call: &Call<'_>, args: &[Value]) -> FResult {
    arity(call, args, 1)?;
    match &args[0] {
        Value::Time(t) => Ok(Value::str(t.timestamp().to_string())),
        other => ferr(format!(
            "wrong type for value; expected time.Time; got {}",
            other.type_name()
        )),
    }
}

/// Go's `time.Time.String()` (without the monotonic clock reading).
pub(crate) fn go_string(t: &DateTime<FixedOffset>) -> String {
    format_go(t, "2006-01-02 15:04:05.999999999 -0700 MST")
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Format `t` with a Go reference-time layout.
pub(crate) fn format_go(t: &DateTime<FixedOffset>, layout: &str) -> String {
    let mut out = String::new();
    let b = layout.as_bytes();
    let mut i = 0;
    let offset = t.offset().local_minus_utc();
    let zone_name = || {
        if offset == 0 {
            "UTC".to_string()
        } else {
            offset_text(offset, "", false, false)
        }
    };
    while i < b.len() {
        let rest = &layout[i..];
        let take = |p: &str| rest.starts_with(p);
        let (text, used): (String, usize) = if take("January") {
            (MONTHS[t.month0() as usize].to_string(), 7)
        } else if take("Jan") {
            (MONTHS[t.month0() as usize][..3].to_string(), 3)
        } else if take("Monday") {
            (
                DAYS[t.weekday().num_days_from_sunday() as usize].to_string(),
                6,
            )
        } else if take("Mon") {
            (
                DAYS[t.weekday().num_days_from_sunday() as usize][..3].to_string(),
                3,
            )
        } else if take("MST") {
            (zone_name(), 3)
        } else if take("2006") {
            (format!("{:04}", t.year()), 4)
        } else if take("002") {
            (format!("{:03}", t.ordinal()), 3)
        } else if take("01") {
            (format!("{:02}", t.month()), 2)
        } else if take("02") {
            (format!("{:02}", t.day()), 2)
        } else if take("03") {
            (format!("{:02}", hour12(t.hour())), 2)
        } else if take("04") {
            (format!("{:02}", t.minute()), 2)
        } else if take("05") {
            (format!("{:02}", t.second()), 2)
        } else if take("06") {
            (format!("{:02}", t.year().rem_euclid(100)), 2)
        } else if take("15") {
            (format!("{:02}", t.hour()), 2)
        } else if take("__2") {
            (format!("{:>3}", t.ordinal()), 3)
        } else if take("_2") {
            (format!("{:>2}", t.day()), 2)
        } else if take("1") {
            (t.month().to_string(), 1)
        } else if take("2") {
            (t.day().to_string(), 1)
        } else if take("3") {
            (hour12(t.hour()).to_string(), 1)
        } else if take("4") {
            (t.minute().to_string(), 1)
        } else if take("5") {
            (t.second().to_string(), 1)
        } else if take("PM") {
            ((if t.hour() >= 12 { "PM" } else { "AM" }).to_string(), 2)
        } else if take("pm") {
            ((if t.hour() >= 12 { "pm" } else { "am" }).to_string(), 2)
        } else if let Some((text, used)) = zone_chunk(rest, offset) {
            (text, used)
        } else if let Some((text, used)) = fraction_chunk(rest, t.nanosecond()) {
            (text, used)
        } else {
            let ch = rest.chars().next().unwrap_or(' ');
            (ch.to_string(), ch.len_utf8())
        };
        out.push_str(&text);
        i += used;
    }
    out
}

fn hour12(h: u32) -> u32 {
    match h % 12 {
        0 => 12,
        h => h,
    }
}

fn offset_text(offset: i32, sep: &str, seconds: bool, hours_only: bool) -> String {
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    if hours_only {
        return format!("{sign}{h:02}");
    }
    if seconds {
        return format!("{sign}{h:02}{sep}{m:02}{sep}{s:02}");
    }
    format!("{sign}{h:02}{sep}{m:02}")
}

fn zone_chunk(rest: &str, offset: i32) -> Option<(String, usize)> {
    // (pattern, separator, seconds, hours only); longest first as Go does.
    const FORMS: [(&str, &str, bool, bool); 5] = [
        ("070000", "", true, false),
        ("07:00:00", ":", true, false),
        ("0700", "", false, false),
        ("07:00", ":", false, false),
        ("07", "", false, true),
    ];
    let (z, body) = if let Some(b) = rest.strip_prefix('Z') {
        (true, b)
    } else if let Some(b) = rest.strip_prefix('-') {
        (false, b)
    } else {
        return None;
    };
    for (pattern, sep, seconds, hours_only) in FORMS {
        if body.starts_with(pattern) {
            let text = if z && offset == 0 {
                "Z".to_string()
            } else {
                offset_text(offset, sep, seconds, hours_only)
            };
            return Some((text, 1 + pattern.len()));
        }
    }
    None
}

fn fraction_chunk(rest: &str, nanos: u32) -> Option<(String, usize)> {
    let b = rest.as_bytes();
    if !(b[0] == b'.' || b[0] == b',') || b.len() < 2 || !(b[1] == b'0' || b[1] == b'9') {
        return None;
    }
    let digit = b[1];
    let n = b[1..].iter().take_while(|c| **c == digit).count();
    if b.get(1 + n).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let digits = format!("{:09}", nanos.min(999_999_999));
    let mut frac = digits[..n.min(9)].to_string();
    if digit == b'9' {
        frac = frac.trim_end_matches('0').to_string();
        if frac.is_empty() {
            return Some((String::new(), 1 + n));
        }
    }
    Some((format!("{}{frac}", char::from(b[0])), 1 + n))
}
