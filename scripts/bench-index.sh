#!/usr/bin/env bash
# Benchmark: index a generated catalog of N items from local files and print
# items/s and peak RSS. The catalog is generated once and cached.
#
#   scripts/bench-index.sh 100000        # N items in 10 collections
#   scripts/bench-index.sh 1000000 10
#   REALISTIC=1 scripts/bench-index.sh 100000 5   # Sentinel-2-like items (pretty-printed, 5 assets, ~3 KB)
set -euo pipefail
items="${1:-100000}"
collections="${2:-10}"
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/env.sh"
(cd "$root" && cargo build --release --quiet --bin stac-indexed)
bin="$CARGO_TARGET_DIR/release/stac-indexed"
bench="$STAC_INDEXED_CACHE/bench"
kind="$items-$collections"
generate_args=()
if [ -n "${REALISTIC:-}" ]; then
  kind="$kind-realistic"
  generate_args=(--realistic)
fi
catalog="$bench/catalog-$kind"
if [ ! -f "$catalog/.complete" ]; then
  rm -rf "$catalog"
  echo "generating $items items in $collections collections into $catalog" >&2
  "$bin" generate --items "$items" --collections "$collections" --out "$catalog" "${generate_args[@]}"
  touch "$catalog/.complete"
fi
out="$bench/index-$kind"
rm -rf "$out"
# Drop nothing from the page cache: this measures a warm local catalog, as a re-index would see it.
/usr/bin/time -f "%e %M" -o "$bench/time.txt" \
  "$bin" index "$catalog/catalog.json" --out "$out" --config "$catalog/index-config.json" --work-dir "$bench/work" \
  > "$bench/summary.json"
read -r seconds rss_kb < "$bench/time.txt"
indexed=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['report']['counts']['items'])" "$bench/summary.json")
python3 - "$items" "$indexed" "$seconds" "$rss_kb" "$(nproc)" <<'PY'
import sys
items, indexed, seconds, rss_kb, cores = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
print(f"catalog items     {items}")
print(f"indexed items     {indexed}")
print(f"wall seconds      {seconds:.2f}")
print(f"items per second  {indexed / seconds:,.0f}")
print(f"peak RSS          {rss_kb / 1024:.0f} MB")
print(f"cores             {cores}")
PY
