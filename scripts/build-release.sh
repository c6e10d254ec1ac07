#!/usr/bin/env bash
# Builds the release binary exactly as the container image does, and puts it
# with the libduckdb it links into one directory:
#
#   scripts/build-release.sh [OUT_DIR]     # default: ~/.cache/stac-indexed/dist
#
# OUT_DIR/bin/stac-indexed, OUT_DIR/lib/libduckdb.so and STAC Browser in
# OUT_DIR/share/stac-indexed/browser (scripts/build-browser.sh), which
# `serve` finds beside the binary. The Dockerfile runs
# this script; CI runs it too and checks the result with scripts/check-dist.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
. "$root/scripts/env.sh"
out="${1:-$STAC_INDEXED_CACHE/dist}"
(cd "$root" && cargo build --release --locked --bin stac-indexed)
browser=$("$root/scripts/build-browser.sh")
mkdir -p "$out/bin" "$out/lib" "$out/share/stac-indexed"
cp "$CARGO_TARGET_DIR/release/stac-indexed" "$out/bin/stac-indexed"
cp "$DUCKDB_LIB_DIR/libduckdb.so" "$out/lib/libduckdb.so"
rm -rf "$out/share/stac-indexed/browser"
cp -r "$browser" "$out/share/stac-indexed/browser"
echo "$out"
