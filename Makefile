# roombridge — build, test and run.
#
#   make test      all tests, MySQL and browser ones included (provisions MariaDB,
#                  Chromium, the iCalendar validators and axe-core when they are missing)
#   make run       the server with the embedded defaults (SQLite, demo backends) on :8080
#   make build     bin/roombridge
#   make migrate   apply the database migrations to ROOMBRIDGE_DB
#   make bench     the benchmarks (results go to docs/benchmarks.md by hand)
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

# Benchmarks that use MySQL get the same server as the tests.
bench:
	@dsn=$$(scripts/ensure-mariadb.sh); \
	ROOMBRIDGE_TEST_MYSQL="$$dsn" $(GO) test -run '^$$' -bench . -benchmem ./...

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
