#!/usr/bin/env bash
# apt-install.sh PACKAGE... — installs the Debian packages that are not installed yet.
#
# Runs `apt-get update` only when it is needed: when the machine has no package lists
# at all, or when an install from the existing lists fails (stale lists), and then at
# most once. Never prompts. Everything apt prints goes to stderr, so callers can keep
# stdout for their own result. Needs root (or password-less sudo).
set -euo pipefail

[ "$#" -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }

missing=()
for pkg in "$@"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$pkg")
done
[ "${#missing[@]}" -gt 0 ] || exit 0

if [ "$(id -u)" -eq 0 ]; then
	as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	as_root=(sudo -n)
else
	echo "apt-install: need root to install: ${missing[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -y --no-install-recommends
	-o DPkg::Lock::Timeout=300
	-o Dpkg::Options::=--force-confdef
	-o Dpkg::Options::=--force-confold)

update() {
	echo "apt-install: apt-get update" >&2
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 update >&2
}

install() {
	echo "apt-install: apt-get install ${missing[*]}" >&2
	"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install "${missing[@]}" >&2
}

if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
	update
	install
elif ! install; then
	update
	install
fi
