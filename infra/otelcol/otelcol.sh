#!/usr/bin/env bash
# A real OpenTelemetry Collector for tests and CI, built from this folder's Go module (filelog
# receiver, batch processor, otlphttp exporter) because there is no download site to rely on: its
# modules come from the Go module proxy like any Go dependency.
#
#   otelcol.sh build    build the binary into the cache (reused when present) and print its path
#                       on stdout, e.g. /root/.cache/eddy/otelcol-0123456789ab/otelcol
#
# The cache entry is named by a hash of go.mod, go.sum, main.go and the Go version, so a change to
# any of them builds anew and an unchanged one is never rebuilt. Go's own caches (GOMODCACHE,
# GOCACHE, under ~/go and ~/.cache by default) are left alone: a second build of a new hash on the
# same machine reuses the compiled packages.
#
# Settings (all optional):
#   EDDY_CACHE_DIR    cache root, default ~/.cache/eddy
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { echo "otelcol.sh: $*" >&2; }
die() { say "$*"; exit 1; }

build() {
  command -v go >/dev/null || die "go not found (the Collector is built from its Go modules; Go 1.26 or newer)"
  local hash cache binary
  hash=$( (cat "$here/go.mod" "$here/go.sum" "$here/main.go"; go version) | sha256sum | cut -c1-12)
  cache=${EDDY_CACHE_DIR:-$HOME/.cache/eddy}/otelcol-$hash
  binary=$cache/otelcol
  if [ -x "$binary" ]; then
    say "Collector already built: $binary"
    echo "$binary"
    return 0
  fi
  mkdir -p "$cache"
  say "building the Collector ($(go version | cut -d' ' -f3)) into $cache; a cold build fetches its modules and takes minutes"
  local started=$SECONDS staging
  # Built beside its final name and renamed: an interrupted build never leaves a binary that looks done.
  staging=$(mktemp "$cache/otelcol.XXXXXX")
  # -buildvcs=false: the binary must not depend on the checkout's git state (or on git at all).
  if ! (cd "$here" && go build -buildvcs=false -trimpath -ldflags='-s -w' -o "$staging" .) >&2; then
    rm -f "$staging"
    die "go build failed (see above)"
  fi
  mv "$staging" "$binary"
  "$binary" --version >&2 || die "$binary does not run"
  say "built in $((SECONDS - started)) s"
  echo "$binary"
}

case "${1:-}" in
  build) build ;;
  *) die "usage: otelcol.sh build" ;;
esac
