#!/usr/bin/env bash
# Runs stac-api-validator against a real server over sample-data (part of
# scripts/test.sh, CI), for the conformance classes the server advertises:
# core, collections, features and item-search (with pagination) always, and
# each of these extension classes only when GET /conformance advertises it:
#
#   validator class      advertised as (the validator's own patterns)
#   filter               https://api.stacspec.org/<v>/item-search#filter
#   item-search#sort     https://api.stacspec.org/<v>/item-search#sort
#   item-search#fields   https://api.stacspec.org/<v>/item-search#fields
#   item-search#query    https://api.stacspec.org/<v>/item-search#query
#   browseable           https://api.stacspec.org/<v>/browseable
#   children             https://api.stacspec.org/<v>/children
#
#   scripts/test-validator.sh
#
# Builds the release binary (scripts/stac-indexed), indexes sample-data/ into
# a temporary directory, serves it on a free port of 127.0.0.1, runs the
# validator through scripts/stac_api_validator_offline.py (STAC/GeoJSON
# schemas from pystac's bundled copies; no network) and stops the server.
#
# One validator run per class group, each with its own report, so that a
# crash in one extension's checks cannot hide the results of the others:
#   base      core, collections, features, item-search, pagination
#   filter    core, item-search, filter (the validator runs its filter checks
#             only from inside item-search)
#   sort, fields, query, browseable, children: core and that class
# Reports: ~/.cache/stac-indexed/artifacts/stac-api-validator.txt (base) and
# stac-api-validator-<group>.txt.
#
# The validator's exit code is not reliable (0 after a crash, and when it
# skips everything), so a run passes only when its output has the line
# "Errors: none" and contains neither "Failed." nor "CRITICAL" -- or when
# each of its errors is one of KNOWN_VALIDATOR_ERRORS below: checks of the
# validator itself that contradict the specification, each shown with its
# evidence in docs/conformance.md. Any other error fails the run.
# Prints PASS or FAIL with the number of errors and warnings of each run;
# exits 1 when any run fails.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
venv=$(scripts/python-env.sh)
cache="${STAC_INDEXED_CACHE:-$HOME/.cache/stac-indexed}"
artifacts="$cache/artifacts"
report="$artifacts/stac-api-validator.txt"
mkdir -p "$artifacts"
rm -f "$artifacts"/stac-api-validator-*.txt  # reports of earlier runs

. scripts/lib/processes.sh
. scripts/lib/server.sh
tmp=$(mktemp -d)
cleanup() {
  stop_server
  rm -rf "$tmp"
}
trap cleanup EXIT

export STAC_INDEXED_CACHE_DIR="$tmp/server-cache"
scripts/stac-indexed index sample-data/catalog.json \
  --config sample-data/index-config.json --out "$tmp/index" >/dev/null
serve_index "$tmp/index" "$tmp/server.log"

geometry='{"type":"Polygon","coordinates":[[[20,20],[21,20],[21,21],[20,21],[20,20]]]}'
collection=sentinel-2-l2a

# The classes the server advertises, read from the running server.
conformance=$(curl -fsS "$url/conformance")
advertises() { # $1: the class's suffix after https://api.stacspec.org/<version>/
  "$venv/bin/python" -c '
import json, re, sys
suffix = sys.argv[1]
classes = json.loads(sys.stdin.read())["conformsTo"]
pattern = re.compile(r"https://api\.stacspec\.org/(.+)/" + re.escape(suffix))
sys.exit(0 if any(pattern.fullmatch(c) for c in classes) else 1)' "$1" <<<"$conformance"
}

# The query class's checks need values that give results on the first page
# (limit 20) of $collection: eq/neq/lt/lte/gt/gte on a number field (the
# validator compares with float()), startsWith/endsWith/contains on a string
# field, and "in" on an array field (the validator takes the property as a
# set of values, so a string field would be split into characters).
query_args=(
  --query-comparison-field eo:cloud_cover
  --query-eq-value 0 --query-neq-value 0
  --query-lt-value 10 --query-lte-value 9.9
  --query-gt-value 50 --query-gte-value 54.2
  --query-substring-field platform
  --query-starts-with-value sentinel --query-ends-with-value 2a
  --query-contains-value nel-2
  --query-in-field instruments --query-in-values msi
)

# Errors of the validator's own making (docs/conformance.md, "Validator
# defects"), as extended regular expressions over the whole error line.
KNOWN_VALIDATOR_ERRORS=(
  # Fields: a JSON null member is an absent member in every search body here
  # (the full item); the specification does not make `"fields": null` an error.
  '^- \[Item Search - Fields Ext\] : POST http://127\.0\.0\.1:[0-9]+/search params=None body=\{"fields": null\} had unexpected status code 200 instead of 400: $'
  # Fields: it requires exactly 5 top-level members for include
  # properties.eo:cloud_cover + exclude properties; the right answer is
  # properties (with only eo:cloud_cover) plus the always-kept id, type, collection.
  "^- \\[Item Search - Fields Ext\\] : POST \\{'fields': \\{'exclude': \\['properties'\\], 'include': \\['properties\\.eo:cloud_cover'\\]\\}\\} response contained fewer than 5 fields \\['collection', 'id', 'properties', 'type'\\]$"
  # Fields: with exclusions only (include empty or null) it wants the default
  # set minus the exclusions. Here exclusions alone take those fields from the
  # full item, in GET and POST alike (docs/searching.md); the extension calls
  # include and exclude "only hints to the server".
  "^- \\[Item Search - Fields Ext\\] : POST \\{'fields': \\{'exclude': \\['geometry'\\], 'include': (\\[\\]|None)\\}\\} response contained 'properties\\.eo:cloud_cover', but should have been excluded$"
)

# The error lines of a report that are not known validator defects.
unknown_errors() {
  local pattern
  sed -n '/^Errors:/,$p' "$1" | grep '^- ' | while IFS= read -r line; do
    for pattern in "${KNOWN_VALIDATOR_ERRORS[@]}"; do
      grep -qE -- "$pattern" <<<"$line" && continue 2
    done
    printf '%s\n' "$line"
  done
}

# "- " lines after "Warnings:" (up to "Errors") and after "Errors:".
count() {
  awk -v section="$1" '
    /^Warnings:/ { in_w = 1; in_e = 0; next }
    /^Errors:/   { in_e = 1; in_w = 0; next }
    /^- / { if ((section == "w" && in_w) || (section == "e" && in_e)) n++ }
    END { print n + 0 }' "$2"
}

failed=()
summary=()
# run NAME REPORT DESCRIPTION VALIDATOR-ARGS... (COLLECTION=... overrides the collection)
run() {
  local name=$1 out=$2 what=$3 rc warnings errors
  shift 3
  set +e
  timeout 900 "$venv/bin/python" scripts/stac_api_validator_offline.py \
    --root-url "$url" --collection "${COLLECTION:-$collection}" --geometry "$geometry" \
    "$@" >"$out" 2>&1
  rc=$?
  set -e
  warnings=$(count w "$out")
  errors=$(count e "$out")
  { echo "== stac-api-validator: $name ($what)"; cat "$out"; } >&2
  if ! grep -qF 'Failed.' "$out" && ! grep -qF 'CRITICAL' "$out" \
    && { { [ "$rc" -eq 0 ] && grep -qx 'Errors: none' "$out"; } \
      || { grep -qx 'Errors:' "$out" && [ -z "$(unknown_errors "$out")" ]; }; }; then
    local known=""
    [ "$errors" -gt 0 ] && known=" (all known validator defects, docs/conformance.md)"
    summary+=("PASS $name ($what): $errors errors$known, $warnings warnings; output in $out")
  else
    local why="$errors errors, $warnings warnings"
    grep -qF 'Failed.' "$out" && why="crashed (Failed.), $why"
    grep -qF 'CRITICAL' "$out" && why="CRITICAL, $why"
    summary+=("FAIL $name ($what): exit code $rc, $why; output in $out")
    failed+=("$name")
  fi
}

run base "$report" "core, collections, features, item-search, pagination" \
  --conformance core --conformance collections \
  --conformance features --conformance item-search \
  --validate-pagination

not_advertised=()
if advertises 'item-search#filter'; then
  run filter "$artifacts/stac-api-validator-filter.txt" "core, item-search, filter" \
    --conformance core --conformance item-search --conformance filter
else not_advertised+=(filter); fi
if advertises 'item-search#sort'; then
  # The validator's sort check calls Python's sorted() on the datetimes and
  # crashes on a null one (allowed in STAC when start/end are given); every
  # sample collection but sentinel-1-grd has such items (docs/conformance.md).
  COLLECTION=sentinel-1-grd run sort "$artifacts/stac-api-validator-sort.txt" "core, item-search#sort" \
    --conformance core --conformance 'item-search#sort'
else not_advertised+=(item-search#sort); fi
if advertises 'item-search#fields'; then
  run fields "$artifacts/stac-api-validator-fields.txt" "core, item-search#fields" \
    --conformance core --conformance 'item-search#fields' \
    --fields-nested-property properties.eo:cloud_cover
else not_advertised+=(item-search#fields); fi
if advertises 'item-search#query'; then
  run query "$artifacts/stac-api-validator-query.txt" "core, item-search#query" \
    --conformance core --conformance 'item-search#query' "${query_args[@]}"
else not_advertised+=(item-search#query); fi
if advertises 'browseable'; then
  run browseable "$artifacts/stac-api-validator-browseable.txt" "core, browseable" \
    --conformance core --conformance browseable
else not_advertised+=(browseable); fi
if advertises 'children'; then
  run children "$artifacts/stac-api-validator-children.txt" "core, children" \
    --conformance core --conformance children
else not_advertised+=(children); fi

for line in "${summary[@]}"; do echo "stac-api-validator: $line" >&2; done
if [ "${#not_advertised[@]}" -gt 0 ]; then
  echo "stac-api-validator: not run (not advertised in /conformance): ${not_advertised[*]}" >&2
fi
if [ "${#failed[@]}" -eq 0 ]; then
  echo "PASS"
else
  echo "stac-api-validator: FAIL: ${failed[*]}" >&2
  echo "FAIL"
  exit 1
fi
