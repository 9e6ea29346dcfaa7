#!/usr/bin/env bash
# ensure-chromium.sh — makes sure a Chromium for the browser tests is installed and
# prints the path of its binary on stdout.
#
# The binary is ROOMBRIDGE_CHROMIUM when that names an executable, else Debian's
# /usr/bin/chromium, installed (with fonts-noto-cjk, so that Chinese text renders in
# screenshots) when missing. Diagnostics go to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -n "${ROOMBRIDGE_CHROMIUM:-}" ]; then
	if [ -x "$ROOMBRIDGE_CHROMIUM" ]; then
		echo "$ROOMBRIDGE_CHROMIUM"
		exit 0
	fi
	echo "ensure-chromium: ROOMBRIDGE_CHROMIUM=$ROOMBRIDGE_CHROMIUM is not executable; using Debian's chromium" >&2
fi

bin=/usr/bin/chromium
"$here/apt-install.sh" chromium fonts-noto-cjk
if [ ! -x "$bin" ]; then
	echo "ensure-chromium: $bin is missing after installing chromium" >&2
	exit 1
fi
echo "$bin"
