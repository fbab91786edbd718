#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the browser tests of the HTML reports
# (tests/browser.py drives /usr/bin/chromium headless over its DevTools protocol).
# Idempotent: does nothing when /usr/bin/chromium exists; otherwise installs the `chromium`
# package with apt-get (as root, or through sudo when available). Browser downloads by other
# means (e.g. pip or npm fetching a browser build) are not possible here and not used.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "scripts/ensure_chromium.sh: /usr/bin/chromium is missing and apt-get is not available;" \
       "install Debian's chromium package" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null; then
  as_root=(sudo)
else
  echo "scripts/ensure_chromium.sh: /usr/bin/chromium is missing; run as root:" \
       "apt-get install -y chromium" >&2
  exit 1
fi
echo "scripts/ensure_chromium.sh: installing chromium with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get install -y chromium >&2; then
  # the package lists may be stale or missing on a fresh machine
  "${as_root[@]}" apt-get update >&2
  "${as_root[@]}" apt-get install -y chromium >&2
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "scripts/ensure_chromium.sh: chromium did not install" >&2
  exit 1
fi
