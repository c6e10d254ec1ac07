#!/usr/bin/env bash
# Benchmark: serve the index of a generated catalog of N items and load it
# with wrk, one search shape at a time. Prints, per shape, requests/s and
# p50 with CONNECTIONS connections (default 16, 2 threads), p50 with one
# connection, numberMatched, and any non-2xx answers; then the server's cold
# start, RSS and peak RSS, a run with clients that disconnect mid-request,
# and whether the server log holds a panic or an error.
#
#   scripts/bench-api.sh 100000           # uses (and builds if needed) the index of scripts/bench-index.sh
#   DURATION=10 CONNECTIONS=32 scripts/bench-api.sh 1000000
#   SOAK=600 scripts/bench-api.sh 1000000   # then a long mixed load, sampling the server's RSS every 10 s
#   BIN=/tmp/stac-indexed-before scripts/bench-api.sh 1000000   # another build, to compare on one machine
#   SHAPES='aggregate' scripts/bench-api.sh 1000000   # only the shapes whose name matches (grep -E)
set -euo pipefail
items="${1:-100000}"
collections=10
duration="${DURATION:-5}"
connections="${CONNECTIONS:-16}"
port="${PORT_BENCH:-8765}"
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/lib/bench.sh"
bench_setup "$items" "$collections"
bench="$STAC_INDEXED_CACHE/bench"
base="http://127.0.0.1:$port"
log="$bench/serve.log"

start=$(date +%s%N)
"$bin" serve --index "$index" --addr "127.0.0.1:$port" --reload-interval 0 --log info 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
until curl -sf -o /dev/null "$base/search?limit=1"; do sleep 0.005; done
cold_ms=$(( ($(date +%s%N) - start) / 1000000 ))
for _ in $(seq 1 600); do grep -q "row directory ready\|no row directory" "$log" && break; sleep 0.05; done
ready_ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -q "row directory ready" "$log" || echo "warning: the row directory is not ready" >&2
echo "items $items, wrk -t2 -c$connections -d${duration}s and -t1 -c1, $(nproc) cores"
echo "cold start to first /search: ${cold_ms} ms; directory and columns ready: ${ready_ms} ms; RSS then $(rss $pid) MB"

next_of() { curl -sf "$1" | python3 -c "import json,sys; print([l['href'] for l in json.load(sys.stdin)['links'] if l['rel']=='next'][0])"; }
matched_of() { curl -sf "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['numberMatched'])"; }

cloud=$(enc '"eo:cloud_cover" < 10')
platform=$(enc "platform = 'sentinel-2a' AND \"eo:cloud_cover\" BETWEEN 10 AND 20")
mixed=$(enc "(platform IN ('landsat-8','landsat-9') OR gsd > 20) AND NOT \"eo:cloud_cover\" >= 50 AND datetime >= TIMESTAMP('2022-01-01T00:00:00Z')")
like=$(enc "platform LIKE 'sentinel%' AND id LIKE '%-00000042'")
query=$(enc '{"eo:cloud_cover":{"lt":10}}')
declare -a names urls
add() { names+=("$1"); urls+=("$2"); }
add "/search?limit=10" "$base/search?limit=10"
add "bbox, limit=10" "$base/search?limit=10&bbox=-10,30,40,60"
add "datetime, limit=10" "$base/search?limit=10&datetime=2022-01-01T00:00:00Z/2022-06-30T00:00:00Z"
add "bbox + datetime, limit=10" "$base/search?limit=10&bbox=-10,30,40,60&datetime=2022-01-01T00:00:00Z/2022-06-30T00:00:00Z"
add "item by id" "$base/collections/collection-004/items/item-004-00000099"
add "ids (3)" "$base/search?ids=item-000-00000042,item-003-00000777,item-007-00001234"
add "page 100 of limit=100" "$base/search?limit=100"
add "sortby=-eo:cloud_cover" "$base/search?limit=10&sortby=-eo%3Acloud_cover"
add "filter cloud<10" "$base/search?limit=10&filter=$cloud"
add "filter cloud<10 + bbox" "$base/search?limit=10&bbox=-10,30,40,60&filter=$cloud"
add "filter platform AND BETWEEN" "$base/search?limit=10&filter=$platform"
add "filter IN/OR/NOT/timestamp" "$base/search?limit=10&filter=$mixed"
add "filter LIKE (two columns)" "$base/search?limit=10&filter=$like"
add "query cloud lt 10" "$base/search?limit=10&query=$query"
add "q (free text)" "$base/search?limit=10&q=sentinel"
add "sortby=platform,-cloud" "$base/search?limit=10&sortby=platform,-eo%3Acloud_cover"
add "sortby 2 keys + filter" "$base/search?limit=10&sortby=platform,-eo%3Acloud_cover&filter=$cloud"
add "limit=100 fields, index-only" "$base/search?limit=100&fields=id,properties.eo%3Acloud_cover"
add "limit=100, fetched" "$base/search?limit=100"
# Browsing: the generated collections link 100,000 items each, past the
# index's item-link limit, so a collection's document carries its source's.
add "landing page" "$base/"
add "collection by id" "$base/collections/collection-004"
add "/children" "$base/children"
# Aggregations, each over the matches of a filter.
for aggregation in total_count collection_frequency datetime_frequency platform_frequency \
  eo:cloud_cover_frequency geohash_grid_frequency geotile_grid_frequency; do
  add "aggregate $aggregation + filter" "$base/aggregate?aggregations=$(enc "$aggregation")&filter=$cloud"
done
add "aggregate all 10 + filter" "$base/aggregate?filter=$cloud"
# Deep pages: follow next links (the token carries the count).
keep() { [ -z "${SHAPES:-}" ] || grep -Eq "$SHAPES" <<< "$1"; }
for i in "${!names[@]}"; do
  case "${names[$i]}" in
    "page 100 of limit=100")
      keep "${names[$i]}" || continue
      url="${urls[$i]}"; for _ in $(seq 1 99); do url=$(next_of "$url"); done; urls[$i]="$url" ;;
  esac
done
if keep "page 2"; then
  add "filter cloud<10, page 2" "$(next_of "$base/search?limit=10&filter=$cloud")"
  add "sortby 2 keys, page 2" "$(next_of "$base/search?limit=10&sortby=platform,-eo%3Acloud_cover")"
fi

run() {
  local name="$1" url="$2" matched
  matched=$(matched_of "$url" 2>/dev/null || echo "-")
  wrk -t2 -c"$connections" -d"${duration}s" --latency "$url" > "$bench/wrk.txt" 2>&1
  wrk -t1 -c1 -d"${duration}s" --latency "$url" > "$bench/wrk1.txt" 2>&1
  python3 - "$name" "$bench/wrk.txt" "$bench/wrk1.txt" "$matched" <<'PY'
import re, sys
name, many, one, matched = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read(), sys.argv[4]
def ms(text, label):
    m = re.search(label + r"\s+([\d.]+)(us|ms|s)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", many).group(1))
bad = sum(int(m) for m in re.findall(r"Non-2xx or 3xx responses: (\d+)", many + one))
print(f"| {name} | {rps:,.0f} | {ms(many, '50%'):.2f} ms | {ms(one, '50%'):.2f} ms | {matched} | {bad or ''} |")
PY
}

echo "| search | req/s (c=$connections) | p50 (c=$connections) | p50 (c=1) | numberMatched | non-2xx |"
echo "|---|---|---|---|---|---|"
for i in "${!names[@]}"; do keep "${names[$i]}" && run "${names[$i]}" "${urls[$i]}"; done
echo "server RSS after the shapes: $(rss $pid) MB, peak $(peak $pid) MB"

# Clients that give up after 1 ms: most requests are cancelled mid-flight.
wrk -t2 -c"$connections" -d"${duration}s" --timeout 1ms "$base/search?limit=10&filter=$platform" > "$bench/wrk-cancel.txt" 2>&1 || true
echo "disconnecting clients: $(grep -Eo 'timeout [0-9]+' "$bench/wrk-cancel.txt" | head -1 || echo 'timeout 0') cancelled; afterwards:"
for i in "${!names[@]}"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "${urls[$i]}")
  [ "$code" = 200 ] || echo "  ${names[$i]}: HTTP $code"
done
echo "  every shape answers: checked; server log: $(grep -c 'panicked' "$log" || true) panics, $(grep -c ' ERROR ' "$log" || true) errors"
echo "server RSS now $(rss $pid) MB, peak $(peak $pid) MB"

soak="${SOAK:-0}"
if [ "$soak" -gt 0 ]; then
  wrk -t2 -c"$connections" -d"${soak}s" -s "$root/scripts/bench-filter-sort.lua" "$base" > "$bench/soak.txt" 2>&1 &
  load=$!
  samples=""
  for _ in $(seq 1 $((soak / 10))); do
    sleep 10
    samples="$samples $(rss $pid)"
  done
  wait $load
  echo "soak ${soak}s random bbox + filter + sortby: $(grep -E 'Requests/sec' "$bench/soak.txt" | tr -s ' ')"
  echo "server RSS every 10 s (MB):$samples"
fi
