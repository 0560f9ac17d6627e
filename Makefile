# Developer shortcuts. Nothing here needs more than a Rust toolchain (and,
# for test-postgres, a PostgreSQL server).
.PHONY: fmt lint test test-postgres run check-settings check-layering

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	scripts/check-layering.sh

check-layering:
	scripts/check-layering.sh

test:
	cargo test --workspace --all-features

# The PostgreSQL layer's suites on the local server (docs/postgres.md).
PG_URI ?= postgres://postgres@127.0.0.1:5432/test
test-postgres:
	EVE_TEST_POSTGRES_URI=$(PG_URI) cargo test -p eve-store-postgres -p eve-backends
	EVE_TEST_POSTGRES_URI=$(PG_URI) EVE_TEST_BACKEND=postgres cargo test -p eve-http-tests --test integration

run:
	cargo run --release -p eve-rs -- serve examples/quickstart/settings.yaml

check-settings:
	cargo run -p eve-rs -- check examples/quickstart/settings.yaml
