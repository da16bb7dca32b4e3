#!/usr/bin/env bash
# A real single-node Elasticsearch for tests and CI, built from Maven Central artifacts because
# there is no Docker, no Debian/npm package and no download site to rely on (see README.md).
#
#   elasticsearch.sh fetch          unpack the distribution into the cache and build the small
#                                   GET / plugin into it (idempotent)
#   elasticsearch.sh start <dir>    start a node whose config, data, logs and PID live in <dir>;
#                                   prints ELASTICSEARCH_URL=http://127.0.0.1:<port> on stdout once
#                                   the cluster is yellow
#   elasticsearch.sh stop <dir>     stop that node (TERM, then KILL) and wait for it to exit
#   elasticsearch.sh status <dir>   prints ELASTICSEARCH_URL=... and the cluster status if that node
#                                   is up; exits 1 if it is not
#
# A restart on the same <dir> keeps its ports and its data.
#
# Elasticsearch refuses to run as root. Started by root, the node runs as EDDY_ELASTICSEARCH_USER
# (default nobody) with the distribution hard-linked into <dir>/home when the cache is not readable
# by that user (a cache under /root is not).
#
# Settings (all optional):
#   EDDY_CACHE_DIR                          cache root, default ~/.cache/eddy; the distribution goes
#                                           to elasticsearch-<version>/home
#   EDDY_ELASTICSEARCH_VERSION              default 8.19.21 (the newest complete one on Maven Central)
#   EDDY_ELASTICSEARCH_HEAP                 default "-Xms512m -Xmx1g"
#   EDDY_ELASTICSEARCH_JAVA_HOME            default: the JDK of `java` on PATH (17 or newer)
#   EDDY_ELASTICSEARCH_USER                 who runs the node when this script runs as root, default nobody
#   EDDY_ELASTICSEARCH_START_TIMEOUT        seconds to wait for a yellow cluster, default 120
#   EDDY_ELASTICSEARCH_STOP_TIMEOUT         seconds between TERM and KILL, default 30
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/../process.sh"
version=${EDDY_ELASTICSEARCH_VERSION:-8.19.21}
cache=${EDDY_CACHE_DIR:-$HOME/.cache/eddy}/elasticsearch-$version
home=$cache/home
heap=${EDDY_ELASTICSEARCH_HEAP:--Xms512m -Xmx1g}
run_user=${EDDY_ELASTICSEARCH_USER:-nobody}
start_timeout=${EDDY_ELASTICSEARCH_START_TIMEOUT:-120}
stop_timeout=${EDDY_ELASTICSEARCH_STOP_TIMEOUT:-30}
plugin=eddy-rest-root

say() { echo "elasticsearch.sh: $*" >&2; }
die() { say "$*"; exit 1; }

java_home() {
  if [ -n "${EDDY_ELASTICSEARCH_JAVA_HOME:-}" ]; then echo "$EDDY_ELASTICSEARCH_JAVA_HOME"; return; fi
  local java
  java=$(command -v java) || die "java not found (Elasticsearch $version needs Java 17 or newer)"
  java=$(readlink -f "$java")
  dirname "$(dirname "$java")"
}

# A marker written last means "complete"; it names the hash of the inputs (the pom, the plugin's
# source and the version), so changing any of them fetches again instead of trusting the cache.
marker() {
  echo ".complete-$(cat "$here/pom.xml" "$here/rest-root/RestRootPlugin.java" <(echo "$version") | sha256sum | cut -c1-12)"
}

fetch() {
  local marker
  marker=$(marker)
  if [ -f "$home/$marker" ]; then
    say "Elasticsearch $version already in $home"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (Maven fetches the distribution from Maven Central)"
  local jdk
  jdk=$(java_home)
  [ -x "$jdk/bin/javac" ] && [ -x "$jdk/bin/jar" ] || die "no javac/jar in $jdk (a JDK, not a JRE, builds the $plugin plugin)"
  mkdir -p "$cache"
  local staging
  staging=$(mktemp -d "$cache/home.XXXXXX")
  say "fetching Elasticsearch $version (integ-test-zip) from Maven Central into $home"
  local started=$SECONDS
  if ! mvn -B -q -f "$here/pom.xml" dependency:unpack \
    -Delasticsearch.version="$version" -Dunpack.dir="$staging" >&2; then
    rm -rf "$staging"
    die "mvn could not fetch Elasticsearch $version (is its integ-test-zip on Maven Central? try EDDY_ELASTICSEARCH_VERSION=...)"
  fi
  local dist=$staging/elasticsearch-$version
  [ -x "$dist/bin/elasticsearch" ] || { rm -rf "$staging"; die "the archive has no bin/elasticsearch"; }

  # GET / comes from the rest-root module, which this distribution lacks: a small plugin of ours,
  # compiled against the distribution's own jars, serves it.
  mkdir -p "$staging/classes" "$dist/plugins/$plugin"
  if ! "$jdk/bin/javac" --release 17 -nowarn -cp "$dist/lib/*" -d "$staging/classes" \
    "$here/rest-root/RestRootPlugin.java" >&2; then
    rm -rf "$staging"
    die "could not compile the $plugin plugin against Elasticsearch $version"
  fi
  "$jdk/bin/jar" --create --file "$dist/plugins/$plugin/$plugin.jar" -C "$staging/classes" .
  cat >"$dist/plugins/$plugin/plugin-descriptor.properties" <<EOF
description=GET / and HEAD / (node and version info), which the rest-root module serves in a full distribution
version=1
name=$plugin
classname=dev.eddy.elasticsearch.RestRootPlugin
java.version=17
elasticsearch.version=$version
EOF
  # The archive's config files are 0660; readable for all, the cache can serve another user's node.
  chmod -R a+rX "$dist"
  touch "$dist/$marker"
  # A cache from other inputs is replaced. Two concurrent fetches: the first rename wins.
  if [ -d "$home" ] && [ ! -f "$home/$marker" ]; then rm -rf "$home"; fi
  mv -T "$dist" "$home" 2>/dev/null || true
  rm -rf "$staging"
  say "fetched in $((SECONDS - started)) s ($(du -sh "$home" | cut -f1))"
}


write_config() {
  local dir=$1 port=$2 transport_port=$3
  local config=$dir/config
  mkdir -p "$config"
  cp "$home/config/log4j2.properties" "$config/"
  # A cluster name of its own: the readiness probe checks it, so a node left on the same port by
  # someone else is never mistaken for this one.
  cat >"$config/elasticsearch.yml" <<EOF
cluster.name: eddy-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
node.name: eddy
path.data: $dir/data
path.logs: $dir/logs
network.host: 127.0.0.1
http.port: $port
transport.port: $transport_port
discovery.type: single-node
xpack.security.enabled: false
# A test node on a full CI disk must not turn its indices read-only or leave shards unassigned.
cluster.routing.allocation.disk.threshold_enabled: false
EOF
  # Replaces the distribution's jvm.options (whose GC log would go into the shared ES_HOME).
  # SerialGC: the smallest footprint and no GC threads competing for the 2 cores. Elasticsearch adds
  # -XX:+AlwaysPreTouch itself, which would make the whole initial heap resident at once.
  {
    echo "-XX:+UseSerialGC"
    echo "-XX:-AlwaysPreTouch"
    for flag in $heap; do echo "$flag"; done
    echo "-Djava.io.tmpdir=\${ES_TMPDIR}"
    echo "-XX:+ExitOnOutOfMemoryError"
    echo "-XX:ErrorFile=$dir/logs/hs_err_pid%p.log"
    echo "20-:--add-modules=jdk.incubator.vector"
  } >"$config/jvm.options"
}

# This dir's node, if it is running (the command line carries its java.io.tmpdir).
running_pid() { eddy_running_pid "$1/run/elasticsearch.pid" "-Djava.io.tmpdir=$1/tmp "; }

# Exits 0 once the node on <port> is this dir's cluster and its health is yellow or green;
# otherwise prints why not.
probe() {
  node -e '
    const [port, cluster] = process.argv.slice(1)
    fetch(`http://127.0.0.1:${port}/_cluster/health?wait_for_status=yellow&timeout=1s`, { signal: AbortSignal.timeout(3000) })
      .then(async (response) => {
        const body = await response.text()
        const health = JSON.parse(body)
        if (health.cluster_name !== cluster) throw new Error(`port ${port} serves cluster ${health.cluster_name}, not ${cluster}`)
        if (response.status !== 200 || !["yellow", "green"].includes(health.status)) throw new Error(`${response.status} ${body.slice(0, 200)}`)
        console.log(health.status)
      })
      .catch((error) => { console.error(error.cause?.code ?? error.message); process.exit(1) })' "$@"
}

setting() { sed -n "s/^$2: //p" "$1/config/elasticsearch.yml"; }

log_tail() {
  eddy_log_tail "$1/logs/$(setting "$1" cluster.name).log" '\]\[(ERROR|FATAL)' "$1/elasticsearch.out"
}

start() {
  local dir=${1:?usage: elasticsearch.sh start <dir>}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local pid
  if pid=$(running_pid "$dir"); then die "a node is already running from $dir (PID $pid)"; fi
  fetch
  command -v node >/dev/null || die "node not found (used to pick ports and probe the node)"
  local jdk
  jdk=$(java_home)

  local port transport_port
  if [ -f "$dir/config/elasticsearch.yml" ]; then
    # A restart keeps its ports, so clients configured with the old address reconnect.
    port=$(setting "$dir" http.port)
    transport_port=$(setting "$dir" transport.port)
  else
    read -r port transport_port < <(eddy_free_ports 2)
    write_config "$dir" "$port" "$transport_port"
  fi
  mkdir -p "$dir/data" "$dir/logs" "$dir/tmp" "$dir/run"
  rm -f "$dir/run/elasticsearch.pid"

  local es_home=$home as=()
  if [ "$(id -u)" = 0 ]; then
    id "$run_user" >/dev/null 2>&1 || die "Elasticsearch will not run as root, and there is no user $run_user (set EDDY_ELASTICSEARCH_USER)"
    as=(setpriv --reuid="$run_user" --regid="$(id -g "$run_user")" --clear-groups)
    # The node writes its config (keystore), data, logs, temp files and PID file.
    chown -R "$run_user:$(id -g "$run_user")" "$dir/config" "$dir/data" "$dir/logs" "$dir/tmp" "$dir/run"
    chmod o+x "$dir"
    if ! "${as[@]}" test -r "$home/lib/elasticsearch-$version.jar"; then
      # Hard links cost nothing and share the cache's inodes (which stay root's and read-only).
      es_home=$dir/home
      if [ ! -f "$es_home/$(marker)" ]; then
        rm -rf "$es_home"
        cp -al "$home" "$es_home" 2>/dev/null || { rm -rf "$es_home"; cp -a "$home" "$es_home"; }
      fi
    fi
    "${as[@]}" test -w "$dir/run" -a -r "$es_home/lib/elasticsearch-$version.jar" ||
      die "$run_user cannot reach $dir (a parent directory is not searchable by it)"
  fi

  # -d: the launcher starts the server, waits until it has started, and exits; the server stays.
  ES_JAVA_HOME=$jdk ES_PATH_CONF=$dir/config ES_TMPDIR=$dir/tmp ES_JAVA_OPTS= HOME=$dir/tmp \
    nohup "${as[@]}" "$es_home/bin/elasticsearch" -d -p "$dir/run/elasticsearch.pid" \
    </dev/null >"$dir/elasticsearch.out" 2>&1 &
  local launcher=$!

  local cluster url="http://127.0.0.1:$port" deadline=$((SECONDS + start_timeout)) reason="not started" launched=
  cluster=$(setting "$dir" cluster.name)
  while :; do
    if [ -z "$launched" ] && ! kill -0 "$launcher" 2>/dev/null; then
      launched=0
      wait "$launcher" || launched=$?
      if [ "$launched" != 0 ]; then
        log_tail "$dir"
        stop "$dir" >/dev/null 2>&1 || true
        die "Elasticsearch exited during start-up (launcher exit code $launched)"
      fi
    fi
    if running_pid "$dir" >/dev/null; then
      if reason=$(probe "$port" "$cluster" 2>&1); then break; fi
    elif [ -n "$launched" ]; then
      log_tail "$dir"
      die "the launcher exited but no node is running from $dir"
    else
      reason="the server has not written its PID yet"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log_tail "$dir"
      [ -n "$launched" ] || kill "$launcher" 2>/dev/null || true
      stop "$dir" || true
      die "the node was not yellow within $start_timeout s (last: $reason)"
    fi
    sleep 0.5
  done
  pid=$(running_pid "$dir")
  say "Elasticsearch $version up (PID $pid, cluster $reason) from $dir"
  echo "ELASTICSEARCH_URL=$url"
}

stop() {
  # The node removes its PID file itself on a clean exit; eddy_stop_pid has read it by then.
  eddy_stop_service node "${1:?usage: elasticsearch.sh stop <dir>}" run/elasticsearch.pid "-Djava.io.tmpdir={dir}/tmp " "$stop_timeout"
}

status() {
  local dir=${1:?usage: elasticsearch.sh status <dir>}
  [ -d "$dir" ] || die "no such dir: $dir"
  dir=$(cd "$dir" && pwd)
  local pid port health
  pid=$(running_pid "$dir") || die "no node running from $dir"
  port=$(setting "$dir" http.port)
  health=$(probe "$port" "$(setting "$dir" cluster.name)" 2>&1) || die "node (PID $pid) does not answer: $health"
  say "node (PID $pid) is $health"
  echo "ELASTICSEARCH_URL=http://127.0.0.1:$port"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  status) status "${2:-}" ;;
  *) die "usage: elasticsearch.sh fetch | start <dir> | stop <dir> | status <dir>" ;;
esac
