# shellcheck shell=bash
# Process helpers shared by the scripts: source it, do not run it.
#
#   . "$root/scripts/lib/processes.sh"

# Whether any process of session/group $1 is still running (zombies aside;
# pgrep would count the zombies).
# shellcheck disable=SC2009
group_alive() {
  ps -o stat= -s "$1" 2>/dev/null | grep -qv '^Z'
}

# Stops session/group $1: SIGTERM, then SIGKILL after 20 s.
stop_group() {
  local pgid=$1 i
  kill -TERM -- "-$pgid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do
    group_alive "$pgid" || break
    sleep 0.1
  done
  if group_alive "$pgid"; then
    echo "process group $pgid still runs 20 s after SIGTERM; killing it" >&2
    kill -KILL -- "-$pgid" 2>/dev/null || true
    sleep 0.5
  fi
  wait "$pgid" 2>/dev/null || true
}

# Runs the function named $1 when the script exits, and on Ctrl-C or
# SIGTERM too (saying so, with the status 130 or 143).
cleanup_on_exit() {
  trap "$1" EXIT
  trap 'echo "interrupted: stopping what was started" >&2; exit 130' INT
  trap 'echo "terminated: stopping what was started" >&2; exit 143' TERM
}

# For the run-with scripts, which set `pids=()` (background processes, newest
# first) and `tmp` (a temporary directory): stops and removes them on exit,
# Ctrl-C or SIGTERM.
stop_background_on_exit() {
  trap stop_background EXIT
  trap 'stop_background; exit 130' INT
  trap 'stop_background; exit 143' TERM
}

# shellcheck disable=SC2317,SC2154 # called by the traps above; pids and tmp are the caller's
stop_background() {
  trap - EXIT INT TERM
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
