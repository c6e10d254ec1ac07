#!/usr/bin/env bash
# Tests the interactive API documentation (/api.html, Swagger UI) in headless
# Chromium with no internet access (part of scripts/test.sh, CI):
#
#   scripts/test-browser.sh
#
# Installs Debian's chromium if /usr/bin/chromium is missing (apt-get, with
# sudo when not root) and playwright-core (pinned in tests/browser/package.json
# and package-lock.json; Playwright never downloads a browser here), indexes
# sample-data into a temporary folder as run-with-local-file.sh does, serves it
# on 127.0.0.1:$TEST_BROWSER_PORT and runs tests/browser/api-html.mjs against
# it: the page must render our operations, "Try it out" on GET /search must
# show a 200 FeatureCollection, and the page must not try to reach any other
# host. Exits with that test's status; the server is stopped on exit.
#
# Env: TEST_BROWSER_PORT=18900 (the API server), SCREENSHOT (the full-page
# screenshot, an artifact kept outside the work tree; default
# ~/.cache/stac-indexed/artifacts/api-html.png).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

port="${TEST_BROWSER_PORT:-18900}"
cache="${STAC_INDEXED_CACHE:-$HOME/.cache/stac-indexed}"
screenshot="${SCREENSHOT:-$cache/artifacts/api-html.png}"
artifacts="${ARTIFACTS:-$cache/artifacts/stac-browser}"
ready_timeout=60
started=$SECONDS

tmp=$(mktemp -d)
pgid="" # the server's session (= process group)

. "$root/scripts/lib/debian.sh"
. "$root/scripts/lib/processes.sh"
. "$root/scripts/lib/server.sh"

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$pgid" ] && group_alive "$pgid"; then
    stop_group "$pgid"
  fi
  rm -rf "$tmp"
  exit "$status"
}
cleanup_on_exit cleanup

if port_busy "$port"; then
  echo "FAIL: port $port is in use or invalid (set TEST_BROWSER_PORT)" >&2
  exit 1
fi

# The browser: Debian's chromium.
ensure_debian_package /usr/bin/chromium chromium

# playwright-core, exactly as the lockfile pins it.
echo "== installing playwright-core (tests/browser)" >&2
if [ -f tests/browser/package-lock.json ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
else
  (cd tests/browser && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi

# The server: sample-data indexed as run-with-local-file.sh does (into a
# temporary folder, so a developer's .index/ stays as it is).
echo "== building, indexing sample-data and serving it on 127.0.0.1:$port" >&2
scripts/stac-indexed index "$root/sample-data/catalog.json" \
  --config "$root/sample-data/index-config.json" --out "$tmp/index" >"$tmp/index.log" 2>&1 \
  || { echo "FAIL: indexing sample-data failed:" >&2; tail -n 30 "$tmp/index.log" >&2; exit 1; }
echo "== building STAC Browser (scripts/build-browser.sh, cached)" >&2
browser_dir=$(scripts/build-browser.sh)
setsid scripts/stac-indexed serve --index "$tmp/index" --addr "127.0.0.1:$port" --browser-dir "$browser_dir" \
  </dev/null >"$tmp/server.log" 2>&1 &
pgid=$!

if ! wait_for_ping "$port" "$pgid" "$ready_timeout"; then
  echo "FAIL: the server did not answer /_mgmt/ping on port $port within $ready_timeout s; its output:" >&2
  tail -n 30 "$tmp/server.log" | sed 's/^/  | /' >&2
  exit 1
fi

echo "== tests/browser/api-html.mjs (screenshot: $screenshot)" >&2
status=0
BASE="http://127.0.0.1:$port" SCREENSHOT="$screenshot" node tests/browser/api-html.mjs || status=$?
echo "== tests/browser/stac-browser.mjs (screenshots: $artifacts)" >&2
BASE="http://127.0.0.1:$port" ARTIFACTS="$artifacts" node tests/browser/stac-browser.mjs || status=$?
if [ "$status" -ne 0 ]; then
  echo "  --- the last lines of the server's output:" >&2
  tail -n 30 "$tmp/server.log" | sed 's/^/  | /' >&2
fi
echo "browser test: $((SECONDS - started)) s, exit status $status" >&2
exit "$status"
