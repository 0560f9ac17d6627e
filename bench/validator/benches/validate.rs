//! Validating a ~1 KB document against a schema of 21 rules.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use eve_bench_validator::{document, invalid_document, schema};
use eve_schema::{Mode, Options};

fn validate(c: &mut Criterion) {
    let schema = schema();
    let options = Options {
        resource: "people".into(),
        allow_unknown: false,
        id_field: "_id".into(),
    };
    let valid = document();
    let invalid = invalid_document();
    c.bench_function("validate 1 KB document, 21 rules (valid)", |b| {
        b.iter(|| black_box(schema.validate(black_box(valid.clone()), Mode::Insert, &options)))
    });
    c.bench_function(
        "validate 1 KB document, 21 rules (5 issues, rendered)",
        |b| {
            b.iter(|| {
                let outcome = schema.validate(black_box(invalid.clone()), Mode::Insert, &options);
                black_box(outcome.issues.to_json(false))
            })
        },
    );
}

criterion_group!(benches, validate);
criterion_main!(benches);
