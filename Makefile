# Developer shortcuts. Nothing here needs more than a Rust toolchain.
.PHONY: fmt lint test run check-settings check-layering

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

run:
	cargo run --release -p eve-rs -- serve examples/quickstart/settings.yaml

check-settings:
	cargo run -p eve-rs -- check examples/quickstart/settings.yaml
