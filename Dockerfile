# stac-indexed: one image for the API (plain container, Cloud Run, AWS Lambda)
# and for the index job.
#
#   docker build -t stac-indexed .
#   docker run -p 8080:8080 -e STAC_INDEXED_INDEX=s3://bucket/index stac-indexed
#   docker run stac-indexed index s3://bucket/catalog.json --out s3://bucket/index
#
# The build stage runs scripts/build-release.sh, the same script CI runs: it
# links the official prebuilt libduckdb 1.5.6 (fetched from npm), which the
# runtime stage ships beside the binary. For an image without the prebuilt
# library, build with `cargo build --release --features bundled` instead
# (a source build of DuckDB, about 40 minutes on 2 cores).
#
# The runtime stage takes the release from the stage named by DIST: `build`
# (the default, everything from source) or `prebuilt`, which copies a
# directory made by scripts/build-release.sh from the build context:
#
#   scripts/build-release.sh ctx/dist && cp Dockerfile ctx/
#   docker build --build-arg DIST=prebuilt ctx
#
# (scripts/test-container.sh does that with podman, in CI).

ARG DIST=build

FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN STAC_INDEXED_CACHE=/cache scripts/build-release.sh /dist

FROM scratch AS prebuilt
COPY dist/ /dist/

FROM ${DIST} AS dist

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --home-dir /nonexistent stac
COPY --from=dist /dist/lib/libduckdb.so /usr/local/lib/libduckdb.so
COPY --from=dist /dist/bin/stac-indexed /usr/local/bin/stac-indexed
COPY --from=dist /dist/share/stac-indexed /usr/local/share/stac-indexed
RUN ldconfig
USER 10001
# Cloud Run and most platforms set PORT; Lambda ignores it (the Runtime API drives the function).
ENV PORT=8080 \
    STAC_INDEXED_CACHE_DIR=/tmp/stac-indexed-cache \
    STAC_INDEXED_LOG_FORMAT=json \
    STAC_INDEXED_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["stac-indexed", "ping"]
ENTRYPOINT ["stac-indexed"]
# Serves the index named by STAC_INDEXED_INDEX.
CMD ["serve"]
