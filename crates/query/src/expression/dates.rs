//! Date expression operators: the parts of a date (`$year`, `$month`,
//! `$dayOfMonth`, `$hour`, `$minute`, `$second`, `$millisecond`,
//! `$dayOfWeek`, `$dayOfYear`, `$week`, `$isoWeek`, `$isoWeekYear`,
//! `$isoDayOfWeek`) and `$dateToString`. Dates are read in UTC or at a
//! fixed offset (`timezone: "+05:30"`, `"-0800"`, `"UTC"`, `"GMT"`);
//! Olson time zone names are refused (no time zone database is shipped).
//! An ObjectId reads as the date of its timestamp.

use bson::Bson;
use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};

use super::expr::{is_nullish, Val};
use super::{agg_err, type_name};
use crate::QueryError;

/// A part of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DatePart {
    Year,
    Month,
    DayOfMonth,
    Hour,
    Minute,
    Second,
    Millisecond,
    DayOfWeek,
    DayOfYear,
    Week,
    IsoWeek,
    IsoWeekYear,
    IsoDayOfWeek,
}

impl DatePart {
    pub(crate) fn from_name(name: &str) -> Option<DatePart> {
        Some(match name {
            "$year" => DatePart::Year,
            "$month" => DatePart::Month,
            "$dayOfMonth" => DatePart::DayOfMonth,
            "$hour" => DatePart::Hour,
            "$minute" => DatePart::Minute,
            "$second" => DatePart::Second,
            "$millisecond" => DatePart::Millisecond,
            "$dayOfWeek" => DatePart::DayOfWeek,
            "$dayOfYear" => DatePart::DayOfYear,
            "$week" => DatePart::Week,
            "$isoWeek" => DatePart::IsoWeek,
            "$isoWeekYear" => DatePart::IsoWeekYear,
            "$isoDayOfWeek" => DatePart::IsoDayOfWeek,
            _ => return None,
        })
    }
}

/// The offset a `timezone` argument names (UTC when absent or null).
fn offset(tz: Option<&Bson>) -> Result<FixedOffset, QueryError> {
    let utc = FixedOffset::east_opt(0).ok_or_else(|| agg_err("bad offset".into()))?;
    let s = match tz {
        None | Some(Bson::Null | Bson::Undefined) => return Ok(utc),
        Some(Bson::String(s)) => s.as_str(),
        Some(other) => {
            return Err(agg_err(format!(
                "timezone must be a string, found {}",
                type_name(Some(other))
            )))
        }
    };
    if matches!(s, "UTC" | "GMT" | "Z" | "Etc/UTC" | "Etc/GMT") {
        return Ok(utc);
    }
    let unsupported = || {
        agg_err(format!(
            "unrecognized time zone '{s}': use UTC or a fixed offset such as +05:30"
        ))
    };
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(unsupported()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return Err(unsupported());
    }
    let hours: i32 = digits[..2].parse().map_err(|_| unsupported())?;
    let minutes: i32 = if digits.len() == 4 {
        digits[2..].parse().map_err(|_| unsupported())?
    } else {
        0
    };
    if hours > 23 || minutes > 59 {
        return Err(unsupported());
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(unsupported)
}

/// The date a value holds: `Ok(None)` for null or missing.
fn date_of(v: &Val, tz: Option<&Bson>) -> Result<Option<DateTime<FixedOffset>>, QueryError> {
    let millis = match v {
        None | Some(Bson::Null | Bson::Undefined) => return Ok(None),
        Some(Bson::DateTime(d)) => d.timestamp_millis(),
        Some(Bson::ObjectId(o)) => o.timestamp().timestamp_millis(),
        Some(Bson::Timestamp(t)) => i64::from(t.time) * 1000,
        Some(other) => {
            return Err(agg_err(format!(
                "can't convert from BSON type {} to Date",
                type_name(Some(other))
            )))
        }
    };
    let utc = DateTime::<Utc>::from_timestamp_millis(millis)
        .ok_or_else(|| agg_err("date out of range".into()))?;
    Ok(Some(utc.with_timezone(&offset(tz)?)))
}

fn int(n: u32) -> Bson {
    Bson::Int32(i32::try_from(n).unwrap_or(i32::MAX))
}

/// `$year` and the other parts.
pub(crate) fn part(part: DatePart, date: &Val, tz: Option<&Bson>) -> Result<Val, QueryError> {
    let Some(d) = date_of(date, tz)? else {
        return Ok(Some(Bson::Null));
    };
    Ok(Some(match part {
        DatePart::Year => Bson::Int32(d.year()),
        DatePart::Month => int(d.month()),
        DatePart::DayOfMonth => int(d.day()),
        DatePart::Hour => int(d.hour()),
        DatePart::Minute => int(d.minute()),
        DatePart::Second => int(d.second()),
        DatePart::Millisecond => int(d.timestamp_subsec_millis()),
        // 1 (Sunday) to 7 (Saturday)
        DatePart::DayOfWeek => int(d.weekday().num_days_from_sunday() + 1),
        DatePart::DayOfYear => int(d.ordinal()),
        DatePart::Week => int(sunday_week(&d)),
        DatePart::IsoWeek => int(d.iso_week().week()),
        DatePart::IsoWeekYear => Bson::Int32(d.iso_week().year()),
        DatePart::IsoDayOfWeek => int(d.weekday().number_from_monday()),
    }))
}

/// The week of the year, 0 to 53, weeks starting on Sunday; the days
/// before the first Sunday are week 0 (`%U`).
fn sunday_week(d: &DateTime<FixedOffset>) -> u32 {
    (d.ordinal0() + 7 - d.weekday().num_days_from_sunday()) / 7
}

/// A date as MongoDB writes it by default: `2024-01-02T03:04:05.678Z`.
pub(crate) fn iso(d: bson::DateTime) -> String {
    match DateTime::<Utc>::from_timestamp_millis(d.timestamp_millis()) {
        Some(d) => d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => d.to_string(),
    }
}

/// `$dateToString`: arguments date, format, timezone, onNull.
pub(crate) fn to_string(vals: &[Val]) -> Result<Val, QueryError> {
    let tz = vals.get(2).cloned().flatten();
    let Some(d) = date_of(&vals[0], tz.as_ref())? else {
        return Ok(match vals.get(3) {
            Some(Some(on_null)) => Some(on_null.clone()),
            _ => Some(Bson::Null),
        });
    };
    let format = match &vals[1] {
        v if is_nullish(v) => "%Y-%m-%dT%H:%M:%S.%LZ".to_string(),
        Some(Bson::String(f)) => f.clone(),
        Some(other) => {
            return Err(agg_err(format!(
                "$dateToString requires that 'format' be a string, found {}",
                type_name(Some(other))
            )))
        }
        None => String::new(),
    };
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let spec = chars.next().ok_or_else(|| {
            agg_err("$dateToString: unmatched '%' at the end of the format".into())
        })?;
        let piece = match spec {
            'Y' => format!("{:04}", d.year()),
            'm' => format!("{:02}", d.month()),
            'd' => format!("{:02}", d.day()),
            'H' => format!("{:02}", d.hour()),
            'M' => format!("{:02}", d.minute()),
            'S' => format!("{:02}", d.second()),
            'L' => format!("{:03}", d.timestamp_subsec_millis()),
            'j' => format!("{:03}", d.ordinal()),
            'w' => (d.weekday().num_days_from_sunday() + 1).to_string(),
            'u' => d.weekday().number_from_monday().to_string(),
            'U' => format!("{:02}", sunday_week(&d)),
            'V' => format!("{:02}", d.iso_week().week()),
            'G' => format!("{:04}", d.iso_week().year()),
            'z' => d.format("%z").to_string(),
            'Z' => (d.offset().local_minus_utc() / 60).to_string(),
            '%' => "%".to_string(),
            other => {
                return Err(agg_err(format!(
                    "$dateToString: invalid format character '%{other}'"
                )))
            }
        };
        out.push_str(&piece);
    }
    Ok(Some(Bson::String(out)))
}
