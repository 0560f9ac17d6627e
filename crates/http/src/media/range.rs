//! RFC 9110 `Range: bytes=…` (§14.2), for the media endpoint. Eve treats
//! an open range as the whole file and never answers `416`; eve-rs follows
//! the RFC (the spec's deliberate deviation).

use std::ops::Range;

/// Most ranges one request may ask for; more (or overlapping ones) and the
/// header is ignored, as RFC 9110 §14.2 lets a server do.
pub(crate) const MAX_RANGES: usize = 16;

/// What a `Range` header asks of a file of a given length.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ranged {
    /// No usable `Range` (absent, another unit, bad syntax, too many or
    /// overlapping ranges): the whole file, `200`.
    Whole,
    /// These byte ranges (half-open, clamped to the length), `206`.
    Parts(Vec<Range<u64>>),
    /// Nothing satisfiable: `416` with `Content-Range: bytes */<length>`.
    Unsatisfiable,
}

/// Parses `header` for a file of `len` bytes.
pub(crate) fn parse_range(header: Option<&str>, len: u64) -> Ranged {
    let Some(header) = header else {
        return Ranged::Whole;
    };
    let Some((unit, specs)) = header.split_once('=') else {
        return Ranged::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Ranged::Whole;
    }
    let mut parts = Vec::new();
    let mut any = false;
    for spec in specs.split(',') {
        let spec = spec.trim();
        if spec.is_empty() {
            continue;
        }
        any = true;
        let Some((first, last)) = spec.split_once('-') else {
            return Ranged::Whole;
        };
        let (first, last) = (first.trim(), last.trim());
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let range = if first.is_empty() {
            // Suffix: the last `n` bytes.
            if !digits(last) {
                return Ranged::Whole;
            }
            let n: u64 = last.parse().unwrap_or(u64::MAX);
            if n == 0 || len == 0 {
                continue;
            }
            len.saturating_sub(n)..len
        } else {
            if !digits(first) || !(last.is_empty() || digits(last)) {
                return Ranged::Whole;
            }
            let a: u64 = first.parse().unwrap_or(u64::MAX);
            let b: Option<u64> = if last.is_empty() {
                None
            } else {
                Some(last.parse().unwrap_or(u64::MAX))
            };
            if b.is_some_and(|b| b < a) {
                return Ranged::Whole;
            }
            if a >= len {
                continue;
            }
            a..b.map_or(len, |b| b.saturating_add(1).min(len))
        };
        parts.push(range);
    }
    if !any {
        return Ranged::Whole;
    }
    if parts.is_empty() {
        return Ranged::Unsatisfiable;
    }
    if parts.len() > MAX_RANGES {
        return Ranged::Whole;
    }
    let mut sorted = parts.clone();
    sorted.sort_by_key(|r| r.start);
    if sorted.windows(2).any(|w| w[1].start < w[0].end) {
        return Ranged::Whole;
    }
    Ranged::Parts(parts)
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    #[test]
    fn single_open_and_suffix_ranges_follow_rfc_9110() {
        assert_eq!(
            parse_range(Some("bytes=0-10"), 100),
            Ranged::Parts(vec![0..11])
        );
        assert_eq!(
            parse_range(Some("bytes=90-"), 100),
            Ranged::Parts(vec![90..100])
        );
        assert_eq!(
            parse_range(Some("bytes=-5"), 100),
            Ranged::Parts(vec![95..100])
        );
        assert_eq!(
            parse_range(Some("bytes=-500"), 100),
            Ranged::Parts(vec![0..100])
        );
        assert_eq!(
            parse_range(Some("bytes=50-500"), 100),
            Ranged::Parts(vec![50..100])
        );
        assert_eq!(
            parse_range(Some("bytes=0-0,-1"), 100),
            Ranged::Parts(vec![0..1, 99..100])
        );
    }

    #[test]
    fn unsatisfiable_and_unusable_ranges() {
        assert_eq!(parse_range(Some("bytes=100-"), 100), Ranged::Unsatisfiable);
        assert_eq!(
            parse_range(Some("bytes=200-300, 150-"), 100),
            Ranged::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=-0"), 100), Ranged::Unsatisfiable);
        assert_eq!(parse_range(None, 100), Ranged::Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), Ranged::Whole);
        assert_eq!(parse_range(Some("bytes=5-1"), 100), Ranged::Whole);
        assert_eq!(parse_range(Some("bytes=a-b"), 100), Ranged::Whole);
        assert_eq!(parse_range(Some("bytes=0-10,5-20"), 100), Ranged::Whole);
        let many = (0..20)
            .map(|i| format!("{i}-{i}"))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            parse_range(Some(&format!("bytes={many}")), 100),
            Ranged::Whole
        );
        assert_eq!(
            parse_range(Some("bytes=99999999999999999999999-"), 100),
            Ranged::Unsatisfiable
        );
    }
}
