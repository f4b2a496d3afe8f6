# The two commands of the README: `make run` serves the API, `make test` runs every test suite.
# CI (.ci/run) calls `make test`.

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv

.PHONY: run test test-rust test-python test-node generate check

## Serve the API on http://127.0.0.1:8080 (SQLite at ./data/titan.db unless DATABASE_URL is set).
run:
	$(CARGO) run --release --locked -p titan-server --bin titan -- serve

## Run every test suite. PostgreSQL runs too when TITAN_TEST_DATABASE_URL is set.
test: test-rust test-python test-node

test-rust:
	$(CARGO) test --workspace --locked --features titan-server/sandbox

$(VENV)/.installed: tests/python/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
	touch $@

## The Python SDK is built from source (a release wheel through maturin) and tested against the
## sandbox server that test-rust built.
test-python: $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check ./bindings/python
	$(VENV)/bin/python -m pytest tests/python

## The Node SDK is installed from source (`npm install` builds its napi-rs addon with cargo; the
## rebuild picks up changes to an installed addon) and tested with `node --test` against the
## sandbox server that test-rust built, including `tsc --noEmit` on typed usage.
test-node:
	cd tests/node && npm install --no-audit --no-fund
	cd tests/node && npm rebuild titan-client
	cd tests/node && npm test

## Regenerate the OpenAPI documents and the SDKs' generated code after an API change.
generate:
	$(CARGO) run --locked -p titan-openapi -- generate

## Fast local checks: formatting, lints, generated-code drift.
check:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) run --locked -p titan-openapi -- generate --check
