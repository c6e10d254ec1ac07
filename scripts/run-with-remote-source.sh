#!/usr/bin/env bash
# Index a remote static STAC catalog (http(s):// or s3://) into a local folder
# and serve it on http://localhost:8123 (docs at http://localhost:8123/api.html).
#
#   scripts/run-with-remote-source.sh <catalog URL> [index config file or URL]
#   PORT=9000 scripts/run-with-remote-source.sh https://example.com/stac/catalog.json
#
# The index lives in .remote-source-index/<the URL with every character other
# than A-Z, a-z and 0-9 replaced by _>. Re-running with the same URL updates
# that index (the indexer reports added/removed/updated/unchanged items); an
# update without a config argument keeps the config the index was made with.
# Items are fetched from the source while serving. Builds everything it needs
# on first use. Stop with Ctrl-C.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ] || [ -z "$1" ]; then
  sed -n '2,13s/^# \{0,1\}//p' "$0" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
port="${PORT:-8123}"
url="$1"
config="${2:-}"

name=$(printf '%s' "$url" | sed 's/[^A-Za-z0-9]/_/g')
if [ "${#name}" -gt 120 ]; then
  # Keep the folder name short enough for any file system, and still unique.
  name="${name:0:100}_$(printf '%s' "$url" | sha256sum | cut -c1-16)"
fi
index="$root/.remote-source-index/$name"

if [ -f "$index/manifest.json" ]; then
  echo "updating the existing index in $index" >&2
  if [ -n "$config" ]; then
    "$root/scripts/stac-indexed" index "$url" --config "$config" --out "$index" >/dev/null
  else
    # Re-index with the root (this URL) and the config stored in the index.
    "$root/scripts/stac-indexed" index --out "$index" >/dev/null
  fi
else
  echo "creating a new index in $index" >&2
  "$root/scripts/stac-indexed" index "$url" ${config:+--config "$config"} --out "$index" >/dev/null
fi

echo "index of $url: $index" >&2
echo "serving it on http://localhost:$port (docs: http://localhost:$port/api.html)" >&2
exec "$root/scripts/stac-indexed" serve --index "$index" --addr "127.0.0.1:$port"
