#!/usr/bin/env bash
# Creates (once) a Python virtual environment the tests use, outside the work
# tree, and prints its path. Re-installs when its requirements file changes.
#
#   scripts/python-env.sh               # venv: scripts/requirements-test.txt
#   scripts/python-env.sh schemathesis  # venv-schemathesis: scripts/requirements-schemathesis.txt
#
# schemathesis has a venv of its own: its pins must not move those of the
# validator and pystac-client.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${STAC_INDEXED_CACHE:-$HOME/.cache/stac-indexed}"
name="${1:-test}"
venv="$cache/venv"
[ "$name" = test ] || venv="$cache/venv-$name"
requirements="$here/requirements-$name.txt"
[ -f "$requirements" ] || { echo "no $requirements" >&2; exit 1; }
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setting up the test virtualenv in $venv" >&2
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
  echo "$want" > "$stamp"
fi
echo "$venv"
