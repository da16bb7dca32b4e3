#!/usr/bin/env bash
# A real schema registry speaking the Confluent Schema Registry API, for tests and CI: Apicurio
# Registry with in-memory storage, built from Maven Central artifacts because there is no Docker
# and Confluent's own registry is not on Maven Central.
#
#   registry.sh fetch          build the server into the cache (idempotent)
#   registry.sh start <dir>    start a registry whose log and PID live in <dir>; prints
#                              SCHEMA_REGISTRY_URL=http://127.0.0.1:<port>/apis/ccompat/v7 on stdout
#                              once it answers the Confluent API
#   registry.sh stop <dir>     stop that registry (TERM, then KILL) and wait for it to exit
#
# Storage is in memory: a stopped registry forgets every schema, and a restart starts empty.
#
# Settings (all optional):
#   EDDY_CACHE_DIR                          cache root, default ~/.cache/eddy
#   EDDY_SCHEMA_REGISTRY_HEAP               default "-Xms64m -Xmx256m": the machine is small and shared
#   EDDY_SCHEMA_REGISTRY_START_TIMEOUT      seconds to wait for the API to answer, default 60
#   EDDY_SCHEMA_REGISTRY_STOP_TIMEOUT       seconds between TERM and KILL, default 20
#   EDDY_MAVEN_SETTINGS                     Maven settings for the fetch, default maven-settings.xml
#                                           here (every repository mirrored to Maven Central)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../process.sh"
version=$(sed -n 's#.*<apicurio.version>\(.*\)</apicurio.version>.*#\1#p' "$here/pom.xml")
cache=${EDDY_CACHE_DIR:-$HOME/.cache/eddy}/apicurio-registry-$version
app=$cache/app
heap=${EDDY_SCHEMA_REGISTRY_HEAP:--Xms64m -Xmx256m}
start_timeout=${EDDY_SCHEMA_REGISTRY_START_TIMEOUT:-60}
stop_timeout=${EDDY_SCHEMA_REGISTRY_STOP_TIMEOUT:-20}
settings=${EDDY_MAVEN_SETTINGS:-$here/maven-settings.xml}
api_path=/apis/ccompat/v7

say() { echo "registry.sh: $*" >&2; }
die() { say "$*"; exit 1; }

fetch() {
  # A marker written last means "complete"; it names the hash of the build's inputs, so changing
  # the pom or the build config builds again instead of trusting the cache.
  local marker
  marker=".complete-$(cat "$here/pom.xml" "$here/application.properties" | sha256sum | cut -c1-12)"
  if [ -f "$app/$marker" ]; then
    say "Apicurio Registry $version already built in $app"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (Maven fetches and builds the registry from Maven Central)"
  command -v java >/dev/null || die "java not found (the registry is a JVM application; Java 17 or newer)"
  mkdir -p "$cache"
  local staging
  staging=$(mktemp -d "$cache/build.XXXXXX")
  mkdir -p "$staging/src/main/resources"
  cp "$here/pom.xml" "$staging/pom.xml"
  cp "$here/application.properties" "$staging/src/main/resources/application.properties"
  say "building Apicurio Registry $version from Maven Central artifacts into $app"
  local started=$SECONDS
  # MAVEN_OPTS: the Quarkus build runs inside Maven's JVM; cap it like the server.
  if ! MAVEN_OPTS="${MAVEN_OPTS:--Xmx512m}" mvn -B -q -s "$settings" -f "$staging/pom.xml" package >&2; then
    rm -rf "$staging"
    die "mvn could not build Apicurio Registry $version (see above)"
  fi
  [ -f "$staging/target/schema-registry-1-runner.jar" ] || { rm -rf "$staging"; die "the build made no runner jar"; }
  touch "$staging/target/$marker"
  # A build from other inputs is replaced. Two concurrent fetches: the first rename wins.
  if [ -d "$app" ] && [ ! -f "$app/$marker" ]; then rm -rf "$app"; fi
  mv -T "$staging/target" "$app" 2>/dev/null || true
  rm -rf "$staging"
  say "built in $((SECONDS - started)) s ($(ls "$app/lib" | wc -l) jars, $(du -sh "$app" | cut -f1))"
}

free_port() {
  node -e '
    const s = require("node:net").createServer()
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })'
}

# This dir's registry, if it is running (the command line carries -Deddy.registry.dir).
running_pid() { eddy_running_pid "$1/registry.pid" "-Deddy.registry.dir=$1 "; }

# Exits 0 once the Confluent API answers the subjects list with a JSON array.
probe() {
  node -e '
    fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      .then(async (response) => {
        const body = await response.text()
        if (response.status !== 200 || !Array.isArray(JSON.parse(body))) throw new Error(`${response.status} ${body.slice(0, 200)}`)
      })
      .catch((error) => { console.error(error.cause?.code ?? error.message); process.exit(1) })' "$1"
}

log_tail() {
  eddy_log_tail "$1/registry.log" ' (ERROR|FATAL) '
}

start() {
  local dir=${1:?usage: registry.sh start <dir>}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if pid=$(running_pid "$dir"); then die "a registry is already running from $dir (PID $pid)"; fi
  fetch
  command -v node >/dev/null || die "node not found (used to pick a port and probe the registry)"

  local port
  # A restart keeps its port, so clients configured with the old address reconnect.
  if [ -f "$dir/port" ]; then port=$(cat "$dir/port"); else port=$(free_port); echo "$port" >"$dir/port"; fi
  mkdir -p "$dir/tmp"

  # SerialGC: the smallest footprint and no GC threads competing for the 2 cores.
  # -Deddy.registry.dir marks the process as this dir's (see running_pid).
  # shellcheck disable=SC2086 # heap is a list of JVM flags
  nohup java $heap -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Djava.io.tmpdir="$dir/tmp" -Deddy.registry.dir="$dir" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$port" \
    -jar "$app/schema-registry-1-runner.jar" </dev/null >"$dir/registry.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/registry.pid"

  local url="http://127.0.0.1:$port$api_path" deadline=$((SECONDS + start_timeout)) reason="not started"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log_tail "$dir"
      rm -f "$dir/registry.pid"
      die "the registry exited during start-up"
    fi
    # The log line proves the answer comes from this JVM, not another process on the same port.
    if grep -q "Listening on: http://127.0.0.1:$port" "$dir/registry.log" 2>/dev/null; then
      if reason=$(probe "$url/subjects" 2>&1); then break; fi
    else
      reason="not listening on $port yet"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log_tail "$dir"
      stop "$dir" || true
      die "the registry did not answer within $start_timeout s (last: $reason)"
    fi
    sleep 0.5
  done
  say "Apicurio Registry $version up (PID $pid) from $dir"
  echo "SCHEMA_REGISTRY_URL=$url"
}

stop() {
  eddy_stop_service registry "${1:?usage: registry.sh stop <dir>}" registry.pid "-Deddy.registry.dir={dir} " "$stop_timeout"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *) die "usage: registry.sh fetch | start <dir> | stop <dir>" ;;
esac
