#!/usr/bin/env bash
# fuzz.sh — runs every fuzz target for FUZZTIME (default 1m) each, one after another.
# Not part of `make test` (which runs the seed corpora and testdata/fuzz cases as
# ordinary tests). A crash leaves its input under the package's testdata/fuzz/<Target>/;
# commit it as a regression case with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-1m}
targets=(
	"./web FuzzDecodeBookingJSON"
	"./web FuzzBookingForm"
	"./web FuzzParseTimes"
	"./models FuzzParseCatalog"
	"./models FuzzParseRRule"
	"./bridge/oa FuzzOccupancyAnswer"
	"./bridge/oa FuzzBookingPageAnswer"
	"./bridge/oa FuzzWireScalars"
	"./bridge/dingtalk FuzzEventAnswer"
	"./bridge/dingtalk FuzzErrorAnswer"
)
failed=0
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "== $name ($pkg, $FUZZTIME)"
	if ! go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel "${FUZZ_PARALLEL:-2}"; then
		failed=1
	fi
done
exit $failed
