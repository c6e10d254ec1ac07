#!/usr/bin/env bash
# Creates (once) the Python virtual environment the tests use, outside the work
# tree, and prints its path. Re-installs when scripts/requirements-test.txt changes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${STAC_INDEXED_CACHE:-$HOME/.cache/stac-indexed}"
venv="$cache/venv"
requirements="$here/requirements-test.txt"
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
