//! The typed request: what a client asked for, parsed from query arguments
//! and headers, before any planning. Input errors that Eve ignores (bad
//! `page`, bad `max_results`) are resolved here with Eve's rules.

/// Read arguments of a collection or item GET.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadArgs {
    /// Raw `where` value.
    pub where_: Option<String>,
    /// Raw `sort` value.
    pub sort: Option<String>,
    /// Raw `projection` value.
    pub projection: Option<String>,
    /// Requested page (1-based), already normalised (`abs`, `0` → 1).
    pub page: u64,
    /// Requested page size, `None` when absent or not a positive number.
    pub max_results: Option<u64>,
}

/// Parses a page number as Eve does: integer, absolute value, `0` and
/// non-numbers become 1.
pub fn parse_page(raw: Option<&str>) -> u64 {
    raw.and_then(|s| s.trim().parse::<i64>().ok())
        .map(|n| n.unsigned_abs())
        .filter(|n| *n > 0)
        .unwrap_or(1)
}

/// Parses `max_results` as Eve does: a number truncated to an integer;
/// missing, non-numeric, zero or negative → `None` (use the default).
pub fn parse_max_results(raw: Option<&str>) -> Option<u64> {
    let s = raw?.trim();
    let n = s.parse::<i64>().ok().or_else(|| {
        s.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(|f| f.trunc() as i64)
    })?;
    (n > 0).then_some(n as u64)
}

/// Normalises an `If-Match`/`If-None-Match` value: a leading `W/` is dropped
/// and every double quote removed.
pub fn normalize_etag(raw: &str) -> String {
    let s = raw.trim();
    let s = s.strip_prefix("W/").unwrap_or(s);
    s.replace('"', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_takes_absolute_value_and_defaults_to_one() {
        assert_eq!(parse_page(Some("-2")), 2);
        assert_eq!(parse_page(Some("0")), 1);
        assert_eq!(parse_page(Some("abc")), 1);
        assert_eq!(parse_page(None), 1);
        assert_eq!(parse_page(Some("3")), 3);
    }

    #[test]
    fn max_results_truncates_and_rejects_non_positive() {
        assert_eq!(parse_max_results(Some("2.7")), Some(2));
        assert_eq!(parse_max_results(Some("0")), None);
        assert_eq!(parse_max_results(Some("-1")), None);
        assert_eq!(parse_max_results(Some("x")), None);
        assert_eq!(parse_max_results(Some("10")), Some(10));
    }

    #[test]
    fn etags_are_normalised() {
        assert_eq!(normalize_etag("W/\"abc\""), "abc");
        assert_eq!(normalize_etag("\"abc\""), "abc");
        assert_eq!(normalize_etag("abc"), "abc");
    }
}
