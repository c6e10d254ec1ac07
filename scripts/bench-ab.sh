#!/usr/bin/env bash
# Benchmark: two builds of the server, A and B, on the same index, started
# in turn (A, B, A, B, A, B), each loaded with `wrk -t2 -c16` for a few
# seconds per search: on a machine whose speed drifts, a change is judged
# by the alternating rounds, not by one run against figures of another day.
#
#   scripts/bench-ab.sh /tmp/stac-indexed-before /tmp/stac-indexed-after 'limit=10' 'limit=10&bbox=-10,30,40,60'
#   ITEMS=100000 ROUNDS=5 DURATION=5 scripts/bench-ab.sh A B 'limit=10'
#
# Each argument after the two binaries is a /search query string (already
# URL-encoded). Prints one line per build and round: req/s per query.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
a="$1" b="$2"
shift 2
items="${ITEMS:-1000000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/lib/bench.sh"
bench_setup "$items" 10
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for round in $(seq 1 "${ROUNDS:-3}"); do
  for build in "$a" "$b"; do
    port=$(free_port)
    setsid "$build" serve --index "$index" --addr "127.0.0.1:$port" --reload-interval 0 --log info </dev/null 2>"$log" &
    pid=$!
    for _ in $(seq 1 1200); do grep -q "row directory ready\|no row directory" "$log" && break; sleep 0.05; done
    line="round $round $(basename "$build"):"
    for query in "$@"; do
      rate=$(wrk -t2 -c16 -d"${DURATION:-3}s" "http://127.0.0.1:$port/search?$query" | awk '/Requests\/sec/ {print $2}')
      line="$line $rate"
    done
    echo "$line"
    stop_group "$pid"
  done
done
