#!/usr/bin/env bash
# Builds the container image and runs what it holds, as a container runtime
# would (part of scripts/test.sh, CI).
#
#   scripts/test-container.sh [DIST_DIR]   # default: the dist of scripts/build-release.sh
#
# There is no Docker engine here, so: Debian's podman and debootstrap
# (installed when missing). The base image, debian:bookworm-slim, cannot be
# pulled either: a minimal bookworm made by debootstrap (cached) is
# imported under that name. The Dockerfile's runtime stage is built from the
# release build (`--build-arg DIST=prebuilt`; the Rust build image cannot be
# pulled); its own steps (apt-get install ca-certificates, the user 10001)
# run for real. `podman run` does not work in this sandbox, so the image's
# filesystem is mounted and its entrypoint run in a chroot as the image's
# user with the image's environment: it indexes the sample catalog, serves
# it, answers the API, and the image's HEALTHCHECK command passes.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
. scripts/env.sh
. scripts/lib/processes.sh
. scripts/lib/server.sh
dist="${1:-$STAC_INDEXED_CACHE/dist}"
image="localhost/stac-indexed:test"
base="docker.io/library/debian:bookworm-slim"
podman=(podman --cgroup-manager cgroupfs)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

install_tools() {
  command -v podman >/dev/null && command -v debootstrap >/dev/null && return
  echo "installing podman and debootstrap" >&2
  apt-get install -y -q podman debootstrap >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q podman debootstrap >/dev/null; }
}

# debian:bookworm-slim in podman's storage, from a debootstrap made once.
import_base_image() {
  "${podman[@]}" image exists "$base" && return
  local cache="$STAC_INDEXED_CACHE/container" tarball
  tarball="$cache/bookworm-minbase.tar"
  if [ ! -f "$tarball" ]; then
    echo "debootstrap: a minimal Debian bookworm into $cache" >&2
    rm -rf "$cache/rootfs" && mkdir -p "$cache"
    debootstrap --variant=minbase bookworm "$cache/rootfs" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 \
      || { tail -n 20 "$cache/debootstrap.log" >&2; fail "debootstrap failed"; }
    tar -C "$cache/rootfs" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
    rm -rf "$cache/rootfs"
  fi
  "${podman[@]}" import -q "$tarball" "$base" >/dev/null
}

build_image() {
  [ -x "$dist/bin/stac-indexed" ] || dist=$(scripts/build-release.sh)
  mkdir -p "$tmp/context"
  cp Dockerfile "$tmp/context/"
  cp -r "$dist" "$tmp/context/dist"
  echo "podman build (runtime stage, DIST=prebuilt)" >&2
  "${podman[@]}" build -q --format docker --isolation chroot --pull=never \
    --build-arg DIST=prebuilt -t "$image" "$tmp/context" >"$tmp/build.log" 2>&1 \
    || { tail -n 30 "$tmp/build.log" >&2; fail "podman build failed"; }
}

# The image's config member $1 (a Go template over `podman image inspect`).
image_config() {
  "${podman[@]}" image inspect --format "$1" "$image"
}

# Runs "$@" in the image's filesystem as its user, with its environment
# (and PORT, STAC_INDEXED_INDEX as a platform would set them).
in_image() {
  local user env=()
  user=$(image_config '{{.Config.User}}')
  mapfile -t env < <(image_config '{{range .Config.Env}}{{println .}}{{end}}' | sed '/^$/d')
  env -i "${env[@]}" PORT="$port" STAC_INDEXED_INDEX=/tmp/index \
    chroot --userspec="$user:$user" "$rootfs" "$@"
}

cleanup() {
  stop_server
  if [ -n "${rootfs:-}" ]; then
    umount "$rootfs/tmp" "$rootfs/proc" 2>/dev/null || true
    "${podman[@]}" image unmount "$image" >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}

install_tools
tmp=$(mktemp -d)
trap cleanup EXIT
import_base_image
build_image
rootfs=$("${podman[@]}" image mount "$image")
# What a runtime gives a container: a writable /tmp (the image's cache
# folder is there; the catalog and the index go there too) and /proc.
mkdir -p "$tmp/work"
cp -r sample-data "$tmp/work/catalog"
chmod -R a+rwX "$tmp/work" && chmod 1777 "$tmp/work"
mount --bind "$tmp/work" "$rootfs/tmp"
mount -t proc proc "$rootfs/proc"
port=$(free_port)
url="http://127.0.0.1:$port"

[ "$(image_config '{{.Config.User}}')" = "10001" ] || fail "the image does not run as uid 10001"
in_image stac-indexed index /tmp/catalog/catalog.json --config /tmp/catalog/index-config.json \
  --out /tmp/index >"$tmp/index.log" 2>&1 || { cat "$tmp/index.log" >&2; fail "indexing in the image failed"; }

mapfile -t entrypoint < <(image_config '{{range .Config.Entrypoint}}{{println .}}{{end}}' | sed '/^$/d')
mapfile -t command < <(image_config '{{range .Config.Cmd}}{{println .}}{{end}}' | sed '/^$/d')
setsid bash -c "$(declare -f in_image image_config); $(declare -p podman image rootfs port); in_image \"\$@\"" \
  _ "${entrypoint[@]}" "${command[@]}" </dev/null >"$tmp/serve.log" 2>&1 &
server_pgid=$!
deadline=$((SECONDS + 60))
until curl -fsS -o /dev/null "$url/_mgmt/ping" 2>/dev/null; do
  group_alive "$server_pgid" && [ "$SECONDS" -lt "$deadline" ] \
    || { tail -n 30 "$tmp/serve.log" >&2; fail "the image's server did not answer $url/_mgmt/ping"; }
  sleep 0.2
done

server_uid=$(ps -o uid= -g "$server_pgid" | sort -u | tr -d ' ' | grep -v '^0$' || true)
[ "$server_uid" = "10001" ] || fail "the server runs as uid '${server_uid}', not 10001"
expected=$(python3 -c '
import json, pathlib
print(sum(1 for p in pathlib.Path("sample-data").rglob("*.json")
          if json.loads(p.read_text()).get("type") == "Feature"))')
matched=$(curl -fsS "$url/search?limit=1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["numberMatched"])')
[ "$matched" = "$expected" ] || fail "/search matched $matched items, the sample catalog has $expected"
item=$(curl -fsS "$url/search?limit=1" | python3 -c '
import json, sys
item = json.load(sys.stdin)["features"][0]
print("/collections/{collection}/items/{id}".format(**item))')
curl -fsS -o /dev/null "$url$item" || fail "$item is not served"
curl -fsS "$url/browser/" | grep -q 'id="stac-browser"' || fail "the image does not serve STAC Browser at /browser/"
curl -fsS "$url/browser/config.js" | grep -q 'STAC_BROWSER_CONFIG' || fail "the image does not write /browser/config.js"
grep -q '"level":"INFO"' "$tmp/serve.log" || fail "the server does not log JSON (STAC_INDEXED_LOG_FORMAT=json)"

mapfile -t health < <("${podman[@]}" image inspect "$image" \
  | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)[0]["Healthcheck"]["Test"]))')
[ "${health[0]:-}" = "CMD" ] || fail "the image has no HEALTHCHECK CMD"
in_image "${health[@]:1}" || fail "the HEALTHCHECK command (${health[*]:1}) fails against a running server"
stop_server
if in_image "${health[@]:1}" 2>/dev/null; then
  fail "the HEALTHCHECK command passes with no server"
fi
echo "container: image built, ran as uid 10001, indexed and served $matched items, HEALTHCHECK passes" >&2
