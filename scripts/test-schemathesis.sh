#!/usr/bin/env bash
# Runs schemathesis against a real server over sample-data (part of
# scripts/test.sh, CI): every operation of the OpenAPI document (/api), every
# check, a bounded number of examples per operation. Real collection and
# item ids come from schemathesis.toml (tests/schemathesis/), so the item
# and collection operations are tested past their 404s.
#
#   scripts/test-schemathesis.sh [SCHEMATHESIS RUN ARGS...]
#
# Passes only with 0 server errors and 0 failures. The report (JUnit XML) is
# kept in ~/.cache/stac-indexed/artifacts/schemathesis/.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/lib/processes.sh
. scripts/lib/server.sh
venv=$(scripts/python-env.sh schemathesis)
cache="${STAC_INDEXED_CACHE:-$HOME/.cache/stac-indexed}"
artifacts="$cache/artifacts/schemathesis"
mkdir -p "$artifacts"
tmp=$(mktemp -d)
trap 'stop_server; rm -rf "$tmp"' EXIT

scripts/stac-indexed index sample-data/catalog.json \
  --config sample-data/index-config.json --out "$tmp/index" >/dev/null
STAC_INDEXED_CACHE_DIR="$tmp/server-cache" serve_index "$tmp/index" "$tmp/server.log"

set +e
"$venv/bin/schemathesis" --config-file tests/schemathesis/schemathesis.toml run "$url/api" \
  --checks all --max-examples "${SCHEMATHESIS_EXAMPLES:-40}" --workers 2 \
  --report junit --report-dir "$artifacts" "$@"
status=$?
set -e
if grep -q "panicked" "$tmp/server.log"; then
  echo "FAIL: the server log holds a panic:" >&2
  grep -A5 "panicked" "$tmp/server.log" >&2
  status=1
fi
exit "$status"
