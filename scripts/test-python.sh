#!/usr/bin/env bash
# Runs the pystac-client suite (tests/python) against a real server (part of
# scripts/test.sh, CI):
#
#   scripts/test-python.sh [PYTEST ARGS...]
#
# Makes sure the test virtualenv exists (scripts/python-env.sh) and Debian's
# nginx is installed (the caching proxy of test_cache_proxy.py), then runs
# pytest from the repository root; its exit code is pytest's. The session
# fixture in tests/python builds the release binary (scripts/stac-indexed),
# indexes sample-data/ into a temporary directory, serves it on a free port
# of 127.0.0.1 and stops the server at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/debian.sh
ensure_debian_package /usr/sbin/nginx nginx-light
venv=$(scripts/python-env.sh)
exec "$venv/bin/python" -m pytest -q tests/python "$@"
