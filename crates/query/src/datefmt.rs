//! `DATE_FORMAT`: Python `strftime`/`strptime` semantics for the directives
//! `%a %A %b %B %d %m %y %Y %H %I %M %S %p %j %f %z %Z %%`, English names,
//! dates in UTC.
//!
//! Parsing follows CPython's `_strptime`: the pattern becomes a regular
//! expression matched case-insensitively against the *whole* input, a run
//! of whitespace in the pattern matches one or more whitespace characters,
//! numeric fields accept their unpadded forms (`%d` matches `7` and `07`),
//! a weekday name is accepted but not checked against the date, and `%j`
//! (day of the year) wins over `%m`/`%d`.

use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate, Timelike};

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
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

/// One piece of a parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Literal(String),
    Directive(char),
}

const DIRECTIVES: &str = "aAbBdmyYHIMSpjfzZ";

/// Splits a strftime pattern into literals and directives.
fn tokenize(pattern: &str) -> Result<Vec<Item>, String> {
    let mut items = Vec::new();
    let mut lit = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            lit.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => lit.push('%'),
            Some(d) if DIRECTIVES.contains(d) => {
                if !lit.is_empty() {
                    items.push(Item::Literal(std::mem::take(&mut lit)));
                }
                items.push(Item::Directive(d));
            }
            Some(d) => {
                return Err(format!(
                    "unsupported strftime directive '%{d}' in date format {pattern:?} \
                     (supported: %a %A %b %B %d %m %y %Y %H %I %M %S %p %j %f %z %Z %%)"
                ))
            }
            None => return Err(format!("date format {pattern:?} ends with a lone '%'")),
        }
    }
    if !lit.is_empty() {
        items.push(Item::Literal(lit));
    }
    Ok(items)
}

/// Renders and parses dates with a Python `strftime` pattern (`DATE_FORMAT`).
#[derive(Debug, Clone)]
pub struct DateFormat {
    pattern: String,
    items: Vec<Item>,
    /// The strptime matcher, compiled once; `None` when the pattern can
    /// format but never parse (a repeated directive, as in Python).
    parser: Option<Arc<(regex::Regex, Vec<char>)>>,
}

impl PartialEq for DateFormat {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}

impl Eq for DateFormat {}

impl Default for DateFormat {
    fn default() -> Self {
        DateFormat::rfc1123()
    }
}

impl DateFormat {
    /// The default, RFC 1123: `%a, %d %b %Y %H:%M:%S GMT`.
    ///
    /// ```
    /// let f = eve_query::DateFormat::rfc1123();
    /// let d = bson::DateTime::from_millis(20_615_833_000);
    /// assert_eq!(f.format(d), "Thu, 27 Aug 1970 14:37:13 GMT");
    /// assert_eq!(f.parse("Thu, 27 Aug 1970 14:37:13 GMT"), Some(d));
    /// ```
    pub fn rfc1123() -> Self {
        DateFormat::new("%a, %d %b %Y %H:%M:%S GMT")
            .unwrap_or_else(|_| unreachable!("valid pattern"))
    }

    /// A format from a Python `strftime` pattern; errors on unsupported
    /// directives (anything but `%a %A %b %B %d %m %y %Y %H %I %M %S %p %j
    /// %f %z %Z %%`) and on a trailing lone `%`.
    ///
    /// ```
    /// assert!(eve_query::DateFormat::new("%Y-%m-%dT%H:%M:%S").is_ok());
    /// assert!(eve_query::DateFormat::new("%c").is_err());
    /// ```
    pub fn new(pattern: &str) -> Result<Self, String> {
        let items = tokenize(pattern)?;
        let parser = build_parser(&items).map(Arc::new);
        Ok(DateFormat {
            pattern: pattern.into(),
            items,
            parser,
        })
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Formats a date (UTC) as Python's `strftime` does for an aware UTC
    /// datetime (`%z` is `+0000`, `%Z` is `UTC`, `%f` is microseconds).
    pub fn format(&self, date: bson::DateTime) -> String {
        let dt = date.to_chrono();
        let mut out = String::new();
        for item in &self.items {
            match item {
                Item::Literal(s) => out.push_str(s),
                Item::Directive(d) => {
                    let piece = match d {
                        'a' => {
                            WEEKDAYS[dt.weekday().num_days_from_monday() as usize][..3].to_string()
                        }
                        'A' => WEEKDAYS[dt.weekday().num_days_from_monday() as usize].to_string(),
                        'b' => MONTHS[dt.month0() as usize][..3].to_string(),
                        'B' => MONTHS[dt.month0() as usize].to_string(),
                        'd' => format!("{:02}", dt.day()),
                        'm' => format!("{:02}", dt.month()),
                        'y' => format!("{:02}", dt.year().rem_euclid(100)),
                        // glibc prints the year unpadded (Python delegates %Y to it).
                        'Y' => dt.year().to_string(),
                        'H' => format!("{:02}", dt.hour()),
                        'I' => format!("{:02}", (dt.hour() + 11) % 12 + 1),
                        'M' => format!("{:02}", dt.minute()),
                        'S' => format!("{:02}", dt.second()),
                        'p' => (if dt.hour() < 12 { "AM" } else { "PM" }).to_string(),
                        'j' => format!("{:03}", dt.ordinal()),
                        'f' => format!("{:06}", dt.nanosecond() / 1000),
                        'z' => "+0000".to_string(),
                        'Z' => "UTC".to_string(),
                        _ => String::new(),
                    };
                    out.push_str(&piece);
                }
            }
        }
        out
    }

    /// Parses a string (`strptime` semantics); `None` when the whole string
    /// does not match the pattern or names an impossible date.
    ///
    /// ```
    /// let f = eve_query::DateFormat::new("%Y-%m-%d %H:%M:%S%z").unwrap();
    /// let d = f.parse("2020-01-02 03:04:05+0100").unwrap();
    /// assert_eq!(d.to_chrono().to_rfc3339(), "2020-01-02T02:04:05+00:00");
    /// assert_eq!(f.parse("2020-01-02 03:04:05+0100 trailing"), None);
    /// assert_eq!(f.parse("2020-02-30 03:04:05+0100"), None);
    /// ```
    pub fn parse(&self, s: &str) -> Option<bson::DateTime> {
        let (re, groups) = self.parser.as_deref()?;
        let caps = re.captures(s)?;
        let mut f = Fields::default();
        for (i, d) in groups.iter().enumerate() {
            let text = caps.get(i + 1)?.as_str();
            f.set(*d, text)?;
        }
        f.build()
    }
}

/// The strptime regular expression and, per capture group, its directive.
/// `None` when a directive repeats (Python refuses such patterns too).
fn build_parser(items: &[Item]) -> Option<(regex::Regex, Vec<char>)> {
    let mut re = String::from("(?i)^");
    let mut groups = Vec::new();
    for item in items {
        match item {
            Item::Literal(s) => {
                let mut in_ws = false;
                for c in s.chars() {
                    if c.is_whitespace() {
                        if !in_ws {
                            re.push_str(r"\s+");
                        }
                        in_ws = true;
                    } else {
                        in_ws = false;
                        re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
                    }
                }
            }
            Item::Directive(d) => {
                if groups.contains(d) {
                    return None;
                }
                groups.push(*d);
                re.push('(');
                re.push_str(directive_regex(*d));
                re.push(')');
            }
        }
    }
    re.push('$');
    let re = regex::Regex::new(&re).ok()?;
    Some((re, groups))
}

fn directive_regex(d: char) -> &'static str {
    match d {
        'a' => "mon|tue|wed|thu|fri|sat|sun",
        'A' => "monday|tuesday|wednesday|thursday|friday|saturday|sunday",
        'b' => "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec",
        'B' => {
            "january|february|march|april|may|june|july|august|september|october|november|december"
        }
        'd' => "3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9]",
        'm' => "1[0-2]|0[1-9]|[1-9]",
        'y' => "[0-9][0-9]",
        'Y' => "[0-9][0-9][0-9][0-9]",
        'H' => "2[0-3]|[0-1][0-9]|[0-9]",
        'I' => "1[0-2]|0[1-9]|[1-9]",
        'M' => "[0-5][0-9]|[0-9]",
        'S' => "6[0-1]|[0-5][0-9]|[0-9]",
        'p' => "am|pm",
        'j' => "36[0-6]|3[0-5][0-9]|[12][0-9][0-9]|0[1-9][0-9]|00[1-9]|[1-9][0-9]|0[1-9]|[1-9]",
        'f' => "[0-9]{1,6}",
        'z' => "[+-][0-9][0-9]:?[0-5][0-9](?::?[0-5][0-9](?:\\.[0-9]{1,6})?)?|(?-i:Z)",
        'Z' => "utc|gmt",
        _ => "(?:)",
    }
}

/// The fields collected while parsing, with Python's defaults.
#[derive(Debug, Default)]
struct Fields {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    hour: u32,
    hour12: Option<u32>,
    pm: Option<bool>,
    minute: u32,
    second: u32,
    micros: u32,
    julian: Option<u32>,
    offset_secs: i64,
}

fn name_index(names: &[&str], text: &str, abbreviated: bool) -> Option<usize> {
    names.iter().position(|n| {
        let n = if abbreviated { &n[..3] } else { n };
        n.eq_ignore_ascii_case(text)
    })
}

impl Fields {
    fn set(&mut self, d: char, text: &str) -> Option<()> {
        let num = || text.trim().parse::<u32>().ok();
        match d {
            // Weekday names are accepted but, as in Python, not checked.
            'a' | 'A' => {}
            'b' => self.month = Some(name_index(&MONTHS, text, true)? as u32 + 1),
            'B' => self.month = Some(name_index(&MONTHS, text, false)? as u32 + 1),
            'd' => self.day = Some(num()?),
            'm' => self.month = Some(num()?),
            'y' => {
                let y = num()? as i32;
                self.year = Some(if y <= 68 { 2000 + y } else { 1900 + y });
            }
            'Y' => self.year = Some(num()? as i32),
            'H' => self.hour = num()?,
            'I' => self.hour12 = Some(num()?),
            'M' => self.minute = num()?,
            'S' => self.second = num()?,
            'p' => self.pm = Some(text.eq_ignore_ascii_case("pm")),
            'j' => self.julian = Some(num()?),
            'f' => {
                // Right-pad to microseconds: "5" means 500000.
                let padded = format!("{text:0<6}");
                self.micros = padded.parse().ok()?;
            }
            'z' => self.offset_secs = parse_offset(text)?,
            // UTC and GMT are both offset zero.
            'Z' => {}
            _ => return None,
        }
        Some(())
    }

    fn build(self) -> Option<bson::DateTime> {
        let year = self.year.unwrap_or(1900);
        // datetime only covers years 1..=9999.
        if !(1..=9999).contains(&year) {
            return None;
        }
        let hour = match self.hour12 {
            Some(h) => match self.pm {
                Some(true) if h != 12 => h + 12,
                Some(false) if h == 12 => 0,
                _ => h,
            },
            None => self.hour,
        };
        let date = match self.julian {
            // As in Python, the day of the year is an offset from January 1
            // and may run into the next year (`1969 366` is 1970-01-01).
            Some(j) => NaiveDate::from_ymd_opt(year, 1, 1)?
                .checked_add_signed(Duration::days(i64::from(j) - 1))?,
            None => NaiveDate::from_ymd_opt(year, self.month.unwrap_or(1), self.day.unwrap_or(1))?,
        };
        if self.second > 59 {
            return None;
        }
        let naive = date.and_hms_micro_opt(hour, self.minute, self.second, self.micros)?;
        let utc = naive.and_utc() - Duration::seconds(self.offset_secs);
        Some(bson::DateTime::from_chrono(utc))
    }
}

/// `+HHMM`, `+HH:MM`, `+HHMMSS[.ffffff]`, `Z` → seconds east of UTC
/// (fractions of seconds are dropped). Colons must be used consistently.
fn parse_offset(z: &str) -> Option<i64> {
    if z.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = if z.starts_with('-') { -1 } else { 1 };
    let body = &z[1..];
    let body = body.split('.').next()?;
    let has_colon = body.as_bytes().get(2) == Some(&b':');
    if has_colon && body.len() > 5 && body.as_bytes().get(5) != Some(&b':') {
        return None;
    }
    if !has_colon && body.contains(':') {
        return None;
    }
    let digits: String = body.chars().filter(|c| *c != ':').collect();
    let h: i64 = digits.get(0..2)?.parse().ok()?;
    let m: i64 = digits.get(2..4)?.parse().ok()?;
    let s: i64 = digits
        .get(4..6)
        .map(|s| s.parse().ok())
        .unwrap_or(Some(0))?;
    Some(sign * (h * 3600 + m * 60 + s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> bson::DateTime {
        let n = NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_milli_opt(h, mi, s, ms)
            .unwrap();
        bson::DateTime::from_chrono(n.and_utc())
    }

    #[test]
    fn rfc1123_formats_like_eve() {
        let f = DateFormat::rfc1123();
        assert_eq!(
            f.format(at(1970, 8, 27, 14, 37, 13, 0)),
            "Thu, 27 Aug 1970 14:37:13 GMT"
        );
        assert_eq!(
            f.format(at(2024, 1, 5, 3, 4, 5, 0)),
            "Fri, 05 Jan 2024 03:04:05 GMT"
        );
        assert_eq!(
            f.format(bson::DateTime::from_millis(0)),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn rfc1123_parses_its_own_output_and_ignores_case() {
        let f = DateFormat::rfc1123();
        let d = at(1987, 2, 25, 17, 0, 0, 0);
        assert_eq!(f.parse("Wed, 25 Feb 1987 17:00:00 GMT"), Some(d));
        assert_eq!(f.parse("wed, 25 FEB 1987 17:00:00 gmt"), Some(d));
    }

    #[test]
    fn parse_does_not_check_the_weekday_name() {
        let f = DateFormat::rfc1123();
        assert_eq!(
            f.parse("Mon, 25 Feb 1987 17:00:00 GMT"),
            Some(at(1987, 2, 25, 17, 0, 0, 0))
        );
    }

    #[test]
    fn parse_accepts_unpadded_numbers_and_extra_whitespace() {
        let f = DateFormat::rfc1123();
        assert_eq!(
            f.parse("Wed, 5 Feb 1987 7:0:0   GMT"),
            Some(at(1987, 2, 5, 7, 0, 0, 0))
        );
    }

    #[test]
    fn parse_rejects_partial_or_trailing_input() {
        let f = DateFormat::rfc1123();
        assert_eq!(f.parse("Wed, 25 Feb 1987 17:00:00 GMTx"), None);
        assert_eq!(f.parse("Wed, 25 Feb 1987"), None);
        assert_eq!(f.parse(""), None);
        assert_eq!(f.parse("hello"), None);
    }

    #[test]
    fn parse_rejects_impossible_dates() {
        let f = DateFormat::new("%Y-%m-%d").unwrap();
        assert_eq!(f.parse("2023-02-29"), None);
        assert_eq!(f.parse("2024-02-29"), Some(at(2024, 2, 29, 0, 0, 0, 0)));
        assert_eq!(f.parse("0000-01-01"), None);
        assert_eq!(f.parse("2024-13-01"), None);
        let s = DateFormat::new("%S").unwrap();
        assert_eq!(s.parse("60"), None);
    }

    #[test]
    fn new_rejects_unsupported_directives() {
        let err = DateFormat::new("%Y %c").unwrap_err();
        assert!(err.contains("%c"), "{err}");
        assert!(DateFormat::new("%Y %").is_err());
        assert!(DateFormat::new("100%% %Y").is_ok());
    }

    #[test]
    fn every_directive_formats_with_python_semantics() {
        let f = DateFormat::new("%a|%A|%b|%B|%d|%m|%y|%Y|%H|%I|%M|%S|%p|%j|%f|%z|%Z|%%").unwrap();
        let d = at(2009, 3, 8, 21, 5, 9, 123);
        assert_eq!(
            f.format(d),
            "Sun|Sunday|Mar|March|08|03|09|2009|21|09|05|09|PM|067|123000|+0000|UTC|%"
        );
        let midnight = at(2009, 12, 31, 0, 0, 0, 0);
        assert_eq!(
            DateFormat::new("%I %p %j").unwrap().format(midnight),
            "12 AM 365"
        );
    }

    #[test]
    fn twelve_hour_clock_round_trips() {
        let f = DateFormat::new("%Y-%m-%d %I:%M %p").unwrap();
        for h in 0..24 {
            let d = at(2001, 6, 7, h, 30, 0, 0);
            assert_eq!(f.parse(&f.format(d)), Some(d), "hour {h}");
        }
    }

    #[test]
    fn two_digit_years_pivot_at_69() {
        let f = DateFormat::new("%y").unwrap();
        assert_eq!(f.parse("68"), Some(at(2068, 1, 1, 0, 0, 0, 0)));
        assert_eq!(f.parse("69"), Some(at(1969, 1, 1, 0, 0, 0, 0)));
    }

    #[test]
    fn day_of_year_overrides_month_and_day() {
        let f = DateFormat::new("%Y %j").unwrap();
        assert_eq!(f.parse("2020 060"), Some(at(2020, 2, 29, 0, 0, 0, 0)));
        assert_eq!(f.parse("2021 366"), Some(at(2022, 1, 1, 0, 0, 0, 0)));
    }

    #[test]
    fn offsets_are_applied_to_get_utc() {
        let f = DateFormat::new("%Y-%m-%dT%H:%M:%S%z").unwrap();
        let d = at(2020, 1, 1, 12, 0, 0, 0);
        assert_eq!(f.parse("2020-01-01T14:30:00+02:30"), Some(d));
        assert_eq!(f.parse("2020-01-01T14:30:00+0230"), Some(d));
        assert_eq!(f.parse("2020-01-01T09:00:00-0300"), Some(d));
        assert_eq!(f.parse("2020-01-01T12:00:00Z"), Some(d));
        assert_eq!(f.parse("2020-01-01T12:00:00+02:3000"), None);
    }

    #[test]
    fn microseconds_are_right_padded_and_truncated_to_millis() {
        let f = DateFormat::new("%H:%M:%S.%f").unwrap();
        assert_eq!(f.parse("00:00:01.5"), Some(at(1900, 1, 1, 0, 0, 1, 500)));
        assert_eq!(
            f.parse("00:00:01.123456"),
            Some(at(1900, 1, 1, 0, 0, 1, 123))
        );
    }

    #[test]
    fn full_names_parse_case_insensitively() {
        let f = DateFormat::new("%A %d %B %Y %Z").unwrap();
        assert_eq!(
            f.parse("sunday 08 MARCH 2009 UTC"),
            Some(at(2009, 3, 8, 0, 0, 0, 0))
        );
        assert_eq!(f.parse("Sun 08 March 2009 UTC"), None);
    }

    #[test]
    fn repeated_directives_never_parse() {
        let f = DateFormat::new("%Y %Y").unwrap();
        assert_eq!(f.parse("2020 2020"), None);
    }

    #[test]
    fn literal_regex_metacharacters_are_matched_literally() {
        let f = DateFormat::new("(%Y).[%m]*").unwrap();
        assert_eq!(f.parse("(2020).[03]*"), Some(at(2020, 3, 1, 0, 0, 0, 0)));
        assert_eq!(f.parse("(2020)x[03]*"), None);
    }
}
