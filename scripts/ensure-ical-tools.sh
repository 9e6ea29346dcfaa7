#!/usr/bin/env bash
# ensure-ical-tools.sh — builds the offline iCalendar validators in tools/ical that the
# feed tests run when ROOMBRIDGE_FEED_VALIDATORS=1:
#   - the Node.js validators (ical.js, node-ical): `npm ci` (or `npm install` without a
#     lock file) when node_modules is missing or older than package.json / the lock file;
#   - icalcheck, the libical checker: compiled from icalcheck.c when the binary is missing
#     or older than its source, after installing libical-dev and pkg-config if needed.
# Prints nothing on success; diagnostics go to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$(cd "$here/.." && pwd)/tools/ical

log() { echo "ensure-ical-tools: $*" >&2; }

if [ ! -d "$dir" ]; then
	log "$dir does not exist; no iCalendar validators to build"
	exit 0
fi
cd "$dir"

# newer A B: A exists and is newer than B, or B does not exist.
newer() { [ -e "$1" ] && { [ ! -e "$2" ] || [ "$1" -nt "$2" ]; }; }

if [ -f package.json ]; then
	stamp=node_modules/.package-lock.json
	if [ ! -d node_modules ] || newer package.json "$stamp" || newer package-lock.json "$stamp"; then
		if ! command -v npm >/dev/null 2>&1; then
			"$here/apt-install.sh" nodejs npm
		fi
		if [ -f package-lock.json ]; then
			log "npm ci in $dir"
			npm ci --no-audit --no-fund >&2
		else
			log "npm install in $dir"
			npm install --no-audit --no-fund >&2
		fi
	fi
fi

if [ -f icalcheck.c ]; then
	if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists libical; then
		"$here/apt-install.sh" libical-dev pkg-config
	fi
	if newer icalcheck.c icalcheck; then
		log "compiling icalcheck"
		# shellcheck disable=SC2046 # pkg-config prints several flags on purpose
		cc -O2 -Wall icalcheck.c -o icalcheck.tmp $(pkg-config --cflags --libs libical)
		mv -f icalcheck.tmp icalcheck
	fi
fi
