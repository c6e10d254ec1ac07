#!/usr/bin/env bash
# Tests the run-with scripts end to end (part of scripts/test.sh, CI):
#
#   scripts/test-run-scripts.sh
#
# For each of run-with-local-file.sh, run-with-local-s3.sh,
# run-with-local-http.sh and run-with-remote-source.sh (twice: create, then
# update), it starts the script in its own session (setsid) on its own ports,
# waits until /_mgmt/ping answers (up to 180 s), checks that
# /search?limit=50 returns a FeatureCollection of the 50 sample items, stops the
# script by killing its process group and checks that its ports are free again.
# run-with-remote-source.sh is pointed at sample-data served by a local
# `python3 -m http.server`, so no internet is needed. Prints PASS/FAIL per run
# and exits non-zero on any failure. Every process it starts is stopped on exit,
# and the .index/ and .remote-source-index/ folders it creates are removed.
#
# Ports (override by env): TEST_FILE_PORT=18123 TEST_S3_API_PORT=18124
# TEST_HTTP_API_PORT=18125 TEST_REMOTE_PORT=18126 (the API servers),
# TEST_S3_PORT=18555 (moto_server), TEST_HTTP_PORT=18800 (the local-http file
# server), TEST_SOURCE_PORT=18801 (the remote-source file server).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

file_port="${TEST_FILE_PORT:-18123}"
s3_api_port="${TEST_S3_API_PORT:-18124}"
http_api_port="${TEST_HTTP_API_PORT:-18125}"
remote_port="${TEST_REMOTE_PORT:-18126}"
s3_port="${TEST_S3_PORT:-18555}"
http_port="${TEST_HTTP_PORT:-18800}"
source_port="${TEST_SOURCE_PORT:-18801}"
ready_timeout=180
expected=50

source_url="http://127.0.0.1:$source_port/catalog.json"
remote_name=$(printf '%s' "$source_url" | sed 's/[^A-Za-z0-9]/_/g')
remote_index=".remote-source-index/$remote_name"

started=$SECONDS
tmp=$(mktemp -d)
pgids=()      # the sessions (= process groups) of the scripts under test
source_pid="" # the file server the remote-source runs read from
# The folders the scripts write that did not exist before: removed at the end.
created=()
for dir in .index .index/sample .index/http-sample .remote-source-index "$remote_index"; do
  [ -e "$dir" ] || created=("$dir" "${created[@]}")
done

. "$root/scripts/lib/processes.sh"
. "$root/scripts/lib/server.sh"

cleanup() {
  local status=$? pgid dir
  trap - EXIT INT TERM
  for pgid in "${pgids[@]}"; do
    group_alive "$pgid" && stop_group "$pgid"
  done
  if [ -n "$source_pid" ]; then
    kill "$source_pid" 2>/dev/null || true
    wait "$source_pid" 2>/dev/null || true
  fi
  for dir in "${created[@]}"; do
    rm -rf "$dir"
  done
  rm -rf "$tmp"
  exit "$status"
}
cleanup_on_exit cleanup

for p in "$file_port" "$s3_api_port" "$http_api_port" "$remote_port" "$s3_port" "$http_port" "$source_port"; do
  if port_busy "$p"; then
    echo "FAIL: port $p is in use or invalid (see the TEST_*_PORT variables in $0)" >&2
    exit 1
  fi
done

# Build once up front, so that the runs below do not each wait for cargo.
echo "== building the release binary" >&2
scripts/stac-indexed --version >/dev/null
# The test virtualenv (moto_server) likewise.
scripts/python-env.sh >/dev/null

# The source the remote-source runs index. Its listen backlog is tiny: fetch
# a few documents at a time (see run-with-local-http.sh).
python3 -m http.server "$source_port" --bind 127.0.0.1 --directory "$root/sample-data" \
  >"$tmp/source.log" 2>&1 &
source_pid=$!
for _ in $(seq 100); do
  curl -sf -o /dev/null "$source_url" && break
  sleep 0.1
done
if ! curl -sf -o /dev/null "$source_url"; then
  echo "FAIL: the file server for run-with-remote-source.sh did not answer on $source_url" >&2
  cat "$tmp/source.log" >&2
  exit 1
fi

failures=0
# Runs one case: check_run NAME PORT LOG GREP... -- ENV... SCRIPT ARGS...
# Each GREP is a fixed string the script's output must contain. Prints what
# is wrong and returns 1 if any check failed.
check_run() {
  local name=$1 port=$2 log=$3 pgid i pattern
  shift 3
  local patterns=()
  while [ "$1" != "--" ]; do
    patterns+=("$1")
    shift
  done
  shift
  local helper_ports=()
  case "$name" in
    local-s3) helper_ports=("$s3_port") ;;
    local-http) helper_ports=("$http_port") ;;
  esac

  setsid env STAC_INDEXED_CACHE_DIR="$tmp/server-cache" "$@" </dev/null >"$log" 2>&1 &
  pgid=$!
  pgids+=("$pgid")

  if ! wait_for_ping "$port" "$pgid" "$ready_timeout"; then
    if group_alive "$pgid"; then
      echo "  /_mgmt/ping did not answer on port $port within $ready_timeout s"
    else
      echo "  the script exited before /_mgmt/ping answered"
    fi
    stop_group "$pgid"
    return 1
  fi

  local result=0
  if ! curl -sSf -o "$tmp/search.json" "http://127.0.0.1:$port/search?limit=50"; then
    echo "  GET /search?limit=50 failed"
    result=1
  elif ! python3 - "$tmp/search.json" "$expected" <<'EOF'; then
import json, sys
with open(sys.argv[1]) as f:
    body = json.load(f)
expected = int(sys.argv[2])
problems = []
if body.get("type") != "FeatureCollection":
    problems.append(f"type is {body.get('type')!r}, not 'FeatureCollection'")
if body.get("numberMatched") != expected:
    problems.append(f"numberMatched is {body.get('numberMatched')!r}, not {expected}")
features = body.get("features") or []
if len(features) != expected:
    problems.append(f"{len(features)} features, not {expected}")
if len({f.get("id") for f in features}) != len(features):
    problems.append("duplicate feature ids")
for problem in problems:
    print("  " + problem)
sys.exit(1 if problems else 0)
EOF
    result=1
  fi
  for pattern in "${patterns[@]}"; do
    if ! grep -qF -- "$pattern" "$log"; then
      echo "  the output does not say: $pattern"
      result=1
    fi
  done

  stop_group "$pgid"
  local p
  for p in "$port" "${helper_ports[@]}"; do
    if port_busy "$p"; then
      echo "  port $p is still in use after the script was stopped"
      result=1
    fi
  done
  return "$result"
}

# run_case NAME LOGNAME PORT GREP... -- ENV... SCRIPT ARGS...: check_run with a
# log file of its own, printing PASS or FAIL (with the reasons and the log's end).
run_case() {
  local name=$1 log="$tmp/$2.log" port=$3 case_started=$SECONDS
  shift 3
  echo "== $name" >&2
  if check_run "$name" "$port" "$log" "$@" >"$tmp/reasons" 2>&1; then
    echo "PASS: $name ($((SECONDS - case_started)) s)"
  else
    echo "FAIL: $name ($((SECONDS - case_started)) s)"
    cat "$tmp/reasons"
    echo "  --- the last lines of its output:"
    tail -n 30 "$log" 2>/dev/null | sed 's/^/  | /'
    failures=$((failures + 1))
  fi
}

run_case local-file local-file "$file_port" \
  -- PORT="$file_port" scripts/run-with-local-file.sh
run_case local-s3 local-s3 "$s3_api_port" \
  -- PORT="$s3_api_port" S3_PORT="$s3_port" scripts/run-with-local-s3.sh
run_case local-http local-http "$http_api_port" \
  -- PORT="$http_api_port" HTTP_PORT="$http_port" scripts/run-with-local-http.sh
run_case remote-source remote-source-1 "$remote_port" "creating a new index in" "$remote_index" \
  -- PORT="$remote_port" STAC_INDEXED_CONCURRENCY=4 STAC_INDEXED_FETCH_CONCURRENCY=4 \
  scripts/run-with-remote-source.sh "$source_url"
run_case "remote-source (update)" remote-source-2 "$remote_port" \
  "updating the existing index in" "$remote_index" "changes: 0 added, 0 removed, 0 updated, $expected unchanged" \
  -- PORT="$remote_port" STAC_INDEXED_CONCURRENCY=4 STAC_INDEXED_FETCH_CONCURRENCY=4 \
  scripts/run-with-remote-source.sh "$source_url"

echo "run-with scripts: $((SECONDS - started)) s, $failures failure(s)"
[ "$failures" -eq 0 ]
