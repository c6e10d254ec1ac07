#!/usr/bin/env bash
# Source this file: sets up the build environment for stac-indexed.
#
#   . scripts/env.sh
#
# It fetches the official prebuilt libduckdb (DuckDB 1.5.6, parquet/json/icu
# built in) into a cache outside the work tree, points the `duckdb` crate at it
# and keeps the cargo target directory outside the work tree so that later
# sessions and CI runs on the same machine reuse it.
STAC_INDEXED_CACHE="${STAC_INDEXED_CACHE:-$HOME/.cache/stac-indexed}"
DUCKDB_VERSION="1.5.6"
DUCKDB_NPM_PACKAGE="@duckdb/node-bindings-linux-x64@${DUCKDB_VERSION}-r.1"
export DUCKDB_LIB_DIR="$STAC_INDEXED_CACHE/duckdb/$DUCKDB_VERSION"
if [ ! -f "$DUCKDB_LIB_DIR/libduckdb.so" ]; then
  echo "fetching libduckdb $DUCKDB_VERSION into $DUCKDB_LIB_DIR" >&2
  mkdir -p "$DUCKDB_LIB_DIR"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$DUCKDB_NPM_PACKAGE" >/dev/null \
    && tar xzf ./*.tgz package/libduckdb.so \
    && mv package/libduckdb.so "$DUCKDB_LIB_DIR/libduckdb.so.part" \
    && mv "$DUCKDB_LIB_DIR/libduckdb.so.part" "$DUCKDB_LIB_DIR/libduckdb.so") \
    || { echo "could not fetch libduckdb from npm ($DUCKDB_NPM_PACKAGE)" >&2; rm -rf "$tmp"; return 1 2>/dev/null || exit 1; }
  rm -rf "$tmp"
fi
export LD_LIBRARY_PATH="$DUCKDB_LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$STAC_INDEXED_CACHE/target}"
