//! The benchmark's documents: about 1 KB of JSON, the 10 fields of
//! bench/settings.yaml, a pure function of their number.

/// Documents per block; each block holds [`OWNERS_PER_BLOCK`] owners whose
/// documents are interleaved, so one owner's documents are spread over the
/// block instead of being neighbours.
const BLOCK: u64 = 10_000;
/// Owners per block: about 100 documents per owner.
const OWNERS_PER_BLOCK: u64 = 100;

const WORDS: [&str; 16] = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "magna",
];

const STATUSES: [&str; 3] = ["draft", "published", "archived"];

/// The owner number of document `i`.
pub fn owner(i: u64) -> u64 {
    (i / BLOCK) * OWNERS_PER_BLOCK + i % OWNERS_PER_BLOCK
}

/// How many owners the first `n` documents have (owners `0..result`).
pub fn owners(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let last_block_start = (n - 1) / BLOCK * BLOCK;
    (last_block_start..n).map(owner).max().unwrap_or(0) + 1
}

/// Document `i` as JSON text.
pub fn doc(i: u64) -> String {
    let mut body = String::with_capacity(720);
    let mut w = i as usize;
    while body.len() < 680 {
        if !body.is_empty() {
            body.push(' ');
        }
        body.push_str(WORDS[w % WORDS.len()]);
        w = w.wrapping_mul(31).wrapping_add(7) % 1_000_003;
    }
    format!(
        concat!(
            r#"{{"seq": {seq}, "owner": "user-{owner:06}", "title": "Document number {seq} of the benchmark", "#,
            r#""body": "{body}", "status": "{status}", "score": {score}.5, "#,
            r#""tags": ["bench", "tag{t1}", "tag{t2}"], "active": {active}, "#,
            r#""created_on": "Mon, 01 Jan 2024 {h:02}:{m:02}:{s:02} GMT", "#,
            r#""meta": {{"source": "eve-bench", "version": {version}}}}}"#
        ),
        seq = i,
        owner = owner(i),
        body = body,
        status = STATUSES[(i % 3) as usize],
        score = i % 100,
        t1 = i % 7,
        t2 = i % 11,
        active = i % 2 == 0,
        h = (i / 3600) % 24,
        m = (i / 60) % 60,
        s = i % 60,
        version = i % 5,
    )
}

/// Documents `start..start + count` as one JSON list.
pub fn list(start: u64, count: u64) -> String {
    let mut out = String::with_capacity(count as usize * 1100 + 2);
    out.push('[');
    for i in start..start + count {
        if i > start {
            out.push_str(", ");
        }
        out.push_str(&doc(i));
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_json_of_about_one_kilobyte_with_ten_fields() {
        for i in [0, 1, 99, 12_345, 999_999] {
            let text = doc(i);
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v.as_object().unwrap().len(), 10);
            assert!((900..1200).contains(&text.len()), "{}", text.len());
        }
        let l: serde_json::Value = serde_json::from_str(&list(5, 3)).unwrap();
        assert_eq!(l.as_array().unwrap().len(), 3);
    }

    #[test]
    fn owners_have_about_a_hundred_documents() {
        let mut counts = std::collections::HashMap::new();
        for i in 0..30_000 {
            *counts.entry(owner(i)).or_insert(0) += 1;
        }
        assert_eq!(counts.len() as u64, owners(30_000));
        assert!(counts.values().all(|&c| c == 100));
        assert_eq!(owners(1), 1);
        assert_eq!(owners(250), 100);
        assert_eq!(owners(10_001), 101);
    }
}
