# pipeline — the two commands a newcomer needs are `make demo` and `make test`.
SWIFT ?= swift
BIN := .build/release/pipeline

.PHONY: setup build demo test bench bench-core clean

## Install Debian packages and models (idempotent).
setup:
	scripts/setup

## Release build of the CLI.
build:
	$(SWIFT) build -c release --product pipeline

## Setup, build, and run the demo pipeline.
demo: setup build
	$(BIN) run pipelines/demo.yaml --set out=out/demo
	@echo "demo outputs: out/demo/stats.jsonl and out/demo/reports/"

## Setup, then every test: unit and integration tests, and the custom-node walk-through.
test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	scripts/test-custom-node

## Benchmarks (print ratios against the anchor measured in the same run).
bench: setup build
	$(BIN) bench

clean:
	rm -rf .build out
