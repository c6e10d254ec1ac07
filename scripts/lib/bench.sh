# shellcheck shell=bash
# What the serving benchmarks share: source it with `root` set; it brings
# scripts/env.sh and the process and server helpers.
#
#   bench_setup ITEMS COLLECTIONS   # sets bin (BIN, or the release build) and index (built if missing)
#   rss PID / peak PID              # resident and peak memory, MB
#   enc TEXT                        # TEXT percent-encoded for a query string

. "$root/scripts/env.sh"
. "$root/scripts/lib/processes.sh"
. "$root/scripts/lib/server.sh"

bench_setup() {
  local items=$1 collections=$2
  command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
  if [ -n "${BIN:-}" ]; then
    bin="$BIN"
  else
    (cd "$root" && cargo build --release --quiet --bin stac-indexed)
    bin="$CARGO_TARGET_DIR/release/stac-indexed"
  fi
  index="$STAC_INDEXED_CACHE/bench/index-$items-$collections"
  [ -f "$index/manifest.json" ] || "$root/scripts/bench-index.sh" "$items" "$collections" >/dev/null
}

rss() { awk '/VmRSS/ {print int($2/1024)}' "/proc/$1/status"; }
peak() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status"; }
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
