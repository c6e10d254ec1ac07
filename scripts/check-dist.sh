#!/usr/bin/env bash
# Checks that the binary made by scripts/build-release.sh needs nothing beyond
# what the container's runtime stage has: libduckdb.so (shipped beside it)
# and the C/C++ runtime of Debian 12 (libc6, libgcc-s1, libstdc++6, all in
# debian:bookworm-slim). Then runs it once with only those libraries.
#
#   scripts/check-dist.sh [DIST_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dist="${1:-${STAC_INDEXED_CACHE:-$HOME/.cache/stac-indexed}/dist}"
binary="$dist/bin/stac-indexed"
allowed='^(linux-vdso\.so\.1|libduckdb\.so|libc\.so\.6|libm\.so\.6|libgcc_s\.so\.1|libstdc\+\+\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|/lib64/ld-linux-x86-64\.so\.2)$'
status=0
while read -r name _ path _; do
  [ -n "$name" ] || continue
  if ! [[ "$name" =~ $allowed ]]; then
    echo "check-dist: unexpected shared library $name ($path)" >&2
    status=1
  fi
  if [ "$path" = "not" ]; then
    echo "check-dist: $name is not found" >&2
    status=1
  fi
done < <(LD_LIBRARY_PATH="$dist/lib" ldd "$binary" | sed 's/^[[:space:]]*//')
for lib in libduckdb.so; do
  [ -f "$dist/lib/$lib" ] || { echo "check-dist: $lib is missing from $dist/lib" >&2; status=1; }
done
# The binary runs with libduckdb from the dist directory alone (no rpath to the build cache).
env -i PATH=/usr/bin:/bin LD_LIBRARY_PATH="$dist/lib" "$binary" --version >/dev/null \
  || { echo "check-dist: the binary does not run from $dist" >&2; status=1; }
# STAC Browser, where serve looks for it.
[ -f "$dist/share/stac-indexed/browser/index.html" ] \
  || { echo "check-dist: STAC Browser is missing from $dist/share/stac-indexed/browser" >&2; status=1; }
[ "$status" = 0 ] && echo "check-dist: $binary needs only libduckdb.so and the Debian 12 C/C++ runtime; STAC Browser beside it"
exit "$status"
