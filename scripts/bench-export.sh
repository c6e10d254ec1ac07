#!/usr/bin/env bash
# Benchmark: bulk export of a generated catalog of N items (default 100k),
# from local item files. Prints, per format, the items/s of
# `stac-indexed export` and of the server's `f=...` export (curl to
# /dev/null), the file size, and how much the server's RSS grew during the
# export (sampled every 100 ms).
#
#   scripts/bench-export.sh 100000
#   BIN=/tmp/stac-indexed-before scripts/bench-export.sh 1000000
set -euo pipefail
items="${1:-100000}"
collections=10
port="${PORT_BENCH:-8766}"
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/lib/bench.sh"
bench_setup "$items" "$collections"
bench="$STAC_INDEXED_CACHE/bench"
out="$bench/export"
mkdir -p "$out"
echo "items $items, $(nproc) cores, items as local files"
echo "| export | items | seconds | items/s | file MB | server RSS before -> max during (MB) |"
echo "|---|---|---|---|---|---|"
for format in ndjson parquet; do
  summary=$("$bin" export --index "$index" --out "$out/all.$format")
  python3 - "$format" "$summary" "$out/all.$format" <<'PY'
import json, os, sys
format, summary, path = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
print(f"| stac-indexed export, {format} | {summary['items']:,} | {summary['seconds']:.2f} | {summary['items_per_second']:,.0f} | {os.path.getsize(path) / 1e6:,.0f} | |")
PY
  rm -f "$out/all.$format"
done

log="$bench/serve-export.log"
"$bin" serve --index "$index" --addr "127.0.0.1:$port" --reload-interval 0 --log info 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until curl -sf -o /dev/null "http://127.0.0.1:$port/search?limit=1"; do sleep 0.01; done
for _ in $(seq 1 600); do grep -q "row directory ready\|no row directory" "$log" && break; sleep 0.05; done
sleep 2
for format in ndjson parquet; do
  before=$(rss $pid)
  max=$before
  start=$(date +%s%N)
  curl -sf -o "$out/served.$format" "http://127.0.0.1:$port/search?f=$format" &
  fetch=$!
  while kill -0 $fetch 2>/dev/null; do
    now=$(rss $pid); [ "$now" -gt "$max" ] && max=$now
    sleep 0.1
  done
  wait $fetch
  seconds=$(python3 -c "print(($(date +%s%N) - $start) / 1e9)")
  size=$(stat -c %s "$out/served.$format")
  python3 -c "
items, seconds, size = $items, $seconds, $size
print(f'| GET /search?f=$format | {items:,} | {seconds:.2f} | {items / seconds:,.0f} | {size / 1e6:,.0f} | $before -> $max |')"
  rm -f "$out/served.$format"
done
echo "server log: $(grep -c 'panicked' "$log" || true) panics, $(grep -c ' ERROR ' "$log" || true) errors"
