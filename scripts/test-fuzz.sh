#!/usr/bin/env bash
# Runs each cargo-fuzz target (fuzz/) for a bounded time (the last step of
# scripts/test.sh, CI): CQL2 text and CQL2 JSON parsing and translation (to
# SQL and to column conditions), and the search parameter parser (GET query
# strings and POST bodies).
#
#   scripts/test-fuzz.sh                     # FUZZ_SECONDS=60 per target
#   FUZZ_SECONDS=600 scripts/test-fuzz.sh cql2_text
#
# Installs cargo-fuzz (pinned) when missing; builds on the stable toolchain
# (RUSTC_BOOTSTRAP lets it take the sanitizer flags). The corpus grows in
# the cache, seeded from fuzz/seeds/; a crash leaves its input in
# ~/.cache/stac-indexed/fuzz/artifacts/TARGET/ and fails the run: make it a
# regression test beside the code it broke.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/env.sh
seconds="${FUZZ_SECONDS:-60}"
work="$STAC_INDEXED_CACHE/fuzz"
cargo_fuzz_version="0.13.2"
if [ "$(cargo fuzz --version 2>/dev/null | awk '{print $2}')" != "$cargo_fuzz_version" ]; then
  echo "installing cargo-fuzz $cargo_fuzz_version" >&2
  cargo install --locked --quiet cargo-fuzz --version "$cargo_fuzz_version"
fi
export RUSTC_BOOTSTRAP=1
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(cql2_text cql2_json search_params)
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target"
  artifacts="$work/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  cp -n fuzz/seeds/"$target"/* "$corpus"/
  log="$work/$target.log"
  echo "== fuzz $target for ${seconds}s" >&2
  if ! cargo fuzz run --fuzz-dir fuzz --target-dir "$work/target" "$target" "$corpus" -- \
    -max_total_time="$seconds" -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "FAIL: fuzz target $target found a crash (or did not build); its input is in $artifacts" >&2
    exit 1
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added)" "$log" >&2 || true
done
