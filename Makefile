# The two commands of the README: `make run` serves the API, `make test` runs every test suite.
# CI (.ci/run) calls `make test`.

CARGO ?= cargo

.PHONY: run test check

## Serve the API on http://127.0.0.1:8080 (SQLite at ./data/titan.db unless DATABASE_URL is set).
run:
	$(CARGO) run --release --locked -p titan-server --bin titan -- serve

## Run every test suite. PostgreSQL runs too when TITAN_TEST_DATABASE_URL is set.
test:
	$(CARGO) test --workspace --locked

## Fast local checks: formatting and lints.
check:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
