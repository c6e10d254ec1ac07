#!/usr/bin/env bash
# Index sample-data from a local S3-compatible server and serve it on
# http://localhost:8123 (interactive docs at http://localhost:8123/api.html).
#
#   scripts/run-with-local-s3.sh
#   PORT=9000 S3_PORT=5556 scripts/run-with-local-s3.sh
#
# Starts moto_server (from the test virtualenv, scripts/python-env.sh) on
# 127.0.0.1:${S3_PORT:-5555}, creates the buckets `catalog` and `index`,
# uploads sample-data/ under s3://catalog/sample/ with curl (not with
# stac-indexed), indexes s3://catalog/sample/catalog.json into
# s3://index/sample and serves that index on 127.0.0.1:${PORT:-8123}.
# moto_server runs as long as the API server does: the items are read from it.
# Builds everything it needs on first use. Stop with Ctrl-C: that stops both.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
port="${PORT:-8123}"
s3_port="${S3_PORT:-5555}"
endpoint="http://127.0.0.1:$s3_port"

# The credentials and endpoint stac-indexed uses (moto accepts any credentials).
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export STAC_INDEXED_S3_ENDPOINT="$endpoint" STAC_INDEXED_S3_ALLOW_HTTP=true
unset AWS_SESSION_TOKEN AWS_PROFILE

# Every background process, newest first: stopped on exit, Ctrl-C or SIGTERM.
. "$root/scripts/lib/processes.sh"
pids=()
tmp=$(mktemp -d)
stop_background_on_exit
# moto keeps nothing between runs, so every run publishes a new index version:
# keep the server's copy of its files in the temporary directory, not in
# $TMPDIR/stac-indexed-cache where each version would stay behind.
export STAC_INDEXED_CACHE_DIR="${STAC_INDEXED_CACHE_DIR:-$tmp/server-cache}"

if curl -s -o /dev/null "$endpoint/"; then
  echo "something already listens on $endpoint; set S3_PORT to a free port" >&2
  exit 1
fi
venv=$("$root/scripts/python-env.sh")
echo "starting moto_server on $endpoint" >&2
"$venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$tmp/moto.log" 2>&1 &
moto_pid=$!
pids=("$moto_pid" "${pids[@]}")
for _ in $(seq 300); do
  curl -sf -o /dev/null "$endpoint/" && break
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "moto_server exited:" >&2
    tail -n 20 "$tmp/moto.log" >&2
    exit 1
  fi
  sleep 0.1
done
curl -sf -o /dev/null "$endpoint/" || { echo "moto_server did not answer on $endpoint within 30 s" >&2; exit 1; }

# Signed requests made by curl, independent of the code under test.
s3_curl() {
  curl -sSf -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user testing:testing "$@"
}
for bucket in catalog index; do
  s3_curl -X PUT "$endpoint/$bucket"
done
echo "uploading sample-data to s3://catalog/sample/" >&2
while IFS= read -r -d '' file; do
  key="sample/${file#"$root/sample-data/"}"
  s3_curl -H "Content-Type: application/octet-stream" -T "$file" "$endpoint/catalog/$key"
done < <(find "$root/sample-data" -type f -print0)

"$root/scripts/stac-indexed" index s3://catalog/sample/catalog.json \
  --config s3://catalog/sample/index-config.json --out s3://index/sample >/dev/null

echo "serving s3://index/sample on http://localhost:$port (docs: http://localhost:$port/api.html)" >&2
# Not exec: this shell stays to stop moto_server when the API server stops.
"$root/scripts/stac-indexed" serve --index s3://index/sample --addr "127.0.0.1:$port" &
server_pid=$!
pids=("$server_pid" "${pids[@]}")
status=0
wait "$server_pid" || status=$?
exit "$status"
