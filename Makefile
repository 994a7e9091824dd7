# pccagent build, test and tooling entry points.
#
# `make test` is what CI runs (through .ci/run) and what a change must pass.
# Generators (ygot, protoc-gen-go, protoc-gen-go-grpc) are pinned in go.mod as
# tools and run through `go tool` from `go generate`; protoc comes from the
# system (Debian package protobuf-compiler).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO        ?= go
BIN       ?= bin
FUZZTIME  ?= 30s
BENCHTIME ?= 1s
BENCHOUT  ?= bench.out
TESTFLAGS ?= -race -count=1 -timeout 20m
STATICCHECK_VERSION ?= v0.8.2
# Sample configuration checked against the YANG model by `make test`.
SAMPLE_CONFIG ?= $(firstword $(wildcard yang/sample-config.json yang/pccagent.json yang/examples/*.json))

# Go source files, vendored code excluded.
GOFILES = $(shell find . -name '*.go' -not -path './vendor/*' -not -path './.git/*')

.PHONY: all generate check-generate build test fmt-check vet yang-check lint bench fuzz demo clean

all: check-generate build test

## generate: regenerate everything under gen/ from yang/ and proto/.
generate:
	$(GO) generate ./...

## check-generate: fail when gen/ is not what `make generate` produces.
check-generate: generate
	@if [ -n "$$(git status --porcelain -- gen/)" ]; then \
		echo "gen/ is out of date with yang/ and proto/; run 'make generate' and commit the result:"; \
		git status --porcelain -- gen/; \
		git --no-pager diff --stat -- gen/; \
		exit 1; \
	fi
	@echo "gen/ is up to date"

## build: build every binary under cmd/ into bin/.
build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

## test: formatting, vet, YANG validation and the whole test suite with the race detector.
test: fmt-check vet yang-check
	$(GO) test $(TESTFLAGS) ./...

fmt-check:
	@out="$$(gofmt -l $(GOFILES))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## yang-check: the model and the sample configuration must satisfy yanglint.
yang-check:
	@if [ -f yang/pcc-agent.yang ]; then \
		echo "yanglint yang/pcc-agent.yang"; \
		yanglint -p yang yang/pcc-agent.yang; \
		if [ -n "$(SAMPLE_CONFIG)" ]; then \
			echo "yanglint -t config $(SAMPLE_CONFIG)"; \
			yanglint -p yang -t config yang/pcc-agent.yang $(SAMPLE_CONFIG); \
		fi; \
	else \
		echo "no yang/pcc-agent.yang: YANG check skipped"; \
	fi

## lint: gofmt, go vet and staticcheck (pinned by version, run through the module proxy).
lint: fmt-check vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## bench: run the benchmarks of every package that has some; results in $(BENCHOUT).
bench:
	@pkgs="$$(grep -rl --include='*_test.go' '^func Benchmark' . | xargs -r -n1 dirname | sort -u)"; \
	if [ -z "$$pkgs" ]; then echo "no benchmarks found"; exit 0; fi; \
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $$pkgs | tee $(BENCHOUT)

## fuzz: run each Fuzz target for FUZZTIME (default 30s).
fuzz:
	@grep -rH --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' . | \
	sed -E 's|^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' | sort -u | \
	while read -r dir target; do \
		echo "== $$dir $$target ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$dir" || exit 1; \
	done

## demo: build and run the agent with an embedded PCE and sample policies.
demo: build
	./$(BIN)/pccagent --insecure --demo

clean:
	rm -rf $(BIN) $(BENCHOUT)
