# roombridge — build, test and run.
#
#   make test      all tests, MySQL and browser ones included (provisions MariaDB,
#                  Chromium, the iCalendar validators and axe-core when they are missing)
#   make run       the server with the embedded defaults (SQLite, demo backends) on :8080
#   make build     bin/roombridge
#   make migrate   apply the database migrations to ROOMBRIDGE_DB
#   make bench     the performance report: runs every measurement and writes
#                  docs/benchmarks.md (3–4 minutes; BENCH_SCALE=quick for a check)
#   make chaos     SIGKILLs under a faulty burst, and three replicas on MariaDB (minutes)
#   make fuzz      every fuzz target for FUZZTIME each (default 1m)
#   make fmt | vet | fmt-check | clean

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

GO ?= go
BIN := bin/roombridge
TEST_TIMEOUT ?= 20m

# Go files that gofmt checks: everything but test data and installed Node packages.
GOFILES = $(shell find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -not -path '*/node_modules/*')

.PHONY: test build run migrate bench chaos fuzz fmt fmt-check vet clean

test: fmt-check
	@dsn=$$(scripts/ensure-mariadb.sh); \
	chromium=$$(scripts/ensure-chromium.sh); \
	scripts/ensure-ical-tools.sh; \
	axe=$$(scripts/ensure-axe.sh); \
	echo "go vet ./..."; \
	$(GO) vet ./...; \
	echo "go test -race ./... (MySQL user $${dsn%%:*}, Chromium $$chromium)"; \
	ROOMBRIDGE_TEST_MYSQL="$$dsn" \
	ROOMBRIDGE_TEST_MYSQL_REQUIRED=1 \
	ROOMBRIDGE_CHROMIUM="$$chromium" \
	ROOMBRIDGE_BROWSER_REQUIRED=1 \
	ROOMBRIDGE_FEED_VALIDATORS=1 \
	ROOMBRIDGE_AXE="$$axe" \
	$(GO) test -race ./... -count=1 -timeout $(TEST_TIMEOUT)

build:
	$(GO) build -o $(BIN) ./cmd/roombridge

run:
	$(GO) run ./cmd/roombridge

migrate:
	$(GO) run ./cmd/roombridge migrate

# The performance report: cmd/roombridge/benchreport_test.go measures feeds, cold
# builds, availability, bookings on MariaDB (the same server as the tests), the bridge's
# overhead and sync's budget, and writes docs/benchmarks.md. The Go micro-benchmarks
# (go test -bench) stay available on their own.
# docs/benchmarks.json keeps this run's headline figures; docs/benchmarks-before.json (the
# same harness run on the code before the feed cache) gives the report its "before" column.
BENCH_REPORT ?= docs/benchmarks.md
BENCH_JSON ?= docs/benchmarks.json
BENCH_BASELINE ?= docs/benchmarks-before.json
BENCH_SCALE ?=
bench:
	@dsn=$$(scripts/ensure-mariadb.sh); \
	ROOMBRIDGE_TEST_MYSQL="$$dsn" ROOMBRIDGE_BENCH_REPORT="$(abspath $(BENCH_REPORT))" ROOMBRIDGE_BENCH_SCALE="$(BENCH_SCALE)" \
	ROOMBRIDGE_BENCH_JSON="$(abspath $(BENCH_JSON))" ROOMBRIDGE_BENCH_BASELINE="$(abspath $(BENCH_BASELINE))" \
	$(GO) test ./cmd/roombridge -run '^TestBenchReport$$' -count=1 -v -timeout 20m

chaos:
	scripts/chaos.sh

FUZZTIME ?= 1m
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

fmt:
	gofmt -w $(GOFILES)

fmt-check:
	@out=$$(gofmt -l $(GOFILES) </dev/null); \
	if [ -n "$$out" ]; then \
		echo "gofmt: these files need formatting (run make fmt):"; \
		echo "$$out"; \
		exit 1; \
	fi

vet:
	$(GO) vet ./...

clean:
	rm -rf bin/ tools/ical/icalcheck coverage.out coverage.html *.coverprofile
	$(GO) clean -testcache
