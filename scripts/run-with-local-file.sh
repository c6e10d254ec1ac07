#!/usr/bin/env bash
# Index sample-data from the local file system and serve it on
# http://localhost:8123 (interactive docs at http://localhost:8123/api.html).
# Builds everything it needs on first use. Stop with Ctrl-C.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
index="$root/.index/sample"
"$root/scripts/stac-indexed" index "$root/sample-data/catalog.json" \
  --config "$root/sample-data/index-config.json" --out "$index" >/dev/null
echo "serving sample-data on http://localhost:${PORT:-8123} (docs: http://localhost:${PORT:-8123}/api.html)" >&2
exec "$root/scripts/stac-indexed" serve --index "$index" --addr "127.0.0.1:${PORT:-8123}"
