#!/usr/bin/env bash
# The test command (README and CI): sets up what the tests need, then runs
# formatting and lint checks and every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
venv=$(scripts/python-env.sh)
export MOTO_SERVER="$venv/bin/moto_server"

echo "== cargo fmt" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test" >&2
cargo test --workspace --quiet
echo "== run-with scripts" >&2
scripts/test-run-scripts.sh
echo "== the AWS SAM template (cfn-lint)" >&2
scripts/test-template.sh
echo "== pystac-client" >&2
scripts/test-python.sh
echo "== release build (as the container builds it) and its shared libraries" >&2
scripts/build-release.sh >/dev/null
scripts/check-dist.sh
echo "== the container image (podman), run as uid 10001" >&2
scripts/test-container.sh
echo "== api.html in headless Chromium" >&2
scripts/test-browser.sh
echo "== stac-api-validator" >&2
scripts/test-validator.sh
echo "== schemathesis (the OpenAPI document against the server)" >&2
scripts/test-schemathesis.sh
echo "== cargo fuzz (60 s per target)" >&2
scripts/test-fuzz.sh
