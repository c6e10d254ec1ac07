#!/usr/bin/env bash
# Runs stac-api-validator against a real server over sample-data (part of
# scripts/test.sh, CI), for the conformance classes the server advertises:
# core, collections, features and item-search, with pagination.
#
#   scripts/test-validator.sh
#
# Builds the release binary (scripts/stac-indexed), indexes sample-data/ into
# a temporary directory, serves it on a free port of 127.0.0.1, runs the
# validator through scripts/stac_api_validator_offline.py (STAC/GeoJSON
# schemas from pystac's bundled copies; no network) and stops the server.
# The validator's full output goes to
# ~/.cache/stac-indexed/artifacts/stac-api-validator.txt.
#
# The validator's exit code is not reliable (0 after a crash, and when it
# skips everything), so a run passes only when its output has the line
# "Errors: none" and contains neither "Failed." nor "CRITICAL".
# Prints PASS or FAIL with the number of errors and warnings; exits 1 on FAIL.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(scripts/python-env.sh)
cache="${STAC_INDEXED_CACHE:-$HOME/.cache/stac-indexed}"
artifacts="$cache/artifacts"
report="$artifacts/stac-api-validator.txt"
mkdir -p "$artifacts"

tmp=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

export STAC_INDEXED_CACHE_DIR="$tmp/server-cache"
# Build first (the wrapper builds when needed), so that the PID below is the
# server's own (the wrapper execs the binary).
scripts/stac-indexed --version >/dev/null
scripts/stac-indexed index sample-data/catalog.json \
  --config sample-data/index-config.json --out "$tmp/index" >/dev/null

port=$("$venv/bin/python" -c \
  'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
scripts/stac-indexed serve --index "$tmp/index" --addr "127.0.0.1:$port" \
  --reload-interval 0 </dev/null >"$tmp/server.log" 2>&1 &
server_pid=$!

deadline=$((SECONDS + 180))
until curl -fsS -o /dev/null "$url/_mgmt/ping" 2>/dev/null; do
  if ! kill -0 "$server_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
    echo "FAIL: the server did not answer $url/_mgmt/ping; its log ends:" >&2
    tail -n 40 "$tmp/server.log" >&2
    exit 1
  fi
  sleep 0.2
done

geometry='{"type":"Polygon","coordinates":[[[20,20],[21,20],[21,21],[20,21],[20,20]]]}'
set +e
timeout 900 "$venv/bin/python" scripts/stac_api_validator_offline.py \
  --root-url "$url" \
  --conformance core --conformance collections \
  --conformance features --conformance item-search \
  --validate-pagination \
  --collection sentinel-2-l2a \
  --geometry "$geometry" >"$report" 2>&1
rc=$?
set -e

# "- " lines after "Warnings:" (up to "Errors") and after "Errors:".
count() {
  awk -v section="$1" '
    /^Warnings:/ { in_w = 1; in_e = 0; next }
    /^Errors:/   { in_e = 1; in_w = 0; next }
    /^- / { if ((section == "w" && in_w) || (section == "e" && in_e)) n++ }
    END { print n + 0 }' "$report"
}
warnings=$(count w)
errors=$(count e)

cat "$report" >&2
if [ "$rc" -eq 0 ] && grep -qx 'Errors: none' "$report" \
  && ! grep -qF 'Failed.' "$report" && ! grep -qF 'CRITICAL' "$report"; then
  echo "stac-api-validator: PASS (core, collections, features, item-search, pagination): 0 errors, $warnings warnings; output in $report" >&2
  echo "PASS"
else
  echo "stac-api-validator: FAIL (exit code $rc): $errors errors, $warnings warnings; output in $report" >&2
  echo "FAIL"
  exit 1
fi
