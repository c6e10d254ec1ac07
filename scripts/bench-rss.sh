#!/usr/bin/env bash
# Benchmark: the server's memory, shape by shape. Serves the index of a
# generated catalog of N items (scripts/bench-index.sh), waits for the row
# directory and the columns, then loads each search shape for 2 s with
# `wrk -t2 -c16` (so that concurrent first searches meet, as in
# production) and prints the RSS after each, then the peak.
#
#   scripts/bench-rss.sh 1000000
#   BIN=/tmp/stac-indexed-before scripts/bench-rss.sh 1000000
#   SETTLE=60 scripts/bench-rss.sh 1000000   # wait longer before the last RSS
#
# DuckDB's allocator (jemalloc) gives memory back some seconds after a
# query: the RSS right after the directory is built is not the steady one.
set -euo pipefail
items="${1:-100000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/lib/bench.sh"
bench_setup "$items" 10
log=$(mktemp)
port=$(free_port)
base="http://127.0.0.1:$port"
setsid "$bin" serve --index "$index" --addr "127.0.0.1:$port" --reload-interval 0 --log info </dev/null 2>"$log" &
pid=$!
trap 'stop_group $pid; rm -f "$log"' EXIT
start=$(date +%s%N)
for _ in $(seq 1 1200); do grep -q "row directory ready\|no row directory" "$log" && break; sleep 0.05; done
ready_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "items $items: directory and columns ready in $ready_ms ms, RSS $(rss $pid) MB"
sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -o 'column_mb=.*' || true
sleep 15
echo "15 s later, idle: RSS $(rss $pid) MB"
cloud=$(enc '"eo:cloud_cover" < 10')
shapes=(
  "limit=10"
  "limit=10&filter=$cloud"
  "limit=10&bbox=-10,30,40,60&filter=$cloud"
  "limit=10&sortby=platform,-eo:cloud_cover&filter=$cloud"
  "limit=100&fields=id,properties.eo:cloud_cover"
  "limit=100"
  "limit=10&filter=$(enc "platform LIKE 'sentinel%' AND id LIKE '%-00000042'")"
)
echo "| search (2 s, c=16) | RSS after (MB) |"
echo "|---|---|"
for shape in "${shapes[@]}"; do
  wrk -t2 -c16 -d2s "$base/search?$shape" >/dev/null
  echo "| $(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(sys.argv[1]))' "$shape") | $(rss $pid) |"
done
settle="${SETTLE:-15}"
sleep "$settle"
echo "RSS $settle s later $(rss $pid) MB, peak $(peak $pid) MB"
