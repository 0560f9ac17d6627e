//! The fuzz harnesses of `fuzz/` as proptest property tests on stable
//! (issue #6): arbitrary bytes, arbitrary strings, and strings built from
//! each grammar's tokens. CI runs a short smoke run; `scripts/fuzz.sh`
//! runs more cases (`EVE_FUZZ_CASES`) when no nightly toolchain is there
//! for cargo-fuzz. Every crash found becomes a case in `regressions`.

#[allow(dead_code, clippy::all)]
#[path = "../../../fuzz/src/lib.rs"]
mod harness;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

fn config() -> Config {
    let cases = std::env::var("EVE_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    }
}

/// Strings made of `tokens` (plus a little noise).
fn from_tokens(tokens: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        8 => prop::sample::select(tokens).prop_map(|t| t.as_bytes().to_vec()),
        1 => any::<u8>().prop_map(|b| vec![b]),
        1 => "[ -~]{0,3}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// Arbitrary bytes, arbitrary text, or text from the grammar's tokens.
fn input(tokens: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => any::<String>().prop_map(String::into_bytes),
        4 => from_tokens(tokens),
    ]
}

const WHERE: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    " ",
    "\"name\"",
    "\"n\"",
    "\"sub.x\"",
    "\"tags\"",
    "\"_id\"",
    "\"$gt\"",
    "\"$gte\"",
    "\"$lt\"",
    "\"$lte\"",
    "\"$ne\"",
    "\"$in\"",
    "\"$nin\"",
    "\"$or\"",
    "\"$and\"",
    "\"$nor\"",
    "\"$not\"",
    "\"$exists\"",
    "\"$regex\"",
    "\"$options\"",
    "\"$size\"",
    "\"$all\"",
    "\"$elemMatch\"",
    "\"$mod\"",
    "\"$type\"",
    "\"$where\"",
    "\"$text\"",
    "\"$expr\"",
    "\"$search\"",
    "\"$near\"",
    "\"$geometry\"",
    "1",
    "-1",
    "0",
    "1.5",
    "1e400",
    "null",
    "true",
    "false",
    "\"abc\"",
    "\"Thu, 27 Aug 1970 14:37:13 GMT\"",
    "\"5f0000000000000000000003\"",
    "\"^a.*(b|c)+$\"",
    "\"imsx\"",
    "\"string\"",
    "name",
    "n",
    "sub.x",
    "==",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    " and ",
    " or ",
    " not ",
    " in ",
    "(",
    ")",
    ";",
    "datetime(2020, 1, 2)",
    "datetime(",
    "ObjectId(\"5f0000000000000000000003\")",
    "ObjectId(",
    "'a'",
    "\"",
    "\\",
    "True",
    "None",
    "-",
    "lambda",
    "[1, 2]",
];

const SORT: &[&str] = &[
    "[",
    "]",
    "(",
    ")",
    ",",
    " ",
    "\"name\"",
    "'n'",
    "\"sub.x\"",
    "1",
    "-1",
    "0",
    "2",
    "\"x\"",
    "-",
    "name",
    "n",
    "sub.x",
    "{",
    "}",
    ":",
    "True",
    "None",
    "\"",
];

const PROJECTION: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    " ",
    "\"name\"",
    "\"n\"",
    "\"sub.x\"",
    "\"sub\"",
    "\"_id\"",
    "1",
    "0",
    "-1",
    "true",
    "false",
    "null",
    "\"x\"",
    "\"\"",
    "{\"$slice\": 1}",
    "[]",
    "1.5",
];

const SETTINGS: &[&str] = &[
    "DOMAIN:\n",
    "  people:\n",
    "    schema:\n",
    "      name: ",
    "      sub: ",
    "{type: string}",
    "{type: integer, min: 1}",
    "{type: list, schema: {type: dict, schema: {a: {type: float}}}}",
    "{type: dict, schema: {x: {required: true}}}",
    "{anyof: [{type: integer}, {type: string}]}",
    "{regex: '^a+$'}",
    "{regex: '('}",
    "{allowed: [a, b]}",
    "{unique: true}",
    "{default: 1}",
    "{data_relation: {resource: people}}",
    "{coerce: int}",
    "{nullable: true}",
    "{dependencies: [a]}",
    "{excludes: name}",
    "{minlength: -1}",
    "{items: [{type: integer}]}",
    "{keysrules: {type: string}}",
    "    url: ",
    "'people/<regex(\"[a-f0-9]{24}\"):owner>/x'",
    "'<int:id>'",
    "'a//b'",
    "    datasource: {source: other, filter: {a: 1}, default_sort: [[name, 1]]}\n",
    "    additional_lookup: {url: 'regex(\"[\\w]+\")', field: name}\n",
    "    item_url: ",
    "'regex(\"(\")'",
    "    resource_methods: [GET, POST]\n",
    "RESOURCE_METHODS: [GET, FETCH]\n",
    "PAGINATION_LIMIT: ",
    "MAX_BULK_ITEMS: ",
    "CLIENT_TIMEOUT: ",
    "0",
    "-1",
    "1",
    "99999999999999999999",
    "yes",
    "~",
    "null",
    "[]",
    "{}",
    "\n",
    "  ",
    ": ",
    "&a ",
    "*a",
    "!!binary ",
    "- ",
    "? ",
    "'",
    "\"",
    "{",
    "}",
    "DATE_FORMAT: '%Y %Q'\n",
    "X_DOMAINS_RE: '('\n",
    "ID_FIELD: ''\n",
    "URL_PREFIX: '/'\n",
];

const VALIDATOR: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    " ",
    "\"name\"",
    "\"n\"",
    "\"f\"",
    "\"num\"",
    "\"ok\"",
    "\"at\"",
    "\"ref\"",
    "\"tags\"",
    "\"pair\"",
    "\"sub\"",
    "\"x\"",
    "\"y\"",
    "\"deep\"",
    "\"z\"",
    "\"w\"",
    "\"any\"",
    "\"free\"",
    "\"sub.x\"",
    "\"_id\"",
    "\"$set\"",
    "\"\"",
    "1",
    "-1",
    "0",
    "101",
    "1.5",
    "1e400",
    "-0",
    "null",
    "true",
    "false",
    "\"abc\"",
    "\"ABC\"",
    "\"a\"",
    "\"d\"",
    "\"Thu, 27 Aug 1970 14:37:13 GMT\"",
    "\"5f0000000000000000000003\"",
    "\"1\"",
    "\"true\"",
    "\"2.5\"",
    "\"\\u0000\"",
    "\"😀\"",
    "9223372036854775808",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn where_clause(data in input(WHERE)) {
        harness::where_clause(&data);
    }

    #[test]
    fn sort(data in input(SORT)) {
        harness::sort(&data);
    }

    #[test]
    fn projection(data in input(PROJECTION)) {
        harness::projection(&data);
    }

    #[test]
    fn settings(data in input(SETTINGS)) {
        harness::settings(&data);
    }

    #[test]
    fn validator(data in input(VALIDATOR)) {
        harness::validator(&data);
    }
}

/// Inputs that once crashed a harness, or that guard a known hard case.
#[test]
fn regressions() {
    type Case = (&'static str, fn(&[u8]), &'static [u8]);
    let cases: &[Case] = &[
        ("deep where", harness::where_clause, &[b'['; 10_000]),
        ("deep python", harness::where_clause, &[b'('; 10_000]),
        ("deep sort", harness::sort, &[b'['; 10_000]),
        ("deep projection", harness::projection, &[b'{'; 10_000]),
        ("deep yaml", harness::settings, &[b'['; 10_000]),
        ("deep json doc", harness::validator, &[b'['; 10_000]),
        ("empty", harness::settings, b""),
    ];
    for (name, f, data) in cases {
        eprintln!("{name}");
        f(data);
    }
    // YAML alias expansion ("billion laughs") must stay bounded.
    let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for i in 0..9 {
        let prev = if i == 0 {
            "a".to_string()
        } else {
            format!("a{}", i - 1)
        };
        laughs.push_str(&format!(
            "a{i}: &a{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
    }
    harness::settings(laughs.as_bytes());
}
