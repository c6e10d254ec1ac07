#!/usr/bin/env bash
# Benchmark: index a generated catalog of N items over HTTP from a local
# server that delays every response by DELAY ms (a distant origin), one
# item per request, and print items/s and peak RSS.
#
#   scripts/bench-index-http.sh 20000            # 20k items, 20 ms, default concurrency
#   DELAY=50 CONCURRENCY=256 scripts/bench-index-http.sh 20000
set -euo pipefail
items="${1:-20000}"
collections="${2:-10}"
delay="${DELAY:-20}"
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/env.sh"
(cd "$root" && cargo build --release --quiet --bin stac-indexed --bin slow-file-server)
bin="$CARGO_TARGET_DIR/release/stac-indexed"
bench="$STAC_INDEXED_CACHE/bench"
catalog="$bench/catalog-$items-$collections"
if [ ! -f "$catalog/.complete" ]; then
  rm -rf "$catalog"
  "$bin" generate --items "$items" --collections "$collections" --out "$catalog"
  touch "$catalog/.complete"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$CARGO_TARGET_DIR/release/slow-file-server" "$catalog" "$port" "$delay" > "$bench/slow-server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do grep -q ready "$bench/slow-server.log" && break; sleep 0.1; done
out="$bench/index-http-$items-$collections"
rm -rf "$out"
concurrency_args=()
if [ -n "${CONCURRENCY:-}" ]; then concurrency_args=(--concurrency "$CONCURRENCY"); fi
/usr/bin/time -f "%e %M" -o "$bench/time.txt" \
  "$bin" index "http://127.0.0.1:$port/catalog.json" --out "$out" --config "$catalog/index-config.json" \
  "${concurrency_args[@]}" > "$bench/summary.json"
read -r seconds rss_kb < "$bench/time.txt"
indexed=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['report']['counts']['items'])" "$bench/summary.json")
python3 - "$items" "$indexed" "$seconds" "$rss_kb" "$delay" "${CONCURRENCY:-default}" <<'PY'
import sys
items, indexed, seconds, rss_kb, delay, concurrency = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
print(f"catalog items     {items}")
print(f"indexed items     {indexed}")
print(f"latency per reply {delay} ms")
print(f"concurrency       {concurrency}")
print(f"wall seconds      {seconds:.2f}")
print(f"items per second  {indexed / seconds:,.0f}")
print(f"peak RSS          {rss_kb / 1024:.0f} MB")
PY
