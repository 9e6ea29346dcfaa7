#!/usr/bin/env bash
# Regenerates the README's screenshots (docs/screenshots/*.png): the day grid, the room
# finder and the booking form on a desktop and on a phone, from a fresh demo instance.
set -euo pipefail
cd "$(dirname "$0")/.."
chromium=$(scripts/ensure-chromium.sh)
mkdir -p docs/screenshots
ROOMBRIDGE_CHROMIUM="$chromium" ROOMBRIDGE_SCREENSHOTS="$PWD/docs/screenshots" \
	go test ./cmd/roombridge -run '^TestBrowserScreenshots$' -count=1 -v
