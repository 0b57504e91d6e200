# mediamesh — `make help` lists the targets.
SHELL      := bash
.SHELLFLAGS := -euo pipefail -c
GO         ?= go
FUZZTIME   ?= 30s
VERSION    := $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS    := -X mediamesh/internal/version.Version=$(VERSION)
CMDS       := $(notdir $(wildcard cmd/*))

.DEFAULT_GOAL := help
.PHONY: help build demo test test-short fuzz bench bench-smoke lint gen gen-check deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

build: ## build bin/media-proxy, bin/mesh-agent and bin/meshctl
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ $(addprefix ./cmd/,$(CMDS))

demo: ## a local mesh on embedded defaults: proxy, 1 sender -> 2 receivers of 1080p59.94, narrated
	bash scripts/demo.sh

test: deps ## install what tests need, then every test with -race, then the end-to-end suite
	$(GO) test -race -count=1 -timeout 20m ./...
	$(GO) test -race -count=1 -timeout 30m -tags integration ./test/...

test-short: ## the inner loop: unit tests without -race, slow ones skipped
	$(GO) test -short ./...

fuzz: ## run every Fuzz target for FUZZTIME (default 30s)
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

bench: ## benchmarks, -count=5, results into bench/results/
	@mkdir -p bench/results
	@out=bench/results/$$(date +%Y%m%d-%H%M%S).txt; \
	{ echo "# $$(date -u +%FT%TZ) $$(nproc) cpus, $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), kernel $$(uname -r), $$($(GO) version)"; \
	  $(GO) test -run '^$$' -bench . -benchmem -count=5 ./bench/... ./internal/... ; } | tee $$out; \
	echo "results in $$out"

bench-smoke: ## every benchmark once, to prove they run
	$(GO) test -run '^$$' -bench . -benchtime=1x -count=1 ./bench/... ./internal/...

lint: ## gofmt, go vet, go mod tidy check, golangci-lint when installed
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff
	@if command -v golangci-lint >/dev/null; then golangci-lint run ./...; else echo "golangci-lint not installed: skipped"; fi

gen: ## regenerate generated code (protos)
	bash scripts/gen.sh

gen-check: gen ## fail if generated code is stale
	@git diff --exit-code -- api || { echo "generated code is stale: run make gen"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard api)" || { echo "untracked generated files in api/"; exit 1; }

deps: ## install the apt packages and Go tools the tests need
	bash scripts/deps.sh

clean: ## remove build output
	rm -rf bin .tools
