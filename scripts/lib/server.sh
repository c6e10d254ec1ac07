# shellcheck shell=bash
# Serving an index for a test script: source it, do not run it. Needs
# scripts/lib/processes.sh (stop_group) sourced first.
#
#   free_port / port_busy PORT / wait_for_ping PORT PGID SECONDS
#   serve_index INDEX LOG [ARGS...]   # sets url and server_pgid; waits for /_mgmt/ping
#   stop_server                       # stops it (call from the caller's exit trap)

# A free TCP port of 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Whether 127.0.0.1:$1 cannot be listened on (in use, or not a port).
port_busy() {
  python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except (OSError, OverflowError, ValueError):
    sys.exit(0)
sys.exit(1)
EOF
}

# Waits until http://127.0.0.1:$1/_mgmt/ping answers, while the session
# $2 runs, for at most $3 seconds; returns 1 if it never did.
wait_for_ping() {
  local port=$1 pgid=$2 seconds=$3 i
  for ((i = 0; i < seconds * 4; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/_mgmt/ping" && return 0
    group_alive "$pgid" || return 1
    sleep 0.25
  done
  return 1
}

# Starts `stac-indexed serve` (the release build, scripts/stac-indexed) over
# INDEX on a free port in a session of its own, its output in LOG; sets
# `url` and `server_pgid`; returns once it answers /_mgmt/ping, or fails
# with the end of its log after 180 s (the wrapper may have to build first).
serve_index() {
  local index=$1 log=$2 port
  shift 2
  port=$(free_port)
  url="http://127.0.0.1:$port"
  setsid "$root/scripts/stac-indexed" serve --index "$index" --addr "127.0.0.1:$port" \
    --reload-interval 0 "$@" </dev/null >"$log" 2>&1 &
  server_pgid=$!
  if ! wait_for_ping "$port" "$server_pgid" 180; then
    echo "FAIL: the server did not answer $url/_mgmt/ping; its log ends:" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
}

# Stops the server serve_index started, if it runs.
stop_server() {
  if [ -n "${server_pgid:-}" ] && group_alive "$server_pgid"; then
    stop_group "$server_pgid"
  fi
}
