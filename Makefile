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

## Setup, build, and run the demo: sample photos and videos -> labels, transcripts -> 3D scenes + renders;
## texts and rendered images -> scene records from SmolLM2 -> 3D scenes + renders.
demo: setup build
	$(BIN) run pipelines/media-to-scenes.yaml --set out=out/demo
	$(BIN) run pipelines/describe-as-scene.yaml --set out=out/demo/described
	$(BIN) run pipelines/image-to-scene.yaml --set out=out/demo/seen
	@echo "demo: pictures of the scenes: out/demo/gallery.png out/demo/talk.png out/demo/clip.png"
	@echo "demo: scenes SmolLM2 described under the scene schema: out/demo/described/scenes.jsonl, pictures in out/demo/described/renders/"
	@echo "demo: scenes SmolLM2 wrote after seeing rendered images (EfficientNet tokens -> trained projector -> LLM): inputs in pipelines/samples/scenes-rendered/, answers in out/demo/seen/scenes.jsonl, their renders in out/demo/seen/renders/"
	@echo "demo: to turn a scene around in a browser: $(BIN) view out/demo/gallery.json  (then open the URL it prints)"

## Setup, then every test: unit and integration tests, and the custom-node walk-through.
test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --xunit-output .build/test-results.xml
	scripts/test-custom-node

## Benchmarks (print ratios against the anchor measured in the same run).
bench: setup build
	$(BIN) bench

clean:
	rm -rf .build out
