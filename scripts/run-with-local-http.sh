#!/usr/bin/env bash
# Index sample-data served over HTTP and serve it on http://localhost:8123
# (interactive docs at http://localhost:8123/api.html).
#
#   scripts/run-with-local-http.sh
#   PORT=9000 HTTP_PORT=8001 scripts/run-with-local-http.sh
#
# Serves sample-data/ with `python3 -m http.server` on
# 127.0.0.1:${HTTP_PORT:-8000}, indexes http://127.0.0.1:${HTTP_PORT:-8000}/catalog.json
# (config: .../index-config.json) into .index/http-sample and serves that index
# on 127.0.0.1:${PORT:-8123}. The file server runs as long as the API server
# does: the items are fetched from it. Builds everything it needs on first use.
# Stop with Ctrl-C: that stops both.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
port="${PORT:-8123}"
http_port="${HTTP_PORT:-8000}"
base="http://127.0.0.1:$http_port"
index="$root/.index/http-sample"
# python's http.server accepts only a handful of pending connections (a listen
# backlog of 5); more fetches at once get connections dropped and retried a
# second or more later. Keep the indexer and the API server below that
# (override by setting these variables).
export STAC_INDEXED_CONCURRENCY="${STAC_INDEXED_CONCURRENCY:-4}"
export STAC_INDEXED_FETCH_CONCURRENCY="${STAC_INDEXED_FETCH_CONCURRENCY:-4}"

# Every background process, newest first: stopped on exit, Ctrl-C or SIGTERM.
. "$root/scripts/lib/processes.sh"
pids=()
tmp=$(mktemp -d)
stop_background_on_exit

if curl -s -o /dev/null "$base/"; then
  echo "something already listens on $base; set HTTP_PORT to a free port" >&2
  exit 1
fi
echo "serving sample-data on $base" >&2
python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$root/sample-data" \
  >"$tmp/http.log" 2>&1 &
http_pid=$!
pids=("$http_pid" "${pids[@]}")
for _ in $(seq 100); do
  curl -sf -o /dev/null "$base/catalog.json" && break
  if ! kill -0 "$http_pid" 2>/dev/null; then
    echo "the file server exited:" >&2
    tail -n 20 "$tmp/http.log" >&2
    exit 1
  fi
  sleep 0.1
done
curl -sf -o /dev/null "$base/catalog.json" || { echo "the file server did not answer on $base within 10 s" >&2; exit 1; }

"$root/scripts/stac-indexed" index "$base/catalog.json" \
  --config "$base/index-config.json" --out "$index" >/dev/null

echo "serving $index on http://localhost:$port (docs: http://localhost:$port/api.html)" >&2
# Not exec: this shell stays to stop the file server when the API server stops.
"$root/scripts/stac-indexed" serve --index "$index" --addr "127.0.0.1:$port" &
server_pid=$!
pids=("$server_pid" "${pids[@]}")
status=0
wait "$server_pid" || status=$?
exit "$status"
