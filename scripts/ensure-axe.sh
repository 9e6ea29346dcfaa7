#!/usr/bin/env bash
# ensure-axe.sh — installs axe-core (tools/axe, from npm) for the browser accessibility
# test: `npm ci` when node_modules is missing or older than package.json or the lock file.
# Prints the path of axe.min.js on stdout; diagnostics go to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$(cd "$here/.." && pwd)/tools/axe
cd "$dir"

log() { echo "ensure-axe: $*" >&2; }
newer() { [ -e "$1" ] && { [ ! -e "$2" ] || [ "$1" -nt "$2" ]; }; }

stamp=node_modules/.package-lock.json
if [ ! -f node_modules/axe-core/axe.min.js ] || newer package.json "$stamp" || newer package-lock.json "$stamp"; then
	if ! command -v npm >/dev/null 2>&1; then
		"$here/apt-install.sh" nodejs npm
	fi
	log "npm ci in $dir"
	npm ci --no-audit --no-fund >&2
fi
echo "$dir/node_modules/axe-core/axe.min.js"
