# The two commands of the quick start, and the chores around them. Every target sets itself up first.
.PHONY: setup demo test proto proto-check up

setup:
	@bash infra/scripts/setup.sh

## demo: SmolLM2-135M learning arithmetic: base, LoRA r=8 and BSLoRA per share mode (real training, offline); table and chart
demo: setup
	@node bin/bslora.js demo

## test: every test (Python, TypeScript, end to end with Redis, workers and gRPC)
test: setup
	@bash infra/scripts/run-tests.sh

## up: run everything on this machine until Ctrl-C
up: setup
	@node bin/bslora.js up

## proto: regenerate the committed gRPC code from proto/
proto: setup
	@bash infra/scripts/gen-proto.sh

proto-check: setup
	@bash infra/scripts/check-generated.sh
