#!/usr/bin/env bash
# Builds the release binary exactly as the container image does, and puts it
# with the libduckdb it links into one directory:
#
#   scripts/build-release.sh [OUT_DIR]     # default: ~/.cache/stac-indexed/dist
#
# OUT_DIR/bin/stac-indexed and OUT_DIR/lib/libduckdb.so. The Dockerfile runs
# this script; CI runs it too and checks the result with scripts/check-dist.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/env.sh"
out="${1:-$STAC_INDEXED_CACHE/dist}"
(cd "$root" && cargo build --release --locked --bin stac-indexed)
mkdir -p "$out/bin" "$out/lib"
cp "$CARGO_TARGET_DIR/release/stac-indexed" "$out/bin/stac-indexed"
cp "$DUCKDB_LIB_DIR/libduckdb.so" "$out/lib/libduckdb.so"
echo "$out"
