# civicdns — see README.md.
GO       ?= go
FUZZTIME ?= 30s
BIN      := bin/civicdns

.PHONY: build run test test-deps bench bench-deps fuzz lint check clean deb eval

# Debian packages a target needs, installed when missing (as root, or with sudo).
APT_INSTALL = if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); \
	else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1); fi

build:
	$(GO) build -o $(BIN) ./cmd/civicdns

# A Debian package in bin/ (see deploy/deb.sh).
deb:
	bash deploy/deb.sh

# Serve on the embedded default: 127.0.0.1:5353, the system's resolvers.
run:
	$(GO) run ./cmd/civicdns serve

# The tools the tests run (dig, chromium, certutil, PostgreSQL's server, NSD,
# Prometheus and promtool, systemd-analyze), installed when missing as tools
# only: tools/test-deps.sh starts no service and leaves none enabled.
test-deps:
	@bash tools/test-deps.sh

test: test-deps
	@test -z "$$(gofmt -l .)" || (echo "gofmt would change:"; gofmt -l .; exit 1)
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# Go benchmarks (allocations per query), then civicdns against Unbound under dnsperf.
bench-deps:
	@command -v dnsperf >/dev/null && command -v unbound >/dev/null && command -v bc >/dev/null && command -v dig >/dev/null && command -v zstdgrep >/dev/null && command -v taskset >/dev/null || \
		{ $(call APT_INSTALL,dnsperf unbound bc dnsutils zstd); }

# Every script adds its rows to bench/out/results.tsv; bench/table.sh ends
# with them as one table, also written to bench/RESULTS.md.
bench: bench-deps
	mkdir -p bench/out && rm -f bench/out/results.tsv
	bash -o pipefail -c "$(GO) test -run '^\$$' -bench . -benchmem ./... | tee bench/out/go-bench.txt"
	$(GO) test -run '^$$' -bench ApprovalPropagation -benchtime 100x ./cmd/civicdns
	bash bench/bench.sh
	bash bench/tail.sh
	bash bench/encrypted.sh
	bash bench/exports.sh
	bash bench/recursion.sh
	bash bench/table.sh

# How the category lists generalise: recall on the hand-written evaluation
# sets (review and held-out) and each list held out against the others.
eval:
	$(GO) test -count=1 -run 'TestWellKnownRecall|TestWorkSitesNeverBlocked' -v ./policy | grep -E 'recall|blocked \(|FAIL|^ok'
	$(GO) run ./bench/listeval

# Every fuzz target for FUZZTIME each; the seeds live in the tests and testdata/fuzz.
fuzz:
	@for spec in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs grep -h -o '^func Fuzz[A-Za-z0-9_]*' | sed 's/func //' | sort -u); do \
		pkg=$$(grep -rl --include='*_test.go' "^func $$spec(" . | head -1 | xargs dirname); \
		echo "== $$pkg $$spec"; \
		$(GO) test -run '^$$' -fuzz "^$$spec$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

lint:
	@test -z "$$(gofmt -l .)" || (gofmt -l .; exit 1)
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@latest ./...

clean:
	rm -rf bin bench/out
