#!/usr/bin/env bash
# chaos.sh — the crash and replica runs, on loopback only, bounded in time (a few
# minutes). Not part of `make test`.
#
#   TestChaos     a 500-booking burst against the OA and DingTalk fakes (separate
#                 processes) failing 30% of their calls (5xx, throttling, writes whose
#                 answer is lost), the server SIGKILLed and restarted 5 times; then every
#                 booking must be confirmed within 30 s of the last restart, each exactly
#                 once in its backend, and `roombridge verify` must report nothing.
#   TestReplicas  three servers on one MariaDB database: one slot asked for 100 times is
#                 won once, a load under faults is written exactly once, "sync now" on
#                 every replica runs one pass of a backend at a time, and killing the
#                 sync leader hands over within one lease. Skipped without MariaDB.
#
# Tune with ROOMBRIDGE_CHAOS_BOOKINGS, ROOMBRIDGE_CHAOS_KILLS, ROOMBRIDGE_CHAOS_FAULT_RATE,
# ROOMBRIDGE_CHAOS_REPLICA_BOOKINGS; pick one run with CHAOS_RUN=TestChaos.
set -euo pipefail
cd "$(dirname "$0")/.."
dsn=${ROOMBRIDGE_TEST_MYSQL:-$(scripts/ensure-mariadb.sh)}
ROOMBRIDGE_CHAOS=1 ROOMBRIDGE_TEST_MYSQL="$dsn" \
	exec go test ./cmd/roombridge -run "${CHAOS_RUN:-^(TestChaos|TestReplicas|TestDatabaseRestart)$}" -count=1 -v -timeout 15m
