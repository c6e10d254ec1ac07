#!/usr/bin/env bash
# Builds STAC Browser (the official one, npm @radiantearth/stac-browser,
# pinned below) for the API's /browser/ page, once per version, into a cache
# outside the work tree; prints the directory of the built files.
#
#   scripts/build-browser.sh            # ~/.cache/stac-indexed/browser/<version>/dist
#
# The package holds STAC Browser's sources: they are installed from the npm
# registry (with ol-stac pinned to 1.4.0, with which 4.0.1 builds), built
# with its vue-cli `build` (path prefix /browser/, hash routing, no source
# maps), and its index.html loads ./config.js at run time, which the server
# writes (the API's own landing page as the catalog). Nothing is fetched from
# a CDN at run time.
set -euo pipefail
version="4.0.1"
cache="${STAC_INDEXED_CACHE:-$HOME/.cache/stac-indexed}/browser/$version"
dist="$cache/dist"
if [ -f "$dist/index.html" ] && [ -f "$cache/.complete" ]; then
  echo "$dist"
  exit 0
fi
command -v npm >/dev/null || { echo "npm is needed to build STAC Browser" >&2; exit 1; }
rm -rf "$cache"
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "building STAC Browser $version into $dist" >&2
(
  cd "$work"
  npm pack --silent "@radiantearth/stac-browser@$version" >/dev/null
  tar xzf ./*.tgz
  cd package
  npm install --no-audit --no-fund --loglevel=error >/dev/null
  npm install --no-audit --no-fund --loglevel=error ol-stac@1.4.0 >/dev/null
  # Read the configuration the server writes, at run time.
  sed -i 's|<!-- <script defer="defer" src="/config.js"></script> -->|<script defer="defer" src="./config.js"></script>|' public/index.html
  grep -q 'src="./config.js"' public/index.html || { echo "STAC Browser's index.html changed: no config.js line" >&2; exit 1; }
  SB_pathPrefix=/browser/ SB_historyMode=hash SB_allowExternalAccess=false \
    npx vue-cli-service build --noSourceMaps >"$work/build.log" 2>&1 \
    || { tail -n 30 "$work/build.log" >&2; exit 1; }
  mv dist "$dist"
)
touch "$cache/.complete"
echo "$dist"
