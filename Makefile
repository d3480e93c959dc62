# ecs-reconciler: `make test` runs every test, `make demo` runs the main job locally.
# Everything the tests need is installed from here into .venv (Python) and target/ (Rust).

PYTHON ?= python3
VENV   := .venv
CARGO  ?= cargo
# cargo-nextest runs each test in its own process (each integration test gets its own emulator);
# plain `cargo test` is the fallback where nextest is not installed.
NEXTEST := $(shell $(CARGO) nextest --version >/dev/null 2>&1 && echo yes)

.PHONY: all build test demo lint fmt schema clean venv bench lambda fuzz

all: build

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

build:
	$(CARGO) build --locked --all-targets

test: venv
	$(VENV)/bin/cfn-lint template.yaml
ifeq ($(NEXTEST),yes)
	$(CARGO) nextest run --locked --no-fail-fast
else
	$(CARGO) test --locked --no-fail-fast
endif

# A no-op plan for 10, 100 and 1000 services against the emulator: AWS calls against the floor,
# wall time against a minimal reference (docs/BENCHMARKS.md). The dev profile, as `make build`;
# the published numbers use `--profile lambda` (a cold build of it takes ~16 min).
bench: venv
	$(CARGO) bench --locked --profile dev --bench noop_plan

# Manifest parsing and validation on mutated inputs for FUZZ_SECONDS (default 30): no panic, every
# rejected input positioned; what breaks is kept in tests/fixtures/fuzz-crashes/. Not part of `test`.
fuzz:
	$(CARGO) bench --locked --profile dev --bench fuzz_manifests

# The main job on a local AWS emulator: validate desired/, then sync it to S3, run the Lambda
# handler for the S3 event, drift behind its back, repair it on the schedule, show the status.
# The example validates desired/ through the CLI's own entry point first: one build, shared with
# the tests (`cargo run --bin` would build the SDK a second time, without the dev-dependencies'
# features).
demo: venv
	$(CARGO) run --locked --quiet --example demo

# The Lambda package SAM deploys: target/lambda/bootstrap.zip, one executable `bootstrap` for
# provided.al2023 (ARCH=x86_64 or ARCH=arm64). cargo-zigbuild (installed into $(LAMBDA_TOOLS) when
# missing) links it with zig (from .venv-lambda) against glibc $(LAMBDA_GLIBC)'s symbols; the build
# fails if the binary needs a newer glibc. A separate target and the `lambda` profile mean a
# separate cold build of every dependency the first time (scripts/build-lambda.sh).
ARCH                   ?= x86_64
LAMBDA_GLIBC           := 2.34
LAMBDA_VENV            := .venv-lambda
LAMBDA_TOOLS           ?= .tools
CARGO_ZIGBUILD_VERSION := 0.24.1

$(LAMBDA_VENV)/.installed: requirements-lambda.txt
	$(PYTHON) -m venv $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-lambda.txt
	touch $@

lambda: $(LAMBDA_VENV)/.installed
	scripts/test-check-glibc.sh
	ARCH=$(ARCH) LAMBDA_GLIBC=$(LAMBDA_GLIBC) LAMBDA_VENV=$(LAMBDA_VENV) LAMBDA_TOOLS=$(LAMBDA_TOOLS) \
	CARGO_ZIGBUILD_VERSION=$(CARGO_ZIGBUILD_VERSION) CARGO=$(CARGO) scripts/build-lambda.sh

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

# The committed schema for editors; a test checks it matches the binary's output.
schema:
	$(CARGO) run --locked --quiet --bin ecs-reconciler -- schema > schema/manifest.schema.json

clean:
	$(CARGO) clean
	rm -rf $(VENV)
