#!/usr/bin/env bash
# Benchmark: serve an index of a generated catalog of N items and load it with
# wrk. Prints, per request type, requests/s, p50 and p99 latency, plus the
# server's cold start and RSS.
#
#   scripts/bench-api.sh 100000           # uses (and builds if needed) the index of scripts/bench-index.sh
#   DURATION=10 CONNECTIONS=32 scripts/bench-api.sh 1000000
#   SOAK=60 scripts/bench-api.sh 1000000   # then a long random-bbox load, sampling the server's RSS
set -euo pipefail
items="${1:-100000}"
collections=10
duration="${DURATION:-10}"
connections="${CONNECTIONS:-32}"
port="${PORT_BENCH:-8765}"
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/env.sh"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
(cd "$root" && cargo build --release --quiet --bin stac-indexed)
bin="$CARGO_TARGET_DIR/release/stac-indexed"
bench="$STAC_INDEXED_CACHE/bench"
index="$bench/index-$items-$collections"
[ -f "$index/manifest.json" ] || "$root/scripts/bench-index.sh" "$items" "$collections" >/dev/null
base="http://127.0.0.1:$port"

start=$(date +%s%N)
"$bin" serve --index "$index" --addr "127.0.0.1:$port" --reload-interval 0 --log info 2>"$bench/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until curl -sf -o /dev/null "$base/search?limit=1"; do sleep 0.005; done
cold_ms=$(( ($(date +%s%N) - start) / 1000000 ))
# Let the background load into memory finish before measuring.
for _ in $(seq 1 600); do grep -q "row directory ready\|no row directory" "$bench/serve.log" && break; sleep 0.1; done
grep -q "row directory ready" "$bench/serve.log" || echo "warning: the row directory is not ready" >&2

# A token for page 100 of limit 100, found by following next links.
deep="$base/search?limit=100"
for _ in $(seq 1 99); do
  deep=$(curl -sf "$deep" | python3 -c "import json,sys; print([l['href'] for l in json.load(sys.stdin)['links'] if l['rel']=='next'][0])")
done
bbox_datetime="$base/search?limit=10&bbox=-10,30,40,60&datetime=2022-01-01T00:00:00Z/2022-06-30T00:00:00Z"
ids="$base/search?ids=item-000-00000042,item-003-00000777,item-007-00001234"
item="$base/collections/collection-004/items/item-004-00000099"
# The extensions (docs/searching.md), URL-encoded.
filter="$base/search?limit=10&bbox=-10,30,40,60&filter=%22eo%3Acloud_cover%22%20%3C%2010"
sorted="$base/search?limit=10&sortby=-properties.eo%3Acloud_cover"
sorted_deep=$(curl -sf "$sorted" | python3 -c "import json,sys; print([l['href'] for l in json.load(sys.stdin)['links'] if l['rel']=='next'][0])")
index_only="$base/search?limit=1000&fields=id,collection,geometry,bbox,properties.datetime,properties.eo%3Acloud_cover"
fetched_fields="$base/search?limit=1000&fields=id,properties.eo%3Acloud_cover,assets"

run() {
  local name="$1" url="$2" script="${3:-}"
  wrk -t2 -c"$connections" -d"${duration}s" --latency ${script:+-s "$script"} "$url" > "$bench/wrk.txt" 2>&1
  python3 - "$name" "$bench/wrk.txt" <<'PY'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def ms(label):
    m = re.search(label + r"\s+([\d.]+)(us|ms|s)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
bad = f"  NON-2xx: {errors.group(1)}" if errors else ""
print(f"{name:<28} {rps:>9.0f} req/s   p50 {ms('50%'):>7.2f} ms   p99 {ms('99%'):>7.2f} ms{bad}")
PY
}

echo "items $items, wrk -t2 -c$connections -d${duration}s, $(nproc) cores"
echo "cold start to first /search: ${cold_ms} ms"
run "first page, limit=10" "$base/search?limit=10"
run "bbox + datetime, limit=10" "$bbox_datetime"
run "ids (3)" "$ids"
run "item by id" "$item"
run "page 100 of limit=100" "$deep"
run "first page, limit=100" "$base/search?limit=100"
run "limit=1000" "$base/search?limit=1000"
run "random 5° bbox + datetime" "$base" "$root/scripts/bench-random-bbox.lua"
run "filter cloud<10 + bbox" "$filter"
run "sortby -cloud, first page" "$sorted"
run "sortby -cloud, page 2" "$sorted_deep"
run "limit=1000 fields, fetched" "$fetched_fields"
run "limit=1000 fields, index-only" "$index_only"
# Different items every request (random 30° boxes, up to 1000 items each):
# the fetched answer reads item files, the index-only one does not.
export BENCH_SIZE=30
BENCH_QUERY="&limit=1000&fields=id,properties.eo%3Acloud_cover,assets" \
  run "random 30° fields, fetched" "$base" "$root/scripts/bench-random-bbox.lua"
BENCH_QUERY="&limit=1000&fields=id,bbox,properties.datetime,properties.eo%3Acloud_cover" \
  run "random 30° fields, index-only" "$base" "$root/scripts/bench-random-bbox.lua"
unset BENCH_SIZE
echo "server RSS now $(awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status) MB, peak $(awk '/VmHWM/ {print int($2/1024)}' /proc/$pid/status) MB"

soak="${SOAK:-0}"
if [ "$soak" -gt 0 ]; then
  wrk -t2 -c"$connections" -d"${soak}s" -s "$root/scripts/bench-random-bbox.lua" "$base" > "$bench/soak.txt" 2>&1 &
  load=$!
  samples=""
  for _ in $(seq 1 $((soak / 10))); do
    sleep 10
    samples="$samples $(awk '/VmRSS/ {print int($2/1024)}' /proc/$pid/status)"
  done
  wait $load
  echo "soak ${soak}s random bbox: $(grep -E 'Requests/sec' "$bench/soak.txt" | tr -s ' ')"
  echo "server RSS every 10 s (MB):$samples"
fi
