# shellcheck shell=bash
# Debian packages the tests need, installed when missing.
#
#   ensure_debian_package COMMAND PACKAGE   # apt-get install PACKAGE unless COMMAND exists
#
# Uses sudo when not root; runs `apt-get update` once if the first install
# fails (a fresh machine's package lists may be stale). Fails with the end of
# apt's log.
ensure_debian_package() {
  local command=$1 package=$2 sudo="" log
  command -v "$command" >/dev/null 2>&1 && return 0
  [ -x "$command" ] && return 0
  echo "== installing Debian's $package" >&2
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log=$(mktemp)
  if ! $sudo apt-get install -y "$package" >"$log" 2>&1; then
    $sudo apt-get update >>"$log" 2>&1
    $sudo apt-get install -y "$package" >>"$log" 2>&1 \
      || { echo "FAIL: could not install $package:" >&2; tail -n 20 "$log" >&2; rm -f "$log"; return 1; }
  fi
  rm -f "$log"
}
